//===- Gptq.h - GPTQ weight quantization ----------------------------------===//
//
// GPTQ (Frantar et al.) on [N, K] weights with the layer Hessian
// H = 2 X X^T / n of calibration inputs X [K, n]:
//
//  * dead columns (diag H == 0) get H[i,i] = 1 and W[:, i] = 0;
//  * damping: percDamp * mean(diag H) is added to the diagonal;
//  * act-order (optional): columns are processed by descending diag H
//    (stable sort) and Q is un-permuted at the end;
//  * U = upper Cholesky factor of (damped H)^-1 (computed as the reversed
//    inverse Cholesky factor of the reversed H, in double);
//  * columns are processed in lazy blocks of `blockSize` (128): inside a
//    block every error is pushed to the block's later columns at once, the
//    rest of the matrix receives the block's errors in one GEMM at the end
//    of the block;
//  * groups run along K in ORIGINAL column order (so the [N, K/G] scale layout
//    holds also with act-order). A group's scale / zero point are computed
//    from the current (error-updated) weights of all its columns when the
//    first of its columns is processed. Blocks are cut at those points so
//    that all columns are up to date there; the result equals the unblocked
//    column-by-column algorithm up to float rounding. Without act-order this
//    is exactly the reference GPTQ (static_groups=false); with act-order the
//    reference would form groups of consecutive *permuted* columns (needing a
//    g_idx table), which this layout cannot express, so lowbit uses the
//    original-order groups instead. Per-channel (G = K) and per-tensor
//    (G = 0) parameters come from the whole (dead-zeroed) W at the start.
//  * the grid is lowbit's (Quantize.h): symmetric grids use scale
//    absmax / (2^(b-1)-1) and zero point 0 (the reference GPTQ code uses an
//    unsigned grid with zero (maxq+1)/2 instead).
//
// Arithmetic: H, its Cholesky factors and U are double; the weight updates
// run in fp32 like the reference. Rows are independent, so row chunks are
// processed on `threads` threads (0 = hardware concurrency).
//
//===----------------------------------------------------------------------===//

#ifndef LOWBIT_LIB_NUMERICS_GPTQ_H
#define LOWBIT_LIB_NUMERICS_GPTQ_H

#include "lib/Numerics/Quantize.h"

namespace lowbit {
namespace numerics {

/// Layer Hessian H = 2/n * sum over all n samples seen of x x^T.
struct Hessian {
  int64_t k = 0;
  int64_t samples = 0;
  std::vector<double> h; ///< [K, K] row-major
};

/// Adds a batch of calibration inputs x [K, m] (row-major: feature-major,
/// one column per sample) to H, keeping H = 2/n_total sum x x^T (the
/// streaming update of the reference: H *= n/(n+m); H += 2/(n+m) X X^T).
/// An empty `h` (k == 0) is initialised to K x K zeros.
bool accumulateHessian(Hessian &h, const float *x, int64_t k, int64_t m,
                       std::string &error);

/// tr((W - Wq) H (W - Wq)^T) for W, Wq [N, K] row-major (double result;
/// equals 2/n ||(W - Wq) X||_F^2 when H came from X).
double hessianLoss(const float *w, const float *wq, int64_t n, int64_t k,
                   const Hessian &h, int threads = 0);

struct GptqOptions {
  QuantParams grid;
  int64_t groupSize = 0;   ///< 0 per-tensor, K per-channel, else per-group
  double percDamp = 0.01;  ///< damping fraction of mean(diag H)
  int64_t blockSize = 128; ///< lazy-update block (1 = unblocked)
  bool actOrder = false;
  int threads = 0;         ///< 0 = std::thread::hardware_concurrency()
};

struct GptqResult {
  QuantizedWeights weights;
  /// tr((W - dequant(Q)) H (W - dequant(Q))^T) with the undamped H,
  /// obtained without a K x K product from the identity
  /// tr(dW Hd dW^T) = 2 gptqLoss (Hd = damped H), i.e.
  /// loss = 2 gptqLoss - damp ||dW||^2 (see Gptq.cpp).
  double loss = 0.0;
  /// The reference GPTQ's own figure: sum over columns of
  /// (w - q)^2 / U[i,i]^2 / 2 on the error-updated weights.
  double gptqLoss = 0.0;
};

/// Quantizes w [N, K] row-major with GPTQ. Fails with a message on bad bits
/// (2..8), a group size that does not divide K, a Hessian of the wrong size,
/// non-finite inputs or a Hessian that is not positive definite after
/// damping.
bool quantizeGptq(const float *w, int64_t n, int64_t k, const Hessian &h,
                  const GptqOptions &opts, GptqResult &out,
                  std::string &error);

} // namespace numerics
} // namespace lowbit

#endif // LOWBIT_LIB_NUMERICS_GPTQ_H
