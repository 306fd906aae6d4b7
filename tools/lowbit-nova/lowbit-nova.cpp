//===- lowbit-nova.cpp - Search and verify Winograd interpolation points --===//
//
//   lowbit-nova --m 6 --r 3 --objective fp16 [--seed N]   search
//   lowbit-nova --m 6 --r 3 --points "0,1,-1,2,-2,1/2,-1/2"  verify + report
//   lowbit-nova --m 6 --r 3 --set nova                     a shipped set
//
// Prints the points, NOVA's kappa2, the fp16 error bound, the simulated fp16
// and fp32 errors and "verified exact" once the exact rational builder has
// checked the 1D and 2D identities. Exit codes: 0 ok, 1 error (bad flag or
// point set, search failure).
//
//===----------------------------------------------------------------------===//

#include "lib/Numerics/Winograd.h"
#include "lib/Numerics/WinogradSearch.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <string>

using namespace llvm;
using namespace lowbit::numerics::winograd;

namespace {

cl::opt<int> optM("m", cl::desc("Output tile size m of F(m, r)"),
                  cl::init(6));
cl::opt<int> optR("r", cl::desc("Filter size r of F(m, r)"), cl::init(3));
cl::opt<Objective> optObjective(
    "objective", cl::desc("Search objective"),
    cl::values(clEnumValN(Objective::Kappa, "kappa",
                          "log kappa2 of the finite Vandermonde (NOVA)"),
               clEnumValN(Objective::FP16, "fp16",
                          "simulated fp16 relative error")),
    cl::init(Objective::FP16));
cl::opt<uint64_t> optSeed("seed", cl::desc("Seed of the search"),
                          cl::init(1));
cl::opt<std::string>
    optPoints("points",
              cl::desc("Verify and report this set of n - 1 finite points "
                       "instead of searching, e.g. \"0,1,-1,1/2,-1/2\""),
              cl::value_desc("p0,p1,..."));
cl::opt<std::string>
    optSet("set",
           cl::desc("Verify and report a shipped set: standard, nova, ours "
                    "or wincnn"),
           cl::value_desc("name"));
const SearchOptions kDefaults;
cl::opt<int> optRestarts("restarts", cl::desc("Search restarts"),
                         cl::init(kDefaults.restarts));
cl::opt<int> optGenerations("generations",
                            cl::desc("Generations per restart"),
                            cl::init(kDefaults.generations));
cl::opt<int> optLambda("lambda", cl::desc("Offspring per generation"),
                       cl::init(kDefaults.lambda));
cl::opt<int> optMaxDen("max-den",
                       cl::desc("Largest denominator of the snapped points"),
                       cl::init(kDefaults.maxDen));
cl::opt<int> optSearchTiles(
    "search-tiles",
    cl::desc("Random tiles of the simulated-error check that picks the best "
             "restart (fp16 objective)"),
    cl::init(kDefaults.simTiles));
cl::opt<int> optTiles("tiles",
                      cl::desc("Random tiles of the reported fp16/fp32 "
                               "errors (--sim-seed, not the search sample)"),
                      cl::init(2000));
cl::opt<bool> optReciprocal(
    "reciprocal",
    cl::desc("Search only sets closed under p -> 1/p (x, 1/x pairs; 1 when "
             "the number of pairs is odd)"));
cl::opt<uint64_t> optSimSeed("sim-seed",
                             cl::desc("Seed of the reported errors' tiles"),
                             cl::init(12345));
cl::opt<bool> optMatrices("print-matrices",
                          cl::desc("Print the exact balanced AT, G and BT"));

int fail(const std::string &message) {
  errs() << "lowbit-nova: error: " << message << "\n";
  return 1;
}

void printMatrix(const char *name, const std::vector<Rational> &v, int rows,
                 int cols) {
  outs() << name << " (" << rows << "x" << cols << "):\n";
  for (int i = 0; i < rows; ++i) {
    outs() << " ";
    for (int j = 0; j < cols; ++j) {
      const Rational &q = v[size_t(i) * cols + j];
      std::string s = std::to_string(q.num);
      if (q.den != 1)
        s += "/" + std::to_string(q.den);
      outs() << " " << std::string(s.size() < 9 ? 9 - s.size() : 0, ' ') << s;
    }
    outs() << "\n";
  }
}

} // namespace

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  cl::ParseCommandLineOptions(
      argc, argv,
      "lowbit-nova: search and verify Winograd F(m, r) interpolation points\n");

  int m = optM, r = optR;
  if (m < 1 || r < 1 || m + r - 1 > 16)
    return fail("--m " + std::to_string(m) + " --r " + std::to_string(r) +
                ": need m >= 1, r >= 1 and m + r - 1 <= 16");
  if (!optPoints.empty() && !optSet.empty())
    return fail("--points and --set are mutually exclusive");
  if (optTiles < 1)
    return fail("--tiles must be >= 1");

  std::vector<Rational> points;
  std::string error, origin;
  auto start = std::chrono::steady_clock::now();
  if (!optPoints.empty()) {
    if (!parsePoints(optPoints, points, error))
      return fail(error);
    origin = "given (--points)";
  } else if (!optSet.empty()) {
    bool ok;
    if (optSet == "wincnn")
      ok = getWincnnPoints(m, r, points, error);
    else if (optSet == "standard")
      ok = getShippedPoints(PointSet::Standard, m, r, points, error);
    else if (optSet == "nova")
      ok = getShippedPoints(PointSet::Nova, m, r, points, error);
    else if (optSet == "ours")
      ok = getShippedPoints(PointSet::Ours, m, r, points, error);
    else
      return fail("--set '" + optSet +
                  "': expected standard, nova, ours or wincnn");
    if (!ok)
      return fail(error);
    origin = "shipped set '" + optSet + "'";
  } else {
    SearchOptions o;
    o.m = m;
    o.r = r;
    o.objective = optObjective;
    o.seed = optSeed;
    o.restarts = optRestarts;
    o.generations = optGenerations;
    o.lambda = optLambda;
    o.maxDen = optMaxDen;
    o.simTiles = optSearchTiles;
    o.reciprocal = optReciprocal;
    SearchResult res;
    if (!searchPoints(o, res, error))
      return fail(error);
    points = res.finite;
    double secs = std::chrono::duration<double>(
                      std::chrono::steady_clock::now() - start)
                      .count();
    origin = std::string("search, objective ") +
             (o.objective == Objective::Kappa ? "kappa" : "fp16") +
             ", seed " + std::to_string(o.seed) + ", " +
             std::to_string(res.evaluations) + " evaluations, " +
             std::to_string(int(secs * 10 + 0.5) / 10) + "." +
             std::to_string(int(secs * 10 + 0.5) % 10) + " s";
  }

  PointReport rep;
  if (!evaluatePoints(m, r, points, optTiles, optSimSeed, rep, error))
    return fail((optPoints.empty() ? "" : "--points: ") + error);

  outs() << "F(" << m << "," << r << ") points: " << formatPoints(points)
         << ", inf\n";
  outs() << "source: " << origin << "\n";
  outs() << format("kappa2: %.6g\n", rep.kappa);
  outs() << format("error bound: %.6g\n", rep.bound);
  outs() << format("error model: %.6g\n", rep.model);
  outs() << format("max entry: %.6g\n", rep.maxEntry);
  outs() << format("fp16 rel error: %.3e\n", rep.fp16Error);
  outs() << format("fp32 rel error: %.3e\n", rep.fp32Error);
  outs() << "verified exact: 1D identity (all basis inputs), 2D identity "
            "(integer tiles)\n";
  if (optMatrices) {
    Transforms t;
    if (!buildTransforms(m, r, points, true, t, error))
      return fail(error);
    printMatrix("AT", t.atExact, m, t.n);
    printMatrix("G", t.gExact, t.n, r);
    printMatrix("BT", t.btExact, t.n, t.n);
  }
  return 0;
}
