//===- Reference.h - CPU reference and random problems for the CUDA GEMMs -===//
//
// The exact contract of every emitted kernel, computed on the host in int64
// (integer paths) or double (A16) from unpacked values, with the epilogue's
// fp32 operations in the kernels' order:
//   y[m, n] = sum_g (float(acc[m, n, g]) * x_scale[m]) * w_scale[n, g] + bias
// (A16: y = sum_g float(acc_g) * w_scale[n, g] + bias). Used by the unit tests
// and by `lowbit-cuda-emit --check` (GPU correctness).
//
//===----------------------------------------------------------------------===//

#ifndef LOWBIT_LIB_TARGET_CUDA_REFERENCE_H
#define LOWBIT_LIB_TARGET_CUDA_REFERENCE_H

#include "lib/Target/Cuda/KernelSpec.h"

#include <cstdint>
#include <string>
#include <vector>

namespace lowbit {
namespace cuda {

/// One GEMM problem on the host.
struct HostGemm {
  int M = 0, N = 0, K = 0, G = 0;
  int aBits = 8, wBits = 4;
  bool wSigned = true;
  std::vector<int8_t> x;      ///< [M, K] integer activations (aBits != 16)
  std::vector<uint16_t> xh;   ///< [M, K] fp16 bits (aBits == 16)
  std::vector<float> xScale;  ///< [M]
  std::vector<int8_t> wq;     ///< [N, K] weight values (unpacked)
  std::vector<uint8_t> wPacked; ///< wq packed in the kernel's layout
  std::vector<float> wScale;  ///< [N, K / G]
  std::vector<float> wZero;   ///< [N, K / G] or empty (signed weights)
  std::vector<float> bias;    ///< [N] or empty
};

/// Random problem for `spec`: activations over the full signed aBits range
/// (fp16 values in [-2, 2] for A16; small integers when `integerA16`, so
/// that fp32 sums are exact), weights over their full range (signed two's
/// complement, or unsigned with integral zero points), positive scales,
/// bias if spec.hasBias. Weights are packed in spec.layout().
bool makeRandomGemm(const KernelSpec &spec, int m, int n, int k, int g,
                    uint64_t seed, bool integerA16, HostGemm &out,
                    std::string &error);

/// y [M, N] in f32. Fails if an int32 group accumulator would overflow.
bool referenceGemm(const HostGemm &p, std::vector<float> &y,
                   std::string &error);

/// float -> fp16 bits (round to nearest even) and back.
uint16_t floatToHalf(float v);
float halfToFloat(uint16_t h);

} // namespace cuda
} // namespace lowbit

#endif // LOWBIT_LIB_TARGET_CUDA_REFERENCE_H
