//===- ClipSearch.h - Clipping searches and the gaussian-mse scale rule ---===//
//
// (a) AWQ-style shrink search. For every parameter slot (group of a row, the
//     whole row per-channel, the whole matrix per-tensor) the range used by
//     computeScaleZero is multiplied by a ratio r from the grid
//       r_i = 1 - i * (1 - minRatio) / steps,  i = 0..steps
//     (default 1.0, 0.975, ..., 0.5: 21 candidates; symmetric grids shrink
//     absmax, asymmetric grids shrink both min and max towards 0) and the r
//     with the smallest error is kept (ties keep the larger r). The error of
//     slot (n, g) is the slot's own output contribution
//       || (W[n, g] - Q_r(W)[n, g]) X[g, :] ||^2
//     with X [K, m] calibration inputs, as in AWQ's auto_clip (cross-group
//     terms are ignored); per-tensor it is the whole || (W - Q_r(W)) X ||_F^2.
//     Without X the plain weight squared error is used.
//
// (b) QuEST's gaussian-mse rule: scale = step_b * rms(w) where step_b is the
//     quantization step that minimizes E[(x - Q(x))^2] for x ~ N(0, 1) on the
//     grid. The expectation is integrated numerically (composite 8-point
//     Gauss-Legendre on every decision cell and on [-12, 12] outside them;
//     the integrand (x - Q(x))^2 phi(x) is evaluated directly, so there is no
//     cancellation), and minimized by a log-spaced scan followed by a
//     golden-section search. Values are computed once and cached.
//
//===----------------------------------------------------------------------===//

#ifndef LOWBIT_LIB_NUMERICS_CLIPSEARCH_H
#define LOWBIT_LIB_NUMERICS_CLIPSEARCH_H

#include "lib/Numerics/Quantize.h"

namespace lowbit {
namespace numerics {

struct ClipSearchOptions {
  QuantParams grid;
  int64_t groupSize = 0;
  int steps = 20;        ///< number of shrink steps (steps + 1 candidates)
  float minRatio = 0.5f; ///< smallest ratio tried, in (0, 1]
};

struct ClipSearchResult {
  QuantizedWeights weights;
  std::vector<float> ratios; ///< chosen ratio per parameter slot
};

/// w: [N, K] row-major. x: [K, m] row-major calibration inputs, or nullptr
/// (then m is ignored and the weight MSE is minimized).
bool clipSearch(const float *w, int64_t n, int64_t k, const float *x,
                int64_t m, const ClipSearchOptions &opts,
                ClipSearchResult &out, std::string &error);

/// Which integer grid the Gaussian optimum is computed for.
enum class GaussianGrid {
  /// lowbit's symmetric grid: levels i*s, i in [-(2^(b-1)-1), 2^(b-1)-1]
  /// (2^b - 1 levels); bits 2..8.
  Symmetric,
  /// full-range signed grid: i in [-2^(b-1), 2^(b-1)-1]; bits 2..8.
  SymmetricFullRange,
  /// QuEST's / Max's mid-rise grid: 2^b levels (i + 1/2) * s,
  /// i in [-2^(b-1), 2^(b-1)-1]; bits 1..8.
  MidRise,
};

/// MSE-optimal clipping threshold alpha_b (in units of sigma) of the grid: the
/// largest positive level, i.e. (2^(b-1)-1)*step for the two signed grids and
/// (2^(b-1)-1/2)*step for the mid-rise grid. Fails for bits out of range.
bool gaussianMseAlpha(int bits, GaussianGrid grid, double &alpha,
                      std::string &error);
/// MSE-optimal step (in units of sigma) of the grid.
bool gaussianMseStep(int bits, GaussianGrid grid, double &step,
                     std::string &error);
/// Expected MSE E[(x - Q(x))^2], x ~ N(0,1), of the grid with the given step
/// (the function that the optimum minimizes; exposed for tests).
double gaussianExpectedMse(int bits, GaussianGrid grid, double step);

/// Gaussian-MSE quantization of w [N, K]: per slot scale = step_b * rms(slot)
/// on lowbit's symmetric grid (p.fullRange picks SymmetricFullRange). An
/// all-zero slot gets scale 1. Asymmetric grids are rejected.
bool quantizeGaussianMse(const float *w, int64_t n, int64_t k,
                         const QuantParams &p, int64_t groupSize,
                         QuantizedWeights &out, std::string &error);

} // namespace numerics
} // namespace lowbit

#endif // LOWBIT_LIB_NUMERICS_CLIPSEARCH_H
