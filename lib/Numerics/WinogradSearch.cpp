//===- WinogradSearch.cpp - Point quality measures and point search -------===//
//
// The search scores candidate point sets with transforms built in double
// precision (buildDouble below: same formulas and the same balancing rule as
// the exact builder); every set it returns is rebuilt and verified by the
// exact rational builder (buildTransforms).
//
//===----------------------------------------------------------------------===//

#include "lib/Numerics/WinogradSearch.h"
#include "lib/Numerics/Quantize.h"
#include "lib/Numerics/WinogradExact.h"

#include <Eigen/Dense>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <numeric>
#include <random>

namespace lowbit {
namespace numerics {
namespace winograd {

namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();
} // namespace

//===----------------------------------------------------------------------===//
// Measures
//===----------------------------------------------------------------------===//

double vandermondeKappa2(const std::vector<double> &finite) {
  int k = int(finite.size());
  if (k == 0)
    return 1.0;
  Eigen::MatrixXd v(k, k);
  for (int j = 0; j < k; ++j) {
    double pw = 1.0;
    for (int c = 0; c < k; ++c) {
      v(j, c) = pw;
      pw *= finite[j];
    }
  }
  Eigen::JacobiSVD<Eigen::MatrixXd> svd(v);
  const Eigen::VectorXd &s = svd.singularValues();
  if (!(s(k - 1) > 0))
    return kInf;
  return s(0) / s(k - 1);
}

double vandermondeKappa2(const std::vector<Rational> &finite) {
  std::vector<double> p;
  for (const Rational &q : finite)
    p.push_back(double(q.num) / double(q.den));
  return vandermondeKappa2(p);
}

double errorBound1D(const Transforms &t) {
  int m = t.m, r = t.r, n = t.n;
  double best = 0;
  for (int i = 0; i < m; ++i) {
    double s = 0;
    for (int j = 0; j < n; ++j) {
      double g1 = 0, b1 = 0;
      for (int k = 0; k < r; ++k)
        g1 += std::fabs(t.g[size_t(j) * r + k]);
      for (int c = 0; c < n; ++c)
        b1 += std::fabs(t.bt[size_t(j) * n + c]);
      s += std::fabs(t.at[size_t(i) * n + j]) * g1 * b1;
    }
    best = std::max(best, s);
  }
  return best;
}

double errorModel2D(const Transforms &t) {
  int m = t.m, r = t.r, n = t.n;
  double s = 0;
  for (int j = 0; j < n; ++j) {
    double a2 = 0, g2 = 0, b2 = 0;
    for (int i = 0; i < m; ++i)
      a2 += t.at[size_t(i) * n + j] * t.at[size_t(i) * n + j];
    for (int k = 0; k < r; ++k)
      g2 += t.g[size_t(j) * r + k] * t.g[size_t(j) * r + k];
    for (int c = 0; c < n; ++c)
      b2 += t.bt[size_t(j) * n + c] * t.bt[size_t(j) * n + c];
    s += a2 * g2 * b2;
  }
  return s;
}

double maxAbsEntry(const Transforms &t) {
  double best = 0;
  for (const std::vector<double> *v : {&t.at, &t.g, &t.bt})
    for (double x : *v)
      best = std::max(best, std::fabs(x));
  return best;
}

float roundToHalf(float x) {
  if (!std::isfinite(x) || x == 0.0f)
    return x;
  float ax = std::fabs(x);
  // binary16: 11 significant bits, smallest normal 2^-14, subnormal quantum
  // 2^-24. ax / quantum is exact (a power-of-two scaling) and below 2^12.
  int e = 0;
  std::frexp(ax, &e); // ax in [2^(e-1), 2^e)
  int quantumExp = std::max(e - 11, -24);
  float q = std::ldexp(roundHalfToEven(std::ldexp(ax, -quantumExp)),
                       quantumExp);
  if (q > 65504.0f)
    q = std::numeric_limits<float>::infinity();
  return std::copysign(q, x);
}

const char *simPrecisionName(SimPrecision p) {
  switch (p) {
  case SimPrecision::FP32:
    return "fp32";
  case SimPrecision::FP16:
    return "fp16";
  case SimPrecision::FP16Operands:
    return "fp16-operands";
  case SimPrecision::FP16IO:
    return "fp16-io";
  }
  return "unknown";
}

namespace {

/// Random tiles shared by many evaluations (common random numbers).
struct TileSample {
  int n = 0, r = 0, tiles = 0;
  std::vector<double> d, g; // tiles * n * n, tiles * r * r
};

TileSample makeSample(int n, int r, int tiles, uint64_t seed) {
  TileSample s;
  s.n = n;
  s.r = r;
  s.tiles = tiles;
  std::mt19937_64 gen(seed);
  std::normal_distribution<double> nd(0.0, 1.0);
  s.d.resize(size_t(tiles) * n * n);
  s.g.resize(size_t(tiles) * r * r);
  for (int t = 0; t < tiles; ++t) {
    for (int q = 0; q < n * n; ++q)
      s.d[size_t(t) * n * n + q] = nd(gen);
    for (int q = 0; q < r * r; ++q)
      s.g[size_t(t) * r * r + q] = nd(gen);
  }
  return s;
}

double simulate(const Transforms &t, SimPrecision precision,
                const TileSample &s) {
  const int m = t.m, r = t.r, n = t.n;
  // Which values are stored in fp16: the input and filter, the transformed
  // tiles U and V, the products U ⊙ V.
  bool half = precision != SimPrecision::FP32;
  bool halfUV = precision == SimPrecision::FP16 ||
                precision == SimPrecision::FP16Operands;
  bool halfM = precision == SimPrecision::FP16;
  auto store = [](bool h, float v) { return h ? roundToHalf(v) : v; };
  std::vector<float> at(t.at.begin(), t.at.end()), g(t.g.begin(), t.g.end()),
      bt(t.bt.begin(), t.bt.end());
  std::vector<float> d(size_t(n) * n), f(size_t(r) * r), tmp(size_t(n) * n),
      u(size_t(n) * n), v(size_t(n) * n), y(size_t(m) * n), out(size_t(m) * m);
  double errSq = 0, refSq = 0;
  for (int tile = 0; tile < s.tiles; ++tile) {
    const double *dd = &s.d[size_t(tile) * n * n];
    const double *gg = &s.g[size_t(tile) * r * r];
    for (int q = 0; q < n * n; ++q)
      d[q] = store(half, float(dd[q]));
    for (int q = 0; q < r * r; ++q)
      f[q] = store(half, float(gg[q]));
    // U = G f Gᵀ.
    for (int a = 0; a < n; ++a)
      for (int k = 0; k < r; ++k) {
        float acc = 0;
        for (int l = 0; l < r; ++l)
          acc += g[a * r + l] * f[l * r + k];
        tmp[a * r + k] = acc;
      }
    for (int a = 0; a < n; ++a)
      for (int b = 0; b < n; ++b) {
        float acc = 0;
        for (int k = 0; k < r; ++k)
          acc += tmp[a * r + k] * g[b * r + k];
        u[a * n + b] = store(halfUV, acc);
      }
    // V = Bᵀ d B.
    for (int a = 0; a < n; ++a)
      for (int c = 0; c < n; ++c) {
        float acc = 0;
        for (int l = 0; l < n; ++l)
          acc += bt[a * n + l] * d[l * n + c];
        tmp[a * n + c] = acc;
      }
    for (int a = 0; a < n; ++a)
      for (int b = 0; b < n; ++b) {
        float acc = 0;
        for (int c = 0; c < n; ++c)
          acc += tmp[a * n + c] * bt[b * n + c];
        v[a * n + b] = store(halfUV, acc);
      }
    // M = U ⊙ V, Y = Aᵀ M A.
    for (int q = 0; q < n * n; ++q)
      u[q] = store(halfM, u[q] * v[q]);
    for (int i = 0; i < m; ++i)
      for (int b = 0; b < n; ++b) {
        float acc = 0;
        for (int a = 0; a < n; ++a)
          acc += at[i * n + a] * u[a * n + b];
        y[i * n + b] = acc;
      }
    for (int i = 0; i < m; ++i)
      for (int i2 = 0; i2 < m; ++i2) {
        float acc = 0;
        for (int b = 0; b < n; ++b)
          acc += y[i * n + b] * at[i2 * n + b];
        out[i * m + i2] = acc;
      }
    for (int i1 = 0; i1 < m; ++i1)
      for (int i2 = 0; i2 < m; ++i2) {
        double ref = 0;
        for (int k1 = 0; k1 < r; ++k1)
          for (int k2 = 0; k2 < r; ++k2)
            ref += dd[(i1 + k1) * n + i2 + k2] * gg[k1 * r + k2];
        double got = out[i1 * m + i2];
        if (!std::isfinite(got))
          return kInf;
        errSq += (got - ref) * (got - ref);
        refSq += ref * ref;
      }
  }
  return std::sqrt(errSq / refSq);
}

/// Double-precision Toom-Cook construction with the balancing rule of
/// balanceExact (for scoring candidates only; never shipped).
void buildDouble(int m, int r, const std::vector<double> &p, Transforms &t) {
  int n = m + r - 1, nf = n - 1;
  t.m = m;
  t.r = r;
  t.n = n;
  t.at.assign(size_t(m) * n, 0.0);
  t.g.assign(size_t(n) * r, 0.0);
  t.bt.assign(size_t(n) * n, 0.0);
  for (int j = 0; j < nf; ++j) {
    double pw = 1;
    for (int i = 0; i < m; ++i, pw *= p[j])
      t.at[size_t(i) * n + j] = pw;
    double nj = 1;
    for (int l = 0; l < nf; ++l)
      if (l != j)
        nj *= p[j] - p[l];
    pw = 1;
    for (int k = 0; k < r; ++k, pw *= p[j])
      t.g[size_t(j) * r + k] = pw / nj;
  }
  t.at[size_t(m - 1) * n + nf] = 1;
  t.g[size_t(nf) * r + r - 1] = 1;
  for (int row = 0; row < n; ++row) {
    std::vector<double> c(1, 1.0);
    for (int l = 0; l < nf; ++l) {
      if (l == row)
        continue;
      std::vector<double> next(c.size() + 1, 0.0);
      for (size_t q = 0; q < c.size(); ++q) {
        next[q + 1] += c[q];
        next[q] -= c[q] * p[l];
      }
      c.swap(next);
    }
    for (size_t q = 0; q < c.size(); ++q)
      t.bt[size_t(row) * n + q] = c[q];
  }
  for (int j = 0; j < n; ++j) {
    double la = -1e300, lg = -1e300, lb = -1e300;
    for (int i = 0; i < m; ++i)
      if (t.at[size_t(i) * n + j] != 0)
        la = std::max(la, std::log2(std::fabs(t.at[size_t(i) * n + j])));
    for (int k = 0; k < r; ++k)
      if (t.g[size_t(j) * r + k] != 0)
        lg = std::max(lg, std::log2(std::fabs(t.g[size_t(j) * r + k])));
    for (int c = 0; c < n; ++c)
      if (t.bt[size_t(j) * n + c] != 0)
        lb = std::max(lb, std::log2(std::fabs(t.bt[size_t(j) * n + c])));
    double target = (la + lg + lb) / 3.0;
    int eg = int(std::lround(target - lg)), eb = int(std::lround(target - lb));
    int ea = -(eg + eb);
    for (int i = 0; i < m; ++i)
      t.at[size_t(i) * n + j] = std::ldexp(t.at[size_t(i) * n + j], ea);
    for (int k = 0; k < r; ++k)
      t.g[size_t(j) * r + k] = std::ldexp(t.g[size_t(j) * r + k], eg);
    for (int c = 0; c < n; ++c)
      t.bt[size_t(j) * n + c] = std::ldexp(t.bt[size_t(j) * n + c], eb);
  }
}

} // namespace

double simulateRelError(const Transforms &t, SimPrecision precision, int tiles,
                        uint64_t seed) {
  return simulate(t, precision, makeSample(t.n, t.r, tiles, seed));
}

//===----------------------------------------------------------------------===//
// Point sets
//===----------------------------------------------------------------------===//

bool getWincnnPoints(int m, int r, std::vector<Rational> &finite,
                     std::string &error) {
  int nf = m + r - 2;
  static const Rational seq[] = {{1, 1}, {2, 1}, {1, 2}, {4, 1},
                                 {1, 4}, {3, 1}, {1, 3}, {3, 2}};
  int pairs = nf / 2;
  if (nf % 2 == 0 || pairs > int(std::size(seq))) {
    error = "no wincnn-style point set for F(" + std::to_string(m) + "," +
            std::to_string(r) + ")";
    return false;
  }
  finite.assign(1, Rational{0, 1});
  for (int q = 0; q < pairs; ++q) {
    finite.push_back(seq[q]);
    finite.push_back({-seq[q].num, seq[q].den});
  }
  return true;
}

bool parsePoints(const std::string &text, std::vector<Rational> &finite,
                 std::string &error) {
  finite.clear();
  size_t pos = 0;
  while (true) {
    size_t comma = text.find(',', pos);
    std::string item = text.substr(
        pos, comma == std::string::npos ? std::string::npos : comma - pos);
    std::string s;
    for (char c : item)
      if (!std::isspace((unsigned char)c))
        s += c;
    auto bad = [&](const char *why) {
      error = "bad point '" + item + "' in --points: " + why;
      return false;
    };
    size_t slash = s.find('/');
    std::string a = s.substr(0, slash),
                b = slash == std::string::npos ? "1" : s.substr(slash + 1);
    auto parseInt = [](const std::string &x, bool allowSign, int64_t &v) {
      size_t i = 0;
      bool neg = false;
      if (allowSign && i < x.size() && (x[i] == '-' || x[i] == '+'))
        neg = x[i++] == '-';
      if (i == x.size() || x.size() - i > 12)
        return false;
      v = 0;
      for (; i < x.size(); ++i) {
        if (!std::isdigit((unsigned char)x[i]))
          return false;
        v = v * 10 + (x[i] - '0');
      }
      if (neg)
        v = -v;
      return true;
    };
    int64_t num = 0, den = 1;
    if (s.empty())
      return bad("empty entry");
    if (!parseInt(a, true, num) || !parseInt(b, false, den))
      return bad("expected an integer or num/den with at most 12 digits");
    if (den == 0)
      return bad("zero denominator");
    int64_t gcd = std::gcd(num < 0 ? -num : num, den);
    finite.push_back({num / gcd, den / gcd});
    if (comma == std::string::npos)
      break;
    pos = comma + 1;
  }
  return true;
}

bool evaluatePoints(int m, int r, const std::vector<Rational> &finite,
                    int tiles, uint64_t seed, PointReport &report,
                    std::string &error) {
  report = PointReport();
  report.finite = finite;
  Transforms t;
  if (!buildTransforms(m, r, finite, /*balanced=*/true, t, error))
    return false;
  report.verified = true;
  report.kappa = vandermondeKappa2(finite);
  report.bound = errorBound1D(t);
  report.model = errorModel2D(t);
  report.maxEntry = maxAbsEntry(t);
  TileSample s = makeSample(t.n, r, tiles, seed);
  report.fp16Error = simulate(t, SimPrecision::FP16, s);
  report.fp32Error = simulate(t, SimPrecision::FP32, s);
  return true;
}

//===----------------------------------------------------------------------===//
// The search
//===----------------------------------------------------------------------===//

namespace {

class Searcher {
public:
  Searcher(const SearchOptions &o)
      : o(o), n(o.m + o.r - 1), pairs((n - 1) / 2), zero((n - 1) % 2 == 1),
        params(o.reciprocal ? pairs / 2 : pairs),
        withOne(o.reciprocal && pairs % 2 == 1), gen(o.seed) {
    if (o.objective == Objective::FP16)
      sample = makeSample(n, o.r, o.simTiles, o.seed ^ 0x5eed5eed5eedull);

  }

  /// The positive points of the parameters: the parameters themselves, or
  /// with `reciprocal` each x and 1/x (plus 1 for an odd number of pairs).
  std::vector<double> expand(const std::vector<double> &x) const {
    if (!o.reciprocal)
      return x;
    std::vector<double> v;
    for (double q : x) {
      v.push_back(q);
      v.push_back(1.0 / q);
    }
    if (withOne)
      v.push_back(1.0);
    return v;
  }
  std::vector<Rational> expand(const std::vector<Rational> &x) const {
    if (!o.reciprocal)
      return x;
    std::vector<Rational> v;
    for (const Rational &q : x) {
      v.push_back(q);
      v.push_back({q.den, q.num});
    }
    if (withOne)
      v.push_back({1, 1});
    return v;
  }

  /// Objective of the set {0?} ∪ {±x} for the parameters `params`; +inf for
  /// invalid sets.
  double score(const std::vector<double> &params) {
    ++evaluations;
    std::vector<double> x = expand(params);
    std::sort(x.begin(), x.end());
    for (size_t q = 0; q < x.size(); ++q) {
      if (!(x[q] > 0.02 && x[q] < 50))
        return kInf;
      if (q > 0 && x[q] < x[q - 1] * 1.01)
        return kInf;
    }
    std::vector<double> p;
    if (zero)
      p.push_back(0.0);
    for (double v : x) {
      p.push_back(v);
      p.push_back(-v);
    }
    if (o.objective == Objective::Kappa)
      return std::log(vandermondeKappa2(p));
    Transforms t;
    buildDouble(o.m, o.r, p, t);
    // The expected-error model plus a range penalty on entries beyond 2^8.
    double s1 = errorModel2D(t), big = maxAbsEntry(t);
    if (!std::isfinite(s1) || !std::isfinite(big))
      return kInf;
    return std::log(s1) + std::max(0.0, std::log(big / 256.0));
  }

  /// The confirmation step: simulated error of the set on the search sample.
  double simulated(const std::vector<Rational> &set) {
    Transforms t;
    std::vector<double> p;
    for (const Rational &q : set)
      p.push_back(double(q.num) / double(q.den));
    buildDouble(o.m, o.r, p, t);
    return simulate(t, o.precision, sample);
  }

  double scoreRational(const std::vector<Rational> &params) {
    std::vector<double> v;
    for (const Rational &q : params)
      v.push_back(double(q.num) / double(q.den));
    return score(v);
  }

  /// One (1+lambda)-ES run on log magnitudes from a random start.
  std::vector<double> runES(double &best) {
    std::uniform_real_distribution<double> init(std::log(0.25),
                                                std::log(2.5));
    std::normal_distribution<double> nd(0.0, 1.0);
    std::vector<double> theta(params);
    for (double &v : theta)
      v = init(gen);
    std::sort(theta.begin(), theta.end());
    auto expd = [](const std::vector<double> &th) {
      std::vector<double> x;
      for (double v : th)
        x.push_back(std::exp(v));
      return x;
    };
    best = score(expd(theta));
    double sigma = 0.4;
    for (int g = 0; g < o.generations && sigma > 1e-4; ++g) {
      double childBest = kInf;
      std::vector<double> child, childArg;
      for (int c = 0; c < o.lambda; ++c) {
        child = theta;
        for (double &v : child)
          v += sigma * nd(gen);
        double f = score(expd(child));
        if (f < childBest) {
          childBest = f;
          childArg = child;
        }
      }
      if (childBest < best) {
        best = childBest;
        theta = childArg;
        sigma *= 1.5;
      } else {
        sigma *= 0.82;
      }
    }
    return expd(theta);
  }

  /// Nearest rational with denominator <= maxDen (ties: smaller
  /// denominator); with `reciprocal` the numerator is bounded too, so that
  /// 1/x obeys the same bound.
  Rational snap(double x) const {
    if (o.reciprocal && x > 1) {
      Rational q = snapPlain(1.0 / x);
      return {q.den, q.num};
    }
    return snapPlain(x);
  }
  Rational snapPlain(double x) const {
    Rational bestQ{1, 1};
    double bestD = kInf;
    for (int den = 1; den <= o.maxDen; ++den) {
      int64_t num = std::llround(x * den);
      if (num <= 0)
        num = 1;
      double dist = std::fabs(double(num) / den - x);
      if (dist < bestD - 1e-12) {
        int64_t gcd = std::gcd(num, int64_t(den));
        bestQ = {num / gcd, den / gcd};
        bestD = dist;
      }
    }
    return bestQ;
  }

  /// Reduced positive rationals num/den, den <= maxDen, in [lo, hi].
  std::vector<Rational> candidates(double lo, double hi) const {
    std::vector<Rational> c;
    for (int den = 1; den <= o.maxDen; ++den)
      for (int64_t num = std::max<int64_t>(1, int64_t(std::ceil(lo * den)));
           double(num) / den <= hi; ++num)
        if (std::gcd(num, int64_t(den)) == 1 &&
            (!o.reciprocal || num <= o.maxDen))
          c.push_back({num, den});
    return c;
  }

  /// Snapping plus coordinate descent over simple rationals.
  std::vector<Rational> discretize(const std::vector<double> &x,
                                   double &best) {
    std::vector<Rational> q;
    for (double v : x)
      q.push_back(snap(v));
    best = scoreRational(q);
    for (int sweep = 0; sweep < 4; ++sweep) {
      bool improved = false;
      for (size_t c = 0; c < q.size(); ++c) {
        double v = double(q[c].num) / q[c].den;
        for (const Rational &cand : candidates(v / 1.2, v * 1.2)) {
          std::vector<Rational> trial = q;
          trial[c] = cand;
          double f = scoreRational(trial);
          if (f < best - 1e-9) {
            best = f;
            q = trial;
            improved = true;
          }
        }
      }
      if (!improved)
        break;
    }
    return q;
  }

  std::vector<Rational> toSet(const std::vector<Rational> &params) const {
    std::vector<Rational> x = expand(params);
    std::sort(x.begin(), x.end(), [](const Rational &a, const Rational &b) {
      return double(a.num) / a.den < double(b.num) / b.den;
    });
    std::vector<Rational> p;
    if (zero)
      p.push_back({0, 1});
    for (const Rational &q : x) {
      p.push_back(q);
      p.push_back({-q.num, q.den});
    }
    return p;
  }

  const SearchOptions &o;
  int n, pairs;
  bool zero;
  int params;   ///< searched parameters
  bool withOne; ///< reciprocal mode with an odd number of pairs: 1 is a point
  std::mt19937_64 gen;
  TileSample sample;
  int evaluations = 0;
};

} // namespace

bool searchPoints(const SearchOptions &o, SearchResult &result,
                  std::string &error) {
  if (o.m < 1 || o.r < 2 || o.m + o.r - 1 > 16) {
    error = "search supports F(m,r) with m >= 1, r >= 2 and m + r - 1 <= 16";
    return false;
  }
  if (o.restarts < 1 || o.generations < 1 || o.lambda < 1 || o.maxDen < 1 ||
      o.simTiles < 1) {
    error = "restarts, generations, lambda, max-den and tiles must be >= 1";
    return false;
  }
  if (o.maxDen > 64) {
    error = "max-den " + std::to_string(o.maxDen) +
            " is too large (at most 64: the snapping step enumerates all "
            "fractions up to it)";
    return false;
  }
  Searcher s(o);
  if (s.pairs == 0) {
    error = "F(" + std::to_string(o.m) + "," + std::to_string(o.r) +
            ") has no ±x pair to search (n - 1 < 2)";
    return false;
  }
  double bestF = kInf;
  std::vector<Rational> best;
  for (int rs = 0; rs < o.restarts; ++rs) {
    double f = kInf;
    std::vector<double> x = s.runES(f);
    if (!std::isfinite(f))
      continue;
    std::vector<Rational> q = s.discretize(x, f);
    std::vector<Rational> set = s.toSet(q);
    // fp16: restarts are compared by the simulated error (which also catches
    // fp16 overflow), not by the model they were optimised for.
    if (o.objective == Objective::FP16)
      f = std::log(s.simulated(set));
    if (!(f < bestF))
      continue;
    Transforms t;
    std::string why;
    if (!buildTransforms(o.m, o.r, set, true, t, why))
      continue; // e.g. an entry beyond 64 bits: not shippable
    bestF = f;
    best = set;
  }
  result.evaluations = s.evaluations;
  if (best.empty()) {
    error = "search found no valid, exactly verified point set";
    return false;
  }
  result.finite = best;
  result.objective = bestF;
  return true;
}

std::string formatPoints(const std::vector<Rational> &points) {
  std::string s;
  for (const Rational &q : points)
    s += (s.empty() ? "" : ",") + formatRational(q);
  return s;
}

} // namespace winograd
} // namespace numerics
} // namespace lowbit
