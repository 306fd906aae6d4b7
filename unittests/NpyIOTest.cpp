//===- NpyIOTest.cpp - Tests for the .npy/.npz reader and writer ---------===//
//
// Interop is checked against the real numpy: python3 with numpy is run to
// create reference files and to load ours. A missing python3/numpy is a test
// failure, not a skip, because without it the interop claims are unproven.
//
//===----------------------------------------------------------------------===//

#include "lib/Support/NpyIO.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <vector>
#include <zlib.h>

using namespace lowbit;

namespace {

std::vector<char> patternBytes(size_t n, unsigned seed) {
  std::vector<char> v(n);
  for (size_t i = 0; i < n; ++i)
    v[i] = static_cast<char>((i * 131 + seed * 17 + 7) & 0xff);
  return v;
}

NpyArray makeArray(const std::string &name, const std::string &dtype,
                   std::vector<int64_t> shape, unsigned seed) {
  NpyArray a;
  a.name = name;
  a.dtype = dtype;
  a.shape = std::move(shape);
  a.data = patternBytes(static_cast<size_t>(a.numElements()) * a.elementSize(),
                        seed);
  return a;
}

// One array of every supported dtype, covering scalar and zero-size shapes.
std::vector<NpyArray> sampleArrays() {
  return {
      makeArray("f4", "f4", {2, 3}, 1),    makeArray("f8", "f8", {}, 2),
      makeArray("f2", "f2", {3}, 3),       makeArray("i1", "i1", {5}, 4),
      makeArray("i2", "i2", {2, 2, 2}, 5), makeArray("i4", "i4", {0}, 6),
      makeArray("i8", "i8", {3, 0, 2}, 7), makeArray("u1", "u1", {7}, 8),
      makeArray("u2", "u2", {1}, 9),       makeArray("u4", "u4", {2, 1}, 10),
      makeArray("u8", "u8", {}, 11),       makeArray("b1", "b1", {4}, 12),
  };
}

uint32_t crcOf(const std::vector<char> &data) {
  return static_cast<uint32_t>(
      crc32(0, reinterpret_cast<const Bytef *>(data.data()),
            static_cast<uInt>(data.size())));
}

std::string shapeString(const std::vector<int64_t> &shape) {
  std::string s;
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? "," : "") + std::to_string(shape[i]);
  return s;
}

template <typename T> T elementAt(const NpyArray &a, size_t i) {
  T v;
  std::memcpy(&v, a.data.data() + i * sizeof(T), sizeof(T));
  return v;
}

void expectSameArray(const NpyArray &expected, const NpyArray &actual) {
  EXPECT_EQ(expected.name, actual.name);
  EXPECT_EQ(expected.dtype, actual.dtype);
  EXPECT_EQ(expected.shape, actual.shape);
  EXPECT_EQ(expected.data, actual.data) << "array '" << expected.name << "'";
}

class NpyIO : public ::testing::Test {
protected:
  void SetUp() override {
    const char *tmp = std::getenv("TMPDIR");
    std::string tmpl =
        std::string(tmp && *tmp ? tmp : "/tmp") + "/npyio_test.XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    ASSERT_NE(mkdtemp(buf.data()), nullptr);
    dir = buf.data();
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }

  std::string path(const std::string &name) const { return dir + "/" + name; }

  // Runs `code` with python3 (numpy imported as np, D = the temp dir) and
  // returns its stdout. Any failure, including a missing interpreter or
  // numpy, fails the test.
  bool runPython(const std::string &code, std::string &out) {
    std::string script = path("script.py");
    {
      std::ofstream f(script);
      f << "import sys, zlib, zipfile\nimport numpy as np\nD = sys.argv[1]\n"
        << code;
    }
    std::string outFile = path("py.out"), errFile = path("py.err");
    std::string cmd = "python3 '" + script + "' '" + dir + "' >'" + outFile +
                      "' 2>'" + errFile + "'";
    int rc = std::system(cmd.c_str());
    out = slurp(outFile);
    if (rc == -1 || !WIFEXITED(rc) || WEXITSTATUS(rc) != 0) {
      ADD_FAILURE() << "python3 with numpy is required; command failed (" << rc
                    << "): " << cmd << "\n"
                    << slurp(errFile);
      return false;
    }
    return true;
  }

  static std::string slurp(const std::string &p) {
    std::ifstream f(p, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }
  static void spit(const std::string &p, const std::string &content) {
    std::ofstream f(p, std::ios::binary);
    f << content;
  }

  std::vector<std::string> dirEntries() const {
    std::vector<std::string> names;
    for (const auto &e : std::filesystem::directory_iterator(dir))
      names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }

  std::string dir;
};

TEST_F(NpyIO, RoundTripInMemory) {
  for (NpyArray a : sampleArrays()) {
    a.name.clear();
    std::string bytes = serializeNpy(a);
    ASSERT_FALSE(bytes.empty()) << a.dtype;
    // numpy aligns the data to 64 bytes; we promise the same layout.
    EXPECT_EQ((bytes.size() - a.data.size()) % 64, 0u) << a.dtype;
    NpyArray back;
    std::string error;
    ASSERT_TRUE(parseNpy(bytes.data(), bytes.size(), back, error)) << error;
    expectSameArray(a, back);
  }
}

TEST_F(NpyIO, RoundTripFiles) {
  std::vector<NpyArray> arrays = sampleArrays();
  std::string error;
  for (NpyArray a : arrays) {
    a.name.clear();
    std::string p = path(a.dtype + ".npy");
    ASSERT_TRUE(writeNpy(p, a, error)) << error;
    NpyArray back;
    back.name = "stale"; // readNpy must reset the name of a plain .npy.
    ASSERT_TRUE(readNpy(p, back, error)) << error;
    expectSameArray(a, back);
  }
  for (bool zip64 : {false, true}) {
    std::string p = path(zip64 ? "all64.npz" : "all.npz");
    ASSERT_TRUE(detail::writeNpzImpl(p, arrays, zip64, error)) << error;
    std::vector<NpyArray> back;
    ASSERT_TRUE(readNpz(p, back, error)) << error;
    ASSERT_EQ(back.size(), arrays.size());
    for (size_t i = 0; i < arrays.size(); ++i)
      expectSameArray(arrays[i], back[i]);
  }
  // An empty archive is valid too.
  std::vector<NpyArray> none;
  ASSERT_TRUE(writeNpz(path("empty.npz"), {}, error)) << error;
  none.push_back(arrays[0]);
  ASSERT_TRUE(readNpz(path("empty.npz"), none, error)) << error;
  EXPECT_TRUE(none.empty());
}

TEST_F(NpyIO, HeaderVariantsInMemory) {
  auto npy = [](int major, const std::string &dict, const std::string &data) {
    std::string s("\x93NUMPY", 6);
    s.push_back(static_cast<char>(major));
    s.push_back(0);
    size_t len = dict.size();
    for (int i = 0; i < (major == 1 ? 2 : 4); ++i)
      s.push_back(static_cast<char>((len >> (8 * i)) & 0xff));
    return s + dict + data;
  };
  std::string four("\x01\x02\x03\x04", 4);
  struct Case {
    int major;
    std::string dict;
    bool ok;
    std::string dtype;
  } cases[] = {
      {1, "{'descr': '=i4', 'fortran_order': False, 'shape': (1,), }\n", true,
       "i4"},
      {1, "{\"shape\": (2L, 2L), \"descr\": \"|u1\", \"fortran_order\": False}",
       true, "u1"},
      {2, "{'descr': '<u2', 'fortran_order': False, 'shape': (2,)}", true,
       "u2"},
      {3, "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", true,
       "f4"},
      {1, "{'descr': '>u1', 'fortran_order': False, 'shape': (4,), }", true,
       "u1"},
      {1, "{'descr': '<i4', 'fortran_order': False}", false, ""},
      {1, "{'descr': '<i4', 'fortran_order': 0, 'shape': (1,)}", false, ""},
      {1, "{'descr': '<i4', 'fortran_order': False, 'shape': (-1,)}", false,
       ""},
      {1, "{'descr': '<i4', 'fortran_order': False, 'shape': (1,), 'x': 1}",
       false, ""},
      {1, "{'descr': '<i4', 'fortran_order': False, 'shape': (1,)} junk", false,
       ""},
      {1, "{'descr': '<c8', 'fortran_order': False, 'shape': (1,)}", false, ""},
      {4, "{'descr': '<i4', 'fortran_order': False, 'shape': (1,)}", false, ""},
  };
  for (const Case &c : cases) {
    NpyArray a;
    std::string error;
    std::string bytes = npy(c.major, c.dict, four);
    bool ok = parseNpy(bytes.data(), bytes.size(), a, error);
    EXPECT_EQ(ok, c.ok) << c.dict << " -> " << error;
    if (ok) {
      EXPECT_EQ(a.dtype, c.dtype);
      EXPECT_EQ(static_cast<size_t>(a.numElements()) * a.elementSize(),
                a.data.size());
    } else {
      EXPECT_NE(error.find("'<memory>'"), std::string::npos) << error;
      EXPECT_EQ(error.find('\n'), std::string::npos) << error;
    }
  }
  // Invalid arrays are not serialized.
  NpyArray bad = makeArray("", "f4", {2}, 0);
  bad.data.pop_back();
  EXPECT_TRUE(serializeNpy(bad).empty());
  bad = makeArray("", "c8", {}, 0);
  EXPECT_TRUE(serializeNpy(bad).empty());
}

TEST_F(NpyIO, ReadsNumpySave) {
  std::string out;
  ASSERT_TRUE(runPython(R"(
np.save(D + '/a.npy', (np.arange(12, dtype='<f4') * 0.5).reshape(3, 4))
np.save(D + '/b.npy', np.array([-1, 2, -3], dtype=np.int64))
np.save(D + '/s.npy', np.float64(3.25))
np.save(D + '/z.npy', np.zeros((0, 3), np.int16))
np.save(D + '/bool.npy', np.array([True, False, True]))
np.save(D + '/u8.npy', np.array([2**64 - 1, 5], np.uint64))
np.save(D + '/f2.npy', np.array([1.5, -2.0], np.float16))
np.save(D + '/i1.npy', np.array([[-128, 127]], np.int8))
np.save(D + '/slice.npy', np.arange(20, dtype=np.uint16).reshape(4, 5)[:, 1])
for v in [(2, 0), (3, 0)]:
    with open(D + '/v%d.npy' % v[0], 'wb') as f:
        np.lib.format.write_array(f, np.arange(6, dtype='<i4').reshape(2, 3),
                                  version=v)
)",
                        out));
  std::string error;
  NpyArray a;
  ASSERT_TRUE(readNpy(path("a.npy"), a, error)) << error;
  EXPECT_EQ(a.dtype, "f4");
  EXPECT_EQ(a.shape, (std::vector<int64_t>{3, 4}));
  ASSERT_EQ(a.data.size(), 48u);
  for (size_t i = 0; i < 12; ++i)
    EXPECT_EQ(elementAt<float>(a, i), 0.5f * i);

  ASSERT_TRUE(readNpy(path("b.npy"), a, error)) << error;
  EXPECT_EQ(a.dtype, "i8");
  ASSERT_EQ(a.numElements(), 3);
  EXPECT_EQ(elementAt<int64_t>(a, 0), -1);
  EXPECT_EQ(elementAt<int64_t>(a, 2), -3);

  ASSERT_TRUE(readNpy(path("s.npy"), a, error)) << error;
  EXPECT_EQ(a.dtype, "f8");
  EXPECT_TRUE(a.shape.empty());
  ASSERT_EQ(a.data.size(), 8u);
  EXPECT_EQ(elementAt<double>(a, 0), 3.25);

  ASSERT_TRUE(readNpy(path("z.npy"), a, error)) << error;
  EXPECT_EQ(a.dtype, "i2");
  EXPECT_EQ(a.shape, (std::vector<int64_t>{0, 3}));
  EXPECT_TRUE(a.data.empty());

  ASSERT_TRUE(readNpy(path("bool.npy"), a, error)) << error;
  EXPECT_EQ(a.dtype, "b1");
  EXPECT_EQ(a.data, (std::vector<char>{1, 0, 1}));

  ASSERT_TRUE(readNpy(path("u8.npy"), a, error)) << error;
  EXPECT_EQ(a.dtype, "u8");
  EXPECT_EQ(elementAt<uint64_t>(a, 0), UINT64_MAX);
  EXPECT_EQ(elementAt<uint64_t>(a, 1), 5u);

  ASSERT_TRUE(readNpy(path("f2.npy"), a, error)) << error;
  EXPECT_EQ(a.dtype, "f2");
  EXPECT_EQ(elementAt<uint16_t>(a, 0), 0x3e00); // 1.5 in binary16.
  EXPECT_EQ(elementAt<uint16_t>(a, 1), 0xc000); // -2.0 in binary16.

  ASSERT_TRUE(readNpy(path("i1.npy"), a, error)) << error;
  EXPECT_EQ(a.dtype, "i1");
  EXPECT_EQ(a.shape, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(elementAt<int8_t>(a, 0), -128);
  EXPECT_EQ(elementAt<int8_t>(a, 1), 127);

  // A non-contiguous slice is saved in C order.
  ASSERT_TRUE(readNpy(path("slice.npy"), a, error)) << error;
  EXPECT_EQ(a.dtype, "u2");
  ASSERT_EQ(a.numElements(), 4);
  for (size_t i = 0; i < 4; ++i)
    EXPECT_EQ(elementAt<uint16_t>(a, i), 5 * i + 1);

  for (const char *file : {"v2.npy", "v3.npy"}) {
    ASSERT_TRUE(readNpy(path(file), a, error)) << error;
    EXPECT_EQ(a.dtype, "i4") << file;
    EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 3})) << file;
    for (size_t i = 0; i < 6; ++i)
      EXPECT_EQ(elementAt<int32_t>(a, i), static_cast<int32_t>(i)) << file;
  }
}

// np.savez and np.savez_compressed, checked by value and by a CRC-32 of the
// raw bytes computed by Python.
TEST_F(NpyIO, ReadsNumpySavez) {
  std::string out;
  ASSERT_TRUE(runPython(R"(
rng = np.random.default_rng(0)
arrays = dict(w=rng.standard_normal((64, 33)).astype(np.float32),
              b=np.arange(-5, 5, dtype=np.int32),
              big=np.arange(300000, dtype=np.float64),
              s=np.uint8(200),
              e=np.zeros((2, 0), np.float16))
pos = np.array([True, False])
np.savez(D + '/plain.npz', pos, **arrays)
np.savez_compressed(D + '/packed.npz', pos, **arrays)
for k in list(arrays) + ['arr_0']:
    a = pos if k == 'arr_0' else arrays[k]
    print(k, zlib.crc32(np.ascontiguousarray(a).tobytes()))
)",
                        out));
  for (const char *file : {"plain.npz", "packed.npz"}) {
    SCOPED_TRACE(file);
    std::vector<NpyArray> arrays;
    std::string error;
    ASSERT_TRUE(readNpz(path(file), arrays, error)) << error;
    // np.savez puts keyword arrays first, then positional ones (arr_0).
    std::ostringstream got;
    for (const NpyArray &a : arrays)
      got << a.name << " " << crcOf(a.data) << "\n";
    EXPECT_EQ(got.str(), out);
    ASSERT_EQ(arrays.size(), 6u);
    EXPECT_EQ(arrays[0].name, "w");
    EXPECT_EQ(arrays[0].dtype, "f4");
    EXPECT_EQ(arrays[0].shape, (std::vector<int64_t>{64, 33}));
    EXPECT_EQ(arrays[1].dtype, "i4");
    EXPECT_EQ(elementAt<int32_t>(arrays[1], 0), -5);
    EXPECT_EQ(elementAt<int32_t>(arrays[1], 9), 4);
    EXPECT_EQ(arrays[2].numElements(), 300000);
    EXPECT_EQ(elementAt<double>(arrays[2], 299999), 299999.0);
    EXPECT_EQ(arrays[3].dtype, "u1");
    EXPECT_TRUE(arrays[3].shape.empty());
    EXPECT_EQ(static_cast<unsigned char>(arrays[3].data.at(0)), 200);
    EXPECT_EQ(arrays[4].shape, (std::vector<int64_t>{2, 0}));
    EXPECT_TRUE(arrays[4].data.empty());
    EXPECT_EQ(arrays[5].name, "arr_0");
    EXPECT_EQ(arrays[5].dtype, "b1");
  }
}

// numpy must load what we write, with identical bytes.
TEST_F(NpyIO, NumpyReadsOurFiles) {
  std::vector<NpyArray> arrays = sampleArrays();
  std::string error;
  std::string expected;
  for (const NpyArray &a : arrays) {
    NpyArray single = a;
    single.name.clear();
    ASSERT_TRUE(writeNpy(path(a.name + ".npy"), single, error)) << error;
    expected += a.name + " " + a.dtype + " (" + shapeString(a.shape) + ") " +
                std::to_string(crcOf(a.data)) + "\n";
  }
  ASSERT_TRUE(writeNpz(path("ours.npz"), arrays, error)) << error;
  ASSERT_TRUE(detail::writeNpzImpl(path("ours64.npz"), arrays,
                                   /*forceZip64=*/true, error))
      << error;

  const std::string report = R"(
def report(name, a):
    assert a.flags.c_contiguous
    print(name, a.dtype.str[1:], '(' + ','.join(map(str, a.shape)) + ')',
          zlib.crc32(a.tobytes()))
)";
  std::string out;
  std::string names;
  for (const NpyArray &a : arrays)
    names += "'" + a.name + "',";
  ASSERT_TRUE(runPython(report + "for n in [" + names + R"(]:
    report(n, np.load(D + '/' + n + '.npy'))
)",
                        out));
  EXPECT_EQ(out, expected);

  for (const char *file : {"ours.npz", "ours64.npz"}) {
    SCOPED_TRACE(file);
    ASSERT_TRUE(runPython(report + "p = D + '/" + file + R"('
with zipfile.ZipFile(p) as z:
    assert z.testzip() is None  # Every CRC-32 checks out.
with np.load(p) as f:
    for n in f.files:
        report(n, f[n])
)",
                          out));
    EXPECT_EQ(out, expected);
  }
}

TEST_F(NpyIO, TruncatedFileFails) {
  NpyArray a = makeArray("", "i4", {3, 5}, 3);
  std::string bytes = serializeNpy(a);
  ASSERT_FALSE(bytes.empty());
  for (size_t n = 0; n < bytes.size(); ++n) {
    NpyArray back;
    std::string error;
    EXPECT_FALSE(parseNpy(bytes.data(), n, back, error)) << n;
    EXPECT_NE(error.find("'<memory>'"), std::string::npos) << n;
  }
  std::string p = path("cut.npy");
  spit(p, bytes.substr(0, bytes.size() - 1));
  NpyArray back;
  std::string error;
  EXPECT_FALSE(readNpy(p, back, error));
  EXPECT_NE(error.find("truncated"), std::string::npos) << error;
  EXPECT_NE(error.find(p), std::string::npos) << error;

  // Every prefix of a numpy-written archive (stored and deflated) fails.
  std::string out;
  ASSERT_TRUE(runPython(R"(
np.savez(D + '/s.npz', x=np.arange(10.0), y=np.ones((2, 2), np.int8))
np.savez_compressed(D + '/c.npz', x=np.arange(10.0), y=np.ones((2, 2), np.int8))
)",
                        out));
  for (const char *file : {"s.npz", "c.npz"}) {
    std::string whole = slurp(path(file));
    std::vector<NpyArray> arrays;
    ASSERT_TRUE(readNpz(path(file), arrays, error)) << error;
    std::string cut = path("cut.npz");
    for (size_t n = 0; n < whole.size(); ++n) {
      spit(cut, whole.substr(0, n));
      EXPECT_FALSE(readNpz(cut, arrays, error)) << file << " at " << n;
      EXPECT_NE(error.find(cut), std::string::npos) << error;
    }
  }
  EXPECT_FALSE(readNpy(path("missing.npy"), back, error));
  EXPECT_NE(error.find("missing.npy"), std::string::npos) << error;
}

// Flipping any byte must never crash; either the damage is detected or the
// byte did not matter (e.g. a timestamp) and the data is intact.
TEST_F(NpyIO, CorruptArchiveNeverCrashes) {
  std::string out;
  ASSERT_TRUE(runPython(R"(
np.savez_compressed(D + '/c.npz', x=np.arange(10.0), y=np.ones((2, 2), np.int8))
)",
                        out));
  std::string error;
  std::vector<NpyArray> good;
  ASSERT_TRUE(writeNpz(path("s.npz"), sampleArrays(), error)) << error;
  for (const char *file : {"s.npz", "c.npz"}) {
    ASSERT_TRUE(readNpz(path(file), good, error)) << error;
    std::string whole = slurp(path(file));
    std::string bad = path("bad.npz");
    size_t detected = 0;
    for (size_t i = 0; i < whole.size(); ++i) {
      std::string copy = whole;
      copy[i] = static_cast<char>(copy[i] ^ 0x5a);
      spit(bad, copy);
      std::vector<NpyArray> arrays;
      if (!readNpz(bad, arrays, error)) {
        ++detected;
        EXPECT_NE(error.find(bad), std::string::npos) << error;
        continue;
      }
      ASSERT_EQ(arrays.size(), good.size()) << file << " byte " << i;
      for (size_t k = 0; k < good.size(); ++k) {
        EXPECT_EQ(arrays[k].dtype, good[k].dtype) << file << " byte " << i;
        EXPECT_EQ(arrays[k].shape, good[k].shape) << file << " byte " << i;
        EXPECT_EQ(arrays[k].data, good[k].data) << file << " byte " << i;
      }
    }
    // Most bytes are covered by a CRC or a structural check.
    EXPECT_GT(detected, whole.size() / 2) << file;
  }
}

TEST_F(NpyIO, BigEndianFails) {
  std::string out;
  ASSERT_TRUE(runPython(R"(
np.save(D + '/be.npy', np.arange(4, dtype='>i4'))
np.savez(D + '/be.npz', ok=np.arange(2), be=np.arange(3, dtype='>f8'))
)",
                        out));
  NpyArray a;
  std::string error;
  EXPECT_FALSE(readNpy(path("be.npy"), a, error));
  EXPECT_NE(error.find("big-endian"), std::string::npos) << error;
  EXPECT_NE(error.find("'>i4'"), std::string::npos) << error;
  EXPECT_NE(error.find(path("be.npy")), std::string::npos) << error;
  std::vector<NpyArray> arrays;
  EXPECT_FALSE(readNpz(path("be.npz"), arrays, error));
  EXPECT_NE(error.find("big-endian"), std::string::npos) << error;
  EXPECT_NE(error.find("be.npy'"), std::string::npos) << error;
}

TEST_F(NpyIO, FortranOrderFails) {
  std::string out;
  ASSERT_TRUE(runPython(R"(
np.save(D + '/f.npy', np.asfortranarray(np.arange(6.0).reshape(2, 3)))
)",
                        out));
  NpyArray a;
  std::string error;
  EXPECT_FALSE(readNpy(path("f.npy"), a, error));
  EXPECT_NE(error.find("Fortran-order"), std::string::npos) << error;
  EXPECT_NE(error.find(path("f.npy")), std::string::npos) << error;
  EXPECT_EQ(error.find('\n'), std::string::npos) << error;
}

TEST_F(NpyIO, UnsupportedDtypeFails) {
  std::string out;
  ASSERT_TRUE(runPython(R"(
np.save(D + '/u.npy', np.array(['hello', 'x'], dtype='<U5'))
np.save(D + '/c.npy', np.zeros(2, np.complex64))
np.save(D + '/r.npy', np.zeros(2, dtype=[('a', '<i4'), ('b', '<f4')]))
np.save(D + '/o.npy', np.array([None, 1], dtype=object), allow_pickle=True)
np.savez(D + '/u.npz', x=np.array(['hello'], dtype='<U5'))
)",
                        out));
  NpyArray a;
  std::string error;
  EXPECT_FALSE(readNpy(path("u.npy"), a, error));
  EXPECT_EQ(error, "unsupported numpy dtype '<U5' in '" + path("u.npy") + "'");
  EXPECT_FALSE(readNpy(path("c.npy"), a, error));
  EXPECT_NE(error.find("'<c8'"), std::string::npos) << error;
  EXPECT_FALSE(readNpy(path("r.npy"), a, error));
  EXPECT_NE(error.find("unsupported numpy dtype '[('a', '<i4')"),
            std::string::npos)
      << error;
  EXPECT_FALSE(readNpy(path("o.npy"), a, error));
  EXPECT_NE(error.find("'|O'"), std::string::npos) << error;
  std::vector<NpyArray> arrays;
  EXPECT_FALSE(readNpz(path("u.npz"), arrays, error));
  EXPECT_EQ(error,
            "unsupported numpy dtype '<U5' in '" + path("u.npz") + ":x.npy'");
}

TEST_F(NpyIO, FailedWriteLeavesTargetIntact) {
  std::string target = path("keep.npy");
  spit(target, "previous contents");
  NpyArray bad = makeArray("", "f4", {4}, 1);
  bad.data.resize(3); // Does not match the shape.
  std::string error;
  EXPECT_FALSE(writeNpy(target, bad, error));
  EXPECT_NE(error.find(target), std::string::npos) << error;
  EXPECT_EQ(slurp(target), "previous contents");

  std::vector<NpyArray> dup = {makeArray("x", "u1", {1}, 1),
                               makeArray("x", "u1", {1}, 2)};
  std::string npz = path("keep.npz");
  spit(npz, "previous archive");
  EXPECT_FALSE(writeNpz(npz, dup, error));
  EXPECT_NE(error.find("duplicate"), std::string::npos) << error;
  dup[1].name.clear();
  EXPECT_FALSE(writeNpz(npz, dup, error));
  EXPECT_EQ(slurp(npz), "previous archive");

  std::string nodir = path("no/such/dir/out.npz");
  EXPECT_FALSE(writeNpz(nodir, sampleArrays(), error));
  EXPECT_NE(error.find(nodir), std::string::npos) << error;

  // No temporary files are left behind, and a successful write replaces the
  // old file atomically.
  EXPECT_EQ(dirEntries(), (std::vector<std::string>{"keep.npy", "keep.npz"}));
  NpyArray good = makeArray("", "f4", {4}, 1);
  ASSERT_TRUE(writeNpy(target, good, error)) << error;
  EXPECT_EQ(slurp(target), serializeNpy(good));
  EXPECT_EQ(dirEntries(), (std::vector<std::string>{"keep.npy", "keep.npz"}));
}

} // namespace
