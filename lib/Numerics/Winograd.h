//===- Winograd.h - Toom-Cook / Winograd F(m, r) transforms ---------------===//
//
// Exact rational construction of the Winograd F(m, r) transforms from n - 1
// finite interpolation points plus the point at infinity (n = m + r - 1), the
// point sets lowbit ships (standard, NOVA's published ones, our searched
// ones), and their conversion to floating point for the compiler.
//
//   1D: y = Aᵀ [(G g) ⊙ (Bᵀ d)]          (d has n = m + r - 1 entries)
//   2D: Y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A
//
// Matrices are row-major: AT is m x n, G is n x r, BT is n x n.
//
// This header is the contract between the numerics (construction, search,
// lowbit-nova) and the `winograd` pass: the pass only calls getShippedPoints
// and buildTransforms.
//
//===----------------------------------------------------------------------===//

#ifndef LOWBIT_LIB_NUMERICS_WINOGRAD_H
#define LOWBIT_LIB_NUMERICS_WINOGRAD_H

#include <cstdint>
#include <string>
#include <vector>

namespace lowbit {
namespace numerics {
namespace winograd {

/// A simple rational num / den (den > 0, reduced). Interpolation points and
/// the entries of the shipped matrices fit in 64 bits; the construction
/// itself uses arbitrary-precision arithmetic.
struct Rational {
  int64_t num = 0;
  int64_t den = 1;
};

/// Which family of interpolation points to use.
enum class PointSet {
  Standard, ///< 0, ±1, ±2, ... (integers; what most libraries use)
  Nova,     ///< NOVA's published sets (F(4,3), F(6,3), F(8,3))
  Ours,     ///< lowbit's searched sets (fp16-error objective)
};

/// The n - 1 finite points of `set` for F(m, r) (infinity is implicit).
/// Fails (returns false, sets `error`) when the set has no entry for (m, r).
bool getShippedPoints(PointSet set, int m, int r, std::vector<Rational> &finite,
                      std::string &error);

/// Transforms of F(m, r), exact entries plus their nearest doubles.
struct Transforms {
  int m = 0, r = 0, n = 0;
  std::vector<Rational> atExact, gExact, btExact; // row-major, see above
  std::vector<double> at, g, bt;                  // same, as doubles
};

/// Builds the Toom-Cook matrices of F(m, r) on `finite` (n - 1 distinct
/// points) plus infinity, with balanced per-point diagonal scaling when
/// `balanced` (kept rational, so exactness is preserved), and verifies the
/// 1D and 2D identities exactly in rational arithmetic before returning.
/// Fails on m < 1, r < 1, a wrong number of points, repeated points, or an
/// entry that does not fit in 64 bits.
bool buildTransforms(int m, int r, const std::vector<Rational> &finite,
                     bool balanced, Transforms &out, std::string &error);

} // namespace winograd
} // namespace numerics
} // namespace lowbit

#endif // LOWBIT_LIB_NUMERICS_WINOGRAD_H
