//===- Gptq.cpp - GPTQ weight quantization --------------------------------===//

#include "lib/Numerics/Gptq.h"
#include "lib/Numerics/GptqCore.h"
#include "lib/Numerics/Rtn.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <numeric>
#include <thread>

namespace lowbit {
namespace numerics {

namespace detail {

int resolveThreads(int threads) {
  if (threads > 0)
    return threads;
  unsigned hc = std::thread::hardware_concurrency();
  return hc == 0 ? 1 : int(hc);
}

void parallelFor(int64_t tasks, int threads,
                 const std::function<void(int64_t)> &fn) {
  int t = int(std::min<int64_t>(resolveThreads(threads), tasks));
  if (t <= 1) {
    for (int64_t i = 0; i < tasks; ++i)
      fn(i);
    return;
  }
  std::atomic<int64_t> next(0);
  auto worker = [&]() {
    for (int64_t i; (i = next.fetch_add(1)) < tasks;)
      fn(i);
  };
  std::vector<std::thread> pool;
  for (int i = 1; i < t; ++i)
    pool.emplace_back(worker);
  worker();
  for (auto &th : pool)
    th.join();
}

// Runs f(0) and f(1) concurrently (or one after the other for 1 thread).
static void runPair(int threads, const std::function<void(int)> &f) {
  parallelFor(2, std::min(threads, 2), [&](int64_t i) { f(int(i)); });
}

// In-place blocked (right-looking) Cholesky factorization A = L L^T of the
// lower triangle of a symmetric positive definite matrix; the trailing
// updates and panel solves are split across `threads`. Returns false if A is
// not positive definite.
static bool choleskyLowerInPlace(Eigen::MatrixXd &a, int threads) {
  const Eigen::Index n = a.rows(), bs = 192;
  for (Eigen::Index j = 0; j < n; j += bs) {
    const Eigen::Index jb = std::min(bs, n - j), r = n - j - jb;
    Eigen::Ref<Eigen::MatrixXd> diagBlock = a.block(j, j, jb, jb);
    Eigen::LLT<Eigen::Ref<Eigen::MatrixXd>, Eigen::Lower> llt(diagBlock);
    if (llt.info() != Eigen::Success)
      return false;
    if (r == 0)
      break;
    // Panel: A21 := A21 L11^-T, rows split across threads.
    const Eigen::Index rowChunk = 256, rowTasks = (r + rowChunk - 1) / rowChunk;
    parallelFor(rowTasks, threads, [&](int64_t t) {
      Eigen::Index r0 = j + jb + t * rowChunk;
      Eigen::Index rr = std::min(rowChunk, n - r0);
      a.block(j, j, jb, jb)
          .triangularView<Eigen::Lower>()
          .transpose()
          .solveInPlace<Eigen::OnTheRight>(a.block(r0, j, rr, jb));
    });
    // Trailing update of the lower triangle: A22 -= A21 A21^T, by column
    // chunks (each chunk also touches the strict upper part of its own
    // diagonal block, which is never read).
    const Eigen::Index colChunk = 128, colTasks = (r + colChunk - 1) / colChunk;
    parallelFor(colTasks, threads, [&](int64_t t) {
      Eigen::Index c0 = t * colChunk, cw = std::min(colChunk, r - c0);
      Eigen::Index a0 = j + jb + c0;
      a.block(a0, a0, n - a0, cw).noalias() -=
          a.block(a0, j, n - a0, jb) * a.block(a0, j, cw, jb).transpose();
    });
  }
  return true;
}

// In-place inverse of a lower-triangular matrix (the strict upper part is
// ignored and left untouched), recursive 2x2 blocking so that the work is
// done by triangular matrix products (~n^3/6 multiply-adds); the two halves
// and the products are split across `threads`.
static void invertLowerInPlace(Eigen::Ref<Eigen::MatrixXd> a, int threads) {
  const Eigen::Index n = a.rows();
  if (n <= 128) {
    Eigen::MatrixXd inv = Eigen::MatrixXd::Identity(n, n);
    a.triangularView<Eigen::Lower>().solveInPlace(inv);
    a.triangularView<Eigen::Lower>() = inv;
    return;
  }
  const Eigen::Index h = n / 2, m = n - h;
  const int sub = std::max(1, threads / 2);
  runPair(threads, [&](int i) {
    if (i == 0)
      invertLowerInPlace(a.topLeftCorner(h, h), sub);
    else
      invertLowerInPlace(a.bottomRightCorner(m, m), sub);
  });
  // [A11 0; A21 A22]^-1 = [A11^-1 0; -A22^-1 A21 A11^-1  A22^-1].
  Eigen::MatrixXd t(m, h);
  const int parts = std::max(1, threads);
  parallelFor(parts, threads, [&](int64_t p) {
    Eigen::Index r0 = m * p / parts, r1 = m * (p + 1) / parts;
    t.middleRows(r0, r1 - r0).noalias() =
        a.bottomLeftCorner(m, h).middleRows(r0, r1 - r0) *
        a.topLeftCorner(h, h).triangularView<Eigen::Lower>();
  });
  parallelFor(parts, threads, [&](int64_t p) {
    Eigen::Index c0 = h * p / parts, c1 = h * (p + 1) / parts;
    a.bottomLeftCorner(m, h).middleCols(c0, c1 - c0).noalias() =
        -(a.bottomRightCorner(m, m).triangularView<Eigen::Lower>() *
          t.middleCols(c0, c1 - c0));
  });
}

bool prepareHessian(const Hessian &h, double percDamp, bool actOrder,
                    int threads, PreparedHessian &out, std::string &error) {
  const int64_t k = h.k;
  if (k <= 0 || int64_t(h.h.size()) != k * k) {
    error = "Hessian is empty or not K x K";
    return false;
  }
  if (!(percDamp >= 0.0) || !std::isfinite(percDamp)) {
    error = "damping fraction must be finite and >= 0";
    return false;
  }
  for (double v : h.h)
    if (!std::isfinite(v)) {
      error = "Hessian has non-finite entries";
      return false;
    }
  out.k = k;
  out.dead.assign(static_cast<size_t>(k), 0);
  std::vector<double> diag(static_cast<size_t>(k));
  double meanDiag = 0.0;
  for (int64_t i = 0; i < k; ++i) {
    diag[i] = h.h[i * k + i];
    if (diag[i] == 0.0) {
      out.dead[i] = 1;
      diag[i] = 1.0;
    }
    meanDiag += diag[i];
  }
  meanDiag /= double(k);
  const double damp = percDamp * meanDiag;
  out.damp = damp;

  out.perm.resize(static_cast<size_t>(k));
  std::iota(out.perm.begin(), out.perm.end(), int64_t(0));
  if (actOrder)
    std::stable_sort(out.perm.begin(), out.perm.end(),
                     [&](int64_t a, int64_t b) { return diag[a] > diag[b]; });
  out.invPerm.resize(static_cast<size_t>(k));
  for (int64_t j = 0; j < k; ++j)
    out.invPerm[out.perm[j]] = j;

  // M = J P Hd P^T J (J: reversal). If M = L L^T then
  // (P Hd P^T)^-1 = U^T U with U = J L^-1 J upper triangular.
  Eigen::MatrixXd m = Eigen::MatrixXd::Zero(k, k);
  for (int64_t b = 0; b < k; ++b) {
    const int64_t cb = out.perm[k - 1 - b];
    for (int64_t a = b; a < k; ++a) { // lower triangle is enough
      const int64_t ca = out.perm[k - 1 - a];
      double v = ca == cb ? diag[ca] + damp : h.h[ca * k + cb];
      m(a, b) = v;
    }
  }
  threads = resolveThreads(threads);
  if (!choleskyLowerInPlace(m, threads)) {
    error = "Hessian is not positive definite after damping (" +
            std::to_string(percDamp) + " * mean diag)";
    return false;
  }
  invertLowerInPlace(m, threads);
  out.u.setZero(k, k);
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = i; j < k; ++j)
      out.u(i, j) = float(m(k - 1 - i, k - 1 - j));
  for (int64_t i = 0; i < k; ++i)
    if (!(out.u(i, i) > 0.0f) || !std::isfinite(out.u(i, i))) {
      error = "Hessian inverse factor is degenerate (increase damping)";
      return false;
    }
  return true;
}

} // namespace detail

using detail::RowMatD;
using detail::RowMatF;

bool accumulateHessian(Hessian &h, const float *x, int64_t k, int64_t m,
                       std::string &error) {
  if (k <= 0 || m <= 0) {
    error = "calibration batch [" + std::to_string(k) + ", " +
            std::to_string(m) + "] is empty";
    return false;
  }
  if (h.k == 0) {
    h.k = k;
    h.samples = 0;
    h.h.assign(static_cast<size_t>(k * k), 0.0);
  }
  if (h.k != k || int64_t(h.h.size()) != k * k) {
    error = "calibration batch has K=" + std::to_string(k) +
            " but the Hessian has K=" + std::to_string(h.k);
    return false;
  }
  if (!checkFinite(x, k * m, "calibration input", error))
    return false;
  const double total = double(h.samples + m);
  Eigen::Map<RowMatD> H(h.h.data(), k, k);
  Eigen::Map<const RowMatF> X(x, k, m);
  RowMatD xd = X.cast<double>();
  H *= double(h.samples) / total;
  RowMatD xxt(k, k);
  xxt.setZero();
  xxt.selfadjointView<Eigen::Lower>().rankUpdate(xd, 2.0 / total);
  xxt.triangularView<Eigen::StrictlyUpper>() = xxt.transpose();
  H += xxt;
  h.samples += m;
  return true;
}

double hessianLoss(const float *w, const float *wq, int64_t n, int64_t k,
                   const Hessian &h, int threads) {
  RowMatF hf = Eigen::Map<const RowMatD>(h.h.data(), k, k).cast<float>();
  const int64_t chunk = 256, tasks = (n + chunk - 1) / chunk;
  std::vector<double> part(static_cast<size_t>(tasks), 0.0);
  detail::parallelFor(tasks, threads, [&](int64_t t) {
    int64_t r0 = t * chunk, r1 = std::min(n, r0 + chunk);
    RowMatF d = Eigen::Map<const RowMatF>(w + r0 * k, r1 - r0, k) -
                Eigen::Map<const RowMatF>(wq + r0 * k, r1 - r0, k);
    RowMatF dh = d * hf;
    part[t] = dh.cwiseProduct(d).rowwise().sum().cast<double>().sum();
  });
  return std::accumulate(part.begin(), part.end(), 0.0);
}

bool quantizeGptq(const float *w, int64_t n, int64_t k, const Hessian &h,
                  const GptqOptions &opts, GptqResult &out,
                  std::string &error) {
  const QuantParams &p = opts.grid;
  const int64_t groupSize = opts.groupSize;
  if (!checkBits(p.bits, error) || !checkWeightShape(n, k, groupSize, error) ||
      !checkFinite(w, n * k, "weight", error))
    return false;
  if (h.k != k) {
    error = "Hessian is " + std::to_string(h.k) + " x " + std::to_string(h.k) +
            " but the weight has K=" + std::to_string(k);
    return false;
  }
  if (opts.blockSize < 1) {
    error = "GPTQ block size must be >= 1";
    return false;
  }
  detail::PreparedHessian ph;
  if (!detail::prepareHessian(h, opts.percDamp, opts.actOrder, opts.threads,
                              ph, error))
    return false;

  // Dead columns are zeroed (reference GPTQ).
  std::vector<float> w0(w, w + n * k);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t c = 0; c < k; ++c)
      if (ph.dead[c])
        w0[r * k + c] = 0.0f;

  QuantizedWeights &qw = out.weights;
  detail::initQuantizedWeights(qw, p, n, k, groupSize);
  const int lo = qmin(p), hi = qmax(p);
  const bool perTensor = groupSize == 0;
  const int64_t gs = perTensor ? k : groupSize;
  const int64_t groups = k / gs;

  if (perTensor) {
    double mn, mx;
    detail::slotRange(w0.data(), n, k, 0, 0, mn, mx);
    int32_t zp;
    computeScaleZero(mn, mx, p, qw.scales[0], zp);
    if (!p.symmetric)
      qw.zeroPoints[0] = zp;
  }
  // The first processing position of every group starts a block and
  // computes the group's parameters.
  std::vector<char> groupStart(static_cast<size_t>(k), 0);
  if (!perTensor) {
    std::vector<char> seen(static_cast<size_t>(groups), 0);
    for (int64_t j = 0; j < k; ++j) {
      int64_t g = ph.perm[j] / gs;
      if (!seen[g]) {
        seen[g] = 1;
        groupStart[j] = 1;
      }
    }
  }

  const int64_t chunk = 256, tasks = (n + chunk - 1) / chunk;
  std::vector<double> gptqLoss(static_cast<size_t>(tasks), 0.0), loss(static_cast<size_t>(tasks), 0.0);
  detail::parallelFor(tasks, opts.threads, [&](int64_t t) {
    const int64_t r0 = t * chunk, r1 = std::min(n, r0 + chunk), nc = r1 - r0;
    RowMatF wt(k, nc);
    for (int64_t j = 0; j < k; ++j)
      for (int64_t r = 0; r < nc; ++r)
        wt(j, r) = w0[(r0 + r) * k + ph.perm[j]];
    std::vector<float> mn(static_cast<size_t>(nc)), mx(static_cast<size_t>(nc));
    auto quantizeColumn = [&](int64_t j, const RowMatF &cur, float *dq) {
      const int64_t c = ph.perm[j];
      const int64_t g = c / gs;
      if (groupStart[j]) {
        for (int64_t r = 0; r < nc; ++r)
          mn[r] = mx[r] = cur(ph.invPerm[g * gs], r);
        for (int64_t cc = g * gs; cc < (g + 1) * gs; ++cc) {
          const float *row = cur.row(ph.invPerm[cc]).data();
          for (int64_t r = 0; r < nc; ++r) {
            mn[r] = std::min(mn[r], row[r]);
            mx[r] = std::max(mx[r], row[r]);
          }
        }
        for (int64_t r = 0; r < nc; ++r) {
          int64_t slot = (r0 + r) * groups + g;
          int32_t zp;
          computeScaleZero(mn[r], mx[r], p, qw.scales[slot], zp);
          if (!p.symmetric)
            qw.zeroPoints[slot] = zp;
        }
      }
      const float *row = cur.row(j).data();
      for (int64_t r = 0; r < nc; ++r) {
        int64_t slot = perTensor ? 0 : (r0 + r) * groups + g;
        float s = qw.scales[slot];
        int32_t zp = p.symmetric ? 0 : qw.zeroPoints[slot];
        int32_t q = quantizeValue(row[r], s, zp, lo, hi);
        qw.q[(r0 + r) * k + c] = int8_t(uint8_t(q));
        dq[r] = dequantizeValue(q, s, zp);
      }
    };
    gptqLoss[t] =
        detail::gptqSweep(wt, ph.u, opts.blockSize, groupStart, quantizeColumn);
    // ||W0 - dequant(Q)||^2 of this chunk, for the loss identity below.
    double sq = 0.0;
    for (int64_t r = 0; r < nc; ++r)
      for (int64_t c = 0; c < k; ++c) {
        double d = double(w0[(r0 + r) * k + c]) -
                   double(qw.dequantizeAt((r0 + r) * k + c));
        sq += d * d;
      }
    loss[t] = sq;
  });
  out.gptqLoss = std::accumulate(gptqLoss.begin(), gptqLoss.end(), 0.0);
  // With U the upper Cholesky factor of Hd^-1 (Hd = H + damp I, dead
  // diagonals set to 1) the sweep produces W0 - Q = E U row by row (E the
  // scaled errors), so tr((W0-Q) Hd (W0-Q)^T) = sum E^2 = 2 gptqLoss. Dead
  // columns are exact zeros in W0 - Q and carry no weight in H, hence the
  // undamped loss is 2 gptqLoss - damp ||W0 - Q||^2, with no K x K product.
  const double sqErr = std::accumulate(loss.begin(), loss.end(), 0.0);
  out.loss = std::max(0.0, 2.0 * out.gptqLoss - ph.damp * sqErr);
  return true;
}

} // namespace numerics
} // namespace lowbit
