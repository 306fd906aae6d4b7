//===- DecoupleQ.h - decoupleQ weight quantization ------------------------===//
//
// decoupleQ (Guo et al.): w ≈ q * s + z with integer q on the signed
// full-range grid [-2^(b-1), 2^(b-1)-1] and a float scale s and float offset
// z per (row, group). It minimizes the layer-Hessian proxy
//
//     L = tr((W - What) H (W - What)^T),   What[n, c] = q[n, c] s[n,g] + z[n,g]
//
// (undamped H = 2 X X^T / n; L is a sum of independent per-row terms) by
// alternating two steps, keeping every step only where the row loss drops:
//
//  (i)  integer step, (s, z) fixed: a GPTQ sweep (damped H, lazy blocks,
//       optional act-order) from the original W with the fixed affine grid
//       q = clamp(roundHalfToEven((w - z) / s)), error feedback as in GPTQ.
//       Accepted per row only if that row's L drops.
//  (ii) (s, z) step, Q fixed. With r = W - What (row residual), A_g = [q_g, 1_g]
//       the two columns of group g (zero outside the group), and the step
//       (ds_g, dz_g), the exact minimizer over group g alone satisfies the
//       2x2 normal equations
//
//         [ q_g^T H_gg q_g   q_g^T H_gg 1 ] [ds_g]   [ q_g^T (H r)_g ]
//         [ 1^T  H_gg q_g    1^T  H_gg 1  ] [dz_g] = [ 1^T  (H r)_g  ]
//
//       where H_gg is H restricted to the group's columns and (H r)_g the
//       group's part of the full-row gradient (it carries the coupling to the
//       other groups). All groups of a row are solved at once (block Jacobi);
//       the combined direction d = sum_g A_g [ds_g, dz_g] is then scaled by
//       the exact line-search step t = (d^T H r) / (d^T H d), so L never
//       increases. Per-channel (one group) this is the exact closed-form
//       least-squares solve (t = 1). `szSweeps` Jacobi sweeps per iteration;
//       repeated sweeps converge to the joint least-squares optimum.
//
// Initial (s, z): per group min/max, s = (max - min) / (2^b - 1),
// z = min + 2^(b-1) s (so q = -2^(b-1) maps to min), then step (i).
// Per-channel (groupSize == K) or per-group only; per-tensor is rejected.
//
//===----------------------------------------------------------------------===//

#ifndef LOWBIT_LIB_NUMERICS_DECOUPLEQ_H
#define LOWBIT_LIB_NUMERICS_DECOUPLEQ_H

#include "lib/Numerics/Gptq.h"

namespace lowbit {
namespace numerics {

struct DecoupleQOptions {
  int bits = 2;            ///< 2..8 (the method targets W2 / W3 / W4)
  int64_t groupSize = 0;   ///< K per-channel or a divisor of K; 0 is rejected
  int iterations = 10;     ///< (s, z) steps; integer steps between them
  /// Jacobi sweeps of the (s, z) step. One sweep per iteration measured
  /// best (lower final loss than 2 or 3 at W2 g128: fully optimizing (s, z)
  /// for a Q tends to trap the next integer step) and is the cheapest.
  int szSweeps = 1;
  double percDamp = 0.01;  ///< damping of H for the GPTQ integer step
  int64_t blockSize = 128; ///< lazy block of the GPTQ integer step
  bool actOrder = false;   ///< act-order in the GPTQ integer step
  double tolerance = 1e-7; ///< stop when an iteration gains less (relative)
  int threads = 0;         ///< 0 = hardware concurrency
};

struct DecoupleQResult {
  /// symmetric = fullRange = true, zeroPoints empty, offsets = z [N, K/G].
  QuantizedWeights weights;
  /// Final tr((W - What) H (W - What)^T) with the undamped H.
  double loss = 0.0;
  /// lossHistory[0]: after the first integer step with the min/max grid;
  /// lossHistory[i], i >= 1: after the i-th (s, z) step. Non-increasing.
  std::vector<double> lossHistory;
};

bool quantizeDecoupleQ(const float *w, int64_t n, int64_t k, const Hessian &h,
                       const DecoupleQOptions &opts, DecoupleQResult &out,
                       std::string &error);

} // namespace numerics
} // namespace lowbit

#endif // LOWBIT_LIB_NUMERICS_DECOUPLEQ_H
