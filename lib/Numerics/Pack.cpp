//===- Pack.cpp - Packed low-bit storage layouts --------------------------===//

#include "lib/Numerics/Pack.h"

namespace lowbit {
namespace numerics {

const char *packLayoutName(PackLayout layout) {
  switch (layout) {
  case PackLayout::Int2Crumbs:
    return "int2_crumbs";
  case PackLayout::Int4Nibbles:
    return "int4_nibbles";
  case PackLayout::Int6Planes:
    return "int6_planes";
  case PackLayout::Int8Bytes:
    return "int8_bytes";
  case PackLayout::BitPlanes:
    return "bit_planes";
  }
  return "unknown";
}

bool parsePackLayout(const std::string &name, PackLayout &layout) {
  for (int i = 0; i <= int(PackLayout::BitPlanes); ++i)
    if (name == packLayoutName(PackLayout(i))) {
      layout = PackLayout(i);
      return true;
    }
  return false;
}

PackLayout defaultPackLayout(int bits) {
  if (bits <= 2)
    return PackLayout::Int2Crumbs;
  if (bits <= 4)
    return PackLayout::Int4Nibbles;
  if (bits <= 6)
    return PackLayout::Int6Planes;
  return PackLayout::Int8Bytes;
}

static int slotBits(PackLayout layout) {
  switch (layout) {
  case PackLayout::Int2Crumbs:
    return 2;
  case PackLayout::Int4Nibbles:
    return 4;
  case PackLayout::Int6Planes:
    return 6;
  case PackLayout::Int8Bytes:
  case PackLayout::BitPlanes:
    return 8;
  }
  return 0;
}

static int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

int64_t packedRowBytes(PackLayout layout, int bits, int64_t k,
                       std::string &error) {
  const int slot = slotBits(layout);
  if (slot == 0) {
    error = "unknown packed layout " + std::to_string(int(layout));
    return -1;
  }
  if (bits < 1 || bits > slot) {
    error = std::to_string(bits) + "-bit values do not fit layout " +
            packLayoutName(layout) + " (1.." + std::to_string(slot) + " bits)";
    return -1;
  }
  if (k < 0) {
    error = "negative row length K=" + std::to_string(k);
    return -1;
  }
  switch (layout) {
  case PackLayout::Int2Crumbs:
    return ceilDiv(k, 4);
  case PackLayout::Int4Nibbles:
    return ceilDiv(k, 2);
  case PackLayout::Int6Planes:
    return ceilDiv(k, 2) + ceilDiv(k, 4);
  case PackLayout::Int8Bytes:
    return k;
  case PackLayout::BitPlanes:
    return int64_t(bits) * ceilDiv(k, 8);
  }
  return -1;
}

// Little-end-first field packing of `width`-bit fields (width 1, 2, 4, 8).
static inline void putField(uint8_t *row, int64_t idx, int width,
                            unsigned v) {
  const int perByte = 8 / width;
  const unsigned mask = (1u << width) - 1u;
  row[idx / perByte] |= uint8_t((v & mask) << ((idx % perByte) * width));
}
static inline unsigned getField(const uint8_t *row, int64_t idx, int width) {
  const int perByte = 8 / width;
  const unsigned mask = (1u << width) - 1u;
  return (row[idx / perByte] >> ((idx % perByte) * width)) & mask;
}

bool pack(PackLayout layout, int bits, bool isSigned, const int8_t *q,
          int64_t n, int64_t k, std::vector<uint8_t> &out,
          std::string &error) {
  const int64_t rowBytes = packedRowBytes(layout, bits, k, error);
  if (rowBytes < 0)
    return false;
  if (n < 0) {
    error = "negative row count N=" + std::to_string(n);
    return false;
  }
  const int lo = isSigned ? -(1 << (bits - 1)) : 0;
  const int hi = isSigned ? (1 << (bits - 1)) - 1 : (1 << bits) - 1;
  out.assign(static_cast<size_t>(n * rowBytes), 0);
  for (int64_t r = 0; r < n; ++r) {
    uint8_t *row = out.data() + r * rowBytes;
    for (int64_t c = 0; c < k; ++c) {
      const int8_t raw = q[r * k + c];
      const int v = isSigned ? int(raw) : int(uint8_t(raw));
      if (v < lo || v > hi) {
        error = "value " + std::to_string(v) + " at [" + std::to_string(r) +
                ", " + std::to_string(c) + "] does not fit " +
                (isSigned ? "signed " : "unsigned ") + std::to_string(bits) +
                " bits";
        return false;
      }
      const unsigned u = unsigned(uint8_t(raw)); // two's complement bits
      switch (layout) {
      case PackLayout::Int2Crumbs:
        putField(row, c, 2, u);
        break;
      case PackLayout::Int4Nibbles:
        putField(row, c, 4, u);
        break;
      case PackLayout::Int6Planes:
        putField(row, c, 4, u & 0xFu);
        putField(row + ceilDiv(k, 2), c, 2, (u >> 4) & 0x3u);
        break;
      case PackLayout::Int8Bytes:
        row[c] = uint8_t(u);
        break;
      case PackLayout::BitPlanes:
        for (int b = 0; b < bits; ++b)
          putField(row + b * ceilDiv(k, 8), c, 1, (u >> b) & 1u);
        break;
      }
    }
  }
  return true;
}

bool unpack(PackLayout layout, int bits, bool isSigned, const uint8_t *data,
            int64_t size, int64_t n, int64_t k, std::vector<int8_t> &out,
            std::string &error) {
  const int64_t rowBytes = packedRowBytes(layout, bits, k, error);
  if (rowBytes < 0)
    return false;
  if (n < 0 || size != n * rowBytes) {
    error = "packed buffer has " + std::to_string(size) + " bytes, expected " +
            std::to_string(n) + " rows x " + std::to_string(rowBytes) +
            " bytes for layout " + packLayoutName(layout);
    return false;
  }
  out.assign(static_cast<size_t>(n * k), 0);
  const unsigned mask = (1u << bits) - 1u;
  for (int64_t r = 0; r < n; ++r) {
    const uint8_t *row = data + r * rowBytes;
    for (int64_t c = 0; c < k; ++c) {
      unsigned u = 0;
      switch (layout) {
      case PackLayout::Int2Crumbs:
        u = getField(row, c, 2);
        break;
      case PackLayout::Int4Nibbles:
        u = getField(row, c, 4);
        break;
      case PackLayout::Int6Planes:
        u = getField(row, c, 4) | (getField(row + ceilDiv(k, 2), c, 2) << 4);
        break;
      case PackLayout::Int8Bytes:
        u = row[c];
        break;
      case PackLayout::BitPlanes:
        for (int b = 0; b < bits; ++b)
          u |= getField(row + b * ceilDiv(k, 8), c, 1) << b;
        break;
      }
      u &= mask;
      int v = int(u);
      if (isSigned && (u >> (bits - 1)) & 1u)
        v -= 1 << bits;
      out[r * k + c] = int8_t(uint8_t(unsigned(v) & 0xFFu));
    }
  }
  return true;
}

} // namespace numerics
} // namespace lowbit
