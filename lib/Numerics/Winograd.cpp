//===- Winograd.cpp - Exact Toom-Cook construction of F(m, r) -------------===//
//
// The construction is done entirely in exact rational arithmetic
// (mlir::presburger::Fraction over llvm::DynamicAPInt); doubles appear only
// in the final conversion of the verified entries and in the choice of the
// power-of-two balancing exponents (which cannot break exactness: whatever
// exponents are chosen, the scaled matrices are re-verified exactly).
//
//===----------------------------------------------------------------------===//

#include "lib/Numerics/Winograd.h"
#include "lib/Numerics/WinogradExact.h"

#include <cmath>
#include <cstdint>
#include <limits>

namespace lowbit {
namespace numerics {
namespace winograd {

using mlir::presburger::Fraction;
using llvm::DynamicAPInt;

//===----------------------------------------------------------------------===//
// Rational helpers
//===----------------------------------------------------------------------===//

Fraction toFraction(const Rational &q) {
  return mlir::presburger::reduce(Fraction(q.num, q.den));
}

bool fitsInt64(const DynamicAPInt &v) {
  return v >= DynamicAPInt(std::numeric_limits<int64_t>::min()) &&
         v <= DynamicAPInt(std::numeric_limits<int64_t>::max());
}

bool toRational(const Fraction &f, Rational &out) {
  Fraction r = mlir::presburger::reduce(f);
  if (!fitsInt64(r.num) || !fitsInt64(r.den))
    return false;
  out.num = int64_t(r.num);
  out.den = int64_t(r.den);
  return true;
}

/// Halves `v` (towards zero) until it fits in int64, counting the halvings.
static long double toLongDoubleScaled(DynamicAPInt v, int &shift) {
  shift = 0;
  while (!fitsInt64(v)) {
    v /= 2;
    ++shift;
  }
  return (long double)int64_t(v);
}

double toDouble(const Fraction &f) {
  int sn = 0, sd = 0;
  long double n = toLongDoubleScaled(f.num, sn);
  long double d = toLongDoubleScaled(f.den, sd);
  return double(std::ldexp(n / d, sn - sd));
}

double log2Abs(const Fraction &f) {
  if (f.num == 0)
    return -std::numeric_limits<double>::infinity();
  int sn = 0, sd = 0;
  long double n = toLongDoubleScaled(f.num, sn);
  long double d = toLongDoubleScaled(f.den, sd);
  return double(std::log2(std::fabs(n)) - std::log2(d)) + sn - sd;
}

std::string formatRational(const Rational &q) {
  if (q.den == 1)
    return std::to_string(q.num);
  return std::to_string(q.num) + "/" + std::to_string(q.den);
}

static Fraction powerOfTwo(int e) {
  DynamicAPInt p(1);
  for (int i = 0; i < (e < 0 ? -e : e); ++i)
    p *= 2;
  return e >= 0 ? Fraction(p, DynamicAPInt(1)) : Fraction(DynamicAPInt(1), p);
}

//===----------------------------------------------------------------------===//
// Construction
//===----------------------------------------------------------------------===//

bool checkPoints(int m, int r, const std::vector<Rational> &finite,
                 std::string &error) {
  if (m < 1 || r < 1) {
    error = "F(" + std::to_string(m) + "," + std::to_string(r) +
            "): m and r must be at least 1";
    return false;
  }
  int n = m + r - 1;
  if (int(finite.size()) != n - 1) {
    error = "F(" + std::to_string(m) + "," + std::to_string(r) + ") needs " +
            std::to_string(n - 1) + " finite points (n - 1 = m + r - 2), got " +
            std::to_string(finite.size());
    return false;
  }
  for (size_t j = 0; j < finite.size(); ++j) {
    if (finite[j].den == 0) {
      error = "point " + std::to_string(j) + " has a zero denominator";
      return false;
    }
    for (size_t l = 0; l < j; ++l)
      if (toFraction(finite[j]) == toFraction(finite[l])) {
        error = "repeated point " + formatRational(finite[j]) +
                " (points must be distinct)";
        return false;
      }
  }
  return true;
}

void buildExact(int m, int r, const std::vector<Rational> &finite,
                ExactTransforms &t) {
  int n = m + r - 1, nf = n - 1;
  t.m = m;
  t.r = r;
  t.n = n;
  t.at.assign(size_t(m) * n, Fraction(0));
  t.g.assign(size_t(n) * r, Fraction(0));
  t.bt.assign(size_t(n) * n, Fraction(0));
  std::vector<Fraction> p;
  for (const Rational &q : finite)
    p.push_back(toFraction(q));

  // Aᵀ[i][j] = p_j^i; the infinity column is e_{m-1}.
  for (int j = 0; j < nf; ++j) {
    Fraction pw(1);
    for (int i = 0; i < m; ++i) {
      t.at[size_t(i) * n + j] = pw;
      pw = pw * p[j];
    }
  }
  t.at[size_t(m - 1) * n + nf] = Fraction(1);

  // G[j][k] = p_j^k / N_j, N_j = prod_{l != j} (p_j - p_l); infinity row
  // e_{r-1}.
  for (int j = 0; j < nf; ++j) {
    Fraction nj(1);
    for (int l = 0; l < nf; ++l)
      if (l != j)
        nj = nj * (p[j] - p[l]);
    Fraction pw(1);
    for (int k = 0; k < r; ++k) {
      t.g[size_t(j) * r + k] = pw / nj;
      pw = pw * p[j];
    }
  }
  t.g[size_t(nf) * r + (r - 1)] = Fraction(1);

  // Bᵀ finite row j: coefficients (x^0 first) of prod_{l != j} (x - p_l);
  // the infinity row: coefficients of prod_l (x - p_l).
  auto polyRow = [&](int skip, int row) {
    std::vector<Fraction> c(1, Fraction(1)); // the polynomial 1
    for (int l = 0; l < nf; ++l) {
      if (l == skip)
        continue;
      std::vector<Fraction> next(c.size() + 1, Fraction(0));
      for (size_t d = 0; d < c.size(); ++d) {
        next[d + 1] = next[d + 1] + c[d];
        next[d] = next[d] - c[d] * p[l];
      }
      c.swap(next);
    }
    for (size_t d = 0; d < c.size(); ++d)
      t.bt[size_t(row) * n + d] = c[d];
  };
  for (int j = 0; j < nf; ++j)
    polyRow(j, j);
  polyRow(-1, nf);
}

void balanceExact(ExactTransforms &t) {
  int m = t.m, r = t.r, n = t.n;
  for (int j = 0; j < n; ++j) {
    double la = -1e300, lg = -1e300, lb = -1e300;
    for (int i = 0; i < m; ++i)
      la = std::max(la, log2Abs(t.at[size_t(i) * n + j]));
    for (int k = 0; k < r; ++k)
      lg = std::max(lg, log2Abs(t.g[size_t(j) * r + k]));
    for (int c = 0; c < n; ++c)
      lb = std::max(lb, log2Abs(t.bt[size_t(j) * n + c]));
    double target = (la + lg + lb) / 3.0;
    int eg = int(std::lround(target - lg));
    int eb = int(std::lround(target - lb));
    int ea = -(eg + eb);
    Fraction sa = powerOfTwo(ea), sg = powerOfTwo(eg), sb = powerOfTwo(eb);
    for (int i = 0; i < m; ++i)
      t.at[size_t(i) * n + j] = t.at[size_t(i) * n + j] * sa;
    for (int k = 0; k < r; ++k)
      t.g[size_t(j) * r + k] = t.g[size_t(j) * r + k] * sg;
    for (int c = 0; c < n; ++c)
      t.bt[size_t(j) * n + c] = t.bt[size_t(j) * n + c] * sb;
  }
}

bool verify1D(const ExactTransforms &t, std::string &error) {
  int m = t.m, r = t.r, n = t.n;
  for (int i = 0; i < m; ++i)
    for (int k = 0; k < r; ++k)
      for (int c = 0; c < n; ++c) {
        Fraction s(0);
        for (int j = 0; j < n; ++j)
          s = s + t.at[size_t(i) * n + j] * t.g[size_t(j) * r + k] *
                      t.bt[size_t(j) * n + c];
        if (s != Fraction(c == i + k ? 1 : 0)) {
          error = "1D identity fails at y[" + std::to_string(i) + "], g[" +
                  std::to_string(k) + "], d[" + std::to_string(c) + "]";
          return false;
        }
      }
  return true;
}

bool verify2D(const ExactTransforms &t, int trials, std::string &error) {
  int m = t.m, r = t.r, n = t.n;
  uint64_t state = 0x9e3779b97f4a7c15ull;
  auto next = [&]() {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return int64_t((state >> 33) % 15) - 7; // integers in [-7, 7]
  };
  // C = X * Y (row-major, a x b times b x c).
  auto mul = [](const std::vector<Fraction> &x, const std::vector<Fraction> &y,
                int a, int b, int c) {
    std::vector<Fraction> z(size_t(a) * c, Fraction(0));
    for (int i = 0; i < a; ++i)
      for (int l = 0; l < b; ++l) {
        const Fraction &xv = x[size_t(i) * b + l];
        if (xv.num == 0)
          continue;
        for (int j = 0; j < c; ++j)
          z[size_t(i) * c + j] = z[size_t(i) * c + j] + xv * y[size_t(l) * c + j];
      }
    return z;
  };
  auto transpose = [](const std::vector<Fraction> &x, int a, int b) {
    std::vector<Fraction> z(size_t(a) * b);
    for (int i = 0; i < a; ++i)
      for (int j = 0; j < b; ++j)
        z[size_t(j) * a + i] = x[size_t(i) * b + j];
    return z;
  };
  std::vector<Fraction> a = transpose(t.at, m, n), gt = transpose(t.g, n, r),
                        b = transpose(t.bt, n, n);
  for (int trial = 0; trial < trials; ++trial) {
    std::vector<Fraction> d(size_t(n) * n), g(size_t(r) * r);
    for (Fraction &v : d)
      v = Fraction(next());
    for (Fraction &v : g)
      v = Fraction(next());
    std::vector<Fraction> u = mul(mul(t.g, g, n, r, r), gt, n, r, n);
    std::vector<Fraction> v = mul(mul(t.bt, d, n, n, n), b, n, n, n);
    for (size_t q = 0; q < u.size(); ++q)
      u[q] = u[q] * v[q];
    std::vector<Fraction> y = mul(mul(t.at, u, m, n, n), a, m, n, m);
    for (int i1 = 0; i1 < m; ++i1)
      for (int i2 = 0; i2 < m; ++i2) {
        Fraction direct(0);
        for (int k1 = 0; k1 < r; ++k1)
          for (int k2 = 0; k2 < r; ++k2)
            direct = direct + d[size_t(i1 + k1) * n + (i2 + k2)] *
                                  g[size_t(k1) * r + k2];
        if (y[size_t(i1) * m + i2] != direct) {
          error = "2D identity fails at Y[" + std::to_string(i1) + "][" +
                  std::to_string(i2) + "] on integer test tile " +
                  std::to_string(trial);
          return false;
        }
      }
  }
  return true;
}

bool buildExactVerified(int m, int r, const std::vector<Rational> &finite,
                        bool balanced, ExactTransforms &t, std::string &error) {
  if (!checkPoints(m, r, finite, error))
    return false;
  buildExact(m, r, finite, t);
  if (balanced)
    balanceExact(t);
  std::string why;
  if (!verify1D(t, why) || !verify2D(t, /*trials=*/2, why)) {
    error = "F(" + std::to_string(m) + "," + std::to_string(r) +
            "): exact verification failed: " + why;
    return false;
  }
  return true;
}

bool buildTransforms(int m, int r, const std::vector<Rational> &finite,
                     bool balanced, Transforms &out, std::string &error) {
  ExactTransforms t;
  if (!buildExactVerified(m, r, finite, balanced, t, error))
    return false;
  out = Transforms();
  out.m = m;
  out.r = r;
  out.n = t.n;
  auto convert = [&](const std::vector<Fraction> &src,
                     std::vector<Rational> &exact, std::vector<double> &dbl,
                     const char *name) {
    exact.resize(src.size());
    dbl.resize(src.size());
    for (size_t q = 0; q < src.size(); ++q) {
      if (!toRational(src[q], exact[q])) {
        error = std::string("F(") + std::to_string(m) + "," +
                std::to_string(r) + "): an entry of " + name +
                " does not fit in 64 bits";
        return false;
      }
      dbl[q] = toDouble(src[q]);
    }
    return true;
  };
  return convert(t.at, out.atExact, out.at, "AT") &&
         convert(t.g, out.gExact, out.g, "G") &&
         convert(t.bt, out.btExact, out.bt, "BT");
}

//===----------------------------------------------------------------------===//
// Shipped point sets
//===----------------------------------------------------------------------===//

namespace {
struct ShippedEntry {
  PointSet set;
  int m, r;
  std::vector<Rational> points;
};

/// 0 then ±x pairs, in the order given.
std::vector<Rational> symmetric(std::initializer_list<Rational> positives) {
  std::vector<Rational> p{{0, 1}};
  for (const Rational &q : positives) {
    p.push_back(q);
    p.push_back({-q.num, q.den});
  }
  return p;
}

const std::vector<ShippedEntry> &shippedTable() {
  static const std::vector<ShippedEntry> table = {
      // Standard: the integers 0, ±1, ±2, ... (n - 1 points).
      {PointSet::Standard, 2, 3, symmetric({{1, 1}})},
      {PointSet::Standard, 4, 3, symmetric({{1, 1}, {2, 1}})},
      {PointSet::Standard, 6, 3, symmetric({{1, 1}, {2, 1}, {3, 1}})},
      {PointSet::Standard, 8, 3,
       symmetric({{1, 1}, {2, 1}, {3, 1}, {4, 1}})},
      {PointSet::Standard, 2, 5, symmetric({{1, 1}, {2, 1}})},
      {PointSet::Standard, 4, 5, symmetric({{1, 1}, {2, 1}, {3, 1}})},
      // NOVA's published sets.
      {PointSet::Nova, 4, 3, symmetric({{5, 6}, {7, 6}})},
      {PointSet::Nova, 6, 3, symmetric({{3, 5}, {1, 1}, {7, 6}})},
      {PointSet::Nova, 8, 3, symmetric({{2, 5}, {5, 6}, {1, 1}, {7, 6}})},
#include "lib/Numerics/WinogradShipped.inc"
  };
  return table;
}
} // namespace

const char *pointSetName(PointSet set) {
  switch (set) {
  case PointSet::Standard:
    return "standard";
  case PointSet::Nova:
    return "nova";
  case PointSet::Ours:
    return "ours";
  }
  return "unknown";
}

bool getShippedPoints(PointSet set, int m, int r, std::vector<Rational> &finite,
                      std::string &error) {
  for (const ShippedEntry &e : shippedTable())
    if (e.set == set && e.m == m && e.r == r) {
      finite = e.points;
      return true;
    }
  std::string have;
  for (const ShippedEntry &e : shippedTable())
    if (e.set == set)
      have += (have.empty() ? "" : ", ") + std::string("F(") +
              std::to_string(e.m) + "," + std::to_string(e.r) + ")";
  error = std::string("no ") + pointSetName(set) + " point set for F(" +
          std::to_string(m) + "," + std::to_string(r) + ") (available: " +
          (have.empty() ? "none" : have) + ")";
  return false;
}

} // namespace winograd
} // namespace numerics
} // namespace lowbit
