//===- CudaEmulationTest.cpp - The CUDA kernels' algorithms on the CPU ----===//
//
// The bit-serial algorithm and the emitted kernels' own code (run warp by
// warp on the host, tensor-core instructions emulated per the PTX ISA) must
// equal the exact integer reference of lowbit.qlinear, and the device-side
// unpacking must read Pack.cpp's bytes exactly as Pack.cpp's unpack does.
// Every input is random (fixed seeds, so failures reproduce).
//
//===----------------------------------------------------------------------===//

#include "lib/Target/Cuda/CudaEmulation.h"
#include "lib/Target/Cuda/Reference.h"

#include "lib/Numerics/Pack.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <random>

using namespace lowbit;
using namespace lowbit::cuda;
namespace nm = lowbit::numerics;

namespace {

/// Exact int64 group accumulators of x * (w - zero).
std::vector<int64_t> exactAccumulators(const HostGemm &p) {
  const int groups = p.K / p.G;
  std::vector<int64_t> acc(size_t(p.M) * p.N * groups, 0);
  for (int m = 0; m < p.M; ++m)
    for (int n = 0; n < p.N; ++n)
      for (int k = 0; k < p.K; ++k) {
        const int g = k / p.G;
        const int w = p.wSigned ? int(p.wq[size_t(n) * p.K + k])
                                : int(uint8_t(p.wq[size_t(n) * p.K + k]));
        const int z = p.wZero.empty() ? 0 : int(p.wZero[size_t(n) * groups + g]);
        acc[(size_t(m) * p.N + n) * groups + g] +=
            int64_t(p.x[size_t(m) * p.K + k]) * (w - z);
      }
  return acc;
}

KernelSpec specOf(KernelPath path, int w, int a, bool wSigned, bool outF16,
                  bool bias, int stages) {
  KernelSpec s;
  s.path = path;
  s.wBits = w;
  s.aBits = a;
  s.wSigned = wSigned;
  s.outF16 = outF16;
  s.hasBias = bias;
  s.stages = stages;
  return s;
}

lbk::GemmParams paramsOf(const HostGemm &p, void *out) {
  lbk::GemmParams q;
  q.x = p.aBits == 16 ? static_cast<const void *>(p.xh.data())
                      : static_cast<const void *>(p.x.data());
  q.x_scale = p.xScale.data();
  q.w = p.wPacked.data();
  q.w_scale = p.wScale.data();
  q.w_zero = p.wZero.empty() ? nullptr : p.wZero.data();
  q.bias = p.bias.empty() ? nullptr : p.bias.data();
  q.out = out;
  q.M = p.M, q.N = p.N, q.K = p.K, q.G = p.G;
  return q;
}

/// Runs `emulate` on a poisoned output and compares it with the reference:
/// f32 bit for bit, f16 as the fp16 rounding of the f32 reference.
template <typename Emulate>
void expectMatchesReference(const KernelSpec &s, int M, int N, int K, int G,
                            uint64_t seed, Emulate emulate) {
  SCOPED_TRACE(kernelName(s) + " M=" + std::to_string(M) + " N=" +
               std::to_string(N) + " K=" + std::to_string(K) + " G=" +
               std::to_string(G));
  HostGemm p;
  std::string error;
  ASSERT_TRUE(makeRandomGemm(s, M, N, K, G, seed, /*integerA16=*/true, p, error))
      << error;
  std::vector<float> ref;
  ASSERT_TRUE(referenceGemm(p, ref, error)) << error;
  if (s.outF16) {
    std::vector<uint16_t> out(size_t(M) * N, 0xFFFF); // NaN poison
    emulate(paramsOf(p, out.data()));
    for (size_t i = 0; i < ref.size(); ++i)
      ASSERT_EQ(out[i], floatToHalf(ref[i]))
          << "element " << i << " = " << halfToFloat(out[i]) << ", expected "
          << ref[i];
  } else {
    std::vector<float> out(size_t(M) * N, NAN);
    emulate(paramsOf(p, out.data()));
    for (size_t i = 0; i < ref.size(); ++i)
      ASSERT_EQ(std::memcmp(&out[i], &ref[i], 4), 0)
          << "element " << i << " = " << out[i] << ", expected " << ref[i];
  }
}

} // namespace

// --- the bit-serial algorithm -------------------------------------------------

TEST(CudaBitSerial, AlgorithmEqualsExactIntegerProduct) {
  const std::pair<int, int> pairs[] = {{6, 6}, {6, 8}, {4, 8}, {2, 8}, {4, 4}};
  uint64_t seed = 11;
  for (auto wa : pairs) {
    KernelSpec s = specOf(KernelPath::BitSerial, wa.first, wa.second, true,
                          true, false, 1);
    SCOPED_TRACE("W" + std::to_string(wa.first) + "A" + std::to_string(wa.second));
    HostGemm p;
    std::string error;
    ASSERT_TRUE(makeRandomGemm(s, 5, 7, 512, 256, ++seed, false, p, error))
        << error;
    // The extremes of two's complement, where the sign planes matter most.
    p.x[0] = int8_t(-(1 << (wa.second - 1)));
    p.x[1] = int8_t((1 << (wa.second - 1)) - 1);
    p.wq[0] = int8_t(-(1 << (wa.first - 1)));
    p.wq[1] = int8_t(-(1 << (wa.first - 1)));
    ASSERT_TRUE(nm::pack(nm::PackLayout::BitPlanes, wa.first, true, p.wq.data(),
                         p.N, p.K, p.wPacked, error))
        << error;
    const std::vector<int32_t> got = bitSerialAccumulators(
        p.x.data(), wa.second, p.wPacked.data(), wa.first, p.M, p.N, p.K, p.G);
    const std::vector<int64_t> want = exactAccumulators(p);
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i)
      ASSERT_EQ(int64_t(got[i]), want[i]) << "accumulator " << i;
  }
}

TEST(CudaBitSerial, AlgorithmSeesAFlippedSignPlane) {
  // The comparison above can fail: flipping one bit of the weight's sign
  // plane changes the accumulator of that row by exactly 2^(wBits-1) * x.
  KernelSpec s = specOf(KernelPath::BitSerial, 4, 8, true, true, false, 1);
  HostGemm p;
  std::string error;
  ASSERT_TRUE(makeRandomGemm(s, 1, 1, 128, 128, 3, false, p, error)) << error;
  p.x[0] = 5;
  const std::vector<int32_t> before = bitSerialAccumulators(
      p.x.data(), 8, p.wPacked.data(), 4, 1, 1, 128, 128);
  p.wPacked[3 * (128 / 8)] ^= 1u; // plane 3 (sign), element 0
  const std::vector<int32_t> after = bitSerialAccumulators(
      p.x.data(), 8, p.wPacked.data(), 4, 1, 1, 128, 128);
  EXPECT_EQ(std::abs(after[0] - before[0]), 8 * 5);
}

// --- unpacking from Pack.cpp's bytes -------------------------------------------

template <int LAYOUT> void checkLoadW4(nm::PackLayout layout, int maxBits) {
  std::mt19937 rng(LAYOUT * 7 + 1);
  for (int bits = 2; bits <= maxBits; ++bits)
    for (bool isSigned : {true, false}) {
      if (!isSigned && bits == 8)
        continue; // unsigned 8-bit minus zero does not fit int8 (rejected)
      SCOPED_TRACE(std::string(nm::packLayoutName(layout)) + " bits " +
                   std::to_string(bits) + (isSigned ? " signed" : " unsigned"));
      const int n = 3, k = 96;
      const int lo = isSigned ? -(1 << (bits - 1)) : 0;
      const int hi = isSigned ? (1 << (bits - 1)) - 1 : (1 << bits) - 1;
      std::uniform_int_distribution<int> dist(lo, hi);
      std::vector<int8_t> q(n * k);
      for (int8_t &v : q)
        v = int8_t(uint8_t(dist(rng)));
      std::vector<uint8_t> packed;
      std::vector<int8_t> unpacked;
      std::string error;
      ASSERT_TRUE(nm::pack(layout, bits, isSigned, q.data(), n, k, packed, error));
      ASSERT_TRUE(nm::unpack(layout, bits, isSigned, packed.data(),
                             int64_t(packed.size()), n, k, unpacked, error));
      const int64_t rb = lbk::row_bytes(LAYOUT, bits, k);
      ASSERT_EQ(rb * n, int64_t(packed.size()));
      const int zero = isSigned ? 0 : hi / 2 + 1;
      for (int r = 0; r < n; ++r)
        for (int c = 0; c < k; c += 4) {
          const uint32_t got =
              isSigned
                  ? lbk::load_w4<LAYOUT, true>(packed.data() + r * rb, k, c, 0)
                  : lbk::load_w4<LAYOUT, false>(packed.data() + r * rb, k, c,
                                                zero);
          for (int i = 0; i < 4; ++i) {
            const int8_t v = unpacked[r * k + c + i];
            const int want = isSigned ? int(v) : int(uint8_t(v)) - zero;
            ASSERT_EQ(int(int8_t(got >> (8 * i))), want)
                << "row " << r << " column " << c + i;
          }
        }
    }
}

TEST(CudaUnpack, DeviceUnpackEqualsPackCpp) {
  checkLoadW4<lbk::kCrumbs>(nm::PackLayout::Int2Crumbs, 2);
  checkLoadW4<lbk::kNibbles>(nm::PackLayout::Int4Nibbles, 4);
  checkLoadW4<lbk::kInt6>(nm::PackLayout::Int6Planes, 6);
  checkLoadW4<lbk::kBytes>(nm::PackLayout::Int8Bytes, 8);
}

TEST(CudaUnpack, Int8PairsToFp16AreExact) {
  for (int a = -128; a < 128; ++a)
    for (int b = -128; b < 128; b += 5) {
      const uint32_t pair = uint32_t(uint8_t(a)) | (uint32_t(uint8_t(b)) << 8);
      const uint32_t h = lbk::unbias_f16x2(lbk::s8x2_to_biased_f16x2(pair));
      ASSERT_EQ(halfToFloat(uint16_t(h & 0xFFFF)), float(a));
      ASSERT_EQ(halfToFloat(uint16_t(h >> 16)), float(b));
    }
}

TEST(CudaUnpack, HalfConversionRoundsToNearestEven) {
  EXPECT_EQ(floatToHalf(1.0f), 0x3C00);
  EXPECT_EQ(floatToHalf(-2.0f), 0xC000);
  EXPECT_EQ(floatToHalf(65504.0f), 0x7BFF);
  EXPECT_EQ(floatToHalf(65520.0f), 0x7C00); // rounds up to infinity
  EXPECT_EQ(floatToHalf(0.1f), 0x2E66);
  EXPECT_EQ(floatToHalf(2049.0f), 0x6800); // tie -> even (2048)
  EXPECT_EQ(floatToHalf(2051.0f), 0x6802); // tie -> even (2052)
  EXPECT_EQ(floatToHalf(1e-8f), 0x0000);
  EXPECT_EQ(floatToHalf(5.9604645e-8f), 0x0001); // smallest subnormal
  for (uint32_t h = 0; h < 0x10000; ++h) {
    if ((h & 0x7C00) == 0x7C00)
      continue; // inf / NaN
    ASSERT_EQ(floatToHalf(halfToFloat(uint16_t(h))), h) << std::hex << h;
  }
}

// --- the kernels' code, warp by warp ---------------------------------------------

template <int A, int W>
void bitSerialCase(uint64_t seed, bool bias) {
  // Decode tiles (1x4 warps of 1x2 MMA tiles, 2 stages) and prefill tiles
  // (2x2 warps of 2x2, 1 stage) on sizes that leave partial blocks.
  KernelSpec s = specOf(KernelPath::BitSerial, W, A, true, true, false, 2);
  expectMatchesReference(s, 19, 45, 512, 256, seed, [](lbk::GemmParams q) {
    emulateBitSerial<A, W, 1, 2, 2, true, false>(q, 1, 4);
  });
  s = specOf(KernelPath::BitSerial, W, A, true, false, bias, 1);
  expectMatchesReference(s, 37, 21, 384, 128, seed + 1, [&](lbk::GemmParams q) {
    if (bias)
      emulateBitSerial<A, W, 2, 2, 1, false, true>(q, 2, 2);
    else
      emulateBitSerial<A, W, 2, 2, 1, false, false>(q, 2, 2);
  });
}

TEST(CudaKernelCode, BitSerialEqualsReference) {
  bitSerialCase<6, 6>(100, false);
  bitSerialCase<8, 6>(200, true);
  bitSerialCase<8, 4>(300, false);
  bitSerialCase<8, 2>(400, true);
  bitSerialCase<4, 4>(500, false);
}

template <int LAYOUT, int W, int A, bool SIGNED>
void unpackS8Case(uint64_t seed) {
  KernelSpec s = specOf(KernelPath::Unpack, W, A, SIGNED, true, false, 2);
  ASSERT_EQ(int(s.layout()), LAYOUT);
  expectMatchesReference(s, 37, 41, 256, 64, seed, [](lbk::GemmParams q) {
    emulateUnpackS8<LAYOUT, SIGNED, 1, 2, 2, true, false>(q, 1, 4);
  });
  s = specOf(KernelPath::Unpack, W, A, SIGNED, false, true, 1);
  expectMatchesReference(s, 70, 19, 192, 96, seed + 1, [](lbk::GemmParams q) {
    emulateUnpackS8<LAYOUT, SIGNED, 2, 2, 1, false, true>(q, 2, 2);
  });
}

TEST(CudaKernelCode, UnpackInt8EqualsReference) {
  unpackS8Case<lbk::kCrumbs, 2, 8, true>(1);
  unpackS8Case<lbk::kCrumbs, 2, 6, true>(2);
  unpackS8Case<lbk::kNibbles, 4, 8, true>(3);
  unpackS8Case<lbk::kNibbles, 4, 6, true>(4);
  unpackS8Case<lbk::kInt6, 6, 8, true>(5);
  unpackS8Case<lbk::kInt6, 6, 6, true>(6);
  unpackS8Case<lbk::kBytes, 8, 8, true>(7);
  unpackS8Case<lbk::kNibbles, 3, 8, true>(8); // INT3 in nibbles
  unpackS8Case<lbk::kCrumbs, 2, 8, false>(9); // unsigned with zero points
  unpackS8Case<lbk::kNibbles, 4, 8, false>(10);
  unpackS8Case<lbk::kInt6, 6, 8, false>(11);
}

template <int LAYOUT, int W, bool SIGNED> void unpackF16Case(uint64_t seed) {
  // Integer-valued fp16 activations: every fp32 sum is exact, so the
  // emulated fp16 MMA must equal the reference bit for bit.
  KernelSpec s = specOf(KernelPath::Unpack, W, 16, SIGNED, true, false, 2);
  expectMatchesReference(s, 21, 27, 128, 32, seed, [](lbk::GemmParams q) {
    emulateUnpackF16<LAYOUT, SIGNED, 1, 2, 2, true, false>(q, 1, 4);
  });
  s = specOf(KernelPath::Unpack, W, 16, SIGNED, false, true, 1);
  expectMatchesReference(s, 33, 17, 64, 64, seed + 1, [](lbk::GemmParams q) {
    emulateUnpackF16<LAYOUT, SIGNED, 2, 2, 1, false, true>(q, 2, 2);
  });
}

TEST(CudaKernelCode, UnpackFp16EqualsReference) {
  unpackF16Case<lbk::kCrumbs, 2, true>(21);
  unpackF16Case<lbk::kNibbles, 4, true>(22);
  unpackF16Case<lbk::kInt6, 6, true>(23);
  unpackF16Case<lbk::kNibbles, 4, false>(24);
}

template <int LAYOUT, int W, int A, bool SIGNED> void wgmmaCase(uint64_t seed) {
  KernelSpec s = specOf(KernelPath::Unpack, W, A, SIGNED, true, false, 1);
  s.arch = CudaArch::Sm90a;
  s = wgmmaTiles(s);
  expectMatchesReference(s, 70, 100, 256, 64, seed, [](lbk::GemmParams q) {
    emulateUnpackWgmma<LAYOUT, SIGNED, true, false>(q, 2);
  });
  s.outF16 = false;
  s.hasBias = true;
  expectMatchesReference(s, 130, 64, 128, 128, seed + 1, [](lbk::GemmParams q) {
    emulateUnpackWgmma<LAYOUT, SIGNED, false, true>(q, 2);
  });
}

TEST(CudaKernelCode, WgmmaEqualsReference) {
  // sm_90a: unpacked weight tile in shared memory (no-swizzle K-major core
  // matrices, read back through the emulated wgmma descriptor).
  wgmmaCase<lbk::kNibbles, 4, 8, true>(31);
  wgmmaCase<lbk::kCrumbs, 2, 8, true>(32);
  wgmmaCase<lbk::kInt6, 6, 6, true>(33);
  wgmmaCase<lbk::kBytes, 8, 8, true>(34);
  wgmmaCase<lbk::kNibbles, 4, 8, false>(35);
}

TEST(CudaKernelCode, WgmmaDescriptorEncodesTheTileLayout) {
  // Start address >> 4 in bits 0-13, LBO >> 4 in 16-29, SBO >> 4 in 32-45,
  // no swizzle: what wgmma reads is what the threads wrote.
  const uint64_t d = lbk::wg_desc(0x1230);
  EXPECT_EQ(d & 0x3FFF, 0x123u);
  EXPECT_EQ((d >> 16) & 0x3FFF, 128u >> 4);
  EXPECT_EQ((d >> 32) & 0x3FFF, 256u >> 4);
  EXPECT_EQ(d >> 62, 0u);
  std::set<int> offsets;
  for (int n = 0; n < 64; ++n)
    for (int k = 0; k < 32; ++k)
      offsets.insert(lbk::wg_b_offset(n, k));
  EXPECT_EQ(offsets.size(), size_t(lbk::kWgSmemBytes));
  EXPECT_EQ(*offsets.rbegin(), lbk::kWgSmemBytes - 1);
}

TEST(CudaKernelCode, ComparisonCatchesAWrongKernel) {
  // A kernel reading the wrong layout must fail the same comparison: the
  // int6 kernel code run on int4-packed weights gives different outputs.
  KernelSpec s = specOf(KernelPath::Unpack, 4, 8, true, false, false, 1);
  HostGemm p;
  std::string error;
  ASSERT_TRUE(makeRandomGemm(s, 16, 8, 64, 64, 77, false, p, error)) << error;
  std::vector<float> ref, out(16 * 8, NAN);
  ASSERT_TRUE(referenceGemm(p, ref, error));
  std::vector<uint8_t> padded = p.wPacked;
  padded.resize(size_t(8) * lbk::row_bytes(lbk::kInt6, 6, 64), 0);
  p.wPacked = padded;
  emulateUnpackS8<lbk::kInt6, true, 1, 1, 1, false, false>(paramsOf(p, out.data()),
                                                           1, 1);
  int differing = 0;
  for (size_t i = 0; i < ref.size(); ++i)
    differing += std::memcmp(&out[i], &ref[i], 4) != 0;
  EXPECT_GT(differing, 64);
}
