//===- quantize_time.cpp - Wall time of rtn / gptq / decoupleq on one layer ===//
//
// Times the lib/Numerics weight quantizers on a 4096 x 4096 layer with
// random correlated calibration inputs X [K, 512] (rank-K/8 factor model plus
// noise, fixed seed), prints a table and writes bench/results/
// quantize_time.json with the machine it ran on. Speed is measured and
// recorded, never asserted.
//
// Build (standalone, from the repository root):
//   g++ -std=c++17 -O2 -march=native
//       -DLOWBIT_BENCH_FLAGS='"-O2 -march=native"'
//       -I. -I/usr/include/eigen3 bench/quantize_time.cpp lib/Numerics/*.cpp
//       -lpthread -o /tmp/quantize_time
//   /tmp/quantize_time [N K M] [out.json]
// (one command line; LOWBIT_BENCH_FLAGS only labels the JSON). The CMake
// build makes the same binary as build/bench/quantize_time.
//
//===----------------------------------------------------------------------===//

#include "lib/Numerics/DecoupleQ.h"
#include "lib/Numerics/Gptq.h"
#include "lib/Numerics/Rtn.h"

#include <Eigen/Dense>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#ifndef LOWBIT_BENCH_FLAGS
#define LOWBIT_BENCH_FLAGS "unknown"
#endif

using namespace lowbit::numerics;
using Clock = std::chrono::steady_clock;
using RowMatF =
    Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

namespace {

double seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

std::string cpuModel() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("model name", 0) == 0) {
      auto p = line.find(':');
      if (p != std::string::npos)
        return line.substr(p + 2);
    }
  return "unknown";
}

// The 1-minute load average: other work on the machine inflates timings.
std::string loadAverage() {
  std::ifstream f("/proc/loadavg");
  std::string a;
  f >> a;
  return a.empty() ? "unknown" : a;
}

std::string jsonEscape(const std::string &s) {
  std::string o;
  for (char c : s) {
    if (c == '"' || c == '\\')
      o += '\\';
    o += c;
  }
  return o;
}

struct Row {
  std::string method, config;
  double seconds, loss;
};

} // namespace

int main(int argc, char **argv) {
  int64_t n = 4096, k = 4096, m = 512;
  std::string outPath = "bench/results/quantize_time.json";
  if (argc >= 4) {
    n = std::atoll(argv[1]);
    k = std::atoll(argv[2]);
    m = std::atoll(argv[3]);
  }
  if (argc >= 5)
    outPath = argv[4];

  // Data: W ~ N(0, 0.02^2); X = B F / sqrt(r) + 0.05 noise, every 17th
  // channel x4 (outlier channels).
  std::mt19937 gen(2024);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> w(static_cast<size_t>(n * k));
  for (auto &v : w)
    v = 0.02f * nd(gen);
  const int64_t r = std::max<int64_t>(2, k / 8);
  RowMatF b(k, r), f(r, m), x(k, m);
  for (int64_t i = 0; i < b.size(); ++i)
    b.data()[i] = nd(gen);
  for (int64_t i = 0; i < f.size(); ++i)
    f.data()[i] = nd(gen);
  x.noalias() = b * f / std::sqrt(float(r));
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < m; ++j)
      x(i, j) = (x(i, j) + 0.05f * nd(gen)) * (i % 17 == 3 ? 4.0f : 1.0f);

  std::vector<Row> rows;
  std::string err;
  const std::string loadBefore = loadAverage();
  auto t0 = Clock::now();
  Hessian h;
  if (!accumulateHessian(h, x.data(), k, m, err)) {
    std::fprintf(stderr, "error: %s\n", err.c_str());
    return 1;
  }
  rows.push_back({"hessian", "H = 2XX^T/n, X [K, " + std::to_string(m) + "]",
                  seconds(t0, Clock::now()), 0.0});

  {
    QuantizedWeights q;
    t0 = Clock::now();
    if (!quantizeRtn(w.data(), n, k, {4, true, false}, 128, q, err))
      return std::fprintf(stderr, "error: %s\n", err.c_str()), 1;
    double t = seconds(t0, Clock::now());
    auto deq = q.dequantize();
    rows.push_back({"rtn", "W4 sym g128", t,
                    hessianLoss(w.data(), deq.data(), n, k, h)});
  }
  {
    GptqOptions o;
    o.grid = {4, true, false};
    o.groupSize = 128;
    GptqResult res;
    t0 = Clock::now();
    if (!quantizeGptq(w.data(), n, k, h, o, res, err))
      return std::fprintf(stderr, "error: %s\n", err.c_str()), 1;
    rows.push_back({"gptq", "W4 sym g128", seconds(t0, Clock::now()), res.loss});
    o.actOrder = true;
    t0 = Clock::now();
    if (!quantizeGptq(w.data(), n, k, h, o, res, err))
      return std::fprintf(stderr, "error: %s\n", err.c_str()), 1;
    rows.push_back({"gptq", "W4 sym g128 act-order", seconds(t0, Clock::now()),
                    res.loss});
  }
  {
    QuantizedWeights q;
    if (!quantizeRtn(w.data(), n, k, {2, false, false}, 128, q, err))
      return 1;
    auto deq = q.dequantize();
    rows.push_back({"rtn", "W2 asym g128", 0.0,
                    hessianLoss(w.data(), deq.data(), n, k, h)});
    GptqOptions o;
    o.grid = {2, false, false};
    o.groupSize = 128;
    GptqResult res;
    t0 = Clock::now();
    if (!quantizeGptq(w.data(), n, k, h, o, res, err))
      return 1;
    rows.push_back({"gptq", "W2 asym g128", seconds(t0, Clock::now()), res.loss});
  }
  {
    DecoupleQOptions o;
    o.bits = 2;
    o.groupSize = 128;
    o.iterations = 10;
    DecoupleQResult res;
    t0 = Clock::now();
    if (!quantizeDecoupleQ(w.data(), n, k, h, o, res, err))
      return std::fprintf(stderr, "error: %s\n", err.c_str()), 1;
    rows.push_back({"decoupleq", "W2 g128, 10 iterations",
                    seconds(t0, Clock::now()), res.loss});
  }

  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  const unsigned nproc = std::thread::hardware_concurrency();
  std::printf("quantize_time: N=%lld K=%lld calibration samples=%lld\n",
              (long long)n, (long long)k, (long long)m);
  const std::string loadAfter = loadAverage();
  std::printf("machine: %s, %u cpus, %s; flags: %s; load average %s -> %s\n",
              host, nproc, cpuModel().c_str(), LOWBIT_BENCH_FLAGS,
              loadBefore.c_str(), loadAfter.c_str());
  std::printf("%-10s %-26s %10s %14s\n", "method", "config", "seconds",
              "hessian loss");
  for (const Row &rw : rows)
    std::printf("%-10s %-26s %10.3f %14.6g\n", rw.method.c_str(),
                rw.config.c_str(), rw.seconds, rw.loss);

  std::ostringstream js;
  js << "{\n  \"benchmark\": \"quantize_time\",\n"
     << "  \"machine\": {\"hostname\": \"" << jsonEscape(host)
     << "\", \"nproc\": " << nproc << ", \"cpu\": \"" << jsonEscape(cpuModel())
     << "\", \"loadavg_1min_before\": " << loadBefore
     << ", \"loadavg_1min_after\": " << loadAfter
     << "},\n  \"compiler_flags\": \"" << jsonEscape(LOWBIT_BENCH_FLAGS)
     << "\",\n  \"shape\": {\"n\": " << n << ", \"k\": " << k
     << ", \"calibration_samples\": " << m << "},\n"
     << "  \"targets_seconds\": {\"gptq\": 5, \"decoupleq\": 60},\n"
     << "  \"results\": [\n";
  for (size_t i = 0; i < rows.size(); ++i)
    js << "    {\"method\": \"" << rows[i].method << "\", \"config\": \""
       << rows[i].config << "\", \"seconds\": " << rows[i].seconds
       << ", \"hessian_loss\": " << rows[i].loss << "}"
       << (i + 1 < rows.size() ? ",\n" : "\n");
  js << "  ]\n}\n";
  std::string tmp = outPath + ".tmp";
  {
    std::ofstream o(tmp);
    o << js.str();
    if (!o) {
      std::fprintf(stderr, "error: cannot write %s\n", tmp.c_str());
      return 1;
    }
  }
  if (std::rename(tmp.c_str(), outPath.c_str()) != 0) {
    std::fprintf(stderr, "error: cannot rename %s\n", tmp.c_str());
    return 1;
  }
  std::printf("wrote %s\n", outPath.c_str());
  return 0;
}
