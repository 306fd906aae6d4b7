//===- NpyIO.cpp - Read and write numpy .npy files and .npz archives -----===//
//
// Format references:
//  - numpy/lib/format.py (the .npy header: magic, version, little-endian
//    header length, then a Python dict literal padded to 64 bytes).
//  - PKWARE APPNOTE.TXT (ZIP local/central headers, ZIP64 records), which is
//    what np.savez / np.savez_compressed produce through Python's zipfile.
//
// Every length read from a file is checked against the buffer before use,
// because inputs may be truncated or hostile; errors are returned, never
// thrown (the project builds with -fno-exceptions).
//
//===----------------------------------------------------------------------===//

#include "lib/Support/NpyIO.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

using namespace lowbit;

namespace {

//===----------------------------------------------------------------------===//
// Small helpers
//===----------------------------------------------------------------------===//

struct DtypeInfo {
  const char *name;
  size_t size;
};

// The dtypes we can hand out as raw little-endian bytes. Anything else
// (strings, objects, structured, complex, datetimes) is rejected so callers
// never misinterpret bytes.
const DtypeInfo kDtypes[] = {
    {"f2", 2}, {"f4", 4}, {"f8", 8}, {"i1", 1}, {"i2", 2}, {"i4", 4},
    {"i8", 8}, {"u1", 1}, {"u2", 2}, {"u4", 4}, {"u8", 8}, {"b1", 1},
};

size_t dtypeSize(const std::string &dtype) {
  for (const DtypeInfo &info : kDtypes)
    if (dtype == info.name)
      return info.size;
  return 0;
}

// Sets `error` to "<message> in '<context>'" and returns false, so every error
// is one line that names the offending file or archive entry.
bool fail(std::string &error, const std::string &message,
          const std::string &context) {
  error = message + " in '" + context + "'";
  return false;
}

// Byte-wise decoding keeps the code independent of host endianness and of
// alignment.
uint16_t readLE16(const unsigned char *p) {
  return static_cast<uint16_t>(p[0] | (p[1] << 8));
}
uint32_t readLE32(const unsigned char *p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) |
         (static_cast<uint32_t>(p[3]) << 24);
}
uint64_t readLE64(const unsigned char *p) {
  return static_cast<uint64_t>(readLE32(p)) |
         (static_cast<uint64_t>(readLE32(p + 4)) << 32);
}

void appendLE16(std::string &s, uint64_t v) {
  for (int i = 0; i < 2; ++i)
    s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void appendLE32(std::string &s, uint64_t v) {
  for (int i = 0; i < 4; ++i)
    s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void appendLE64(std::string &s, uint64_t v) {
  for (int i = 0; i < 8; ++i)
    s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// zlib takes uInt lengths; feed large buffers in chunks so >4 GiB works.
uint32_t updateCrc32(uint32_t crc, const char *data, size_t size) {
  uLong c = crc;
  const size_t kChunk = 1u << 30;
  while (size > 0) {
    size_t n = std::min(size, kChunk);
    c = ::crc32(c, reinterpret_cast<const Bytef *>(data), static_cast<uInt>(n));
    data += n;
    size -= n;
  }
  return static_cast<uint32_t>(c);
}

// Returns the element count, or false on a negative dimension or overflow.
bool checkedElementCount(const std::vector<int64_t> &shape, uint64_t &count) {
  count = 1;
  for (int64_t d : shape) {
    if (d < 0)
      return false;
    if (d != 0 &&
        count > static_cast<uint64_t>(INT64_MAX) / static_cast<uint64_t>(d))
      return false;
    count *= static_cast<uint64_t>(d);
  }
  return true;
}

// Checks that an array can be serialized as-is. `why` gets a short reason.
bool validateArray(const NpyArray &array, std::string &why) {
  size_t elemSize = dtypeSize(array.dtype);
  if (elemSize == 0) {
    why = "unsupported numpy dtype '" + array.dtype + "'";
    return false;
  }
  uint64_t count = 0;
  if (!checkedElementCount(array.shape, count)) {
    why = "invalid shape (negative or overflowing dimension)";
    return false;
  }
  if (count > std::numeric_limits<size_t>::max() / elemSize ||
      array.data.size() != count * elemSize) {
    why = "data size " + std::to_string(array.data.size()) +
          " does not match shape and dtype";
    return false;
  }
  return true;
}

//===----------------------------------------------------------------------===//
// .npy header
//===----------------------------------------------------------------------===//

const char kNpyMagic[] = "\x93NUMPY";
const size_t kNpyMagicLen = 6;

// Builds the magic, version, header length and padded dict exactly like
// numpy's format.write_array, so our files are byte-identical to np.save.
std::string buildNpyHeader(const NpyArray &array) {
  std::string dict = "{'descr': '";
  // numpy writes '|' for single-byte types where byte order is meaningless.
  dict += array.elementSize() == 1 ? '|' : '<';
  dict += array.dtype;
  dict += "', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < array.shape.size(); ++i) {
    if (i > 0)
      dict += ", ";
    dict += std::to_string(array.shape[i]);
  }
  // A 1-tuple needs a trailing comma to be a tuple in Python syntax.
  if (array.shape.size() == 1)
    dict += ',';
  dict += "), }";
  // numpy >= 1.24 reserves room so the first axis can grow in place
  // (GROWTH_AXIS_MAX_DIGITS = 21); mirror it to stay byte-identical.
  if (!array.shape.empty()) {
    size_t digits = std::to_string(array.shape[0]).size();
    if (digits < 21)
      dict.append(21 - digits, ' ');
  }

  // Pad with spaces and a final newline so the data starts 64-byte aligned;
  // like numpy, a full 64 bytes of padding is added when already aligned.
  for (int major = 1; major <= 2; ++major) {
    size_t prefixLen = kNpyMagicLen + 2 + (major == 1 ? 2 : 4);
    size_t hlen = dict.size() + 1;
    size_t pad = 64 - ((prefixLen + hlen) % 64);
    size_t headerLen = hlen + pad;
    if (major == 1 && headerLen > 0xffff)
      continue; // Does not fit the 16-bit length of version 1.0.
    std::string out(kNpyMagic, kNpyMagicLen);
    out.push_back(static_cast<char>(major));
    out.push_back(0);
    if (major == 1)
      appendLE16(out, headerLen);
    else
      appendLE32(out, headerLen);
    out += dict;
    out.append(pad, ' ');
    out.push_back('\n');
    return out;
  }
  return std::string(); // Unreachable for any realistic rank.
}

// Parser for the Python dict literal in a .npy header, e.g.
//   {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
// Only the subset numpy writes is accepted; a structured dtype (a list) is
// captured verbatim so the caller can report it as unsupported.
class HeaderParser {
public:
  HeaderParser(const char *first, const char *last) : cur(first), end(last) {}

  bool parse(std::string &descr, bool &fortranOrder,
             std::vector<int64_t> &shape, std::string &why) {
    bool haveDescr = false, haveFortran = false, haveShape = false;
    skipSpace();
    if (!consume('{'))
      return setWhy(why, "header is not a dict");
    while (true) {
      skipSpace();
      if (consume('}'))
        break;
      std::string key;
      if (!parseString(key))
        return setWhy(why, "malformed header key");
      skipSpace();
      if (!consume(':'))
        return setWhy(why, "malformed header: expected ':'");
      skipSpace();
      if (key == "descr") {
        if (haveDescr)
          return setWhy(why, "duplicate 'descr' in header");
        haveDescr = true;
        if (peek('[')) {
          if (!captureBracketed(descr))
            return setWhy(why, "malformed 'descr' in header");
        } else if (!parseString(descr)) {
          return setWhy(why, "malformed 'descr' in header");
        }
      } else if (key == "fortran_order") {
        if (haveFortran)
          return setWhy(why, "duplicate 'fortran_order' in header");
        haveFortran = true;
        if (consumeWord("True"))
          fortranOrder = true;
        else if (consumeWord("False"))
          fortranOrder = false;
        else
          return setWhy(why, "malformed 'fortran_order' in header");
      } else if (key == "shape") {
        if (haveShape)
          return setWhy(why, "duplicate 'shape' in header");
        haveShape = true;
        if (!parseShape(shape))
          return setWhy(why, "malformed 'shape' in header");
      } else {
        // numpy itself rejects unknown keys; do the same rather than guess.
        return setWhy(why, "unexpected key '" + key + "' in header");
      }
      skipSpace();
      if (consume(','))
        continue;
      skipSpace();
      if (consume('}'))
        break;
      return setWhy(why, "malformed header: expected ',' or '}'");
    }
    skipSpace();
    if (cur != end)
      return setWhy(why, "trailing garbage after header dict");
    if (!haveDescr || !haveFortran || !haveShape)
      return setWhy(why, "header is missing 'descr', 'fortran_order' or "
                         "'shape'");
    return true;
  }

private:
  const char *cur;
  const char *end;

  static bool setWhy(std::string &why, const std::string &message) {
    why = message;
    return false;
  }
  void skipSpace() {
    // Old writers padded with NULs; numpy itself uses spaces and '\n'.
    while (cur != end && (*cur == ' ' || *cur == '\t' || *cur == '\n' ||
                          *cur == '\r' || *cur == '\0'))
      ++cur;
  }
  bool peek(char c) const { return cur != end && *cur == c; }
  bool consume(char c) {
    if (!peek(c))
      return false;
    ++cur;
    return true;
  }
  bool consumeWord(const char *word) {
    size_t len = std::strlen(word);
    if (static_cast<size_t>(end - cur) < len ||
        std::memcmp(cur, word, len) != 0)
      return false;
    cur += len;
    return true;
  }
  // Quoted string without escapes: numpy never emits escapes for the keys
  // and dtypes we accept, so an escape means something we do not support.
  bool parseString(std::string &out) {
    if (cur == end || (*cur != '\'' && *cur != '"'))
      return false;
    char quote = *cur++;
    const char *start = cur;
    while (cur != end && *cur != quote) {
      if (*cur == '\\' || *cur == '\n')
        return false;
      ++cur;
    }
    if (cur == end)
      return false;
    out.assign(start, cur);
    ++cur;
    return true;
  }
  // Captures a bracketed Python literal (a structured dtype) verbatim.
  bool captureBracketed(std::string &out) {
    const char *start = cur;
    int depth = 0;
    char quote = 0;
    for (; cur != end; ++cur) {
      char c = *cur;
      if (quote) {
        if (c == quote)
          quote = 0;
        continue;
      }
      if (c == '\'' || c == '"')
        quote = c;
      else if (c == '[' || c == '(')
        ++depth;
      else if ((c == ']' || c == ')') && --depth == 0) {
        ++cur;
        out.assign(start, cur);
        return true;
      }
    }
    return false;
  }
  bool parseInt(int64_t &value) {
    if (cur == end || *cur < '0' || *cur > '9')
      return false;
    uint64_t v = 0;
    while (cur != end && *cur >= '0' && *cur <= '9') {
      v = v * 10 + static_cast<uint64_t>(*cur - '0');
      if (v > static_cast<uint64_t>(INT64_MAX))
        return false;
      ++cur;
    }
    consume('L'); // Python 2 longs, written by very old numpy.
    value = static_cast<int64_t>(v);
    return true;
  }
  bool parseShape(std::vector<int64_t> &shape) {
    shape.clear();
    if (!consume('('))
      return false;
    skipSpace();
    while (!consume(')')) {
      int64_t dim;
      if (!parseInt(dim))
        return false;
      shape.push_back(dim);
      skipSpace();
      if (consume(',')) {
        skipSpace();
        continue;
      }
      skipSpace();
      if (!consume(')'))
        return false;
      break;
    }
    return true;
  }
};

bool parseNpyImpl(const char *data, size_t size, const std::string &context,
                  NpyArray &out, std::string &error) {
  const unsigned char *bytes = reinterpret_cast<const unsigned char *>(data);
  if (size < kNpyMagicLen + 2 || std::memcmp(data, kNpyMagic, kNpyMagicLen))
    return fail(error,
                size < kNpyMagicLen + 2 ? "truncated .npy file (no header)"
                                        : "not a .npy file (bad magic)",
                context);
  unsigned major = bytes[6], minor = bytes[7];
  if (major < 1 || major > 3 || minor != 0)
    return fail(error,
                "unsupported .npy format version " + std::to_string(major) +
                    "." + std::to_string(minor),
                context);
  // Version 1.0 has a 16-bit header length; 2.0 and 3.0 (UTF-8 header) have
  // a 32-bit one.
  size_t lenBytes = major == 1 ? 2 : 4;
  size_t prefixLen = kNpyMagicLen + 2 + lenBytes;
  if (size < prefixLen)
    return fail(error, "truncated .npy header", context);
  size_t headerLen = major == 1 ? readLE16(bytes + 8)
                                : static_cast<size_t>(readLE32(bytes + 8));
  if (headerLen > size - prefixLen)
    return fail(error, "truncated .npy header", context);

  std::string descr;
  bool fortranOrder = false;
  std::vector<int64_t> shape;
  std::string why;
  HeaderParser parser(data + prefixLen, data + prefixLen + headerLen);
  if (!parser.parse(descr, fortranOrder, shape, why))
    return fail(error, why, context);

  // Split off the byte-order mark. '=' (native) is taken as little endian,
  // the only host byte order this project targets.
  char order = descr.empty() ? 0 : descr[0];
  std::string dtype = descr;
  if (order == '<' || order == '>' || order == '|' || order == '=')
    dtype = descr.substr(1);
  size_t elemSize = dtypeSize(dtype);
  if (elemSize == 0)
    return fail(error, "unsupported numpy dtype '" + descr + "'", context);
  if (order == '>' && elemSize > 1)
    return fail(error,
                "big-endian numpy dtype '" + descr +
                    "' is not supported (convert with astype('<" + dtype +
                    "'))",
                context);
  if (fortranOrder)
    return fail(error,
                "Fortran-order array is not supported (save with "
                "np.ascontiguousarray)",
                context);

  uint64_t count = 0;
  if (!checkedElementCount(shape, count))
    return fail(error, "invalid shape in .npy header", context);
  size_t dataOffset = prefixLen + headerLen;
  size_t available = size - dataOffset;
  if (count > available / elemSize)
    return fail(error,
                "truncated .npy data (need " + std::to_string(count) + " x " +
                    std::to_string(elemSize) + " bytes, have " +
                    std::to_string(available) + ")",
                context);
  // Trailing bytes after the data are ignored, as np.load does.
  size_t dataBytes = static_cast<size_t>(count) * elemSize;
  out.dtype = std::move(dtype);
  out.shape = std::move(shape);
  out.data.assign(data + dataOffset, data + dataOffset + dataBytes);
  return true;
}

//===----------------------------------------------------------------------===//
// File I/O
//===----------------------------------------------------------------------===//

std::string errnoMessage() { return std::strerror(errno); }

bool readWholeFile(const std::string &path, std::vector<char> &out,
                   std::string &error) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return fail(error, "cannot open file: " + errnoMessage(), path);
  struct stat st;
  // Only regular files: the size of anything else (a directory, a pipe) is
  // meaningless and must not drive an allocation.
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return fail(error, "not a regular file", path);
  }
  out.resize(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::read(fd, out.data() + done, out.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      std::string why = n < 0 ? errnoMessage() : "file shrank while reading";
      ::close(fd);
      return fail(error, "cannot read file: " + why, path);
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  return true;
}

// Writes to "<path>.tmp.<pid>.<n>" (same directory, hence same filesystem) and
// renames over `path` only after everything was written and synced, so
// readers never observe a partial file and a failure leaves `path` as it was.
class AtomicFile {
public:
  explicit AtomicFile(const std::string &target) : path(target) {}
  ~AtomicFile() {
    if (fd >= 0)
      ::close(fd);
    if (!tmpPath.empty())
      ::unlink(tmpPath.c_str());
  }
  AtomicFile(const AtomicFile &) = delete;
  AtomicFile &operator=(const AtomicFile &) = delete;

  bool open(std::string &error) {
    // What is at `path` already decides how it is replaced.
    struct stat st;
    if (::lstat(path.c_str(), &st) == 0) {
      if (S_ISLNK(st.st_mode)) {
        // A symlink stays a symlink: the file it points to is replaced.
        char *resolved = ::realpath(path.c_str(), nullptr);
        if (!resolved)
          return fail(error, "the symlink points to a missing file", path);
        path = resolved;
        std::free(resolved);
        if (::lstat(path.c_str(), &st) != 0)
          return fail(error, "cannot inspect: " + errnoMessage(), path);
      }
      if (S_ISDIR(st.st_mode))
        return fail(error, "cannot write a file: it is a folder", path);
      if (!S_ISREG(st.st_mode)) {
        // A device or FIFO (/dev/null, a pipe to another process) is written
        // in place; renaming a regular file over it would destroy it.
        // O_NONBLOCK: a FIFO nobody reads is an error, not a hang.
        fd = ::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
          return fail(error, "cannot open for writing: " + errnoMessage(),
                      path);
        ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
        inPlace = true;
        return true;
      }
      // Renaming over a file needs no write permission on it, so a mode
      // without write bits must be checked here (root included).
      if ((st.st_mode & (S_IWUSR | S_IWGRP | S_IWOTH)) == 0 ||
          ::access(path.c_str(), W_OK) != 0)
        return fail(error, "the file is read-only; lowbit does not replace it",
                    path);
    }
    static std::atomic<unsigned> counter{0};
    for (int attempt = 0; attempt < 100; ++attempt) {
      auto ticks = std::chrono::steady_clock::now().time_since_epoch().count();
      std::string candidate = path + ".tmp." + std::to_string(::getpid()) +
                              "." + std::to_string(counter++) + "." +
                              std::to_string(ticks & 0xffffff);
      // O_EXCL: never clobber someone else's file; 0666 lets umask decide
      // the final permissions as for any normally created file.
      fd = ::open(candidate.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                  0666);
      if (fd >= 0) {
        tmpPath = candidate;
        return true;
      }
      if (errno != EEXIST)
        break;
    }
    return fail(error, "cannot create temporary file: " + errnoMessage(), path);
  }

  bool write(const void *data, size_t size, std::string &error) {
    const char *p = static_cast<const char *>(data);
    while (size > 0) {
      ssize_t n = ::write(fd, p, size);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return fail(error, "cannot write file: " + errnoMessage(), path);
      p += n;
      size -= static_cast<size_t>(n);
      written += static_cast<uint64_t>(n);
    }
    return true;
  }
  bool write(const std::string &s, std::string &error) {
    return write(s.data(), s.size(), error);
  }

  uint64_t offset() const { return written; }

  bool commit(std::string &error) {
    if (inPlace) {
      int rc = ::close(fd);
      fd = -1;
      return rc == 0 || fail(error, "cannot close: " + errnoMessage(), path);
    }
    if (::fsync(fd) != 0)
      return fail(error, "cannot sync file: " + errnoMessage(), path);
    int rc = ::close(fd);
    fd = -1;
    if (rc != 0)
      return fail(error, "cannot close file: " + errnoMessage(), path);
    if (std::rename(tmpPath.c_str(), path.c_str()) != 0)
      return fail(error, "cannot rename temporary file: " + errnoMessage(),
                  path);
    tmpPath.clear(); // Now owned by `path`; nothing to clean up.
    return true;
  }

private:
  std::string path;
  std::string tmpPath;
  int fd = -1;
  uint64_t written = 0;
  bool inPlace = false; ///< a device or FIFO, written directly
};

//===----------------------------------------------------------------------===//
// ZIP reading
//===----------------------------------------------------------------------===//

const uint32_t kLocalHeaderSig = 0x04034b50;
const uint32_t kCentralHeaderSig = 0x02014b50;
const uint32_t kEocdSig = 0x06054b50;
const uint32_t kZip64EocdSig = 0x06064b50;
const uint32_t kZip64LocatorSig = 0x07064b50;
const size_t kLocalHeaderSize = 30;
const size_t kCentralHeaderSize = 46;
const size_t kEocdSize = 22;
const size_t kZip64EocdSize = 56;
const size_t kZip64LocatorSize = 20;
const uint32_t kSat32 = 0xffffffffu;
const uint16_t kSat16 = 0xffffu;

// Reads the ZIP64 extended information extra field (id 0x0001): it holds the
// 64-bit values of exactly those fields whose 32-bit header value is
// saturated, in the fixed order uncompressed, compressed, offset.
bool applyZip64Extra(const unsigned char *extra, size_t len,
                     uint64_t &uncompSize, uint64_t &compSize,
                     uint64_t *localOffset, std::string &why) {
  bool needU = uncompSize == kSat32, needC = compSize == kSat32;
  bool needO = localOffset && *localOffset == kSat32;
  if (!needU && !needC && !needO)
    return true;
  size_t pos = 0;
  while (len - pos >= 4) {
    uint16_t id = readLE16(extra + pos);
    uint16_t fieldLen = readLE16(extra + pos + 2);
    pos += 4;
    if (fieldLen > len - pos)
      break; // Malformed tail; report the missing ZIP64 data below.
    if (id == 0x0001) {
      const unsigned char *p = extra + pos;
      size_t left = fieldLen;
      auto take = [&](uint64_t &value) {
        if (left < 8)
          return false;
        value = readLE64(p);
        p += 8;
        left -= 8;
        return true;
      };
      if ((needU && !take(uncompSize)) || (needC && !take(compSize)) ||
          (needO && !take(*localOffset))) {
        why = "truncated ZIP64 extra field";
        return false;
      }
      return true;
    }
    pos += fieldLen;
  }
  why = "missing ZIP64 extra field";
  return false;
}

struct ZipEntry {
  std::string name;
  uint16_t flags = 0;
  uint16_t method = 0;
  uint32_t crc = 0;
  uint64_t compSize = 0;
  uint64_t uncompSize = 0;
  uint64_t localOffset = 0;
};

// Raw-deflate decompression (windowBits -15: no zlib/gzip wrapper, as in
// ZIP). The output grows as data is produced instead of trusting the declared
// size up front, so a corrupt size cannot trigger a huge allocation.
bool inflateRaw(const char *in, size_t inSize, uint64_t expected,
                std::vector<char> &out, std::string &why) {
  if (expected > std::numeric_limits<size_t>::max()) {
    why = "entry too large for this platform";
    return false;
  }
  z_stream zs;
  std::memset(&zs, 0, sizeof(zs));
  if (inflateInit2(&zs, -15) != Z_OK) {
    why = "cannot initialize zlib";
    return false;
  }
  const size_t kChunk = 1u << 30;
  size_t want = static_cast<size_t>(expected);
  out.clear();
  out.resize(std::min<size_t>(want, std::max<size_t>(inSize * 4, 1 << 16)));
  size_t inPos = 0, outPos = 0;
  bool ok = false;
  char overflowProbe[1];
  while (true) {
    if (zs.avail_in == 0 && inPos < inSize) {
      size_t n = std::min(inSize - inPos, kChunk);
      zs.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(in + inPos));
      zs.avail_in = static_cast<uInt>(n);
      inPos += n;
    }
    if (outPos == out.size() && out.size() < want)
      out.resize(std::min(want, out.size() * 2 + (1 << 16)));
    // Once the declared size is reached, offer a 1-byte probe buffer so that
    // a stream producing more than declared is detected, not truncated.
    bool probing = outPos == out.size();
    if (probing) {
      zs.next_out = reinterpret_cast<Bytef *>(overflowProbe);
      zs.avail_out = 1;
    } else {
      zs.next_out = reinterpret_cast<Bytef *>(out.data() + outPos);
      zs.avail_out = static_cast<uInt>(std::min(out.size() - outPos, kChunk));
    }
    uInt availOutBefore = zs.avail_out, availInBefore = zs.avail_in;
    int rc = inflate(&zs, Z_NO_FLUSH);
    size_t produced = availOutBefore - zs.avail_out;
    if (probing && produced > 0) {
      why = "deflate data is larger than the declared size";
      break;
    }
    if (!probing)
      outPos += produced;
    if (rc == Z_STREAM_END) {
      if (outPos != want) {
        why = "deflate data is smaller than the declared size";
        break;
      }
      ok = true;
      break;
    }
    if (rc == Z_BUF_ERROR ||
        (rc == Z_OK && produced == 0 && zs.avail_in == availInBefore)) {
      // No progress possible: input is exhausted before the stream ended.
      if (zs.avail_in == 0 && inPos == inSize)
        why = "truncated deflate data";
      else
        why = "deflate stream made no progress";
      break;
    }
    if (rc != Z_OK) {
      why = std::string("corrupt deflate data") +
            (zs.msg ? std::string(": ") + zs.msg : std::string());
      break;
    }
  }
  inflateEnd(&zs);
  if (!ok)
    out.clear();
  return ok;
}

// Locates the end-of-central-directory record and returns the central
// directory's extent, following the ZIP64 locator when present.
bool findCentralDirectory(const unsigned char *buf, size_t size,
                          const std::string &path, uint64_t &entryCount,
                          uint64_t &cdOffset, uint64_t &cdSize,
                          std::string &error) {
  if (size < kEocdSize)
    return fail(error, "not a zip archive (too small)", path);
  // The EOCD is followed only by a comment of at most 64 KiB. Prefer a
  // signature whose comment length ends exactly at EOF, so a signature-like
  // byte sequence inside the comment is not mistaken for the record.
  size_t lowest = size - kEocdSize > 0xffff ? size - kEocdSize - 0xffff : 0;
  size_t eocd = SIZE_MAX, fallback = SIZE_MAX;
  for (size_t pos = size - kEocdSize + 1; pos-- > lowest;) {
    if (readLE32(buf + pos) != kEocdSig)
      continue;
    size_t end = pos + kEocdSize + readLE16(buf + pos + 20);
    if (end == size) {
      eocd = pos;
      break;
    }
    if (end < size && fallback == SIZE_MAX)
      fallback = pos;
  }
  if (eocd == SIZE_MAX)
    eocd = fallback;
  if (eocd == SIZE_MAX)
    return fail(error, "not a zip archive (no end of central directory)", path);

  const unsigned char *e = buf + eocd;
  uint64_t disk = readLE16(e + 4), cdDisk = readLE16(e + 6);
  uint64_t diskEntries = readLE16(e + 8);
  entryCount = readLE16(e + 10);
  cdSize = readLE32(e + 12);
  cdOffset = readLE32(e + 16);
  size_t cdLimit = eocd; // The central directory must end before this.

  bool hasLocator =
      eocd >= kZip64LocatorSize &&
      readLE32(buf + eocd - kZip64LocatorSize) == kZip64LocatorSig;
  if (hasLocator) {
    const unsigned char *loc = buf + eocd - kZip64LocatorSize;
    uint64_t recOffset = readLE64(loc + 8);
    uint32_t totalDisks = readLE32(loc + 16);
    if (readLE32(loc + 4) != 0 || totalDisks > 1)
      return fail(error, "multi-disk zip archives are not supported", path);
    if (recOffset > eocd - kZip64LocatorSize ||
        eocd - kZip64LocatorSize - recOffset < kZip64EocdSize)
      return fail(error, "corrupt ZIP64 end of central directory locator",
                  path);
    const unsigned char *r = buf + recOffset;
    if (readLE32(r) != kZip64EocdSig)
      return fail(error, "corrupt ZIP64 end of central directory record", path);
    disk = readLE32(r + 16);
    cdDisk = readLE32(r + 20);
    diskEntries = readLE64(r + 24);
    entryCount = readLE64(r + 32);
    cdSize = readLE64(r + 40);
    cdOffset = readLE64(r + 48);
    cdLimit = static_cast<size_t>(recOffset);
  } else if (entryCount == kSat16 || cdSize == kSat32 || cdOffset == kSat32) {
    return fail(error, "missing ZIP64 end of central directory record", path);
  }
  if (disk != 0 || cdDisk != 0 || diskEntries != entryCount)
    return fail(error, "multi-disk zip archives are not supported", path);
  if (cdOffset > cdLimit || cdSize > cdLimit - cdOffset)
    return fail(error, "central directory lies outside the archive", path);
  if (entryCount > cdSize / kCentralHeaderSize)
    return fail(error, "central directory is too small for its entry count",
                path);
  return true;
}

bool readCentralDirectory(const unsigned char *buf, size_t size,
                          const std::string &path, std::vector<ZipEntry> &out,
                          std::string &error) {
  uint64_t count = 0, cdOffset = 0, cdSize = 0;
  if (!findCentralDirectory(buf, size, path, count, cdOffset, cdSize, error))
    return false;
  out.clear();
  out.reserve(static_cast<size_t>(count)); // Bounded by cdSize / 46 above.
  size_t pos = static_cast<size_t>(cdOffset);
  size_t end = static_cast<size_t>(cdOffset + cdSize);
  for (uint64_t i = 0; i < count; ++i) {
    if (end - pos < kCentralHeaderSize ||
        readLE32(buf + pos) != kCentralHeaderSig)
      return fail(error, "corrupt central directory entry " + std::to_string(i),
                  path);
    const unsigned char *h = buf + pos;
    ZipEntry entry;
    entry.flags = readLE16(h + 8);
    entry.method = readLE16(h + 10);
    entry.crc = readLE32(h + 16);
    entry.compSize = readLE32(h + 20);
    entry.uncompSize = readLE32(h + 24);
    size_t nameLen = readLE16(h + 28), extraLen = readLE16(h + 30),
           commentLen = readLE16(h + 32);
    entry.localOffset = readLE32(h + 42);
    if (end - pos - kCentralHeaderSize < nameLen + extraLen + commentLen)
      return fail(error,
                  "truncated central directory entry " + std::to_string(i),
                  path);
    entry.name.assign(reinterpret_cast<const char *>(h + kCentralHeaderSize),
                      nameLen);
    std::string why;
    if (!applyZip64Extra(h + kCentralHeaderSize + nameLen, extraLen,
                         entry.uncompSize, entry.compSize, &entry.localOffset,
                         why))
      return fail(error, why, path + ":" + entry.name);
    out.push_back(std::move(entry));
    pos += kCentralHeaderSize + nameLen + extraLen + commentLen;
  }
  return true;
}

// Returns the entry's uncompressed bytes: a pointer into the archive for
// stored entries (no copy), or `storage` for deflated ones.
bool extractEntry(const unsigned char *buf, size_t size, const ZipEntry &entry,
                  const std::string &context, std::vector<char> &storage,
                  const char *&data, size_t &dataSize, std::string &error) {
  if (entry.flags & 0x1)
    return fail(error, "encrypted zip entries are not supported", context);
  if (entry.method != 0 && entry.method != 8)
    return fail(error,
                "unsupported zip compression method " +
                    std::to_string(entry.method),
                context);
  if (entry.localOffset > size || size - entry.localOffset < kLocalHeaderSize)
    return fail(error, "local header lies outside the archive", context);
  const unsigned char *h = buf + entry.localOffset;
  if (readLE32(h) != kLocalHeaderSig)
    return fail(error, "corrupt local header", context);
  uint16_t flags = readLE16(h + 6);
  uint32_t crc = readLE32(h + 14);
  uint64_t compSize = readLE32(h + 18), uncompSize = readLE32(h + 22);
  size_t nameLen = readLE16(h + 26), extraLen = readLE16(h + 28);
  size_t headerEnd = kLocalHeaderSize + nameLen + extraLen;
  if (size - entry.localOffset < headerEnd)
    return fail(error, "truncated local header", context);
  // Without a data descriptor (flag bit 3) the local header repeats CRC and
  // sizes; a disagreement means the archive is corrupt.
  if (!(flags & 0x8)) {
    std::string why;
    if (!applyZip64Extra(h + kLocalHeaderSize + nameLen, extraLen, uncompSize,
                         compSize, nullptr, why))
      return fail(error, why, context);
    if (crc != entry.crc || compSize != entry.compSize ||
        uncompSize != entry.uncompSize)
      return fail(error, "local header does not match central directory",
                  context);
  }
  uint64_t dataStart = entry.localOffset + headerEnd;
  if (entry.compSize > size - dataStart)
    return fail(error, "truncated entry data", context);
  const char *raw = reinterpret_cast<const char *>(buf + dataStart);
  size_t rawSize = static_cast<size_t>(entry.compSize);
  if (entry.method == 0) {
    if (entry.compSize != entry.uncompSize)
      return fail(error, "stored entry has mismatched sizes", context);
    data = raw;
    dataSize = rawSize;
  } else {
    std::string why;
    if (!inflateRaw(raw, rawSize, entry.uncompSize, storage, why))
      return fail(error, why, context);
    data = storage.data();
    dataSize = storage.size();
  }
  if (updateCrc32(0, data, dataSize) != entry.crc)
    return fail(error, "CRC-32 mismatch", context);
  return true;
}

//===----------------------------------------------------------------------===//
// ZIP writing
//===----------------------------------------------------------------------===//

// Fixed 1980-01-01 00:00 timestamp: output depends only on the arrays, which
// keeps generated artifacts reproducible.
const uint16_t kDosTime = 0;
const uint16_t kDosDate = (0 << 9) | (1 << 5) | 1;

bool isAscii(const std::string &s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) >= 0x80)
      return false;
  return true;
}

} // namespace

//===----------------------------------------------------------------------===//
// Public API
//===----------------------------------------------------------------------===//

size_t NpyArray::elementSize() const { return dtypeSize(dtype); }

int64_t NpyArray::numElements() const {
  // Unsigned arithmetic so a nonsensical shape wraps instead of being UB.
  uint64_t n = 1;
  for (int64_t d : shape)
    n *= static_cast<uint64_t>(d);
  return static_cast<int64_t>(n);
}

bool lowbit::parseNpy(const char *data, size_t size, NpyArray &out,
                      std::string &error) {
  return parseNpyImpl(data, size, "<memory>", out, error);
}

std::string lowbit::serializeNpy(const NpyArray &array) {
  std::string why;
  if (!validateArray(array, why))
    return std::string();
  std::string out = buildNpyHeader(array);
  out.append(array.data.data(), array.data.size());
  return out;
}

bool lowbit::readNpy(const std::string &path, NpyArray &out,
                     std::string &error) {
  std::vector<char> buf;
  if (!readWholeFile(path, buf, error))
    return false;
  NpyArray result;
  if (!parseNpyImpl(buf.data(), buf.size(), path, result, error))
    return false;
  out = std::move(result);
  return true;
}

bool lowbit::readNpz(const std::string &path, std::vector<NpyArray> &out,
                     std::string &error) {
  std::vector<char> file;
  if (!readWholeFile(path, file, error))
    return false;
  const unsigned char *buf =
      reinterpret_cast<const unsigned char *>(file.data());
  std::vector<ZipEntry> entries;
  if (!readCentralDirectory(buf, file.size(), path, entries, error))
    return false;

  std::vector<NpyArray> result;
  result.reserve(entries.size());
  std::vector<char> storage;
  for (const ZipEntry &entry : entries) {
    std::string context = path + ":" + entry.name;
    const char *data = nullptr;
    size_t dataSize = 0;
    if (!extractEntry(buf, file.size(), entry, context, storage, data, dataSize,
                      error))
      return false;
    NpyArray array;
    if (!parseNpyImpl(data, dataSize, context, array, error))
      return false;
    // np.savez stores key "x" as "x.npy"; np.load strips the suffix again.
    array.name = entry.name;
    if (array.name.size() >= 4 &&
        array.name.compare(array.name.size() - 4, 4, ".npy") == 0)
      array.name.resize(array.name.size() - 4);
    result.push_back(std::move(array));
  }
  out = std::move(result);
  return true;
}

bool lowbit::writeNpy(const std::string &path, const NpyArray &array,
                      std::string &error) {
  std::string why;
  if (!validateArray(array, why))
    return fail(error, "cannot write array: " + why, path);
  AtomicFile file(path);
  return file.open(error) && file.write(buildNpyHeader(array), error) &&
         file.write(array.data.data(), array.data.size(), error) &&
         file.commit(error);
}

bool lowbit::writeNpz(const std::string &path,
                      const std::vector<NpyArray> &arrays, std::string &error) {
  return detail::writeNpzImpl(path, arrays, /*forceZip64=*/false, error);
}

bool lowbit::detail::writeNpzImpl(const std::string &path,
                                  const std::vector<NpyArray> &arrays,
                                  bool forceZip64, std::string &error) {
  // Validate everything before creating any file.
  for (size_t i = 0; i < arrays.size(); ++i) {
    const NpyArray &array = arrays[i];
    std::string why;
    if (array.name.empty())
      return fail(error,
                  "cannot write array " + std::to_string(i) + ": empty name",
                  path);
    if (array.name.size() > 0xffff - 4)
      return fail(error,
                  "cannot write array " + std::to_string(i) + ": name too long",
                  path);
    for (size_t j = 0; j < i; ++j)
      if (arrays[j].name == array.name)
        return fail(error, "duplicate array name '" + array.name + "'", path);
    if (!validateArray(array, why))
      return fail(error, "cannot write array '" + array.name + "': " + why,
                  path);
  }

  struct Written {
    std::string name;
    uint32_t crc;
    uint64_t size;
    uint64_t offset;
  };
  std::vector<Written> written;
  written.reserve(arrays.size());

  AtomicFile file(path);
  if (!file.open(error))
    return false;

  // Entries are STORED (as np.savez does), so compressed size == size and
  // the CRC can be computed up front: no data descriptors needed.
  for (const NpyArray &array : arrays) {
    std::string npyHeader = buildNpyHeader(array);
    Written w;
    w.name = array.name + ".npy";
    w.size = npyHeader.size() + array.data.size();
    w.crc = updateCrc32(updateCrc32(0, npyHeader.data(), npyHeader.size()),
                        array.data.data(), array.data.size());
    w.offset = file.offset();
    bool zip64 = forceZip64 || w.size >= kSat32;

    std::string local;
    appendLE32(local, kLocalHeaderSig);
    appendLE16(local, zip64 ? 45 : 20); // Version needed: 4.5 for ZIP64.
    appendLE16(local, isAscii(w.name) ? 0 : 0x0800); // 0x800: UTF-8 name.
    appendLE16(local, 0);                            // STORED.
    appendLE16(local, kDosTime);
    appendLE16(local, kDosDate);
    appendLE32(local, w.crc);
    appendLE32(local, zip64 ? kSat32 : w.size);
    appendLE32(local, zip64 ? kSat32 : w.size);
    appendLE16(local, w.name.size());
    appendLE16(local, zip64 ? 20 : 0);
    local += w.name;
    if (zip64) {
      // The local ZIP64 field must carry both sizes.
      appendLE16(local, 0x0001);
      appendLE16(local, 16);
      appendLE64(local, w.size);
      appendLE64(local, w.size);
    }
    if (!file.write(local, error) || !file.write(npyHeader, error) ||
        !file.write(array.data.data(), array.data.size(), error))
      return false;
    written.push_back(std::move(w));
  }

  uint64_t cdOffset = file.offset();
  std::string central;
  for (const Written &w : written) {
    bool bigSize = forceZip64 || w.size >= kSat32;
    bool bigOffset = forceZip64 || w.offset >= kSat32;
    std::string extra;
    if (bigSize || bigOffset) {
      appendLE16(extra, 0x0001);
      appendLE16(extra, (bigSize ? 16 : 0) + (bigOffset ? 8 : 0));
      if (bigSize) {
        appendLE64(extra, w.size);
        appendLE64(extra, w.size);
      }
      if (bigOffset)
        appendLE64(extra, w.offset);
    }
    bool zip64 = !extra.empty();
    appendLE32(central, kCentralHeaderSig);
    appendLE16(central, (3 << 8) | 45); // Made by: Unix, spec 4.5.
    appendLE16(central, zip64 ? 45 : 20);
    appendLE16(central, isAscii(w.name) ? 0 : 0x0800);
    appendLE16(central, 0);
    appendLE16(central, kDosTime);
    appendLE16(central, kDosDate);
    appendLE32(central, w.crc);
    appendLE32(central, bigSize ? kSat32 : w.size);
    appendLE32(central, bigSize ? kSat32 : w.size);
    appendLE16(central, w.name.size());
    appendLE16(central, extra.size());
    appendLE16(central, 0);              // Comment length.
    appendLE16(central, 0);              // Disk number start.
    appendLE16(central, 0);              // Internal attributes.
    appendLE32(central, 0100644u << 16); // Regular file, rw-r--r--.
    appendLE32(central, bigOffset ? kSat32 : w.offset);
    central += w.name;
    central += extra;
  }
  uint64_t cdSize = central.size();
  uint64_t count = written.size();

  std::string tail;
  bool zip64End =
      forceZip64 || count >= kSat16 || cdOffset >= kSat32 || cdSize >= kSat32;
  if (zip64End) {
    uint64_t recOffset = cdOffset + cdSize;
    appendLE32(tail, kZip64EocdSig);
    appendLE64(tail, kZip64EocdSize - 12); // Size of the rest of the record.
    appendLE16(tail, (3 << 8) | 45);
    appendLE16(tail, 45);
    appendLE32(tail, 0); // This disk.
    appendLE32(tail, 0); // Disk with the central directory.
    appendLE64(tail, count);
    appendLE64(tail, count);
    appendLE64(tail, cdSize);
    appendLE64(tail, cdOffset);
    appendLE32(tail, kZip64LocatorSig);
    appendLE32(tail, 0); // Disk with the ZIP64 EOCD record.
    appendLE64(tail, recOffset);
    appendLE32(tail, 1); // Total number of disks.
  }
  // With forceZip64 the 32-bit fields are saturated so readers must use the
  // ZIP64 record; otherwise they only saturate when the value does not fit.
  uint64_t count16 = forceZip64 ? kSat16 : std::min<uint64_t>(count, kSat16);
  uint64_t cdSize32 = forceZip64 ? kSat32 : std::min<uint64_t>(cdSize, kSat32);
  uint64_t cdOffset32 =
      forceZip64 ? kSat32 : std::min<uint64_t>(cdOffset, kSat32);
  appendLE32(tail, kEocdSig);
  appendLE16(tail, 0); // This disk.
  appendLE16(tail, 0); // Disk with the central directory.
  appendLE16(tail, count16);
  appendLE16(tail, count16);
  appendLE32(tail, cdSize32);
  appendLE32(tail, cdOffset32);
  appendLE16(tail, 0); // Comment length.

  return file.write(central, error) && file.write(tail, error) &&
         file.commit(error);
}
