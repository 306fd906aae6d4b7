//===- GptqCore.h - Shared machinery of GPTQ and decoupleQ (internal) -----===//
//
// Not part of the public API: the prepared (damped, permuted, inverted)
// Hessian, the lazy-block column sweep and a tiny row-chunk thread pool.
//
//===----------------------------------------------------------------------===//

#ifndef LOWBIT_LIB_NUMERICS_GPTQCORE_H
#define LOWBIT_LIB_NUMERICS_GPTQCORE_H

#include "lib/Numerics/Gptq.h"

#include <Eigen/Dense>

#include <functional>

namespace lowbit {
namespace numerics {
namespace detail {

using RowMatF =
    Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using RowMatD =
    Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// H after dead-column handling, damping and the (optional) act-order
/// permutation, inverted and factored for the GPTQ sweep.
struct PreparedHessian {
  int64_t k = 0;
  std::vector<int64_t> perm;    ///< processing position -> original column
  std::vector<int64_t> invPerm; ///< original column -> processing position
  std::vector<char> dead;       ///< per original column
  double damp = 0.0;            ///< value added to the diagonal
  RowMatF u;                    ///< [K, K] upper Cholesky factor of
                                ///< (P Hdamped P^T)^-1, processing order
};

bool prepareHessian(const Hessian &h, double percDamp, bool actOrder,
                    int threads, PreparedHessian &out, std::string &error);

/// Runs fn(task) for task in [0, tasks) on up to `threads` threads.
void parallelFor(int64_t tasks, int threads,
                 const std::function<void(int64_t)> &fn);
int resolveThreads(int threads);

/// The GPTQ column sweep on one row chunk. `wt` is [K, Nc] row-major: row j
/// holds processing-position j (original column perm[j]) for the chunk's
/// rows, and is updated in place. For each position j the callback
/// `quantizeColumn(j, wt, dq)` must write the dequantized values of row j of
/// `wt` to dq[0..Nc). `blockBreak[j]` forces a block to start at j (there all
/// of `wt` is up to date). Returns sum (w - dq)^2 / U[j,j]^2 / 2.
template <typename QuantizeColumn>
double gptqSweep(RowMatF &wt, const RowMatF &u, int64_t blockSize,
                 const std::vector<char> &blockBreak,
                 QuantizeColumn &&quantizeColumn) {
  const int64_t k = wt.rows(), nc = wt.cols();
  if (blockSize < 1)
    blockSize = 1;
  RowMatF err(blockSize, nc);
  Eigen::VectorXf dq(nc);
  double loss = 0.0;
  for (int64_t i1 = 0, i2; i1 < k; i1 = i2) {
    i2 = std::min(k, i1 + blockSize);
    for (int64_t j = i1 + 1; j < i2; ++j)
      if (blockBreak[j]) {
        i2 = j;
        break;
      }
    const int64_t count = i2 - i1;
    for (int64_t i = i1; i < i2; ++i) {
      quantizeColumn(i, wt, dq.data());
      const float d = u(i, i);
      auto e = err.row(i - i1);
      e = (wt.row(i) - dq.transpose()) / d;
      loss += 0.5 * double(e.squaredNorm());
      for (int64_t j = i + 1; j < i2; ++j)
        wt.row(j) -= u(i, j) * e;
    }
    if (i2 < k)
      wt.bottomRows(k - i2).noalias() -=
          u.block(i1, i2, count, k - i2).transpose() * err.topRows(count);
  }
  return loss;
}

} // namespace detail
} // namespace numerics
} // namespace lowbit

#endif // LOWBIT_LIB_NUMERICS_GPTQCORE_H
