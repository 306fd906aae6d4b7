//===- DecoupleQ.cpp - decoupleQ weight quantization ----------------------===//

#include "lib/Numerics/DecoupleQ.h"
#include "lib/Numerics/GptqCore.h"
#include "lib/Numerics/Rtn.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace lowbit {
namespace numerics {

using detail::RowMatD;
using detail::RowMatF;

namespace {

// State of one row chunk.
struct Chunk {
  int64_t nc, k, gs, groups;
  int lo, hi;
  RowMatF w;          // [nc, K] original order, dead columns zeroed
  Eigen::MatrixXi q;  // [nc, K]
  RowMatF s, z;       // [nc, groups]
  RowMatF e, eh;      // residual W - What and (W - What) H
  Eigen::VectorXd rowLoss;

  void residual(const Eigen::MatrixXi &qq, RowMatF &out) const {
    out.resize(nc, k);
    for (int64_t r = 0; r < nc; ++r)
      for (int64_t c = 0; c < k; ++c) {
        int64_t g = c / gs;
        out(r, c) = w(r, c) - (float(qq(r, c)) * s(r, g) + z(r, g));
      }
  }
};

// GPTQ sweep with the fixed affine grid of each (row, group).
void integerStep(const Chunk &ch, const detail::PreparedHessian &ph,
                 int64_t blockSize, Eigen::MatrixXi &qOut) {
  const int64_t k = ch.k, nc = ch.nc;
  RowMatF wt(k, nc);
  for (int64_t j = 0; j < k; ++j)
    for (int64_t r = 0; r < nc; ++r)
      wt(j, r) = ch.w(r, ph.perm[j]);
  qOut = ch.q;
  std::vector<char> noBreaks(static_cast<size_t>(k), 0);
  auto quantizeColumn = [&](int64_t j, const RowMatF &cur, float *dq) {
    const int64_t c = ph.perm[j], g = c / ch.gs;
    const float *row = cur.row(j).data();
    for (int64_t r = 0; r < nc; ++r) {
      const float s = ch.s(r, g), z = ch.z(r, g);
      int32_t q = qOut(r, c);
      if (s != 0.0f && std::isfinite(s))
        q = quantizeValue(row[r] - z, s, 0, ch.lo, ch.hi);
      qOut(r, c) = q;
      dq[r] = float(q) * s + z;
    }
  };
  detail::gptqSweep(wt, ph.u, blockSize, noBreaks, quantizeColumn);
}

// One block-Jacobi (s, z) sweep with exact line search (see the header).
void szSweep(Chunk &ch, const RowMatF &hf, const std::vector<double> &m11,
             const RowMatD &m00, const RowMatD &m01) {
  const int64_t nc = ch.nc, k = ch.k, gs = ch.gs, groups = ch.groups;
  RowMatF ds(nc, groups), dz(nc, groups);
  for (int64_t r = 0; r < nc; ++r)
    for (int64_t g = 0; g < groups; ++g) {
      double b0 = 0.0, b1 = 0.0;
      for (int64_t c = g * gs; c < (g + 1) * gs; ++c) {
        b0 += double(ch.eh(r, c)) * ch.q(r, c);
        b1 += double(ch.eh(r, c));
      }
      const double a00 = m00(r, g), a01 = m01(r, g), a11 = m11[g];
      const double det = a00 * a11 - a01 * a01;
      double x0 = 0.0, x1 = 0.0;
      if (a00 > 0 && a11 > 0 && det > 1e-10 * a00 * a11) {
        x0 = (a11 * b0 - a01 * b1) / det;
        x1 = (a00 * b1 - a01 * b0) / det;
      } else if (a11 > 0) {
        x1 = b1 / a11;
      } else if (a00 > 0) {
        x0 = b0 / a00;
      }
      ds(r, g) = float(x0);
      dz(r, g) = float(x1);
    }
  RowMatF d(nc, k);
  for (int64_t r = 0; r < nc; ++r)
    for (int64_t c = 0; c < k; ++c)
      d(r, c) = ds(r, c / gs) * float(ch.q(r, c)) + dz(r, c / gs);
  RowMatF dh = d * hf;
  for (int64_t r = 0; r < nc; ++r) {
    const double curv = double(d.row(r).dot(dh.row(r)));
    const double grad = double(d.row(r).dot(ch.eh.row(r)));
    if (!(curv > 0.0) || !(grad > 0.0))
      continue;
    const double t = grad / curv;
    // New parameters; keep them only if the exactly recomputed loss drops.
    Eigen::RowVectorXf s0 = ch.s.row(r), z0 = ch.z.row(r);
    Eigen::RowVectorXf e0 = ch.e.row(r), eh0 = ch.eh.row(r);
    ch.s.row(r) += float(t) * ds.row(r);
    ch.z.row(r) += float(t) * dz.row(r);
    for (int64_t c = 0; c < k; ++c) {
      int64_t g = c / gs;
      ch.e(r, c) = ch.w(r, c) - (float(ch.q(r, c)) * ch.s(r, g) + ch.z(r, g));
    }
    ch.eh.row(r) -= float(t) * dh.row(r);
    const double nl = double(ch.e.row(r).dot(ch.eh.row(r)));
    if (nl < ch.rowLoss[r]) {
      ch.rowLoss[r] = nl;
    } else {
      ch.s.row(r) = s0;
      ch.z.row(r) = z0;
      ch.e.row(r) = e0;
      ch.eh.row(r) = eh0;
    }
  }
}

} // namespace

bool quantizeDecoupleQ(const float *w, int64_t n, int64_t k, const Hessian &h,
                       const DecoupleQOptions &opts, DecoupleQResult &out,
                       std::string &error) {
  if (!checkBits(opts.bits, error) ||
      !checkWeightShape(n, k, opts.groupSize, error) ||
      !checkFinite(w, n * k, "weight", error))
    return false;
  if (opts.groupSize == 0) {
    error = "decoupleq needs per-channel (group size K) or per-group "
            "parameters; per-tensor (group size 0) is not supported";
    return false;
  }
  if (h.k != k) {
    error = "Hessian is " + std::to_string(h.k) + " x " + std::to_string(h.k) +
            " but the weight has K=" + std::to_string(k);
    return false;
  }
  if (opts.iterations < 0 || opts.szSweeps < 1 || opts.blockSize < 1) {
    error = "decoupleq needs iterations >= 0, szSweeps >= 1, blockSize >= 1";
    return false;
  }
  detail::PreparedHessian ph;
  if (!detail::prepareHessian(h, opts.percDamp, opts.actOrder, opts.threads,
                              ph, error))
    return false;

  QuantParams p;
  p.bits = opts.bits;
  p.symmetric = true;
  p.fullRange = true;
  QuantizedWeights &qw = out.weights;
  detail::initQuantizedWeights(qw, p, n, k, opts.groupSize);
  qw.offsets.assign(qw.scales.size(), 0.0f);

  const int64_t gs = opts.groupSize, groups = k / gs;
  const int lo = qmin(p), hi = qmax(p);
  const RowMatF hf =
      Eigen::Map<const RowMatD>(h.h.data(), k, k).cast<float>();
  // 1^T H_gg 1 for every group (row independent).
  std::vector<double> m11(static_cast<size_t>(groups), 0.0);
  for (int64_t g = 0; g < groups; ++g)
    m11[g] = hf.block(g * gs, g * gs, gs, gs).cast<double>().sum();

  const int iters = opts.iterations;
  const int64_t chunkRows = 256, tasks = (n + chunkRows - 1) / chunkRows;
  std::vector<std::vector<double>> hist(
      static_cast<size_t>(tasks),
      std::vector<double>(static_cast<size_t>(iters + 1), 0.0));
  std::vector<double> finalLoss(static_cast<size_t>(tasks), 0.0);

  detail::parallelFor(tasks, opts.threads, [&](int64_t t) {
    Chunk ch;
    const int64_t r0 = t * chunkRows, r1 = std::min(n, r0 + chunkRows);
    ch.nc = r1 - r0;
    ch.k = k;
    ch.gs = gs;
    ch.groups = groups;
    ch.lo = lo;
    ch.hi = hi;
    ch.w = Eigen::Map<const RowMatF>(w + r0 * k, ch.nc, k);
    for (int64_t c = 0; c < k; ++c)
      if (ph.dead[c])
        ch.w.col(c).setZero();
    ch.q.setZero(ch.nc, k);
    ch.s.resize(ch.nc, groups);
    ch.z.resize(ch.nc, groups);
    const double levels = double(hi - lo);
    for (int64_t r = 0; r < ch.nc; ++r)
      for (int64_t g = 0; g < groups; ++g) {
        auto seg = ch.w.row(r).segment(g * gs, gs);
        const double mn = seg.minCoeff(), mx = seg.maxCoeff();
        float s = float((mx - mn) / levels);
        if (!(s > 0.0f))
          s = 1.0f;
        ch.s(r, g) = s;
        ch.z(r, g) = float(mn - double(lo) * s);
      }

    auto evaluate = [&](const Eigen::MatrixXi &qq, RowMatF &e, RowMatF &eh,
                        Eigen::VectorXd &rl) {
      ch.residual(qq, e);
      eh.noalias() = e * hf;
      rl = e.cwiseProduct(eh).rowwise().sum().cast<double>();
    };

    // Initial integer step.
    integerStep(ch, ph, opts.blockSize, ch.q);
    evaluate(ch.q, ch.e, ch.eh, ch.rowLoss);
    std::vector<double> &hs = hist[t];
    hs[0] = ch.rowLoss.sum();

    Eigen::MatrixXi qNew;
    RowMatF eNew, ehNew;
    Eigen::VectorXd rlNew;
    int it = 1;
    for (; it <= iters; ++it) {
      // (s, z) step: per-(row, group) 2x2 matrices for the current Q.
      RowMatD m00(ch.nc, groups), m01(ch.nc, groups);
      for (int64_t g = 0; g < groups; ++g) {
        RowMatF qg = ch.q.block(0, g * gs, ch.nc, gs).cast<float>();
        RowMatF tq = qg * hf.block(g * gs, g * gs, gs, gs);
        m00.col(g) = tq.cwiseProduct(qg).rowwise().sum().cast<double>();
        m01.col(g) = tq.rowwise().sum().cast<double>();
      }
      for (int sw = 0; sw < opts.szSweeps; ++sw)
        szSweep(ch, hf, m11, m00, m01);
      hs[it] = ch.rowLoss.sum();
      const bool converged =
          hs[it - 1] - hs[it] <= opts.tolerance * std::fabs(hs[it - 1]);
      if (it == iters || converged)
        break;
      // Integer step with the new grid, accepted per row.
      integerStep(ch, ph, opts.blockSize, qNew);
      evaluate(qNew, eNew, ehNew, rlNew);
      for (int64_t r = 0; r < ch.nc; ++r)
        if (rlNew[r] < ch.rowLoss[r]) {
          ch.q.row(r) = qNew.row(r);
          ch.e.row(r) = eNew.row(r);
          ch.eh.row(r) = ehNew.row(r);
          ch.rowLoss[r] = rlNew[r];
        }
    }
    for (int j = std::min(it, iters) + 1; j <= iters; ++j)
      hs[j] = hs[j - 1];

    // Write back and compute the exact final loss from the stored form.
    for (int64_t r = 0; r < ch.nc; ++r) {
      for (int64_t c = 0; c < k; ++c)
        qw.q[(r0 + r) * k + c] = int8_t(ch.q(r, c));
      for (int64_t g = 0; g < groups; ++g) {
        qw.scales[(r0 + r) * groups + g] = ch.s(r, g);
        qw.offsets[(r0 + r) * groups + g] = ch.z(r, g);
      }
    }
    RowMatF d(ch.nc, k);
    for (int64_t r = 0; r < ch.nc; ++r)
      for (int64_t c = 0; c < k; ++c)
        d(r, c) = w[(r0 + r) * k + c] - qw.dequantizeAt((r0 + r) * k + c);
    RowMatF dh = d * hf;
    finalLoss[t] = dh.cwiseProduct(d).rowwise().sum().cast<double>().sum();
  });

  out.lossHistory.assign(static_cast<size_t>(iters + 1), 0.0);
  for (const auto &hs : hist)
    for (int i = 0; i <= iters; ++i)
      out.lossHistory[i] += hs[i];
  out.loss = std::accumulate(finalLoss.begin(), finalLoss.end(), 0.0);
  return true;
}

} // namespace numerics
} // namespace lowbit
