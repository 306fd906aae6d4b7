//===- LowbitDevice.cuh - Kernel code shared by the GPU and the CPU -------===//
//
// The body of every low-bit GEMM kernel lowbit emits. The emitter
// (Emitter.cpp) pastes this file verbatim at the top of each generated .cu
// and adds thin `extern "C" __global__` entry points that instantiate the
// templates below; the CPU emulation (CudaEmulation.h) includes the same file
// and runs the very same warp functions with LANES = 32 (all lanes of a warp
// in one host thread), replacing only the tensor-core instructions (mma.sync)
// and __ballot_sync by host code that follows the PTX ISA fragment layouts.
//
// Warp functions are written "warp-wide": every per-lane value is an array
// [LANES]; on the GPU LANES = 1 and the lane is the hardware lane, on the
// host LANES = 32. There is no shared memory and no block-level
// synchronisation, so running warps one after another on the host is exact.
//
// Weights are read exactly as lib/Numerics/Pack.h stores them: [N, rowBytes]
// rows, little end first, INT6 as a 4-bit plane then a 2-bit plane, bit
// planes plane-major with value k at bit k % 32 of 32-bit word k / 32.
//
// Numerics (lowbit.qlinear): acc[m, n, g] = sum_{k in g} x[m, k] * (w[n, k] -
// zero[n, g]) in int32, y[m, n] = sum_g (float(acc) * x_scale[m]) *
// w_scale[n, g] in that order, in fp32 without contraction (so the f32
// output is bit-identical to the CPU lowering), then + bias[n]. The A16 path
// accumulates x (fp16) * w in fp32 per group and applies w_scale per group.
//
//===----------------------------------------------------------------------===//

#ifndef LOWBIT_TARGET_CUDA_LOWBITDEVICE_CUH
#define LOWBIT_TARGET_CUDA_LOWBITDEVICE_CUH

#ifdef __CUDACC__
#define LB_HD __host__ __device__ __forceinline__
#define LB_UNROLL _Pragma("unroll")
#else
#define LB_HD inline
#define LB_UNROLL
#endif

#include <stdint.h>
#ifndef __CUDA_ARCH__
#include <string.h>
#endif

namespace lbk {

// Same values as lowbit::numerics::PackLayout.
enum : int { kCrumbs = 0, kNibbles = 1, kInt6 = 2, kBytes = 3, kPlanes = 4 };

/// Kernel arguments (by value). K is a multiple of 32 (128 for bit-serial),
/// G divides K and is a multiple of the kernel's k step times its stages.
struct GemmParams {
  const void *x;        // int8 [M, K] | uint32 planes [M, ABITS, K/32] | f16 [M, K]
  const float *x_scale; // [M] (unused by the A16 path)
  const uint8_t *w;     // packed [N, rowBytes]
  const float *w_scale; // [N, K / G]
  const float *w_zero;  // [N, K / G] integral values, or null
  const float *bias;    // [N] or null
  void *out;            // [M, N], f16 or f32
  int M, N, K, G;
};

LB_HD int64_t row_bytes(int layout, int bits, int64_t K) {
  return layout == kCrumbs    ? K / 4
         : layout == kNibbles ? K / 2
         : layout == kInt6    ? K / 2 + K / 4
         : layout == kBytes   ? K
                              : int64_t(bits) * (K / 8);
}

LB_HD uint32_t load_u32(const void *p) {
#ifdef __CUDA_ARCH__
  return *static_cast<const uint32_t *>(p);
#else
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
#endif
}

// --- unpacking: four consecutive values into four bytes, little end first --

/// 16 bits holding 4 nibbles -> 4 bytes each holding one nibble.
LB_HD uint32_t spread_nibbles(uint32_t h) {
  return (h & 0xFu) | ((h & 0xF0u) << 4) | ((h & 0xF00u) << 8) |
         ((h & 0xF000u) << 12);
}
/// 8 bits holding 4 crumbs -> 4 bytes each holding one crumb.
LB_HD uint32_t spread_crumbs(uint32_t c) {
  return (c & 0x3u) | ((c & 0xCu) << 6) | ((c & 0x30u) << 12) |
         ((c & 0xC0u) << 18);
}
/// Sign-extends each byte from its low `bits` bits (no carries between bytes).
LB_HD uint32_t sext_bytes(uint32_t x, int bits) {
  if (bits >= 8)
    return x;
  const uint32_t sign = (x >> (bits - 1)) & 0x01010101u;
  const uint32_t fill = (0xFFu << bits) & 0xFFu;
  return x | (sign * fill);
}
/// Per byte x - z for 0 <= x, z <= 127: the result byte is the two's
/// complement of x - z (no borrows between bytes: x + 128 - z >= 1).
LB_HD uint32_t sub_zero_bytes(uint32_t x, uint32_t z) {
  return ((x | 0x80808080u) - z * 0x01010101u) ^ 0x80808080u;
}

/// Weights k .. k+3 (k % 4 == 0) of one packed row as four int8. Signed
/// values are sign-extended from the slot width (Pack.h stores narrower
/// values as full slot-width two's complement); unsigned ones have `zero`
/// subtracted.
template <int LAYOUT, bool SIGNED>
LB_HD uint32_t load_w4(const uint8_t *row, int64_t K, int64_t k, int zero) {
  uint32_t x;
  int slot;
  if (LAYOUT == kCrumbs) {
    x = spread_crumbs(row[k / 4]);
    slot = 2;
  } else if (LAYOUT == kNibbles) {
    x = spread_nibbles(uint32_t(row[k / 2]) | (uint32_t(row[k / 2 + 1]) << 8));
    slot = 4;
  } else if (LAYOUT == kInt6) {
    x = spread_nibbles(uint32_t(row[k / 2]) | (uint32_t(row[k / 2 + 1]) << 8)) |
        (spread_crumbs(row[K / 2 + k / 4]) << 4);
    slot = 6;
  } else {
    x = load_u32(row + k);
    slot = 8;
  }
  if (SIGNED)
    return sext_bytes(x, slot);
  return zero ? sub_zero_bytes(x, uint32_t(zero)) : x;
}

// --- half precision helpers (no cuda_fp16.h: the same text builds on hosts) -

/// Two int8 in the low 16 bits -> f16x2 bits of 1152 + s (0x6400 | (s ^ 0x80)).
LB_HD uint32_t s8x2_to_biased_f16x2(uint32_t p) {
  const uint32_t u = (p ^ 0x8080u) & 0xFFFFu;
  return 0x64006400u | (u & 0xFFu) | ((u & 0xFF00u) << 8);
}

#ifndef __CUDA_ARCH__
inline float half_bits_to_float(uint32_t h) {
  const uint32_t sign = (h >> 15) & 1u, exp = (h >> 10) & 0x1Fu,
                 man = h & 0x3FFu;
  uint32_t f;
  if (exp == 0) {
    if (man == 0) {
      f = sign << 31;
    } else { // subnormal: renormalise
      int e = -1;
      uint32_t m = man;
      do {
        ++e;
        m <<= 1;
      } while ((m & 0x400u) == 0);
      f = (sign << 31) | (uint32_t(127 - 15 - e) << 23) | ((m & 0x3FFu) << 13);
    }
  } else if (exp == 0x1F) {
    f = (sign << 31) | 0x7F800000u | (man << 13);
  } else {
    f = (sign << 31) | ((exp + 112u) << 23) | (man << 13);
  }
  float out;
  memcpy(&out, &f, 4);
  return out;
}

/// float -> f16 bits, round to nearest even (what cvt.rn.f16.f32 does).
inline uint32_t float_to_half_bits(float v) {
  uint32_t f;
  memcpy(&f, &v, 4);
  const uint32_t sign = (f >> 16) & 0x8000u;
  const uint32_t absf = f & 0x7FFFFFFFu;
  if (absf > 0x7F800000u)
    return sign | 0x7E00u; // NaN
  if (absf >= 0x477FF000u) // rounds to >= 65520: inf
    return sign | 0x7C00u;
  if (absf < 0x38800000u) { // below the smallest normal half: subnormal
    const uint32_t exp = absf >> 23;
    if (exp < 102)
      return sign; // < 2^-25: rounds to zero
    const uint32_t man = (absf & 0x7FFFFFu) | 0x800000u;
    const int shift = 126 - int(exp); // 14 .. 24
    uint32_t h = man >> shift;
    const uint32_t rem = man & ((1u << shift) - 1u), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (h & 1u)))
      ++h;
    return sign | h;
  }
  uint32_t h = ((absf >> 13) - (112u << 10));
  const uint32_t rem = absf & 0x1FFFu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u)))
    ++h;
  return sign | h;
}
#endif

/// Subtracts 1152 from both halves (exact: the result is the int8 value).
LB_HD uint32_t unbias_f16x2(uint32_t h) {
#ifdef __CUDA_ARCH__
  uint32_t r;
  asm("sub.f16x2 %0, %1, %2;" : "=r"(r) : "r"(h), "r"(0x64806480u));
  return r;
#else
  return float_to_half_bits(half_bits_to_float(h & 0xFFFFu) - 1152.0f) |
         (float_to_half_bits(half_bits_to_float(h >> 16) - 1152.0f) << 16);
#endif
}

/// fp32 arithmetic without contraction into FMA (bit-identical to the CPU).
LB_HD float fmul(float a, float b) {
#ifdef __CUDA_ARCH__
  return __fmul_rn(a, b);
#else
  return a * b;
#endif
}
LB_HD float fadd(float a, float b) {
#ifdef __CUDA_ARCH__
  return __fadd_rn(a, b);
#else
  return a + b;
#endif
}

template <bool OUT_F16>
LB_HD void store_out(void *out, int64_t idx, float v) {
  if (OUT_F16) {
#ifdef __CUDA_ARCH__
    unsigned short h;
    asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(v));
    static_cast<unsigned short *>(out)[idx] = h;
#else
    static_cast<uint16_t *>(out)[idx] = uint16_t(float_to_half_bits(v));
#endif
  } else {
    static_cast<float *>(out)[idx] = v;
  }
}

// --- warp primitives: PTX on the GPU, the PTX ISA's definition on the host --

template <int LANES> LB_HD int lane_of(int l) {
#ifdef __CUDA_ARCH__
  return int(threadIdx.x & 31u);
#else
  return l;
#endif
}

/// D = C + A*B, m8n8k128, b1 operands combined with AND, summed by popcount.
/// Lane (g = lane/4, t = lane%4): a = A[g][32t .. 32t+31], b = B[32t ..][g],
/// c[e] = C[g][2t + e].
template <int LANES>
LB_HD void mma_b1(int (&c)[LANES][2], const uint32_t (&a)[LANES],
                  const uint32_t (&b)[LANES]) {
#ifdef __CUDA_ARCH__
  asm volatile("mma.sync.aligned.m8n8k128.row.col.s32.b1.b1.s32.and.popc "
               "{%0,%1}, {%2}, {%3}, {%0,%1};\n"
               : "+r"(c[0][0]), "+r"(c[0][1])
               : "r"(a[0]), "r"(b[0]));
#else
  int d[32][2];
  for (int l = 0; l < 32; ++l)
    for (int e = 0; e < 2; ++e) {
      const int g = l / 4, col = (l % 4) * 2 + e;
      int s = 0;
      for (int q = 0; q < 4; ++q)
        s += __builtin_popcount(a[g * 4 + q] & b[col * 4 + q]);
      d[l][e] = c[l][e] + s;
    }
  for (int l = 0; l < 32; ++l)
    for (int e = 0; e < 2; ++e)
      c[l][e] = d[l][e];
#endif
}

/// D = C + A*B, m16n8k32, s8 x s8 -> s32. Lane (g, t): a[0] = A[g][4t..4t+3],
/// a[1] = A[g+8][4t..], a[2] = A[g][4t+16..], a[3] = A[g+8][4t+16..];
/// b[0] = B[4t..4t+3][g], b[1] = B[4t+16..][g]; c[0..1] = C[g][2t+e],
/// c[2..3] = C[g+8][2t+e]. Bytes little end first.
template <int LANES>
LB_HD void mma_s8(int (&c)[LANES][4], const uint32_t (&a)[LANES][4],
                  const uint32_t (&b)[LANES][2]) {
#ifdef __CUDA_ARCH__
  asm volatile("mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 "
               "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
               : "+r"(c[0][0]), "+r"(c[0][1]), "+r"(c[0][2]), "+r"(c[0][3])
               : "r"(a[0][0]), "r"(a[0][1]), "r"(a[0][2]), "r"(a[0][3]),
                 "r"(b[0][0]), "r"(b[0][1]));
#else
  int A[16][32], B[32][8];
  for (int l = 0; l < 32; ++l) {
    const int g = l / 4, t = l % 4;
    for (int i = 0; i < 4; ++i) {
      A[g][4 * t + i] = int8_t(a[l][0] >> (8 * i));
      A[g + 8][4 * t + i] = int8_t(a[l][1] >> (8 * i));
      A[g][4 * t + 16 + i] = int8_t(a[l][2] >> (8 * i));
      A[g + 8][4 * t + 16 + i] = int8_t(a[l][3] >> (8 * i));
      B[4 * t + i][g] = int8_t(b[l][0] >> (8 * i));
      B[4 * t + 16 + i][g] = int8_t(b[l][1] >> (8 * i));
    }
  }
  for (int l = 0; l < 32; ++l) {
    const int g = l / 4, t = l % 4;
    for (int e = 0; e < 4; ++e) {
      const int r = g + (e >= 2 ? 8 : 0), col = 2 * t + (e & 1);
      int s = 0;
      for (int k = 0; k < 32; ++k)
        s += A[r][k] * B[k][col];
      c[l][e] += s;
    }
  }
#endif
}

/// D = C + A*B, m16n8k16, f16 x f16 -> f32. Lane (g, t): a[0] = A[g][2t,
/// 2t+1], a[1] = A[g+8][2t..], a[2] = A[g][2t+8..], a[3] = A[g+8][2t+8..];
/// b[0] = B[2t, 2t+1][g], b[1] = B[2t+8..][g]; c as in mma_s8. The host
/// version sums in double (exact for the integer-valued data of the tests).
template <int LANES>
LB_HD void mma_f16(float (&c)[LANES][4], const uint32_t (&a)[LANES][4],
                   const uint32_t (&b)[LANES][2]) {
#ifdef __CUDA_ARCH__
  asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 "
               "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
               : "+f"(c[0][0]), "+f"(c[0][1]), "+f"(c[0][2]), "+f"(c[0][3])
               : "r"(a[0][0]), "r"(a[0][1]), "r"(a[0][2]), "r"(a[0][3]),
                 "r"(b[0][0]), "r"(b[0][1]));
#else
  double A[16][16], B[16][8];
  for (int l = 0; l < 32; ++l) {
    const int g = l / 4, t = l % 4;
    for (int i = 0; i < 2; ++i) {
      A[g][2 * t + i] = half_bits_to_float((a[l][0] >> (16 * i)) & 0xFFFFu);
      A[g + 8][2 * t + i] = half_bits_to_float((a[l][1] >> (16 * i)) & 0xFFFFu);
      A[g][2 * t + 8 + i] = half_bits_to_float((a[l][2] >> (16 * i)) & 0xFFFFu);
      A[g + 8][2 * t + 8 + i] =
          half_bits_to_float((a[l][3] >> (16 * i)) & 0xFFFFu);
      B[2 * t + i][g] = half_bits_to_float((b[l][0] >> (16 * i)) & 0xFFFFu);
      B[2 * t + 8 + i][g] = half_bits_to_float((b[l][1] >> (16 * i)) & 0xFFFFu);
    }
  }
  for (int l = 0; l < 32; ++l) {
    const int g = l / 4, t = l % 4;
    for (int e = 0; e < 4; ++e) {
      const int r = g + (e >= 2 ? 8 : 0), col = 2 * t + (e & 1);
      double s = 0;
      for (int k = 0; k < 16; ++k)
        s += A[r][k] * B[k][col];
      c[l][e] = float(double(c[l][e]) + s);
    }
  }
#endif
}

/// The 32-bit vote of the warp (the same value in every lane).
template <int LANES> LB_HD uint32_t ballot(const bool (&p)[LANES]) {
#ifdef __CUDA_ARCH__
  return __ballot_sync(0xFFFFFFFFu, p[0]);
#else
  uint32_t r = 0;
  for (int l = 0; l < 32; ++l)
    r |= uint32_t(p[l]) << l;
  return r;
#endif
}

// --- activation bit planes (bit-serial path, a separate small kernel) ------

/// One warp turns x[m, 32*word .. 32*word+31] (int8) into ABITS 32-bit plane
/// words planes[(m * ABITS + i) * K/32 + word] (bit i of each value; the
/// top plane is the two's complement sign).
template <int LANES, int ABITS>
LB_HD void xplanes_warp(const int8_t *x, uint32_t *planes, int K, int m,
                        int word) {
  int v[LANES];
  for (int l = 0; l < LANES; ++l)
    v[l] = x[int64_t(m) * K + word * 32 + lane_of<LANES>(l)];
  for (int i = 0; i < ABITS; ++i) {
    bool bit[LANES];
    for (int l = 0; l < LANES; ++l)
      bit[l] = (v[l] >> i) & 1;
    const uint32_t word32 = ballot<LANES>(bit);
    for (int l = 0; l < LANES; ++l)
      if (lane_of<LANES>(l) == i)
        planes[(int64_t(m) * ABITS + i) * (K / 32) + word] = word32;
  }
}

// --- block decomposition (the emitted kernels and the emulation share it) --

/// First row and column of warp `warp` in block (bx, by): warps are laid out
/// row-major over warpsM x warpsN, each covering warpRows x warpCols.
LB_HD void warp_origin(int bx, int by, int warp, int warpsN, int blockM,
                       int blockN, int warpRows, int warpCols, int &row0,
                       int &col0) {
  row0 = by * blockM + (warp / warpsN) * warpRows;
  col0 = bx * blockN + (warp % warpsN) * warpCols;
}

// --- epilogue ----------------------------------------------------------------

/// y += (float(acc) * x_scale[r]) * w_scale[n, g] for one output element.
LB_HD float fold_group(float y, int acc, const GemmParams &p, int r, int n,
                       int g, int groups) {
  return fadd(y, fmul(fmul(float(acc), p.x_scale[r]),
                      p.w_scale[int64_t(n) * groups + g]));
}

template <bool OUT_F16, bool HAS_BIAS>
LB_HD void store_result(const GemmParams &p, int r, int n, float y) {
  if (r >= p.M || n >= p.N)
    return;
  if (HAS_BIAS)
    y = fadd(y, p.bias[n]);
  store_out<OUT_F16>(p.out, int64_t(r) * p.N + n, y);
}

// --- path (a): bit-serial on binary tensor cores -----------------------------

/// The warp computes rows row0 .. row0 + 8*WTM - 1, columns col0 .. col0 +
/// 8*WTN - 1. For every 128-wide k chunk and every pair of planes (i, j):
/// P = popc(xplane_i AND wplane_j) on the tensor core, acc += +-P << (i+j),
/// negative when exactly one of the two planes is a sign plane. STAGES
/// chunks are loaded before any is multiplied.
template <int LANES, int ABITS, int WBITS, int WTM, int WTN, int STAGES,
          bool OUT_F16, bool HAS_BIAS>
LB_HD void gemm_bitserial_warp(const GemmParams &p, int row0, int col0) {
  const uint32_t *xp = static_cast<const uint32_t *>(p.x);
  const uint32_t *wp = reinterpret_cast<const uint32_t *>(p.w);
  const int kw = p.K / 32, groups = p.K / p.G;
  float y[WTM][WTN][LANES][2];
  for (int tm = 0; tm < WTM; ++tm)
    for (int tn = 0; tn < WTN; ++tn)
      for (int l = 0; l < LANES; ++l)
        y[tm][tn][l][0] = y[tm][tn][l][1] = 0.0f;
  for (int g = 0; g < groups; ++g) {
    int acc[WTM][WTN][LANES][2];
    for (int tm = 0; tm < WTM; ++tm)
      for (int tn = 0; tn < WTN; ++tn)
        for (int l = 0; l < LANES; ++l)
          acc[tm][tn][l][0] = acc[tm][tn][l][1] = 0;
    for (int kc = g * p.G; kc < (g + 1) * p.G; kc += 128 * STAGES) {
      uint32_t a[STAGES][ABITS][WTM][LANES], b[STAGES][WBITS][WTN][LANES];
LB_UNROLL
      for (int s = 0; s < STAGES; ++s)
        for (int l = 0; l < LANES; ++l) {
          const int lane = lane_of<LANES>(l), gq = lane / 4, t = lane % 4;
          const int word = (kc + s * 128) / 32 + t;
LB_UNROLL
          for (int tm = 0; tm < WTM; ++tm) {
            const int r = row0 + tm * 8 + gq;
LB_UNROLL
            for (int i = 0; i < ABITS; ++i)
              a[s][i][tm][l] =
                  r < p.M ? xp[(int64_t(r) * ABITS + i) * kw + word] : 0u;
          }
LB_UNROLL
          for (int tn = 0; tn < WTN; ++tn) {
            const int n = col0 + tn * 8 + gq;
LB_UNROLL
            for (int j = 0; j < WBITS; ++j)
              b[s][j][tn][l] =
                  n < p.N ? wp[(int64_t(n) * WBITS + j) * kw + word] : 0u;
          }
        }
LB_UNROLL
      for (int s = 0; s < STAGES; ++s)
LB_UNROLL
        for (int i = 0; i < ABITS; ++i)
LB_UNROLL
          for (int j = 0; j < WBITS; ++j) {
            const bool neg = (i == ABITS - 1) != (j == WBITS - 1);
LB_UNROLL
            for (int tm = 0; tm < WTM; ++tm)
LB_UNROLL
              for (int tn = 0; tn < WTN; ++tn) {
                int d[LANES][2];
                for (int l = 0; l < LANES; ++l)
                  d[l][0] = d[l][1] = 0;
                mma_b1<LANES>(d, a[s][i][tm], b[s][j][tn]);
                for (int l = 0; l < LANES; ++l)
                  for (int e = 0; e < 2; ++e) {
                    const int v = d[l][e] << (i + j);
                    acc[tm][tn][l][e] += neg ? -v : v;
                  }
              }
          }
    }
    for (int tm = 0; tm < WTM; ++tm)
      for (int tn = 0; tn < WTN; ++tn)
        for (int l = 0; l < LANES; ++l) {
          const int lane = lane_of<LANES>(l);
          const int r = row0 + tm * 8 + lane / 4;
          for (int e = 0; e < 2; ++e) {
            const int n = col0 + tn * 8 + (lane % 4) * 2 + e;
            if (r < p.M && n < p.N)
              y[tm][tn][l][e] =
                  fold_group(y[tm][tn][l][e], acc[tm][tn][l][e], p, r, n, g,
                             groups);
          }
        }
  }
  for (int tm = 0; tm < WTM; ++tm)
    for (int tn = 0; tn < WTN; ++tn)
      for (int l = 0; l < LANES; ++l) {
        const int lane = lane_of<LANES>(l);
        for (int e = 0; e < 2; ++e)
          store_result<OUT_F16, HAS_BIAS>(p, row0 + tm * 8 + lane / 4,
                                          col0 + tn * 8 + (lane % 4) * 2 + e,
                                          y[tm][tn][l][e]);
      }
}

// --- path (b): unpack to int8, int8 tensor cores ------------------------------

/// The warp computes rows row0 .. row0 + 16*WTM - 1, columns col0 .. col0 +
/// 8*WTN - 1: per 32-wide k step, A fragments straight from x (int8), B
/// fragments unpacked in registers from the packed weight (zero subtracted),
/// int32 accumulation over the group on the tensor core.
template <int LANES, int LAYOUT, bool WSIGNED, int WTM, int WTN, int STAGES,
          bool OUT_F16, bool HAS_BIAS>
LB_HD void gemm_unpack_s8_warp(const GemmParams &p, int row0, int col0) {
  const int8_t *x = static_cast<const int8_t *>(p.x);
  const int64_t rb = row_bytes(LAYOUT, 8, p.K);
  const int groups = p.K / p.G;
  float y[WTM][WTN][LANES][4];
  for (int tm = 0; tm < WTM; ++tm)
    for (int tn = 0; tn < WTN; ++tn)
      for (int l = 0; l < LANES; ++l)
        for (int e = 0; e < 4; ++e)
          y[tm][tn][l][e] = 0.0f;
  for (int g = 0; g < groups; ++g) {
    int acc[WTM][WTN][LANES][4];
    int zero[WTN][LANES];
    for (int tm = 0; tm < WTM; ++tm)
      for (int tn = 0; tn < WTN; ++tn)
        for (int l = 0; l < LANES; ++l)
          for (int e = 0; e < 4; ++e)
            acc[tm][tn][l][e] = 0;
    for (int tn = 0; tn < WTN; ++tn)
      for (int l = 0; l < LANES; ++l) {
        const int n = col0 + tn * 8 + lane_of<LANES>(l) / 4;
        zero[tn][l] = (!WSIGNED && p.w_zero && n < p.N)
                          ? int(p.w_zero[int64_t(n) * groups + g])
                          : 0;
      }
    for (int kc = g * p.G; kc < (g + 1) * p.G; kc += 32 * STAGES) {
      uint32_t a[STAGES][WTM][LANES][4], b[STAGES][WTN][LANES][2];
LB_UNROLL
      for (int s = 0; s < STAGES; ++s)
        for (int l = 0; l < LANES; ++l) {
          const int lane = lane_of<LANES>(l), gq = lane / 4, t = lane % 4;
          const int k = kc + s * 32 + t * 4;
LB_UNROLL
          for (int tm = 0; tm < WTM; ++tm) {
            const int r0 = row0 + tm * 16 + gq, r1 = r0 + 8;
            const int8_t *x0 = x + int64_t(r0) * p.K, *x1 = x + int64_t(r1) * p.K;
            a[s][tm][l][0] = r0 < p.M ? load_u32(x0 + k) : 0u;
            a[s][tm][l][1] = r1 < p.M ? load_u32(x1 + k) : 0u;
            a[s][tm][l][2] = r0 < p.M ? load_u32(x0 + k + 16) : 0u;
            a[s][tm][l][3] = r1 < p.M ? load_u32(x1 + k + 16) : 0u;
          }
LB_UNROLL
          for (int tn = 0; tn < WTN; ++tn) {
            const int n = col0 + tn * 8 + gq;
            const uint8_t *row = p.w + int64_t(n) * rb;
            b[s][tn][l][0] =
                n < p.N ? load_w4<LAYOUT, WSIGNED>(row, p.K, k, zero[tn][l]) : 0u;
            b[s][tn][l][1] =
                n < p.N ? load_w4<LAYOUT, WSIGNED>(row, p.K, k + 16, zero[tn][l])
                        : 0u;
          }
        }
LB_UNROLL
      for (int s = 0; s < STAGES; ++s)
LB_UNROLL
        for (int tm = 0; tm < WTM; ++tm)
LB_UNROLL
          for (int tn = 0; tn < WTN; ++tn)
            mma_s8<LANES>(acc[tm][tn], a[s][tm], b[s][tn]);
    }
    for (int tm = 0; tm < WTM; ++tm)
      for (int tn = 0; tn < WTN; ++tn)
        for (int l = 0; l < LANES; ++l) {
          const int lane = lane_of<LANES>(l);
          for (int e = 0; e < 4; ++e) {
            const int r = row0 + tm * 16 + lane / 4 + (e >= 2 ? 8 : 0);
            const int n = col0 + tn * 8 + (lane % 4) * 2 + (e & 1);
            if (r < p.M && n < p.N)
              y[tm][tn][l][e] = fold_group(y[tm][tn][l][e], acc[tm][tn][l][e],
                                           p, r, n, g, groups);
          }
        }
  }
  for (int tm = 0; tm < WTM; ++tm)
    for (int tn = 0; tn < WTN; ++tn)
      for (int l = 0; l < LANES; ++l) {
        const int lane = lane_of<LANES>(l);
        for (int e = 0; e < 4; ++e)
          store_result<OUT_F16, HAS_BIAS>(
              p, row0 + tm * 16 + lane / 4 + (e >= 2 ? 8 : 0),
              col0 + tn * 8 + (lane % 4) * 2 + (e & 1), y[tm][tn][l][e]);
      }
}

// --- path (b), A16: unpack to fp16, fp16 tensor cores, fp32 accumulation ---

/// Two weights k, k+1 (k even) as f16x2 (exact small integers).
template <int LAYOUT, bool WSIGNED>
LB_HD uint32_t load_w2_f16(const uint8_t *row, int64_t K, int64_t k, int zero) {
  const uint32_t w4 = load_w4<LAYOUT, WSIGNED>(row, K, k & ~int64_t(3), zero);
  const uint32_t pair = (k & 2) ? (w4 >> 16) : (w4 & 0xFFFFu);
  return unbias_f16x2(s8x2_to_biased_f16x2(pair));
}

/// Rows row0 .. row0 + 16*WTM - 1, columns col0 .. col0 + 8*WTN - 1; x is
/// f16 [M, K]; y[m, n] = sum_g (sum_{k in g} x * (w - zero)) * w_scale[n, g].
template <int LANES, int LAYOUT, bool WSIGNED, int WTM, int WTN, int STAGES,
          bool OUT_F16, bool HAS_BIAS>
LB_HD void gemm_unpack_f16_warp(const GemmParams &p, int row0, int col0) {
  const uint16_t *x = static_cast<const uint16_t *>(p.x);
  const int64_t rb = row_bytes(LAYOUT, 8, p.K);
  const int groups = p.K / p.G;
  float y[WTM][WTN][LANES][4];
  for (int tm = 0; tm < WTM; ++tm)
    for (int tn = 0; tn < WTN; ++tn)
      for (int l = 0; l < LANES; ++l)
        for (int e = 0; e < 4; ++e)
          y[tm][tn][l][e] = 0.0f;
  for (int g = 0; g < groups; ++g) {
    float acc[WTM][WTN][LANES][4];
    int zero[WTN][LANES];
    for (int tm = 0; tm < WTM; ++tm)
      for (int tn = 0; tn < WTN; ++tn)
        for (int l = 0; l < LANES; ++l)
          for (int e = 0; e < 4; ++e)
            acc[tm][tn][l][e] = 0.0f;
    for (int tn = 0; tn < WTN; ++tn)
      for (int l = 0; l < LANES; ++l) {
        const int n = col0 + tn * 8 + lane_of<LANES>(l) / 4;
        zero[tn][l] = (!WSIGNED && p.w_zero && n < p.N)
                          ? int(p.w_zero[int64_t(n) * groups + g])
                          : 0;
      }
    for (int kc = g * p.G; kc < (g + 1) * p.G; kc += 16 * STAGES) {
      uint32_t a[STAGES][WTM][LANES][4], b[STAGES][WTN][LANES][2];
LB_UNROLL
      for (int s = 0; s < STAGES; ++s)
        for (int l = 0; l < LANES; ++l) {
          const int lane = lane_of<LANES>(l), gq = lane / 4, t = lane % 4;
          const int k = kc + s * 16 + t * 2;
LB_UNROLL
          for (int tm = 0; tm < WTM; ++tm) {
            const int r0 = row0 + tm * 16 + gq, r1 = r0 + 8;
            const uint16_t *x0 = x + int64_t(r0) * p.K, *x1 = x + int64_t(r1) * p.K;
            a[s][tm][l][0] = r0 < p.M ? load_u32(x0 + k) : 0u;
            a[s][tm][l][1] = r1 < p.M ? load_u32(x1 + k) : 0u;
            a[s][tm][l][2] = r0 < p.M ? load_u32(x0 + k + 8) : 0u;
            a[s][tm][l][3] = r1 < p.M ? load_u32(x1 + k + 8) : 0u;
          }
LB_UNROLL
          for (int tn = 0; tn < WTN; ++tn) {
            const int n = col0 + tn * 8 + gq;
            const uint8_t *row = p.w + int64_t(n) * rb;
            b[s][tn][l][0] =
                n < p.N ? load_w2_f16<LAYOUT, WSIGNED>(row, p.K, k, zero[tn][l])
                        : 0u;
            b[s][tn][l][1] = n < p.N ? load_w2_f16<LAYOUT, WSIGNED>(
                                           row, p.K, k + 8, zero[tn][l])
                                     : 0u;
          }
        }
LB_UNROLL
      for (int s = 0; s < STAGES; ++s)
LB_UNROLL
        for (int tm = 0; tm < WTM; ++tm)
LB_UNROLL
          for (int tn = 0; tn < WTN; ++tn)
            mma_f16<LANES>(acc[tm][tn], a[s][tm], b[s][tn]);
    }
    for (int tm = 0; tm < WTM; ++tm)
      for (int tn = 0; tn < WTN; ++tn)
        for (int l = 0; l < LANES; ++l) {
          const int lane = lane_of<LANES>(l);
          for (int e = 0; e < 4; ++e) {
            const int r = row0 + tm * 16 + lane / 4 + (e >= 2 ? 8 : 0);
            const int n = col0 + tn * 8 + (lane % 4) * 2 + (e & 1);
            if (r < p.M && n < p.N)
              y[tm][tn][l][e] =
                  fadd(y[tm][tn][l][e],
                       fmul(acc[tm][tn][l][e],
                            p.w_scale[int64_t(n) * groups + g]));
          }
        }
  }
  for (int tm = 0; tm < WTM; ++tm)
    for (int tn = 0; tn < WTN; ++tn)
      for (int l = 0; l < LANES; ++l) {
        const int lane = lane_of<LANES>(l);
        for (int e = 0; e < 4; ++e)
          store_result<OUT_F16, HAS_BIAS>(
              p, row0 + tm * 16 + lane / 4 + (e >= 2 ? 8 : 0),
              col0 + tn * 8 + (lane % 4) * 2 + (e & 1), y[tm][tn][l][e]);
      }
}


// --- path (b) on sm_90a: unpack to int8 in shared memory, wgmma ------------

/// A warpgroup (128 threads) computes 64 rows x 64 columns per k step of 32:
/// all threads unpack the weight tile B [64 n x 32 k] into shared memory in
/// the canonical no-swizzle K-major layout (core matrices of 8 n-rows x 16
/// bytes; LBO = 128 bytes to the next 16 k, SBO = 256 bytes to the next 8
/// n), A (x, int8) comes from registers in the per-warp layout of
/// mma.m16n8k32, and wgmma.mma_async.m64n64k32.s32.s8.s8 accumulates int32
/// over the group. Single-buffered (stages = 1).
constexpr int kWgSmemBytes = 64 * 32; // one 64 x 32 int8 tile
constexpr uint32_t kWgLbo = 128, kWgSbo = 256;

/// Byte offset of B(n, k), n < 64, k < 32, in the shared tile.
LB_HD int wg_b_offset(int n, int k) {
  return (k / 16) * int(kWgLbo) + (n / 8) * int(kWgSbo) + (n % 8) * 16 + k % 16;
}

/// The wgmma shared-memory matrix descriptor: start address >> 4 (bits
/// 0-13), LBO >> 4 (16-29), SBO >> 4 (32-45), base offset 0, no swizzle.
LB_HD uint64_t wg_desc(uint32_t smemAddr) {
  return uint64_t((smemAddr >> 4) & 0x3FFFu) |
         (uint64_t((kWgLbo >> 4) & 0x3FFFu) << 16) |
         (uint64_t((kWgSbo >> 4) & 0x3FFFu) << 32);
}

template <int LANES> LB_HD int wg_lane_of(int l) {
#ifdef __CUDA_ARCH__
  return int(threadIdx.x & 127u);
#else
  return l;
#endif
}

LB_HD void block_sync() {
#ifdef __CUDA_ARCH__
  __syncthreads();
#endif
}

/// Generic-proxy stores to shared memory become visible to the async proxy.
LB_HD void fence_proxy_async() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
#endif
}

/// D = (scaleD ? D : 0) + A * B, m64n64k32 s8. Lane l of the warpgroup
/// (warp w = l / 32, g, t of l % 32): a as mma_s8 for rows 16w + g (+8);
/// d[4j + e] = D[16w + g + (e >= 2 ? 8 : 0)][8j + 2t + (e & 1)]. B is read
/// through the descriptor (host: from `smemHost` at the descriptor's
/// offsets; the descriptor's start address is relative to it).
template <int LANES>
LB_HD void wgmma_s8_n64(int (&d)[LANES][32], const uint32_t (&a)[LANES][4],
                        uint64_t desc, const uint8_t *smemHost, int scaleD) {
#ifdef __CUDA_ARCH__
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  // One statement from fence to wait, so that the compiler cannot touch the
  // accumulators while the asynchronous MMA owns them.
  asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %37, 0;\n"
               "wgmma.fence.sync.aligned;\n"
               "wgmma.mma_async.sync.aligned.m64n64k32.s32.s8.s8 "
               "{%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15,%16,%17,%18,%19,%20,%21,%22,%23,%24,%25,%26,%27,%28,%29,%30,%31}, {%32,%33,%34,%35}, %36, p;\n"
               "wgmma.commit_group.sync.aligned;\n"
               "wgmma.wait_group.sync.aligned 0;\n}\n"
               : "+r"(d[0][0]), "+r"(d[0][1]), "+r"(d[0][2]), "+r"(d[0][3]), "+r"(d[0][4]), "+r"(d[0][5]), "+r"(d[0][6]), "+r"(d[0][7]), "+r"(d[0][8]), "+r"(d[0][9]), "+r"(d[0][10]), "+r"(d[0][11]), "+r"(d[0][12]), "+r"(d[0][13]), "+r"(d[0][14]), "+r"(d[0][15]), "+r"(d[0][16]), "+r"(d[0][17]), "+r"(d[0][18]), "+r"(d[0][19]), "+r"(d[0][20]), "+r"(d[0][21]), "+r"(d[0][22]), "+r"(d[0][23]), "+r"(d[0][24]), "+r"(d[0][25]), "+r"(d[0][26]), "+r"(d[0][27]), "+r"(d[0][28]), "+r"(d[0][29]), "+r"(d[0][30]), "+r"(d[0][31])
               : "r"(a[0][0]), "r"(a[0][1]), "r"(a[0][2]), "r"(a[0][3]),
                 "l"(desc), "r"(scaleD)
               : "memory");
#else
  (void)d, (void)a, (void)desc, (void)smemHost, (void)scaleD;
  __trap(); // wgmma kernels are only emitted for sm_90a
#endif
#else
  const uint32_t start = uint32_t(desc & 0x3FFFu) << 4;
  const uint32_t lbo = uint32_t((desc >> 16) & 0x3FFFu) << 4;
  const uint32_t sbo = uint32_t((desc >> 32) & 0x3FFFu) << 4;
  static int A[64][32], B[32][64];
  for (int n = 0; n < 64; ++n)
    for (int k = 0; k < 32; ++k)
      B[k][n] = int8_t(smemHost[start + (k / 16) * lbo + (n / 8) * sbo +
                                (n % 8) * 16 + k % 16]);
  for (int l = 0; l < 128; ++l) {
    const int w = l / 32, g = (l % 32) / 4, t = l % 4;
    for (int i = 0; i < 4; ++i) {
      A[16 * w + g][4 * t + i] = int8_t(a[l][0] >> (8 * i));
      A[16 * w + g + 8][4 * t + i] = int8_t(a[l][1] >> (8 * i));
      A[16 * w + g][4 * t + 16 + i] = int8_t(a[l][2] >> (8 * i));
      A[16 * w + g + 8][4 * t + 16 + i] = int8_t(a[l][3] >> (8 * i));
    }
  }
  for (int l = 0; l < 128; ++l) {
    const int w = l / 32, g = (l % 32) / 4, t = l % 4;
    for (int j = 0; j < 8; ++j)
      for (int e = 0; e < 4; ++e) {
        const int r = 16 * w + g + (e >= 2 ? 8 : 0), c = 8 * j + 2 * t + (e & 1);
        int sum = 0;
        for (int k = 0; k < 32; ++k)
          sum += A[r][k] * B[k][c];
        d[l][4 * j + e] = (scaleD ? d[l][4 * j + e] : 0) + sum;
      }
  }
#endif
}

/// One warpgroup's 64 x 64 output tile at (row0, col0). `smem` is the
/// warpgroup's kWgSmemBytes tile (16-byte aligned), `smemAddr` its
/// shared-window address (0 on the host).
template <int LANES, int LAYOUT, bool WSIGNED, bool OUT_F16, bool HAS_BIAS>
LB_HD void gemm_wgmma_s8_wg(const GemmParams &p, int row0, int col0,
                            uint8_t *smem, uint32_t smemAddr) {
  const int8_t *x = static_cast<const int8_t *>(p.x);
  const int64_t rb = row_bytes(LAYOUT, 8, p.K);
  const int groups = p.K / p.G;
  const uint64_t desc = wg_desc(smemAddr);
  float y[LANES][32];
  for (int l = 0; l < LANES; ++l)
    for (int i = 0; i < 32; ++i)
      y[l][i] = 0.0f;
  for (int g = 0; g < groups; ++g) {
    int acc[LANES][32];
    for (int l = 0; l < LANES; ++l)
      for (int i = 0; i < 32; ++i)
        acc[l][i] = 0;
    for (int kc = g * p.G; kc < (g + 1) * p.G; kc += 32) {
      // B tile: 64 rows x 8 words of 4 weights, 4 words per thread.
      for (int l = 0; l < LANES; ++l) {
        const int lane = wg_lane_of<LANES>(l);
LB_UNROLL
        for (int q = 0; q < 4; ++q) {
          const int word = lane + 128 * q, n = word / 8, k = (word % 8) * 4;
          const int col = col0 + n;
          uint32_t v = 0;
          if (col < p.N) {
            const int zero = (!WSIGNED && p.w_zero)
                                 ? int(p.w_zero[int64_t(col) * groups + g])
                                 : 0;
            v = load_w4<LAYOUT, WSIGNED>(p.w + int64_t(col) * rb, p.K, kc + k,
                                         zero);
          }
#ifdef __CUDA_ARCH__
          *reinterpret_cast<uint32_t *>(smem + wg_b_offset(n, k)) = v;
#else
          memcpy(smem + wg_b_offset(n, k), &v, 4);
#endif
        }
      }
      fence_proxy_async();
      block_sync();
      uint32_t a[LANES][4];
      for (int l = 0; l < LANES; ++l) {
        const int lane = wg_lane_of<LANES>(l), w = lane / 32;
        const int gq = (lane % 32) / 4, t = lane % 4, k = kc + t * 4;
        const int r0 = row0 + 16 * w + gq, r1 = r0 + 8;
        const int8_t *x0 = x + int64_t(r0) * p.K, *x1 = x + int64_t(r1) * p.K;
        a[l][0] = r0 < p.M ? load_u32(x0 + k) : 0u;
        a[l][1] = r1 < p.M ? load_u32(x1 + k) : 0u;
        a[l][2] = r0 < p.M ? load_u32(x0 + k + 16) : 0u;
        a[l][3] = r1 < p.M ? load_u32(x1 + k + 16) : 0u;
      }
      wgmma_s8_n64<LANES>(acc, a, desc, smem, 1);
      block_sync(); // the tile is rewritten next step
    }
    for (int l = 0; l < LANES; ++l) {
      const int lane = wg_lane_of<LANES>(l), w = lane / 32;
      const int gq = (lane % 32) / 4, t = lane % 4;
      for (int j = 0; j < 8; ++j)
        for (int e = 0; e < 4; ++e) {
          const int r = row0 + 16 * w + gq + (e >= 2 ? 8 : 0);
          const int n = col0 + 8 * j + 2 * t + (e & 1);
          if (r < p.M && n < p.N)
            y[l][4 * j + e] =
                fold_group(y[l][4 * j + e], acc[l][4 * j + e], p, r, n, g, groups);
        }
    }
  }
  for (int l = 0; l < LANES; ++l) {
    const int lane = wg_lane_of<LANES>(l), w = lane / 32;
    const int gq = (lane % 32) / 4, t = lane % 4;
    for (int j = 0; j < 8; ++j)
      for (int e = 0; e < 4; ++e)
        store_result<OUT_F16, HAS_BIAS>(
            p, row0 + 16 * w + gq + (e >= 2 ? 8 : 0), col0 + 8 * j + 2 * t + (e & 1),
            y[l][4 * j + e]);
  }
}

} // namespace lbk

#endif // LOWBIT_TARGET_CUDA_LOWBITDEVICE_CUH
