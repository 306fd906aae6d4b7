//===- Pack.h - Packed low-bit storage layouts ----------------------------===//
//
// The layouts of the lowbit dialect's `layout` attribute (LowBitDialect.td,
// "Packed layouts and bit order"). Packing runs along the last (K) dimension
// of a row-major [N, K] tensor, little end first: element k of a row goes to
// byte k / perByte at bit offset (k % perByte) * slotBits and holds the low
// slotBits bits of the value's two's complement (signed) or unsigned storage.
//
//   Int2Crumbs   slot 2 bits, 4 per byte;   values of 1..2 bits
//   Int4Nibbles  slot 4 bits, 2 per byte;   values of 1..4 bits (INT3 too)
//   Int6Planes   value v as a 4-bit plane (v & 0xF, nibble order) followed by
//                a 2-bit plane ((v >> 4) & 3, crumb order); 1..6 bits (INT5)
//   Int8Bytes    1 value per byte;          values of 1..8 bits
//   BitPlanes    `bits` planes, plane i = bit i of every value, 8 values per
//                byte (value k at bit k % 8 of byte k / 8), plane-major
//                within a row: [plane 0 | plane 1 | ... | plane b-1]; plane
//                b-1 carries the two's complement sign of signed values.
//
// A value narrower than the slot is stored as its full slot-width two's
// complement (e.g. INT3 -3 in a nibble is 0xD), so an INT4 / INT6 kernel
// reads it unchanged. Every row (and every plane of a row) starts on a byte
// boundary; when K is not a multiple of the values per byte, the last byte
// is padded with zero bits. Row bytes: crumbs ceil(K/4), nibbles ceil(K/2),
// int6 ceil(K/2) + ceil(K/4), bytes K, bit planes bits * ceil(K/8).
//
// Values are int8 storage values: for unsigned 8-bit data (0..255) the int8
// holds the bit pattern. pack() checks that every value fits the declared
// signedness and bit width; unpack() sign-extends (signed) or zero-extends.
//
//===----------------------------------------------------------------------===//

#ifndef LOWBIT_LIB_NUMERICS_PACK_H
#define LOWBIT_LIB_NUMERICS_PACK_H

#include <cstdint>
#include <string>
#include <vector>

namespace lowbit {
namespace numerics {

/// Same order and values as the dialect's LayoutKind enum.
enum class PackLayout : int {
  Int2Crumbs = 0,
  Int4Nibbles = 1,
  Int6Planes = 2,
  Int8Bytes = 3,
  BitPlanes = 4,
};

/// The dialect spelling ("int2_crumbs", ...).
const char *packLayoutName(PackLayout layout);
/// Parses the dialect spelling; false if unknown.
bool parsePackLayout(const std::string &name, PackLayout &layout);
/// The smallest slot layout that holds `bits` (<=2 crumbs, <=4 nibbles,
/// <=6 int6 planes, else bytes).
PackLayout defaultPackLayout(int bits);

/// Bytes of one packed row, or -1 (with a message) if bits does not fit the
/// layout or k < 0.
int64_t packedRowBytes(PackLayout layout, int bits, int64_t k,
                       std::string &error);

/// Packs q [N, K] row-major. Fails if bits does not fit the layout or a
/// value does not fit `bits` with the given signedness.
bool pack(PackLayout layout, int bits, bool isSigned, const int8_t *q,
          int64_t n, int64_t k, std::vector<uint8_t> &out,
          std::string &error);

/// Unpacks `size` bytes into [N, K] int8 values (sign- or zero-extended from
/// `bits`). Fails if size is not N * packedRowBytes.
bool unpack(PackLayout layout, int bits, bool isSigned, const uint8_t *data,
            int64_t size, int64_t n, int64_t k, std::vector<int8_t> &out,
            std::string &error);

} // namespace numerics
} // namespace lowbit

#endif // LOWBIT_LIB_NUMERICS_PACK_H
