//===- CudaEmulation.h - The emitted kernels, run on the CPU --------------===//
//
// Two CPU emulations of lowbit's GPU GEMMs, used by the unit tests:
//
//  * bitSerialAccumulators(): the bit-serial algorithm written out plainly
//    (activation planes, weight planes read from Pack.h's bit_planes bytes,
//    popc(AND) per 128-bit k chunk, +-2^(i+j) with the two's complement sign
//    on the top planes), giving the int32 group accumulators.
//  * emulate*(): the kernels' own code (LowbitDevice.cuh, the warp functions
//    the emitted entry points call) with LANES = 32, every block and warp of
//    the grid in turn, the mma.sync / ballot instructions replaced by their
//    PTX ISA definitions. Only the instructions themselves and the hardware
//    scheduling are not exercised.
//
// Host only; header-only because the emulations are templates over the same
// compile-time parameters as the kernels.
//
//===----------------------------------------------------------------------===//

#ifndef LOWBIT_LIB_TARGET_CUDA_CUDAEMULATION_H
#define LOWBIT_LIB_TARGET_CUDA_CUDAEMULATION_H

#include "lib/Target/Cuda/LowbitDevice.cuh"

#include <cstdint>
#include <cstring>
#include <vector>

namespace lowbit {
namespace cuda {

/// acc[(m * N + n) * groups + g] of lowbit.qlinear by the bit-serial
/// algorithm. x: [M, K] int8 holding aBits-wide signed values; wPlanes: the
/// weight in the bit_planes layout (wBits planes per row, signed). K must be
/// a multiple of 128 and G of 128.
inline std::vector<int32_t> bitSerialAccumulators(const int8_t *x, int aBits,
                                                  const uint8_t *wPlanes,
                                                  int wBits, int M, int N,
                                                  int K, int G) {
  const int words = K / 32, groups = K / G;
  // Activation planes: plane i of row m, bit k%32 of word k/32 = bit i of x.
  std::vector<uint32_t> xp(size_t(M) * aBits * words, 0);
  for (int m = 0; m < M; ++m)
    for (int k = 0; k < K; ++k)
      for (int i = 0; i < aBits; ++i)
        if ((uint8_t(x[size_t(m) * K + k]) >> i) & 1u)
          xp[(size_t(m) * aBits + i) * words + k / 32] |= 1u << (k % 32);
  auto wWord = [&](int n, int j, int w) {
    uint32_t v;
    std::memcpy(&v, wPlanes + (size_t(n) * wBits + j) * (K / 8) + 4 * w, 4);
    return v;
  };
  std::vector<int32_t> acc(size_t(M) * N * groups, 0);
  for (int m = 0; m < M; ++m)
    for (int n = 0; n < N; ++n)
      for (int g = 0; g < groups; ++g) {
        int32_t a = 0;
        for (int chunk = g * G / 128; chunk < (g + 1) * G / 128; ++chunk)
          for (int i = 0; i < aBits; ++i)
            for (int j = 0; j < wBits; ++j) {
              int popc = 0; // one 128-bit binary product
              for (int q = 0; q < 4; ++q)
                popc += __builtin_popcount(
                    xp[(size_t(m) * aBits + i) * words + chunk * 4 + q] &
                    wWord(n, j, chunk * 4 + q));
              const bool neg = (i == aBits - 1) != (j == wBits - 1);
              a += (neg ? -1 : 1) * (popc << (i + j));
            }
        acc[(size_t(m) * N + n) * groups + g] = a;
      }
  return acc;
}

/// Calls f(row0, col0) for every warp of the kernel's grid, in the order the
/// emitted entry point computes them (lbk::warp_origin).
template <typename F>
void forEachWarp(int M, int N, int warpsM, int warpsN, int warpRows,
                 int warpCols, F f) {
  const int blockM = warpsM * warpRows, blockN = warpsN * warpCols;
  for (int by = 0; by < (M + blockM - 1) / blockM; ++by)
    for (int bx = 0; bx < (N + blockN - 1) / blockN; ++bx)
      for (int w = 0; w < warpsM * warpsN; ++w) {
        int row0, col0;
        lbk::warp_origin(bx, by, w, warpsN, blockM, blockN, warpRows, warpCols,
                         row0, col0);
        f(row0, col0);
      }
}

/// The bit-serial kernel pair: plane kernel, then the GEMM. p.x is the int8
/// activation [M, K]; p.w the bit_planes weight.
template <int ABITS, int WBITS, int WTM, int WTN, int STAGES, bool OUT_F16,
          bool HAS_BIAS>
void emulateBitSerial(const lbk::GemmParams &p, int warpsM, int warpsN) {
  std::vector<uint32_t> planes(size_t(p.M) * ABITS * (p.K / 32), 0xDEADBEEFu);
  for (int m = 0; m < p.M; ++m)
    for (int word = 0; word < p.K / 32; ++word)
      lbk::xplanes_warp<32, ABITS>(static_cast<const int8_t *>(p.x),
                                   planes.data(), p.K, m, word);
  lbk::GemmParams q = p;
  q.x = planes.data();
  forEachWarp(p.M, p.N, warpsM, warpsN, 8 * WTM, 8 * WTN, [&](int r, int c) {
    lbk::gemm_bitserial_warp<32, ABITS, WBITS, WTM, WTN, STAGES, OUT_F16,
                             HAS_BIAS>(q, r, c);
  });
}

template <int LAYOUT, bool WSIGNED, int WTM, int WTN, int STAGES, bool OUT_F16,
          bool HAS_BIAS>
void emulateUnpackS8(const lbk::GemmParams &p, int warpsM, int warpsN) {
  forEachWarp(p.M, p.N, warpsM, warpsN, 16 * WTM, 8 * WTN, [&](int r, int c) {
    lbk::gemm_unpack_s8_warp<32, LAYOUT, WSIGNED, WTM, WTN, STAGES, OUT_F16,
                             HAS_BIAS>(p, r, c);
  });
}

template <int LAYOUT, bool WSIGNED, int WTM, int WTN, int STAGES, bool OUT_F16,
          bool HAS_BIAS>
void emulateUnpackF16(const lbk::GemmParams &p, int warpsM, int warpsN) {
  forEachWarp(p.M, p.N, warpsM, warpsN, 16 * WTM, 8 * WTN, [&](int r, int c) {
    lbk::gemm_unpack_f16_warp<32, LAYOUT, WSIGNED, WTM, WTN, STAGES, OUT_F16,
                              HAS_BIAS>(p, r, c);
  });
}

/// The sm_90a wgmma kernel: each warpgroup (128 lanes at once) in turn, its
/// shared tile a host buffer addressed from 0.
template <int LAYOUT, bool WSIGNED, bool OUT_F16, bool HAS_BIAS>
void emulateUnpackWgmma(const lbk::GemmParams &p, int warpgroups) {
  std::vector<uint8_t> smem(lbk::kWgSmemBytes, 0xA5);
  forEachWarp(p.M, p.N, warpgroups, 1, 64, 64, [&](int r, int c) {
    lbk::gemm_wgmma_s8_wg<128, LAYOUT, WSIGNED, OUT_F16, HAS_BIAS>(
        p, r, c, smem.data(), 0u);
  });
}

} // namespace cuda
} // namespace lowbit

#endif // LOWBIT_LIB_TARGET_CUDA_CUDAEMULATION_H
