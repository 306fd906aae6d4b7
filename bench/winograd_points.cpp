//===- winograd_points.cpp - Winograd point sets: kappa, range, fp16 error ===//
//
// For F(m,3), m in {2,4,6,8}, and the point sets standard ({0,±1,±2,...}),
// wincnn-style ({0,±1,±2,±1/2,±4}), NOVA's and lowbit's ('ours', shipped),
// plus a fresh search (seed 1, default options): NOVA's kappa2, the largest
// matrix entry, the 1D error bound, the error model, and the simulated
// relative error against a float64 direct convolution in fp32, fp16 and the
// two precision splits (fp16-operands, fp16-io), on random 2D tiles with a
// fixed seed. Writes one JSON object to stdout; bench/winograd_points.py
// runs it, adds the machine and writes bench/results/winograd_points.json.
//
//   build/bench/winograd_points [tiles] [seed]
//
//===----------------------------------------------------------------------===//

#include "lib/Numerics/Winograd.h"
#include "lib/Numerics/WinogradSearch.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

using namespace lowbit::numerics::winograd;

namespace {

/// JSON number; non-finite (fp16 overflow) as null.
std::string num(double v) {
  if (!std::isfinite(v))
    return "null";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.6g", v);
  return buf;
}

} // namespace

int main(int argc, char **argv) {
  int tiles = argc > 1 ? std::atoi(argv[1]) : 20000;
  uint64_t seed = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 2026;
  if (tiles < 1) {
    std::fprintf(stderr, "winograd_points: error: tiles must be >= 1\n");
    return 1;
  }
  const int r = 3;
  std::printf("{\n  \"benchmark\": \"winograd_points\",\n  \"tiles\": %d,\n"
              "  \"seed\": %llu,\n  \"data\": \"input and filter entries "
              "standard normal; error = ||Y - Yref||_F / ||Yref||_F over all "
              "tiles, Yref float64 direct correlation\",\n  \"results\": [",
              tiles, (unsigned long long)seed);
  bool first = true;
  for (int m : {2, 4, 6, 8}) {
    for (const char *name : {"standard", "wincnn", "nova", "ours", "search"}) {
      std::vector<Rational> p;
      std::string error;
      std::string set = name;
      double searchSeconds = -1;
      int evaluations = 0;
      bool ok = true;
      if (set == "standard")
        ok = getShippedPoints(PointSet::Standard, m, r, p, error);
      else if (set == "wincnn")
        ok = getWincnnPoints(m, r, p, error);
      else if (set == "nova")
        ok = getShippedPoints(PointSet::Nova, m, r, p, error);
      else if (set == "ours")
        ok = getShippedPoints(PointSet::Ours, m, r, p, error);
      else {
        SearchOptions o;
        o.m = m;
        o.r = r;
        o.seed = 1;
        SearchResult res;
        auto t0 = std::chrono::steady_clock::now();
        ok = searchPoints(o, res, error);
        searchSeconds = std::chrono::duration<double>(
                            std::chrono::steady_clock::now() - t0)
                            .count();
        p = res.finite;
        evaluations = res.evaluations;
      }
      if (!ok)
        continue; // e.g. NOVA published no F(2,3) set
      Transforms t;
      if (!buildTransforms(m, r, p, /*balanced=*/true, t, error)) {
        std::fprintf(stderr, "winograd_points: error: %s\n", error.c_str());
        return 1;
      }
      std::printf("%s\n    {\"m\": %d, \"r\": %d, \"set\": \"%s\", "
                  "\"points\": \"%s\", \"verified_exact\": true, "
                  "\"kappa\": %s, \"max_entry\": %s, \"error_bound\": %s, "
                  "\"error_model\": %s",
                  first ? "" : ",", m, r, name, formatPoints(p).c_str(),
                  num(vandermondeKappa2(p)).c_str(),
                  num(maxAbsEntry(t)).c_str(), num(errorBound1D(t)).c_str(),
                  num(errorModel2D(t)).c_str());
      first = false;
      for (SimPrecision prec :
           {SimPrecision::FP32, SimPrecision::FP16, SimPrecision::FP16Operands,
            SimPrecision::FP16IO})
        std::printf(", \"%s\": %s", simPrecisionName(prec),
                    num(simulateRelError(t, prec, tiles, seed)).c_str());
      if (searchSeconds >= 0)
        std::printf(", \"search_seconds\": %s, \"evaluations\": %d",
                    num(searchSeconds).c_str(), evaluations);
      std::printf("}");
      std::fflush(stdout);
    }
  }
  std::printf("\n  ]\n}\n");
  return 0;
}
