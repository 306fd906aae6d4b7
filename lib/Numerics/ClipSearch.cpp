//===- ClipSearch.cpp - Clipping searches and the gaussian-mse rule -------===//

#include "lib/Numerics/ClipSearch.h"
#include "lib/Numerics/Rtn.h"

#include <Eigen/Dense>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

namespace lowbit {
namespace numerics {

using RowMatF =
    Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

//===----------------------------------------------------------------------===//
// (a) AWQ-style shrink search
//===----------------------------------------------------------------------===//

bool clipSearch(const float *w, int64_t n, int64_t k, const float *x,
                int64_t m, const ClipSearchOptions &opts,
                ClipSearchResult &out, std::string &error) {
  const QuantParams &p = opts.grid;
  const int64_t groupSize = opts.groupSize;
  if (!checkBits(p.bits, error) || !checkWeightShape(n, k, groupSize, error) ||
      !checkFinite(w, n * k, "weight", error))
    return false;
  if (opts.steps < 0 || !(opts.minRatio > 0.0f && opts.minRatio <= 1.0f)) {
    error = "clip search needs steps >= 0 and 0 < minRatio <= 1";
    return false;
  }
  if (x) {
    if (m <= 0) {
      error = "calibration input has no samples";
      return false;
    }
    if (!checkFinite(x, k * m, "calibration input", error))
      return false;
  }

  const bool perTensor = groupSize == 0;
  const int64_t gs = perTensor ? k : groupSize;
  const int64_t groups = k / gs;
  const int64_t slots = perTensor ? 1 : n * groups;
  const int lo = qmin(p), hi = qmax(p);

  Eigen::Map<const RowMatF> W(w, n, k);
  // Ranges of every slot.
  std::vector<double> slotLo(slots), slotHi(slots);
  for (int64_t s = 0; s < slots; ++s)
    detail::slotRange(w, n, k, groupSize, s, slotLo[s], slotHi[s]);

  std::vector<float> best(static_cast<size_t>(slots), 1.0f);
  std::vector<double> bestErr(static_cast<size_t>(slots),
                              std::numeric_limits<double>::infinity());
  std::vector<double> totalErr; // per-tensor: summed over rows

  const int64_t cands = opts.steps + 1;
  RowMatF D(n, gs), E;
  for (int64_t g = 0; g < groups; ++g) {
    const int64_t c0 = g * gs;
    RowMatF Hg;
    const bool useGram = x && m > gs;
    if (useGram) {
      Eigen::Map<const RowMatF> X(x, k, m);
      Hg.noalias() = X.middleRows(c0, gs) * X.middleRows(c0, gs).transpose();
    }
    for (int64_t c = 0; c < cands; ++c) {
      const float r =
          opts.steps == 0
              ? 1.0f
              : float(1.0 - double(c) * (1.0 - opts.minRatio) / opts.steps);
      for (int64_t row = 0; row < n; ++row) {
        int64_t slot = perTensor ? 0 : row * groups + g;
        float scale;
        int32_t zp;
        computeScaleZero(slotLo[slot] * r, slotHi[slot] * r, p, scale, zp);
        for (int64_t j = 0; j < gs; ++j) {
          float v = W(row, c0 + j);
          D(row, j) = v - dequantizeValue(quantizeValue(v, scale, zp, lo, hi),
                                          scale, zp);
        }
      }
      // Error per row of this group.
      Eigen::VectorXd rowErr(n);
      if (!x) {
        rowErr = D.rowwise().squaredNorm().cast<double>();
      } else if (!useGram) {
        Eigen::Map<const RowMatF> X(x, k, m);
        E.noalias() = D * X.middleRows(c0, gs);
        rowErr = E.rowwise().squaredNorm().cast<double>();
      } else {
        E.noalias() = D * Hg;
        rowErr = E.cwiseProduct(D).rowwise().sum().cast<double>();
      }
      if (perTensor) {
        double t = rowErr.sum();
        if (t < bestErr[0]) {
          bestErr[0] = t;
          best[0] = r;
        }
      } else {
        for (int64_t row = 0; row < n; ++row) {
          int64_t slot = row * groups + g;
          if (rowErr[row] < bestErr[slot]) {
            bestErr[slot] = rowErr[row];
            best[slot] = r;
          }
        }
      }
    }
  }
  out.ratios = best;
  return quantizeRtnClipped(w, n, k, p, groupSize, best, out.weights, error);
}

//===----------------------------------------------------------------------===//
// (b) Gaussian-MSE-optimal step
//===----------------------------------------------------------------------===//

namespace {

// Integer level range and offset of a grid: levels are (i + off) * step.
struct GridShape {
  int lo, hi;
  double off;
  double top; // largest positive level in units of step
};

bool gridShape(int bits, GaussianGrid grid, GridShape &g, std::string &error) {
  if (grid == GaussianGrid::MidRise) {
    if (!checkBits(bits, error, 1, 8))
      return false;
    g.lo = -(1 << (bits - 1));
    g.hi = (1 << (bits - 1)) - 1;
    g.off = 0.5;
    g.top = g.hi + 0.5;
    return true;
  }
  if (!checkBits(bits, error, 2, 8))
    return false;
  g.hi = (1 << (bits - 1)) - 1;
  g.lo = grid == GaussianGrid::Symmetric ? -g.hi : -g.hi - 1;
  g.off = 0.0;
  g.top = g.hi;
  return true;
}

// 8-point Gauss-Legendre on [-1, 1].
const double kGlX[8] = {-0.9602898564975363, -0.7966664774136267,
                        -0.5255324099163290, -0.1834346424956498,
                        0.1834346424956498,  0.5255324099163290,
                        0.7966664774136267,  0.9602898564975363};
const double kGlW[8] = {0.1012285362903763, 0.2223810344533745,
                        0.3137066375231839, 0.3626837833783620,
                        0.3626837833783620, 0.3137066375231839,
                        0.2223810344533745, 0.1012285362903763};

// Integral of (x - level)^2 phi(x) over [a, b], split into panels of width at
// most `maxWidth`.
double cellIntegral(double a, double b, double level, double maxWidth) {
  if (!(b > a))
    return 0.0;
  const double invSqrt2Pi = 0.3989422804014327;
  int panels = std::max(1, int(std::ceil((b - a) / maxWidth)));
  double h = (b - a) / panels, sum = 0.0;
  for (int pnl = 0; pnl < panels; ++pnl) {
    double mid = a + (pnl + 0.5) * h, half = 0.5 * h, acc = 0.0;
    for (int i = 0; i < 8; ++i) {
      double xx = mid + half * kGlX[i];
      double d = xx - level;
      acc += kGlW[i] * d * d * std::exp(-0.5 * xx * xx);
    }
    sum += acc * half;
  }
  return sum * invSqrt2Pi;
}

double expectedMse(const GridShape &g, double step) {
  const double L = 12.0; // mass of N(0,1) outside [-12, 12] is ~4e-33
  double total = 0.0;
  for (int i = g.lo; i <= g.hi; ++i) {
    double level = (i + g.off) * step;
    double a = i == g.lo ? -L : std::max(-L, level - 0.5 * step);
    double b = i == g.hi ? L : std::min(L, level + 0.5 * step);
    total += cellIntegral(a, b, level, 0.25);
  }
  return total;
}

double optimalStep(const GridShape &g) {
  // Scan alpha = top * step over [0.05, 12] log-spaced, then golden section.
  const int scan = 160;
  const double a0 = std::log(0.05), a1 = std::log(12.0);
  int bestI = 0;
  double bestV = std::numeric_limits<double>::infinity();
  std::vector<double> alphas(scan + 1);
  for (int i = 0; i <= scan; ++i) {
    alphas[i] = std::exp(a0 + (a1 - a0) * i / scan);
    double v = expectedMse(g, alphas[i] / g.top);
    if (v < bestV) {
      bestV = v;
      bestI = i;
    }
  }
  double lo = alphas[std::max(0, bestI - 1)] / g.top;
  double hi = alphas[std::min(scan, bestI + 1)] / g.top;
  const double phi = 0.6180339887498949;
  double c = hi - phi * (hi - lo), d = lo + phi * (hi - lo);
  double fc = expectedMse(g, c), fd = expectedMse(g, d);
  for (int it = 0; it < 200 && (hi - lo) > 1e-13 * hi; ++it) {
    if (fc < fd) {
      hi = d;
      d = c;
      fd = fc;
      c = hi - phi * (hi - lo);
      fc = expectedMse(g, c);
    } else {
      lo = c;
      c = d;
      fc = fd;
      d = lo + phi * (hi - lo);
      fd = expectedMse(g, d);
    }
  }
  return 0.5 * (lo + hi);
}

// Cache: [grid][bits], computed once on first use (thread-safe static init).
struct StepTable {
  std::array<std::array<double, 9>, 3> step;
  StepTable() {
    for (int gi = 0; gi < 3; ++gi)
      for (int b = 0; b <= 8; ++b) {
        GridShape g;
        std::string err;
        step[gi][b] = gridShape(b, GaussianGrid(gi), g, err)
                          ? optimalStep(g)
                          : std::numeric_limits<double>::quiet_NaN();
      }
  }
};

const StepTable &stepTable() {
  static const StepTable table;
  return table;
}

} // namespace

double gaussianExpectedMse(int bits, GaussianGrid grid, double step) {
  GridShape g;
  std::string err;
  if (!gridShape(bits, grid, g, err) || !(step > 0))
    return std::numeric_limits<double>::quiet_NaN();
  return expectedMse(g, step);
}

bool gaussianMseStep(int bits, GaussianGrid grid, double &step,
                     std::string &error) {
  GridShape g;
  if (!gridShape(bits, grid, g, error))
    return false;
  step = stepTable().step[int(grid)][bits];
  return true;
}

bool gaussianMseAlpha(int bits, GaussianGrid grid, double &alpha,
                      std::string &error) {
  GridShape g;
  double step;
  if (!gridShape(bits, grid, g, error) ||
      !gaussianMseStep(bits, grid, step, error))
    return false;
  alpha = step * g.top;
  return true;
}

bool quantizeGaussianMse(const float *w, int64_t n, int64_t k,
                         const QuantParams &p, int64_t groupSize,
                         QuantizedWeights &out, std::string &error) {
  if (!p.symmetric) {
    error = "gaussian-mse scale needs a symmetric grid";
    return false;
  }
  if (!checkBits(p.bits, error) || !checkWeightShape(n, k, groupSize, error) ||
      !checkFinite(w, n * k, "weight", error))
    return false;
  double step;
  if (!gaussianMseStep(p.bits,
                       p.fullRange ? GaussianGrid::SymmetricFullRange
                                   : GaussianGrid::Symmetric,
                       step, error))
    return false;
  detail::initQuantizedWeights(out, p, n, k, groupSize);
  const int64_t slots = int64_t(out.scales.size());
  const int64_t gs = groupSize == 0 ? k : groupSize;
  const int64_t count = groupSize == 0 ? n * k : gs;
  for (int64_t s = 0; s < slots; ++s) {
    double sq = 0.0;
    if (groupSize == 0) {
      for (int64_t i = 0; i < n * k; ++i)
        sq += double(w[i]) * w[i];
    } else {
      const float *base = w + (s / (k / gs)) * k + (s % (k / gs)) * gs;
      for (int64_t j = 0; j < gs; ++j)
        sq += double(base[j]) * base[j];
    }
    double rms = std::sqrt(sq / double(count));
    float scale = float(step * rms);
    out.scales[s] = scale > 0.0f && std::isfinite(scale) ? scale : 1.0f;
    detail::quantizeSlot(w, out, s);
  }
  return true;
}

} // namespace numerics
} // namespace lowbit
