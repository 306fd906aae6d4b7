//===- WinogradSearch.h - Point quality measures and point search ---------===//
//
// What lowbit-nova, the benchmark and the tests need beyond the contract of
// Winograd.h: NOVA's condition number, the fp16 error bound, a simulation of
// Winograd F(m, r) in fp32 / fp16 against a float64 direct convolution, and
// the evolution-strategy search over symmetric point sets whose results are
// shipped as PointSet::Ours (lib/Numerics/WinogradShipped.inc).
//
// Everything is deterministic: the simulation and the search take a seed.
//
//===----------------------------------------------------------------------===//

#ifndef LOWBIT_LIB_NUMERICS_WINOGRADSEARCH_H
#define LOWBIT_LIB_NUMERICS_WINOGRADSEARCH_H

#include "lib/Numerics/Winograd.h"

#include <cstdint>
#include <string>
#include <vector>

namespace lowbit {
namespace numerics {
namespace winograd {

//===----------------------------------------------------------------------===//
// Measures
//===----------------------------------------------------------------------===//

/// The finite points as "p0,p1,..." with each point "num" or "num/den".
std::string formatPoints(const std::vector<Rational> &points);

/// NOVA's measure: the 2-norm condition number (largest / smallest singular
/// value) of the (n-1) x (n-1) Vandermonde matrix V[j][k] = p_j^k of the
/// finite points. +inf for repeated points.
double vandermondeKappa2(const std::vector<double> &finite);
double vandermondeKappa2(const std::vector<Rational> &finite);

/// The 1D error bound max_i sum_j |Aᵀ_ij| * ||G_j||_1 * ||Bᵀ_j||_1 (rows
/// G_j, Bᵀ_j): how much a relative rounding of the transformed values can
/// be amplified. Invariant under the per-point diagonal scaling.
double errorBound1D(const Transforms &t);

/// Expected-error model of the 2D algorithm in fp16 storage:
///   S = sum_j ||Aᵀ[:, j]||_2^2 * ||G_j||_2^2 * ||Bᵀ_j||_2^2.
/// With independent relative roundings of U = G g Gᵀ, V = Bᵀ d B and their
/// product, E||Y - Yref||^2 grows as u^2 S^2 (the 2D sum factorises into the
/// square of this 1D sum) while E||Yref||^2 = m^2 r^2 for standard normal
/// data, so the relative error is about c * u * S / (m r) with u = 2^-11
/// (c ~ 0.7 measured). Smooth and cheap: the search's fp16 objective.
/// Invariant under the per-point diagonal scaling.
double errorModel2D(const Transforms &t);

/// Largest |entry| of Aᵀ, G and Bᵀ.
double maxAbsEntry(const Transforms &t);

/// Rounds a float to the nearest IEEE binary16 value (round half to even,
/// subnormals, overflow to ±inf) and returns it as a float: fp16 storage.
float roundToHalf(float x);

/// Which values the simulation stores in fp16. Arithmetic is always fp32
/// (the transform matrices are the fp32 roundings of the exact entries).
enum class SimPrecision {
  FP32,         ///< everything fp32
  FP16,         ///< fp16 storage of input, filter, both transformed tiles
                ///< (U = G g Gᵀ, V = Bᵀ d B) and the products U ⊙ V
  FP16Operands, ///< split: input, filter, U and V fp16, products kept fp32
                ///< (the tensor-core form: fp16 GEMM operands, fp32
                ///< accumulation)
  FP16IO,       ///< split: only input and filter fp16; U, V and the
                ///< products fp32 (the Winograd domain in fp32)
};
const char *simPrecisionName(SimPrecision p);

/// Relative error ||Y - Yref||_F / ||Yref||_F over `tiles` random 2D tiles
/// (input n x n and filter r x r, independent standard normal entries,
/// mt19937_64(seed)), Y computed as Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A in `precision`
/// and Yref the float64 direct correlation of the unrounded data. +inf when
/// a value overflows (fp16 range) or is not finite.
double simulateRelError(const Transforms &t, SimPrecision precision, int tiles,
                        uint64_t seed);

//===----------------------------------------------------------------------===//
// Point sets and the search
//===----------------------------------------------------------------------===//

/// The wincnn-style sets 0, ±1, ±2, ±1/2, ±4, ±1/4, ... (first n - 1 of
/// that sequence; for odd n - 1 only), used as a baseline by the benchmark.
bool getWincnnPoints(int m, int r, std::vector<Rational> &finite,
                     std::string &error);

/// Parses "0,1/2,-1/2,2" (integers or num/den, comma separated).
bool parsePoints(const std::string &text, std::vector<Rational> &finite,
                 std::string &error);

/// Everything lowbit-nova reports about one point set.
struct PointReport {
  std::vector<Rational> finite;
  double kappa = 0;       ///< vandermondeKappa2
  double bound = 0;       ///< errorBound1D of the balanced transforms
  double model = 0;       ///< errorModel2D of the balanced transforms
  double maxEntry = 0;    ///< maxAbsEntry of the balanced transforms
  double fp16Error = 0;   ///< simulateRelError, FP16
  double fp32Error = 0;   ///< simulateRelError, FP32
  bool verified = false;  ///< buildTransforms succeeded (exact 1D + 2D)
};

/// Builds the balanced transforms of `finite` exactly (verifying them) and
/// fills `report`, simulating on `tiles` tiles with `seed`.
bool evaluatePoints(int m, int r, const std::vector<Rational> &finite,
                    int tiles, uint64_t seed, PointReport &report,
                    std::string &error);

enum class Objective {
  Kappa, ///< log kappa2 of the finite Vandermonde (NOVA's objective)
  FP16,  ///< log errorModel2D + a range penalty log(max entry / 2^8) when
         ///< positive; restarts are then compared by the simulated fp16
         ///< error on `simTiles` common random tiles (+inf on overflow)
};

struct SearchOptions {
  int m = 6, r = 3;
  Objective objective = Objective::FP16;
  uint64_t seed = 1;
  int restarts = 12;     ///< independent ES runs from random starts
  int generations = 200; ///< per restart
  int lambda = 10;       ///< offspring per generation
  int maxDen = 12;       ///< snapping: denominators 1..maxDen (<= 64)
  int simTiles = 500;    ///< tiles of the fp16 confirmation step
  SimPrecision precision = SimPrecision::FP16; ///< of the fp16 objective
  /// Search only sets closed under p -> 1/p (pairs x, 1/x, and 1 when the
  /// number of ±pairs is odd): the structure of the error model's optimum,
  /// with half the parameters. Numerators are then bounded by maxDen too.
  bool reciprocal = false;
};

struct SearchResult {
  std::vector<Rational> finite; ///< the best snapped, exactly verified set
  double objective = 0;         ///< its objective value (search sample)
  int evaluations = 0;
};

/// (1+lambda) evolution strategy with 1/5-rule step adaptation on the log
/// magnitudes of the ±x pairs (0 is always a point when n - 1 is odd; when
/// it is even the set is pairs only), with restarts; then snapping to
/// rationals of denominator <= maxDen and a discrete coordinate descent over
/// such rationals; the result is verified exactly. Deterministic for a seed.
bool searchPoints(const SearchOptions &options, SearchResult &result,
                  std::string &error);

} // namespace winograd
} // namespace numerics
} // namespace lowbit

#endif // LOWBIT_LIB_NUMERICS_WINOGRADSEARCH_H
