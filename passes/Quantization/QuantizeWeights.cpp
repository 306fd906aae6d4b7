//===- QuantizeWeights.cpp - constant weights -> integer part + tables ----===//
#include "passes/Quantization/Passes.h"
#include "passes/Quantization/WeightUtils.h"

#include "dialects/NN/NNDialect.h"
#include "lib/Calibration/Statistics.h"
#include "lib/Numerics/ClipSearch.h"
#include "lib/Numerics/DecoupleQ.h"
#include "lib/Numerics/Gptq.h"
#include "lib/Numerics/Rtn.h"
#include "lib/Support/NpyIO.h"
#include "lib/Support/Progress.h"
#include "lib/Support/TosaBuilders.h"

#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/StringExtras.h"

#include <map>

namespace lowbit {
#define GEN_PASS_DEF_QUANTIZEWEIGHTSPASS
#include "passes/Quantization/Passes.h.inc"
} // namespace lowbit

using namespace mlir;
using namespace lowbit;
namespace nm = lowbit::numerics;

namespace {

struct LayerSettings {
  std::string method;
  int64_t bits = 4;
  int64_t groupSize = 0;
  bool symmetric = true;
  bool skip = false;
};

struct Override {
  std::string glob;
  std::vector<std::pair<std::string, std::string>> settings;
  bool skip = false;
};

const char *const kMethods[] = {"rtn", "gaussian-mse", "clip-search", "gptq",
                                "decoupleq"};

bool isKnownMethod(StringRef m) {
  return llvm::is_contained(kMethods, m);
}

/// Parses "GLOB:key=value,key=value;GLOB:skip".
LogicalResult parseOverrides(StringRef text, std::vector<Override> &out,
                             std::string &error) {
  SmallVector<StringRef> entries;
  text.split(entries, ';', -1, /*KeepEmpty=*/false);
  for (StringRef entry : entries) {
    auto [glob, rest] = entry.trim().split(':');
    if (glob.empty() || rest.empty()) {
      error = "override '" + entry.str() + "' is not GLOB:key=value,...";
      return failure();
    }
    if (std::string why = globError(glob); !why.empty()) {
      error = "override '" + entry.str() + "': " + why;
      return failure();
    }
    Override o;
    o.glob = glob.str();
    SmallVector<StringRef> items;
    rest.split(items, ',', -1, false);
    for (StringRef item : items) {
      item = item.trim();
      if (item == "skip") {
        o.skip = true;
        continue;
      }
      auto [key, value] = item.split('=');
      if (!llvm::is_contained({"bits", "group-size", "method", "symmetric"},
                              key) ||
          value.empty()) {
        error = "override '" + entry.str() + "': unknown setting '" +
                item.str() +
                "' (expected skip, bits=, group-size=, method=, symmetric=)";
        return failure();
      }
      o.settings.emplace_back(key.str(), value.str());
    }
    out.push_back(std::move(o));
  }
  return success();
}

/// Appends the rows of `part` (same K, group size and grid kind) to `q`.
void appendRows(nm::QuantizedWeights &q, nm::QuantizedWeights &&part) {
  if (q.n == 0) {
    q = std::move(part);
    return;
  }
  q.n += part.n;
  q.q.insert(q.q.end(), part.q.begin(), part.q.end());
  q.scales.insert(q.scales.end(), part.scales.begin(), part.scales.end());
  q.zeroPoints.insert(q.zeroPoints.end(), part.zeroPoints.begin(),
                      part.zeroPoints.end());
  q.offsets.insert(q.offsets.end(), part.offsets.begin(), part.offsets.end());
}

struct QuantizeWeightsPass
    : lowbit::impl::QuantizeWeightsPassBase<QuantizeWeightsPass> {
  using QuantizeWeightsPassBase::QuantizeWeightsPassBase;

  void runOnOperation() override;

private:
  LogicalResult settingsFor(Operation *op, const std::string &name,
                            LayerSettings &s);
  LogicalResult quantizeLayer(Operation *op, OpOperand &weight);
  LogicalResult loadHessians(Location loc);

  std::vector<Override> parsedOverrides;
  /// Per layer: one Hessian, or one per filter group (grouped convs).
  std::map<std::string, std::vector<nm::Hessian>> hessianTable;
  bool hessiansLoaded = false;
};

LogicalResult QuantizeWeightsPass::settingsFor(Operation *op,
                                               const std::string &name,
                                               LayerSettings &s) {
  s.method = method;
  s.bits = bits;
  s.groupSize = groupSize;
  s.symmetric = symmetric;
  for (const Override &o : parsedOverrides) {
    if (!matchesGlob(o.glob, name))
      continue;
    s.skip = s.skip || o.skip;
    for (const auto &[key, value] : o.settings) {
      if (key == "method") {
        s.method = value;
      } else if (key == "symmetric") {
        if (value != "true" && value != "false")
          return op->emitError("quantize-weights: override for '")
                 << name << "': symmetric must be true or false";
        s.symmetric = value == "true";
      } else {
        int64_t v;
        if (StringRef(value).getAsInteger(10, v))
          return op->emitError("quantize-weights: override for '")
                 << name << "': " << key << " must be an integer, got '"
                 << value << "'";
        (key == "bits" ? s.bits : s.groupSize) = v;
      }
    }
  }
  if (s.bits < 2 || s.bits > 8)
    return op->emitError("quantize-weights: layer '")
           << name << "': bits must be 2..8, got " << s.bits;
  if (s.groupSize < 0)
    return op->emitError("quantize-weights: layer '")
           << name << "': group-size must be >= 0 (0 = per channel), got "
           << s.groupSize;
  if (!isKnownMethod(s.method))
    return op->emitError("quantize-weights: layer '")
           << name << "': unknown method '" << s.method
           << "' (rtn, gaussian-mse, clip-search, gptq, decoupleq)";
  return success();
}

LogicalResult QuantizeWeightsPass::loadHessians(Location loc) {
  if (hessiansLoaded)
    return success();
  hessiansLoaded = true;
  if (hessians.empty())
    return success();
  std::vector<NpyArray> arrays;
  std::string error;
  if (!readNpz(hessians, arrays, error))
    return emitError(loc, "quantize-weights: hessians: ") << error;
  // Calibration sidecars (lib/Calibration/Statistics.h) hold
  // "<layer>/hessian" = sum x xᵀ next to "<layer>/count" = n and other
  // statistics; plain "<layer>" entries are Hessians as they are.
  // Convolution Hessians ([K, K], or [G, K, K] per filter group) sum
  // im2col patches; their sample count is "<layer>/hessian_count".
  std::map<std::string, double> counts, patchCounts;
  for (NpyArray &a : arrays) {
    std::string layer, stat;
    if (calibration::splitStatisticsKey(a.name, layer, stat) &&
        (stat == "count" || stat == "hessian_count") &&
        a.numElements() == 1 && a.dtype == "i8")
      (stat == "count" ? counts : patchCounts)[layer] =
          double(*reinterpret_cast<const int64_t *>(a.data.data()));
  }
  for (NpyArray &a : arrays) {
    std::string layer, stat;
    double factor = 1.0;
    bool sidecar = false;
    if (calibration::splitStatisticsKey(a.name, layer, stat)) {
      if (stat != "hessian")
        continue;
      sidecar = true;
      double n = 0;
      if (patchCounts.count(layer))
        n = patchCounts[layer];
      else if (counts.count(layer))
        n = counts[layer];
      if (n > 0)
        factor = 2.0 / n; // H = 2/n sum x xᵀ, as nm::Hessian
      a.name = layer;
    }
    size_t rank = a.shape.size();
    if ((rank != 2 && !(sidecar && rank == 3)) ||
        a.shape[rank - 1] != a.shape[rank - 2] ||
        (a.dtype != "f4" && a.dtype != "f8"))
      return emitError(loc, "quantize-weights: hessian '")
             << a.name
             << "' must be a square f4/f8 matrix (or [G, K, K] per conv "
                "group)";
    int64_t groups = rank == 3 ? a.shape[0] : 1, k = a.shape[rank - 1];
    std::vector<nm::Hessian> perGroup(groups);
    for (int64_t g = 0; g < groups; ++g) {
      nm::Hessian &h = perGroup[g];
      h.k = k;
      h.samples = 1;
      h.h.resize(k * k);
      for (int64_t i = 0; i < k * k; ++i) {
        int64_t at = g * k * k + i;
        h.h[i] = factor *
                 (a.dtype == "f4"
                      ? reinterpret_cast<const float *>(a.data.data())[at]
                      : reinterpret_cast<const double *>(a.data.data())[at]);
      }
    }
    hessianTable[a.name] = std::move(perGroup);
  }
  return success();
}

LogicalResult QuantizeWeightsPass::quantizeLayer(Operation *op,
                                                 OpOperand &weight) {
  std::string name = getLayerName(op);
  LayerSettings s;
  if (failed(settingsFor(op, name, s)))
    return failure();
  if (s.skip)
    return success();
  auto type = cast<RankedTensorType>(weight.get().getType());
  if (!type.getElementType().isF32()) {
    if (matchPattern(weight.get(), m_Constant()))
      op->emitWarning("quantize-weights: layer '")
          << name << "': only f32 weights are quantized; this one is "
          << type.getElementType() << " and stays as it is";
    return success();
  }
  std::optional<FloatValues> data = readFloatConstant(weight.get());
  if (!data) {
    // A resource constant whose bytes are gone (elided when printed) must not
    // pass for "not a constant": that would silently leave a float layer.
    if (auto c = weight.get().getDefiningOp<arith::ConstantOp>())
      if (auto r = dyn_cast<DenseResourceElementsAttr>(c.getValue()))
        if (!r.getRawHandle().getBlob())
          return op->emitError("quantize-weights: layer '")
                 << name << "': the weight's data ('"
                 << r.getRawHandle().getKey() << "') is missing (elided?)";
    return success(); // not a constant f32 weight: leave it alone
  }
  int64_t n = type.getDimSize(0);
  int64_t k = type.getNumElements() / n;
  int64_t g = s.groupSize == 0 ? k : s.groupSize;
  if (k % g != 0) {
    if (indivisible != "per-channel")
      return op->emitError("quantize-weights: layer '")
             << name << "': group size " << g << " does not divide K = " << k
             << " (use indivisible=per-channel or an override)";
    g = k;
  }

  nm::QuantParams params;
  params.bits = static_cast<int>(s.bits);
  params.symmetric = s.symmetric;
  nm::QuantizedWeights q;
  std::string error;
  bool ok = false;
  const float *w = data->data;
  if (s.method == "rtn") {
    ok = nm::quantizeRtn(w, n, k, params, g, q, error);
  } else if (s.method == "gaussian-mse") {
    ok = nm::quantizeGaussianMse(w, n, k, params, g, q, error);
  } else if (s.method == "clip-search") {
    nm::ClipSearchOptions opts;
    opts.grid = params;
    opts.groupSize = g;
    nm::ClipSearchResult r;
    ok = nm::clipSearch(w, n, k, /*x=*/nullptr, 0, opts, r, error);
    q = std::move(r.weights);
  } else {
    if (failed(loadHessians(op->getLoc())))
      return failure();
    auto it = hessianTable.find(name);
    if (it == hessianTable.end())
      return op->emitError("quantize-weights: layer '")
             << name << "': method " << s.method
             << " needs its Hessian (hessians=FILE.npz with an entry '"
             << name << "')";
    const std::vector<nm::Hessian> &hs = it->second;
    if (hs.front().k != k)
      return op->emitError("quantize-weights: layer '")
             << name << "': Hessian is " << hs.front().k << "x"
             << hs.front().k << ", the layer's K is " << k;
    // A grouped conv's filter groups see different inputs: one Hessian per
    // group, applied to that group's rows (output channels).
    int64_t convGroups = 1;
    if (auto conv = dyn_cast<nn::Conv2DOp>(op))
      convGroups = conv.getGroups();
    int64_t hGroups = static_cast<int64_t>(hs.size());
    if (hGroups != 1 && hGroups != convGroups)
      return op->emitError("quantize-weights: layer '")
             << name << "': the Hessian has " << hGroups
             << " groups, the layer has " << convGroups;
    if (hGroups == 1 && convGroups != 1)
      return op->emitError("quantize-weights: layer '")
             << name << "': a conv with " << convGroups
             << " groups needs one Hessian per group ([G, K, K])";
    int64_t rows = n / hGroups;
    for (int64_t grp = 0; grp < hGroups; ++grp) {
      const float *wg = w + grp * rows * k;
      nm::QuantizedWeights part;
      if (s.method == "gptq") {
        nm::GptqOptions opts;
        opts.grid = params;
        opts.groupSize = g;
        nm::GptqResult r;
        ok = nm::quantizeGptq(wg, rows, k, hs[grp], opts, r, error);
        part = std::move(r.weights);
      } else {
        nm::DecoupleQOptions opts;
        opts.bits = params.bits;
        opts.groupSize = g;
        nm::DecoupleQResult r;
        ok = nm::quantizeDecoupleQ(wg, rows, k, hs[grp], opts, r, error);
        part = std::move(r.weights);
      }
      if (!ok)
        break;
      appendRows(q, std::move(part));
    }
  }
  if (!ok)
    return op->emitError("quantize-weights: layer '") << name << "': " << error;

  OpBuilder b(op);
  Location loc = op->getLoc();
  Value replacement;
  if (fakeQuant) {
    std::vector<float> deq = q.dequantize();
    replacement = createResourceConstant(b, loc, type, deq.data(),
                                         deq.size() * sizeof(float),
                                         name + ".fake_quant");
  } else {
    Type i8 = b.getI8Type(), f32 = b.getF32Type();
    int64_t groups = k / g;
    Value qv = createResourceConstant(b, loc, RankedTensorType::get({n, k}, i8),
                                      q.q.data(), q.q.size(), name + ".q");
    auto tableType = RankedTensorType::get({n, groups}, f32);
    Value scale = createResourceConstant(b, loc, tableType, q.scales.data(),
                                         q.scales.size() * sizeof(float),
                                         name + ".scale");
    Value zero;
    StringRef zeroKind = "integer";
    if (!q.offsets.empty()) {
      zero = createResourceConstant(b, loc, tableType, q.offsets.data(),
                                    q.offsets.size() * sizeof(float),
                                    name + ".offset");
      zeroKind = "float_offset";
    } else if (!q.symmetric) {
      std::vector<float> zp(q.zeroPoints.begin(), q.zeroPoints.end());
      zero = createResourceConstant(b, loc, tableType, zp.data(),
                                    zp.size() * sizeof(float), name + ".zero");
    }
    replacement = lb::DequantizeWeightOp::create(
        b, loc, RankedTensorType::get({n, k}, f32), qv, scale, zero,
        b.getI64IntegerAttr(q.bits), b.getI64IntegerAttr(g),
        b.getStringAttr(zeroKind));
    if (type.getRank() != 2)
      replacement = buildTosaReshape(b, loc, replacement, type.getShape());
  }
  weight.set(replacement);
  return success();
}

void QuantizeWeightsPass::runOnOperation() {
  func::FuncOp func = getOperation();
  if (bits < 2 || bits > 8) {
    func.emitError("quantize-weights: bits must be 2..8, got ")
        << static_cast<int64_t>(bits);
    return signalPassFailure();
  }
  if (groupSize < 0) {
    func.emitError("quantize-weights: group-size must be >= 0 (0 = per "
                   "channel), got ")
        << static_cast<int64_t>(groupSize);
    return signalPassFailure();
  }
  if (!isKnownMethod(method)) {
    func.emitError("quantize-weights: unknown method '")
        << method << "' (rtn, gaussian-mse, clip-search, gptq, decoupleq)";
    return signalPassFailure();
  }
  if (indivisible != "error" && indivisible != "per-channel") {
    func.emitError("quantize-weights: indivisible must be error or "
                   "per-channel, got '")
        << indivisible << "'";
    return signalPassFailure();
  }
  std::string error;
  parsedOverrides.clear();
  if (failed(parseOverrides(overrides, parsedOverrides, error))) {
    func.emitError("quantize-weights: ") << error;
    return signalPassFailure();
  }
  SmallVector<std::pair<Operation *, unsigned>> layers;
  func.walk([&](Operation *op) {
    if (isa<nn::LinearOp>(op))
      layers.push_back({op, 1});
    else if (isa<nn::Conv2DOp>(op))
      layers.push_back({op, 1});
  });
  // GPTQ and decoupleQ take seconds per large layer: one report per layer
  // for whoever shows progress (lib/Support/Progress.h).
  std::string task = "quantize-weights " + method;
  for (auto [i, layer] : llvm::enumerate(layers)) {
    if (failed(quantizeLayer(layer.first, layer.first->getOpOperand(
                                              layer.second))))
      return signalPassFailure();
    progress::report(task, i + 1, layers.size());
  }
}

} // namespace
