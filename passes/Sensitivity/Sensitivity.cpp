//===- Sensitivity.cpp - FlexQ per-layer A6 / A8 choice -------------------===//
#include "passes/Sensitivity/Passes.h"
#include "passes/Quantization/WeightUtils.h"

#include "dialects/NN/NNDialect.h"
#include "lib/Calibration/Sensitivity.h"
#include "lib/Calibration/Statistics.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cmath>

namespace lowbit {
#define GEN_PASS_DEF_SENSITIVITYPASS
#include "passes/Sensitivity/Passes.h.inc"
} // namespace lowbit

using namespace mlir;
using namespace lowbit;

namespace {

struct Layer {
  Operation *op = nullptr;
  const char *kind = "linear";
  std::string name;
  double errA6 = 0, errA8 = 0;
  int64_t rank = 0;
  int64_t bits = 6;
};

struct SensitivityPass : lowbit::impl::SensitivityPassBase<SensitivityPass> {
  using SensitivityPassBase::SensitivityPassBase;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (stats.empty()) {
      func.emitError("sensitivity: needs stats=FILE.npz (a calibration "
                     "sidecar with <layer>/samples)");
      return signalPassFailure();
    }
    if (weightBits < 2 || weightBits > 8) {
      func.emitError("sensitivity: weight-bits must be 2..8, got ")
          << static_cast<int64_t>(weightBits);
      return signalPassFailure();
    }
    if (groupSize < 0) {
      func.emitError("sensitivity: group-size must be >= 0, got ")
          << static_cast<int64_t>(groupSize);
      return signalPassFailure();
    }
    bool byTarget = targetError != 0.0;
    if (byTarget && !(targetError > 0.0 && std::isfinite(targetError))) {
      func.emitError("sensitivity: target-error must be > 0, got ")
          << static_cast<double>(targetError);
      return signalPassFailure();
    }
    if (byTarget && budget != -1.0) {
      func.emitError("sensitivity: give budget or target-error, not both");
      return signalPassFailure();
    }
    double fraction = budget == -1.0 ? 0.25 : static_cast<double>(budget);
    if (!byTarget && !(fraction >= 0.0 && fraction <= 1.0)) {
      func.emitError("sensitivity: budget must be in [0, 1], got ")
          << static_cast<double>(budget);
      return signalPassFailure();
    }
    calibration::Statistics statistics;
    std::string error;
    if (!calibration::readStatistics(stats, statistics, error)) {
      func.emitError("sensitivity: stats: ") << error;
      return signalPassFailure();
    }

    std::vector<Layer> layers;
    bool failedLayer = false;
    func.walk([&](nn::LinearOp op) {
      auto wType = op.getWeight().getType();
      if (!op.getInput().getType().getElementType().isF32() ||
          !wType.getElementType().isF32() || wType.getRank() != 2)
        return;
      std::optional<FloatValues> w = readFloatConstant(op.getWeight());
      if (!w)
        return; // not a constant weight: nothing to quantize, leave it
      Layer layer;
      layer.op = op;
      layer.name = getLayerName(op);
      auto it = statistics.find(layer.name);
      if (it == statistics.end() || it->second.sampleRows == 0) {
        op.emitError("sensitivity: layer '")
            << layer.name << "' has no samples in '" << stats
            << "' (calibrate with Hessians: taps on nn.linear inputs)";
        failedLayer = true;
        return;
      }
      const calibration::TensorStatistics &s = it->second;
      int64_t n = wType.getDimSize(0), k = wType.getDimSize(1);
      if (s.channels != k) {
        op.emitError("sensitivity: layer '")
            << layer.name << "': samples have " << s.channels
            << " channels, the weight has K=" << k;
        failedLayer = true;
        return;
      }
      std::vector<double> errors;
      if (!calibration::measureOutputErrors(
              s.samples.data(), s.sampleRows, k, w->data, n,
              static_cast<int>(weightBits), groupSize, {6, 8}, errors,
              error)) {
        op.emitError("sensitivity: layer '") << layer.name << "': " << error;
        failedLayer = true;
        return;
      }
      layer.errA6 = errors[0];
      layer.errA8 = errors[1];
      layers.push_back(layer);
    });
    // Convolutions: on the captured im2col patches, activations per tensor.
    func.walk([&](nn::Conv2DOp op) {
      auto fType = op.getFilter().getType();
      if (!op.getInput().getType().getElementType().isF32() ||
          !fType.getElementType().isF32())
        return;
      std::optional<FloatValues> w = readFloatConstant(op.getFilter());
      if (!w)
        return; // not a constant filter: nothing to quantize, leave it
      Layer layer;
      layer.op = op;
      layer.kind = "conv2d";
      layer.name = getLayerName(op);
      auto it = statistics.find(layer.name);
      if (it == statistics.end() || !it->second.conv ||
          it->second.sampleRows == 0) {
        op.emitError("sensitivity: conv '")
            << layer.name << "' has no patch samples in '" << stats
            << "' (calibrate with Hessians: taps on nn.conv2d inputs)";
        failedLayer = true;
        return;
      }
      const calibration::TensorStatistics &s = it->second;
      calibration::ConvGeometry g;
      bool sized = op.getStrides().size() == 2 && op.getPads().size() == 4 &&
                   op.getDilations().size() == 2;
      if (sized) {
        g.kernel[0] = fType.getDimSize(2);
        g.kernel[1] = fType.getDimSize(3);
        llvm::copy(op.getStrides(), g.strides);
        llvm::copy(op.getPads(), g.pads);
        llvm::copy(op.getDilations(), g.dilations);
        g.groups = op.getGroups();
      }
      int64_t n = fType.getDimSize(0);
      int64_t k = fType.getNumElements() / n;
      if (!sized || s.geometry != g || s.sampleWidth != g.groups * k) {
        op.emitError("sensitivity: conv '")
            << layer.name << "': the patches in '" << stats
            << "' were taken for another kernel, stride, padding, dilation "
               "or group count";
        failedLayer = true;
        return;
      }
      std::vector<double> errors;
      if (!calibration::measureConvOutputErrors(
              s.samples.data(), s.samplesAbsMax.data(), s.sampleRows,
              g.groups, k, w->data, n, static_cast<int>(weightBits),
              groupSize, {6, 8}, errors, error)) {
        op.emitError("sensitivity: conv '") << layer.name << "': " << error;
        failedLayer = true;
        return;
      }
      layer.errA6 = errors[0];
      layer.errA8 = errors[1];
      layers.push_back(layer);
    });
    if (failedLayer)
      return signalPassFailure();

    // Rank by the gain of A8 over A6; ties by name for a stable order.
    std::vector<size_t> order(layers.size());
    for (size_t i = 0; i < order.size(); ++i)
      order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      double ga = layers[a].errA6 - layers[a].errA8;
      double gb = layers[b].errA6 - layers[b].errA8;
      if (ga != gb)
        return ga > gb;
      return layers[a].name < layers[b].name;
    });
    int64_t promote =
        byTarget ? 0
                 : static_cast<int64_t>(std::lround(fraction * layers.size()));
    for (size_t r = 0; r < order.size(); ++r) {
      Layer &l = layers[order[r]];
      l.rank = static_cast<int64_t>(r) + 1;
      bool a8 = byTarget ? l.errA6 > targetError : int64_t(r) < promote;
      l.bits = a8 ? 8 : 6;
    }
    Builder b(func.getContext());
    for (Layer &l : layers)
      l.op->setAttr("lowbit.act_bits", b.getI64IntegerAttr(l.bits));

    if (report.empty())
      return;
    llvm::json::Array jsonLayers;
    int64_t promoted = 0;
    for (size_t r = 0; r < order.size(); ++r) {
      const Layer &l = layers[order[r]];
      promoted += l.bits == 8;
      jsonLayers.push_back(llvm::json::Object{{"layer", l.name},
                                              {"type", l.kind},
                                              {"err_a6", l.errA6},
                                              {"err_a8", l.errA8},
                                              {"rank", l.rank},
                                              {"act_bits", l.bits}});
    }
    llvm::json::Object json{
        {"function", func.getSymName().str()},
        {"weight_bits", static_cast<int64_t>(weightBits)},
        {"group_size", static_cast<int64_t>(groupSize)},
        {"layers", std::move(jsonLayers)},
        {"promoted_to_a8", promoted}};
    if (byTarget)
      json["target_error"] = static_cast<double>(targetError);
    else
      json["budget"] = fraction;
    if (llvm::Error err = llvm::writeToOutput(report, [&](llvm::raw_ostream &f) {
          f << llvm::formatv("{0:2}", llvm::json::Value(std::move(json)))
            << "\n";
          return llvm::Error::success();
        })) {
      func.emitError("sensitivity: cannot write report '")
          << report << "': " << llvm::toString(std::move(err));
      signalPassFailure();
    }
  }
};

} // namespace
