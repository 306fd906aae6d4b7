//===- lowbit-cuda-emit.cpp - Emit, compile, check and time CUDA kernels --===//
//
//   lowbit-cuda-emit [SPEC] [-o FILE]            CUDA C++ of one kernel
//   lowbit-cuda-emit --all [--arch=A] [-o FILE]  every variant (allVariants)
//   lowbit-cuda-emit --list [--arch=A]           their names
//   ... --compile [--arch=sm_80|sm_86|sm_90a|all] [--skip-without-nvcc]
//                                                nvcc -cubin per arch
//   lowbit-cuda-emit --check [--all|SPEC] [--skip-without-gpu] [--seed=S]
//                                                GPU vs CPU reference
//   lowbit-cuda-emit --bench --m=1,16 --nk=4096x4096 [SPEC...] [--iters=N]
//                                                kernel times, JSON lines
//   lowbit-cuda-emit --from-mlir=FILE [--arch=A] [--gpu-name=NAME]
//                    [--tuning=TABLE] [--compile] [-o FILE]
//                                                the kernels of every
//                                                lowbit.qlinear in FILE
// SPEC: --path=bitserial|unpack --wbits=N --abits=N [--unsigned]
//       [--tiles=WMxWNxTMxTN] [--stages=N] [--f32] [--bias]
// Exit codes: 0 ok, 1 error or mismatch, 77 skipped (--skip-without-*).
//
//===----------------------------------------------------------------------===//

#include "lib/Target/Cuda/Compile.h"
#include "lib/Target/Cuda/CudaRuntime.h"
#include "lib/Target/Cuda/KernelSpec.h"
#include "lib/Target/Cuda/QLinearPlan.h"
#include "lib/Target/Cuda/Reference.h"
#include "lib/Target/Cuda/TuningTable.h"

#include "dialects/LowBit/LowBitDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Quant/IR/Quant.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/SourceMgr.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

using namespace lowbit;
using namespace lowbit::cuda;

namespace {

constexpr int kSkip = 77;

int fail(const std::string &msg) {
  std::fprintf(stderr, "lowbit-cuda-emit: error: %s\n", msg.c_str());
  return 1;
}

bool startsWith(const std::string &s, const char *prefix, std::string &rest) {
  const size_t n = std::strlen(prefix);
  if (s.compare(0, n, prefix) != 0)
    return false;
  rest = s.substr(n);
  return true;
}

bool parseInt(const std::string &s, int &v) {
  char *end = nullptr;
  long x = std::strtol(s.c_str(), &end, 10);
  if (s.empty() || *end)
    return false;
  v = int(x);
  return true;
}

bool parseList(const std::string &s, char sep, std::vector<int> &out) {
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, sep)) {
    int v;
    if (!parseInt(item, v))
      return false;
    out.push_back(v);
  }
  return !out.empty();
}

struct Options {
  KernelSpec spec;
  bool specGiven = false, all = false, list = false, compile = false,
       check = false, bench = false, skipNoNvcc = false, skipNoGpu = false;
  std::string out, arch = "sm_80", fromMlir, gpuName = "unknown", tuning;
  uint64_t seed = 0;
  bool seedGiven = false;
  std::vector<int> ms;
  std::vector<std::pair<int, int>> nks;
  int iters = 50, groupSize = 128;
};

bool parseArgs(int argc, char **argv, Options &o, std::string &error) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i], v;
    int n;
    if (a == "--all")
      o.all = true;
    else if (a == "--list")
      o.list = true;
    else if (a == "--compile")
      o.compile = true;
    else if (a == "--check")
      o.check = true;
    else if (a == "--bench")
      o.bench = true;
    else if (a == "--skip-without-nvcc")
      o.skipNoNvcc = true;
    else if (a == "--skip-without-gpu")
      o.skipNoGpu = true;
    else if (a == "--unsigned")
      o.spec.wSigned = false, o.specGiven = true;
    else if (a == "--f32")
      o.spec.outF16 = false, o.specGiven = true;
    else if (a == "--bias")
      o.spec.hasBias = true, o.specGiven = true;
    else if (a == "-o" && i + 1 < argc)
      o.out = argv[++i];
    else if (startsWith(a, "--arch=", v))
      o.arch = v;
    else if (startsWith(a, "--from-mlir=", v))
      o.fromMlir = v;
    else if (startsWith(a, "--gpu-name=", v))
      o.gpuName = v;
    else if (startsWith(a, "--tuning=", v))
      o.tuning = v;
    else if (startsWith(a, "--path=", v)) {
      if (!parsePath(v, o.spec.path)) {
        error = "--path must be bitserial or unpack, got '" + v + "'";
        return false;
      }
      o.specGiven = true;
    } else if (startsWith(a, "--wbits=", v) && parseInt(v, n))
      o.spec.wBits = n, o.specGiven = true;
    else if (startsWith(a, "--abits=", v) && parseInt(v, n))
      o.spec.aBits = n, o.specGiven = true;
    else if (startsWith(a, "--stages=", v) && parseInt(v, n))
      o.spec.stages = n, o.specGiven = true;
    else if (startsWith(a, "--iters=", v) && parseInt(v, n) && n > 0)
      o.iters = n;
    else if (startsWith(a, "--group=", v) && parseInt(v, n) && n > 0)
      o.groupSize = n;
    else if (startsWith(a, "--seed=", v)) {
      o.seed = std::strtoull(v.c_str(), nullptr, 10);
      o.seedGiven = true;
    } else if (startsWith(a, "--tiles=", v)) {
      std::vector<int> t;
      if (!parseList(v, 'x', t) || t.size() != 4) {
        error = "--tiles must be WMxWNxTMxTN, got '" + v + "'";
        return false;
      }
      o.spec.warpsM = t[0], o.spec.warpsN = t[1], o.spec.warpTileM = t[2],
      o.spec.warpTileN = t[3], o.specGiven = true;
    } else if (startsWith(a, "--m=", v)) {
      if (!parseList(v, ',', o.ms)) {
        error = "--m must be a comma list of integers";
        return false;
      }
    } else if (startsWith(a, "--nk=", v)) {
      std::stringstream ss(v);
      std::string item;
      while (std::getline(ss, item, ',')) {
        std::vector<int> nk;
        if (!parseList(item, 'x', nk) || nk.size() != 2) {
          error = "--nk must be a comma list of NxK, got '" + item + "'";
          return false;
        }
        o.nks.push_back({nk[0], nk[1]});
      }
    } else {
      error = "unknown or malformed option '" + a + "' (see the file header)";
      return false;
    }
  }
  return true;
}

std::vector<CudaArch> archesOf(const std::string &s, std::string &error) {
  if (s == "all")
    return {CudaArch::Sm80, CudaArch::Sm86, CudaArch::Sm90a};
  CudaArch a;
  if (!parseArch(s, a)) {
    error = "--arch must be sm_80, sm_86, sm_90a or all, got '" + s + "'";
    return {};
  }
  return {a};
}

std::vector<KernelSpec> specsFor(const Options &o, CudaArch arch) {
  if (o.all || !o.specGiven)
    return allVariants(arch);
  KernelSpec s = o.spec;
  s.arch = arch;
  return {s};
}

// ---- GPU correctness ------------------------------------------------------

struct DeviceProblem {
  CudaDevice &dev;
  DeviceGemm d;
  std::vector<uint64_t> ptrs;
  explicit DeviceProblem(CudaDevice &dv) : dev(dv) {}
  ~DeviceProblem() {
    for (uint64_t p : ptrs)
      dev.free(p);
  }
  bool put(const void *host, size_t bytes, uint64_t &ptr, std::string &e) {
    if (!dev.alloc(bytes, ptr, e))
      return false;
    ptrs.push_back(ptr);
    return !host || dev.upload(ptr, host, bytes, e);
  }
  bool upload(const KernelSpec &s, const HostGemm &p, std::string &e) {
    d.M = p.M, d.N = p.N, d.K = p.K, d.G = p.G;
    const size_t xBytes = s.aBits == 16 ? p.xh.size() * 2 : p.x.size();
    const void *x = s.aBits == 16 ? (const void *)p.xh.data()
                                  : (const void *)p.x.data();
    const size_t outBytes = size_t(p.M) * p.N * (s.outF16 ? 2 : 4);
    return put(x, xBytes, d.x, e) &&
           put(p.xScale.data(), p.xScale.size() * 4, d.xScale, e) &&
           put(p.wPacked.data(), p.wPacked.size(), d.w, e) &&
           put(p.wScale.data(), p.wScale.size() * 4, d.wScale, e) &&
           (p.wZero.empty() || put(p.wZero.data(), p.wZero.size() * 4, d.wZero, e)) &&
           (p.bias.empty() || put(p.bias.data(), p.bias.size() * 4, d.bias, e)) &&
           put(nullptr, outBytes, d.out, e) &&
           (s.path != KernelPath::BitSerial ||
            put(nullptr, size_t(p.M) * s.aBits * (p.K / 32) * 4, d.xPlanes, e));
  }
};

/// Compares the GPU output with the reference; returns a failure message.
std::string compare(const KernelSpec &s, const HostGemm &p,
                    const std::vector<char> &got, const std::vector<float> &ref) {
  const size_t count = ref.size();
  double errSq = 0, refSq = 0;
  for (size_t i = 0; i < count; ++i) {
    float g;
    if (s.outF16) {
      uint16_t h;
      std::memcpy(&h, got.data() + 2 * i, 2);
      g = halfToFloat(h);
      if (s.aBits != 16 && h != floatToHalf(ref[i]))
        return "element " + std::to_string(i) + ": got " + std::to_string(g) +
               ", expected " + std::to_string(halfToFloat(floatToHalf(ref[i]))) +
               " (fp16 of the exact result)";
    } else {
      std::memcpy(&g, got.data() + 4 * i, 4);
      if (s.aBits != 16 && std::memcmp(&g, &ref[i], 4) != 0)
        return "element " + std::to_string(i) + ": got " + std::to_string(g) +
               ", expected " + std::to_string(ref[i]) + " (bit-exact)";
    }
    if (std::isnan(g))
      return "element " + std::to_string(i) + " is NaN (unwritten?)";
    errSq += double(g - ref[i]) * double(g - ref[i]);
    refSq += double(ref[i]) * double(ref[i]);
  }
  const double rel = std::sqrt(errSq / std::max(refSq, 1e-30));
  const double tol = s.outF16 ? 2e-3 : 1e-5;
  if (s.aBits == 16 && rel > tol)
    return "relative error " + std::to_string(rel) + " > " + std::to_string(tol);
  (void)p;
  return "";
}

int runCheck(const Options &o) {
  std::string error;
  CudaDevice *dev = CudaDevice::get(error);
  if (!dev) {
    if (o.skipNoGpu) {
      std::printf("skipped: %s\n", error.c_str());
      return kSkip;
    }
    return fail(error);
  }
  const std::vector<KernelSpec> specs = specsFor(o, dev->arch());
  GemmModule module;
  if (!module.build(*dev, specs, error))
    return fail(error);
  const uint64_t seed = o.seedGiven ? o.seed : std::random_device{}();
  std::printf("GPU %s (%s), %zu kernels, seed %llu\n", dev->name().c_str(),
              archName(dev->arch()), specs.size(), (unsigned long long)seed);
  int failures = 0, runs = 0;
  uint64_t problemSeed = seed;
  for (const KernelSpec &s : specs) {
    const int chunk = s.kStep() * s.stages;
    const int g = std::max(128, chunk);
    struct Shape { int m, n, k, g; };
    const Shape shapes[] = {{1, 72, 2 * g, g},
                            {37, 136, 4 * g, g},
                            {130, 264, 2 * g, 2 * g}};
    for (const Shape &sh : shapes) {
      HostGemm p;
      std::vector<float> ref;
      if (!makeRandomGemm(s, sh.m, sh.n, sh.k, sh.g, ++problemSeed, false, p,
                          error) ||
          !referenceGemm(p, ref, error))
        return fail(kernelName(s) + ": " + error);
      DeviceProblem dp(*dev);
      const size_t outBytes = size_t(p.M) * p.N * (s.outF16 ? 2 : 4);
      std::vector<char> got(outBytes);
      if (!dp.upload(s, p, error) || !dev->fill(dp.d.out, 0xFF, outBytes, error) ||
          !module.launch(s, dp.d, error) || !dev->synchronize(error) ||
          !dev->download(got.data(), dp.d.out, outBytes, error))
        return fail(kernelName(s) + ": " + error);
      ++runs;
      const std::string msg = compare(s, p, got, ref);
      if (!msg.empty()) {
        ++failures;
        std::printf("FAIL %s M=%d N=%d K=%d G=%d: %s\n", kernelName(s).c_str(),
                    p.M, p.N, p.K, p.G, msg.c_str());
      }
    }
  }
  // The qlinear entry point (f32, bias, repacking to bit planes).
  {
    KernelSpec s;
    s.wBits = 4, s.aBits = 8, s.outF16 = false, s.hasBias = true;
    HostGemm p;
    std::vector<float> ref, got(size_t(33) * 72);
    if (!makeRandomGemm(s, 33, 72, 512, 128, ++problemSeed, false, p, error) ||
        !referenceGemm(p, ref, error))
      return fail(error);
    for (KernelPath path : {KernelPath::Unpack, KernelPath::BitSerial}) {
      KernelSpec forced = s;
      forced.path = path;
      forced.stages = 1;
      QLinearCudaArgs a;
      a.M = p.M, a.N = p.N, a.K = p.K, a.groupSize = p.G, a.aBits = 8,
      a.wBits = 4, a.layout = s.layout(), a.x = p.x.data(),
      a.xScale = p.xScale.data(), a.w = p.wPacked.data(),
      a.wBytes = int64_t(p.wPacked.size()), a.wScale = p.wScale.data(),
      a.bias = p.bias.data(), a.spec = &forced;
      std::fill(got.begin(), got.end(), NAN);
      ++runs;
      if (!runQLinearCuda(a, got.data(), error))
        return fail("runQLinearCuda: " + error);
      if (std::memcmp(got.data(), ref.data(), ref.size() * 4) != 0) {
        ++failures;
        std::printf("FAIL runQLinearCuda (%s): output differs from the "
                    "reference\n", pathName(path));
      }
    }
  }
  std::printf("%d of %d runs match the CPU reference%s\n", runs - failures,
              runs, failures ? "" : " (integer paths bit-exact)");
  return failures ? 1 : 0;
}

// ---- benchmark --------------------------------------------------------------

int runBench(const Options &o) {
  std::string error;
  CudaDevice *dev = CudaDevice::get(error);
  if (!dev)
    return fail(error);
  if (o.ms.empty() || o.nks.empty())
    return fail("--bench needs --m=LIST and --nk=NxK,...");
  // Candidates: the given spec's bits with both paths and both tile sets.
  std::vector<KernelSpec> cands;
  for (const KernelSpec &v : allVariants(dev->arch()))
    if (v.wBits == o.spec.wBits && v.aBits == o.spec.aBits &&
        v.wSigned == o.spec.wSigned && v.outF16 && !v.hasBias)
      cands.push_back(v);
  if (cands.empty())
    return fail("no kernel variant for W" + std::to_string(o.spec.wBits) + "A" +
                std::to_string(o.spec.aBits));
  GemmModule module;
  if (!module.build(*dev, cands, error))
    return fail(error);
  std::mt19937_64 rng(std::random_device{}());
  for (auto nk : o.nks) {
    const int n = nk.first, k = nk.second, g = o.groupSize;
    for (const KernelSpec &s : cands) {
      if (!checkProblem(s, 1, n, k, g, error))
        continue;
      // Weights: random bytes are valid packed values in every layout.
      std::string e;
      const int64_t rowBytes = numerics::packedRowBytes(s.layout(), s.wBits, k, e);
      const size_t wBytes = size_t(rowBytes) * n;
      const int copies = int(std::min<size_t>(8, std::max<size_t>(
                                                     1, (size_t(256) << 20) / wBytes)));
      std::vector<uint8_t> w(wBytes);
      for (uint8_t &b : w)
        b = uint8_t(rng());
      DeviceProblem dp(*dev);
      std::vector<uint64_t> wCopies(copies);
      std::vector<float> ws(size_t(n) * (k / g));
      for (float &v : ws)
        v = 0.01f;
      for (int c = 0; c < copies; ++c)
        if (!dp.put(w.data(), wBytes, wCopies[c], error))
          return fail(error);
      if (!dp.put(ws.data(), ws.size() * 4, dp.d.wScale, error))
        return fail(error);
      for (int m : o.ms) {
        DeviceProblem xp(*dev);
        const int aBytes = s.aBits == 16 ? 2 : 1;
        std::vector<uint8_t> x(size_t(m) * k * aBytes);
        for (size_t i = 0; i < x.size(); ++i)
          x[i] = s.aBits == 16 ? uint8_t(i % 2 ? 0x3C : rng()) // f16 in [1, 2)
                               : uint8_t(int8_t(int(rng() % 15) - 7));
        std::vector<float> xs(m, 0.01f);
        DeviceGemm d = dp.d;
        d.M = m, d.N = n, d.K = k, d.G = g;
        if (!xp.put(x.data(), x.size(), d.x, error) ||
            !xp.put(xs.data(), xs.size() * 4, d.xScale, error) ||
            !xp.put(nullptr, size_t(m) * n * 2, d.out, error) ||
            (s.path == KernelPath::BitSerial &&
             !xp.put(nullptr, size_t(m) * s.aBits * (k / 32) * 4, d.xPlanes,
                     error)))
          return fail(error);
        int rot = 0;
        std::vector<float> ms;
        auto body = [&](std::string &err) {
          d.w = wCopies[rot++ % copies];
          return module.launch(s, d, err);
        };
        // One timed launch first; then as many as fit ~0.3 s (3 at least).
        if (!dev->time(body, 1, 1, ms, error))
          return fail(kernelName(s) + ": " + error);
        const int iters = std::max(
            3, std::min(o.iters, int(300.0 / std::max(ms[0], 1e-3f))));
        if (!dev->time(body, 2, iters, ms, error))
          return fail(kernelName(s) + ": " + error);
        std::sort(ms.begin(), ms.end());
        std::printf("{\"gpu\": \"%s\", \"arch\": \"%s\", \"kernel\": \"%s\", "
                    "\"path\": \"%s\", \"wbits\": %d, \"abits\": %d, \"M\": %d, "
                    "\"N\": %d, \"K\": %d, \"group\": %d, \"warpsM\": %d, "
                    "\"warpsN\": %d, \"warpTileM\": %d, \"warpTileN\": %d, "
                    "\"stages\": %d, \"median_ms\": %.6f, \"min_ms\": %.6f}\n",
                    dev->name().c_str(), archName(dev->arch()),
                    kernelName(s).c_str(), s.variantName().c_str(), s.wBits, s.aBits,
                    m, n, k, g, s.warpsM, s.warpsN, s.warpTileM, s.warpTileN,
                    s.stages, ms[ms.size() / 2], ms.front());
        std::fflush(stdout);
      }
    }
  }
  return 0;
}

// ---- kernels of a module's lowbit.qlinear ops -------------------------------

bool compileAndReport(const std::vector<KernelSpec> &specs, CudaArch arch,
                      const std::string &outPrefix, std::string &error);

int runFromMlir(const Options &o, CudaArch arch) {
  std::string error;
  TuningTable table;
  if (!o.tuning.empty() && !table.load(o.tuning, error))
    return fail(error);
  mlir::DialectRegistry registry;
  registry.insert<mlir::func::FuncDialect, mlir::arith::ArithDialect,
                  mlir::tensor::TensorDialect, mlir::quant::QuantDialect,
                  lowbit::lb::LowBitDialect>();
  mlir::MLIRContext ctx(registry);
  llvm::SourceMgr sourceMgr;
  mlir::SourceMgrDiagnosticHandler handler(sourceMgr, &ctx);
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceFile<mlir::ModuleOp>(o.fromMlir, sourceMgr, &ctx);
  if (!module)
    return 1; // the parser reported the error
  std::vector<KernelSpec> specs;
  bool failed = false;
  int count = 0;
  module->walk([&](lowbit::lb::QLinearOp op) {
    QLinearPlan plan;
    if (mlir::failed(planQLinear(op, o.gpuName, arch,
                                 o.tuning.empty() ? nullptr : &table, plan))) {
      failed = true;
      return;
    }
    ++count;
    std::string loc;
    llvm::raw_string_ostream os(loc);
    op.getLoc().print(os);
    std::printf("// qlinear %s: M=%lld N=%lld K=%lld G=%lld W%dA%d -> %s "
                "(weights %s%s)\n",
                loc.c_str(), (long long)plan.m, (long long)plan.n,
                (long long)plan.k, (long long)plan.groupSize, plan.spec.wBits,
                plan.spec.aBits, kernelName(plan.spec).c_str(),
                numerics::packLayoutName(plan.storedLayout),
                plan.storedLayout == plan.spec.layout()
                    ? ""
                    : (std::string(", repacked to ") +
                       numerics::packLayoutName(plan.spec.layout()))
                          .c_str());
    specs.push_back(plan.spec);
  });
  if (failed)
    return 1;
  std::printf("// %d lowbit.qlinear op(s), %s\n", count, archName(arch));
  if (specs.empty())
    return 0;
  if (o.compile) {
    if (!compileAndReport(specs, arch, o.out, error))
      return fail(error);
    return 0;
  }
  std::string source;
  if (!emitCudaSource(specs, source, error))
    return fail(error);
  if (o.out.empty()) {
    std::cout << source;
    return 0;
  }
  std::ofstream f(o.out);
  f << source;
  return f ? 0 : fail("cannot write " + o.out);
}

bool compileAndReport(const std::vector<KernelSpec> &specs, CudaArch arch,
                      const std::string &outPrefix, std::string &error) {
  std::string source;
  std::vector<char> cubin;
  const auto t0 = std::chrono::steady_clock::now();
  if (!emitCudaSource(specs, source, error) ||
      !compileToCubin(source, arch, cubin, error))
    return false;
  const double sec =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
          .count();
  std::printf("%s: %zu kernels compiled, cubin %zu bytes, %.1f s\n",
              archName(arch), specs.size(), cubin.size(), sec);
  if (!outPrefix.empty()) {
    std::ofstream f(outPrefix + "." + archName(arch) + ".cubin",
                    std::ios::binary);
    f.write(cubin.data(), std::streamsize(cubin.size()));
  }
  return true;
}

} // namespace

int main(int argc, char **argv) {
  Options o;
  std::string error;
  if (!parseArgs(argc, argv, o, error))
    return fail(error);
  if (o.check)
    return runCheck(o);
  if (o.bench)
    return runBench(o);
  const std::vector<CudaArch> arches = archesOf(o.arch, error);
  if (arches.empty())
    return fail(error);
  if (o.list) {
    for (const KernelSpec &s : specsFor(o, arches.front()))
      std::printf("%s\n", kernelName(s).c_str());
    return 0;
  }
  if (o.compile) {
    if (findNvcc().empty()) {
      if (o.skipNoNvcc) {
        std::printf("skipped: no CUDA toolkit (nvcc) found\n");
        return kSkip;
      }
      return fail("no CUDA toolkit found: nvcc is not on PATH (set LOWBIT_NVCC)");
    }
    for (CudaArch arch : arches)
      if (o.fromMlir.empty() &&
          !compileAndReport(specsFor(o, arch), arch, o.out, error))
        return fail(error);
    if (o.fromMlir.empty())
      return 0;
  }
  if (!o.fromMlir.empty()) {
    if (arches.size() != 1)
      return fail("--from-mlir takes one --arch");
    return runFromMlir(o, arches.front());
  }
  std::string source;
  if (!emitCudaSource(specsFor(o, arches.front()), source, error))
    return fail(error);
  if (o.out.empty()) {
    std::cout << source;
    return 0;
  }
  std::ofstream f(o.out);
  f << source;
  if (!f)
    return fail("cannot write " + o.out);
  return 0;
}
