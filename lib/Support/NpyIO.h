//===- NpyIO.h - Read and write numpy .npy files and .npz archives -------===//
//
// Self-contained reader/writer for the numpy array formats, so that weights and
// reference tensors produced by numpy can be consumed (and results handed back)
// without a Python runtime. Only the C++ standard library and zlib are used so
// that this can be linked into any tool, with or without LLVM/MLIR.
//
// All functions report failure through a `false` return plus a one-line
// message (naming the file or archive entry) instead of exceptions, because the
// project is built with -fno-exceptions.
//
//===----------------------------------------------------------------------===//

#ifndef LOWBIT_LIB_SUPPORT_NPYIO_H
#define LOWBIT_LIB_SUPPORT_NPYIO_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace lowbit {

/// One numpy array. Data is always kept as C-order little-endian raw bytes:
/// the readers reject anything else rather than silently converting, so a
/// caller can reinterpret `data` directly on a little-endian host.
struct NpyArray {
  /// Entry name inside an .npz archive (without the ".npy" suffix); empty for
  /// a plain .npy file.
  std::string name;
  /// numpy type descriptor without its byte-order character, one of
  /// "f2","f4","f8","i1","i2","i4","i8","u1","u2","u4","u8","b1".
  std::string dtype;
  /// Dimensions; empty means a 0-d (scalar) array holding one element.
  std::vector<int64_t> shape;
  /// numElements() * elementSize() bytes, C order, little endian.
  std::vector<char> data;

  /// Size in bytes of one element, or 0 if `dtype` is not supported.
  size_t elementSize() const;
  /// Product of `shape` (1 for a scalar). Not overflow checked: the readers and
  /// writers validate shapes separately.
  int64_t numElements() const;
};

/// Reads a .npy file (format versions 1.0, 2.0 and 3.0).
bool readNpy(const std::string &path, NpyArray &out, std::string &error);

/// Reads every entry of an .npz archive (stored or deflated), in the order of
/// the archive's central directory. Every entry must be a supported .npy.
bool readNpz(const std::string &path, std::vector<NpyArray> &out,
             std::string &error);

/// Writes `array` as a .npy file. The file is written to a temporary file in
/// the same directory and renamed into place only once complete.
bool writeNpy(const std::string &path, const NpyArray &array,
              std::string &error);

/// Writes `arrays` as an uncompressed .npz archive (entries "<name>.npy", as
/// np.savez does), atomically like writeNpy. Names must be non-empty and
/// unique.
bool writeNpz(const std::string &path, const std::vector<NpyArray> &arrays,
              std::string &error);

/// Parses an in-memory .npy image. `out.name` is left untouched.
bool parseNpy(const char *data, size_t size, NpyArray &out, std::string &error);

/// Serializes `array` into a .npy image (version 1.0, or 2.0 when the header
/// does not fit). Returns an empty string if `array` is invalid (unsupported
/// dtype, negative dimension, or data size not matching the shape).
std::string serializeNpy(const NpyArray &array);

namespace detail {
/// writeNpz with the option to use ZIP64 records even for small archives.
/// Exposed only so tests can exercise the ZIP64 writer paths without creating
/// multi-gigabyte files.
bool writeNpzImpl(const std::string &path, const std::vector<NpyArray> &arrays,
                  bool forceZip64, std::string &error);
} // namespace detail

} // namespace lowbit

#endif // LOWBIT_LIB_SUPPORT_NPYIO_H
