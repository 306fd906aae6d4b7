//===- KernelSpec.h - Low-bit GEMM kernel variants for CUDA ---------------===//
//
// A KernelSpec names one GPU kernel for lowbit.qlinear
//   y[M, N] = sum_g (float(acc_g) * x_scale[m]) * w_scale[n, g] (+ bias)
// with one of two instruction paths, both emitted from the same op:
//
//   BitSerial  activations and weights as 1-bit planes, X.W = sum over plane
//              pairs (i, j) of +-2^(i+j) popc(x_i AND w_j) on binary tensor
//              cores (mma.sync m8n8k128 .b1 .and.popc); weights in the
//              bit_planes layout, signed only; activations 2..8 bits.
//   Unpack     weights unpacked in registers from their slot layout
//              (int2_crumbs, int4_nibbles, int6_planes, int8_bytes) to int8
//              (activations of 2..8 bits: mma.sync m16n8k32 s8) or to fp16
//              (aBits = 16: mma.sync m16n8k16 f16, fp32 accumulation).
//
// Unpack on sm_90a may instead use wgmma (spec.wgmma, integer activations
// only): a block of warpsM warpgroups, each 64 x 64 outputs, the unpacked
// weight tile in shared memory, wgmma.mma_async m64n64k32 s8.
//
// Tiles: a block has warpsM x warpsN warps; each warp computes warpTileM x
// warpTileN MMA tiles (8x8 for bit-serial, 16x8 otherwise); `stages` k steps
// are loaded before the first is multiplied (register pipelining). The code
// is the same for sm_80, sm_86 and sm_90a; `arch` is the compile target.
//
// Plain C++17 (no MLIR): the emitter, the tuning table and the tests use it.
//
//===----------------------------------------------------------------------===//

#ifndef LOWBIT_LIB_TARGET_CUDA_KERNELSPEC_H
#define LOWBIT_LIB_TARGET_CUDA_KERNELSPEC_H

#include "lib/Numerics/Pack.h"

#include <cstdint>
#include <string>
#include <vector>

namespace lowbit {
namespace cuda {

enum class KernelPath { BitSerial, Unpack };
enum class CudaArch { Sm80, Sm86, Sm90a };

const char *pathName(KernelPath path);          // "bitserial" | "unpack"
bool parsePath(const std::string &s, KernelPath &path);
const char *archName(CudaArch arch);            // "sm_80" | "sm_86" | "sm_90a"
bool parseArch(const std::string &s, CudaArch &arch);
/// The arch for a compute capability (8.0 -> sm_80, 8.6/8.9 -> sm_86,
/// 9.0 -> sm_90a); false for anything older than 8.0.
bool archForComputeCapability(int major, int minor, CudaArch &arch);
/// nvcc's target flag, e.g. "-gencode=arch=compute_90a,code=sm_90a".
std::string nvccArchFlag(CudaArch arch);

struct KernelSpec {
  KernelPath path = KernelPath::Unpack;
  int wBits = 4;        ///< 2..8
  int aBits = 8;        ///< 2..8, or 16 (fp16 activations; Unpack only)
  bool wSigned = true;  ///< false: unsigned weights with a zero-point table
  int warpsM = 1, warpsN = 4;
  int warpTileM = 1, warpTileN = 2;
  int stages = 2;
  bool outF16 = true;   ///< fp16 output (the issue's contract); false: fp32
  bool hasBias = false;
  CudaArch arch = CudaArch::Sm80;
  /// Unpack path with wgmma (sm_90a, aBits <= 8): warpsM warpgroups along
  /// M, warpsN = warpTileM = stages = 1, warpTileN = 8 (64 columns).
  bool wgmma = false;

  /// The packed layout the kernel reads: bit_planes (BitSerial) or the
  /// smallest slot layout holding wBits (Unpack).
  numerics::PackLayout layout() const;
  int mmaM() const {
    return wgmma ? 64 : path == KernelPath::BitSerial ? 8 : 16;
  }
  /// k consumed by one MMA: 128 (b1), 32 (s8), 16 (f16).
  int kStep() const;
  int blockM() const { return warpsM * warpTileM * mmaM(); }
  int blockN() const { return warpsN * warpTileN * 8; }
  int threads() const { return (wgmma ? 128 : 32) * warpsM * warpsN; }
  /// "bitserial", "unpack" or "unpack_wgmma" (tuning tables, benchmarks).
  std::string variantName() const;
  bool operator==(const KernelSpec &o) const;
};

/// Checks bits, path/bits/signedness combinations and tile parameters.
bool validateSpec(const KernelSpec &spec, std::string &error);
/// Checks that a problem fits the kernel: M, N >= 1; K a multiple of the
/// k step (32 at least); G divides K and is a multiple of kStep * stages.
bool checkProblem(const KernelSpec &spec, int64_t m, int64_t n, int64_t k,
                  int64_t groupSize, std::string &error);

/// The C symbol of the kernel (unique per spec, arch excluded), e.g.
/// "lowbit_qgemm_unpack_w4a8_s_t1x4x1x2_st2_f16".
std::string kernelName(const KernelSpec &spec);
/// The activation plane kernel the bit-serial path launches first.
std::string xplanesKernelName(int aBits);

/// Every variant the test command compiles: both paths x the bit
/// pairs (W6A6 W6A8 W4A8 W2A8 W4A4 W8A8 bit-serial; W2/W4/W6/W8 x A6/A8,
/// W2/W4/W6 x A16, unsigned-with-zero forms, fp32-output-with-bias forms
/// unpacked) for `arch`, with the default tiles.
std::vector<KernelSpec> allVariants(CudaArch arch);

/// `s` with the wgmma tiles (2 warpgroups, 128 x 64 per block).
KernelSpec wgmmaTiles(KernelSpec s);

/// CUDA C++ source holding the shared device code (LowbitDevice.cuh) and one
/// `extern "C" __global__` entry per spec (plus the plane kernels the
/// bit-serial specs need). Fails on an invalid spec.
bool emitCudaSource(const std::vector<KernelSpec> &specs, std::string &source,
                    std::string &error);

} // namespace cuda
} // namespace lowbit

#endif // LOWBIT_LIB_TARGET_CUDA_KERNELSPEC_H
