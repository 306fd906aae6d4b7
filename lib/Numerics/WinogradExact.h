//===- WinogradExact.h - Exact rational form of the F(m, r) transforms ----===//
//
// Internal to lib/Numerics (Winograd*.cpp, lowbit-nova, the unit tests): the
// Toom-Cook matrices as exact rationals (mlir::presburger::Fraction over
// llvm::DynamicAPInt), before conversion to the 64-bit `Rational` / double
// form of Winograd.h. No floating point is used in the construction.
//
//===----------------------------------------------------------------------===//

#ifndef LOWBIT_LIB_NUMERICS_WINOGRADEXACT_H
#define LOWBIT_LIB_NUMERICS_WINOGRADEXACT_H

#include "lib/Numerics/Winograd.h"

#include "mlir/Analysis/Presburger/Fraction.h"

#include <string>
#include <vector>

namespace lowbit {
namespace numerics {
namespace winograd {

/// Row-major exact matrices: at is m x n, g is n x r, bt is n x n. Index j
/// (rows of G and Bᵀ, columns of Aᵀ) runs over the finite points in the
/// given order, then infinity (j = n - 1).
struct ExactTransforms {
  int m = 0, r = 0, n = 0;
  std::vector<mlir::presburger::Fraction> at, g, bt;
};

/// Checks m, r >= 1, n - 1 points, non-zero denominators, distinct points.
bool checkPoints(int m, int r, const std::vector<Rational> &finite,
                 std::string &error);

/// The unscaled Toom-Cook construction (see docs/winograd.md):
///   Aᵀ[i][j] = p_j^i,               infinity column e_{m-1};
///   G[j][k]  = p_j^k / N_j,         N_j = prod_{l!=j} (p_j - p_l),
///                                   infinity row e_{r-1};
///   Bᵀ[j][:] = coefficients of prod_{l!=j} (x - p_l),
///                                   infinity row: of prod_l (x - p_l).
/// Points must have passed checkPoints.
void buildExact(int m, int r, const std::vector<Rational> &finite,
                ExactTransforms &t);

/// Balanced diagonal scaling: for each point j, Aᵀ column j, G row j and Bᵀ
/// row j are multiplied by powers of two 2^ea, 2^eg, 2^eb with
/// ea + eg + eb = 0, chosen so that the three max-abs entries move to their
/// geometric mean (nearest power of two). Exactness is preserved.
void balanceExact(ExactTransforms &t);

/// Exact check of the 1D identity for correlation, y_i = sum_k d_{i+k} g_k:
/// for every i < m, k < r, c < n, sum_j Aᵀ[i][j] G[j][k] Bᵀ[j][c] equals
/// [c == i + k]. This is the full bilinear identity (all basis inputs).
bool verify1D(const ExactTransforms &t, std::string &error);

/// Exact check of Y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A against the direct 2D
/// correlation on `trials` integer tiles (deterministic pseudo-random).
bool verify2D(const ExactTransforms &t, int trials, std::string &error);

/// checkPoints + buildExact + (balanceExact) + verify1D + verify2D.
bool buildExactVerified(int m, int r, const std::vector<Rational> &finite,
                        bool balanced, ExactTransforms &t, std::string &error);

/// Rational <-> Fraction conversions; toRational fails when the reduced
/// value does not fit in 64 bits.
mlir::presburger::Fraction toFraction(const Rational &q);
bool toRational(const mlir::presburger::Fraction &f, Rational &out);
/// Nearest double (through long double) and log2 |f| (-inf for 0).
double toDouble(const mlir::presburger::Fraction &f);
double log2Abs(const mlir::presburger::Fraction &f);

/// "num" or "num/den".
std::string formatRational(const Rational &q);
/// "standard", "nova", "ours".
const char *pointSetName(PointSet set);

} // namespace winograd
} // namespace numerics
} // namespace lowbit

#endif // LOWBIT_LIB_NUMERICS_WINOGRADEXACT_H
