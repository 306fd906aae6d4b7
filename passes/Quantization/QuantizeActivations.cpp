//===- QuantizeActivations.cpp - dynamic or static activation QDQ ---------===//
#include "passes/Quantization/Passes.h"
#include "passes/Quantization/WeightUtils.h"

#include "dialects/NN/NNDialect.h"
#include "lib/Calibration/Statistics.h"
#include "lib/Numerics/ClipSearch.h"
#include "lib/Support/TosaBuilders.h"

#include <cmath>

namespace lowbit {
#define GEN_PASS_DEF_QUANTIZEACTIVATIONSPASS
#include "passes/Quantization/Passes.h.inc"
} // namespace lowbit

using namespace mlir;
using namespace lowbit;

namespace {

/// quantize_dynamic + dequantize_dynamic of `x` (one scale per row of its
/// last dimension): `x` with exactly quantized values. `rmsClip` > 0 sets
/// quantize_dynamic's rms_clip (Gaussian-MSE scales).
Value buildQdq(OpBuilder &b, Location loc, Value x, int64_t bits,
               double rmsClip = 0.0) {
  auto type = cast<RankedTensorType>(x.getType());
  SmallVector<int64_t> scaleShape(type.getShape());
  scaleShape.back() = 1;
  auto q = lb::QuantizeDynamicOp::create(
      b, loc, RankedTensorType::get(type.getShape(), b.getI8Type()),
      RankedTensorType::get(scaleShape, b.getF32Type()), x,
      b.getI64IntegerAttr(bits));
  if (rmsClip > 0.0)
    q.setRmsClipAttr(b.getF64FloatAttr(rmsClip));
  return lb::DequantizeDynamicOp::create(b, loc, type, q.getQ(), q.getScale(),
                                         b.getI64IntegerAttr(bits));
}

/// lowbit.quantize + lowbit.dequantize of `x` with one static scale: the
/// symmetric grid [-qmax, qmax] in i8 storage, qmax = 2^(bits-1)-1.
Value buildStaticQdq(OpBuilder &b, Location loc, Value x, int64_t bits,
                     float scale) {
  auto type = cast<RankedTensorType>(x.getType());
  int64_t qmax = (int64_t(1) << (bits - 1)) - 1;
  auto elem = quant::UniformQuantizedType::get(
      quant::QuantizationFlags::Signed, b.getI8Type(), b.getF32Type(), scale,
      /*zeroPoint=*/0, -qmax, qmax);
  Value q = lb::QuantizeOp::create(
      b, loc, RankedTensorType::get(type.getShape(), elem), x);
  return lb::DequantizeOp::create(b, loc, type, q);
}

/// Whether `v` is already the result of an activation QDQ pair.
bool isQuantizedActivation(Value v) {
  if (v.getDefiningOp<lb::DequantizeDynamicOp>() ||
      v.getDefiningOp<lb::DequantizeOp>())
    return true;
  auto reshape = v.getDefiningOp<tosa::ReshapeOp>();
  return reshape &&
         reshape.getInput1().getDefiningOp<lb::DequantizeDynamicOp>();
}

struct QuantizeActivationsPass
    : lowbit::impl::QuantizeActivationsPassBase<QuantizeActivationsPass> {
  using QuantizeActivationsPassBase::QuantizeActivationsPassBase;

  calibration::Statistics statistics;

  /// Puts a static per-tensor quantize/dequantize pair on `input` of layer
  /// `name`, its scale from the calibrated statistics; fails (diagnosed on
  /// `op`) when the layer has none.
  LogicalResult assignStaticQdq(Operation *op, OpOperand &input,
                                const std::string &name, int64_t layerBits) {
    auto it = statistics.find(name);
    if (it == statistics.end())
      return op->emitError("quantize-activations: layer '")
             << name << "' has no statistics in '" << stats
             << "' (calibrate the model with taps named after its layers)";
    double clip = it->second.percentile(percentile);
    double qmax = double((int64_t(1) << (layerBits - 1)) - 1);
    // An all-zero input keeps scale 1, like quantize_dynamic's zero rows.
    float scale = clip > 0 ? static_cast<float>(clip / qmax) : 1.0f;
    OpBuilder b(op);
    input.assign(
        buildStaticQdq(b, op->getLoc(), input.get(), layerBits, scale));
    return success();
  }

  int64_t bitsFor(const std::string &name,
                  ArrayRef<std::pair<std::string, int64_t>> rules,
                  Operation *op = nullptr) {
    for (const auto &[glob, b] : rules)
      if (matchesGlob(glob, name))
        return b;
    // A per-layer choice (the sensitivity pass's lowbit.act_bits) replaces
    // the default; overrides above still win.
    if (op)
      if (auto attr = op->getAttrOfType<IntegerAttr>("lowbit.act_bits"))
        return attr.getInt();
    return bits;
  }

  /// bitsFor with the per-layer choice checked: a lowbit.act_bits outside
  /// 0 / 2..8 is an error naming the layer.
  FailureOr<int64_t>
  checkedBitsFor(Operation *op, const std::string &name,
                 ArrayRef<std::pair<std::string, int64_t>> rules) {
    int64_t layerBits = bitsFor(name, rules, op);
    if (layerBits != 0 && (layerBits < 2 || layerBits > 8)) {
      op->emitError("quantize-activations: lowbit.act_bits of layer '")
          << name << "' must be 2..8, got " << layerBits;
      return failure();
    }
    return layerBits;
  }

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    SmallVector<std::pair<std::string, int64_t>> rules;
    SmallVector<StringRef> entries;
    StringRef(overrides).split(entries, ';', -1, false);
    for (StringRef entry : entries) {
      auto [glob, value] = entry.trim().rsplit(':');
      int64_t b;
      if (glob.empty() || value.getAsInteger(10, b) ||
          (b != 0 && (b < 2 || b > 8))) {
        func.emitError("quantize-activations: override '")
            << entry << "' is not GLOB:BITS with BITS 0 or 2..8";
        return signalPassFailure();
      }
      if (std::string why = globError(glob); !why.empty()) {
        func.emitError("quantize-activations: override '")
            << entry << "': " << why;
        return signalPassFailure();
      }
      rules.emplace_back(glob.str(), b);
    }
    if (bits < 2 || bits > 8) {
      func.emitError("quantize-activations: bits must be 2..8, got ")
          << static_cast<int64_t>(bits);
      return signalPassFailure();
    }
    bool isStatic = mode == "static";
    if (!isStatic && mode != "dynamic") {
      func.emitError("quantize-activations: mode must be dynamic or static, "
                     "got '")
          << mode << "'";
      return signalPassFailure();
    }
    bool gaussian = scale == "gaussian-mse";
    if (!gaussian && scale != "absmax") {
      func.emitError("quantize-activations: scale must be absmax or "
                     "gaussian-mse, got '")
          << scale << "'";
      return signalPassFailure();
    }
    if (gaussian && isStatic) {
      func.emitError("quantize-activations: scale=gaussian-mse applies to "
                     "mode=dynamic only");
      return signalPassFailure();
    }
    // Gaussian-MSE clip (units of the row's rms) per bit width.
    auto rmsClipFor = [&](int64_t layerBits) {
      double alpha = 0.0;
      std::string ignored; // bits are checked to be 2..8 before use
      if (gaussian && !numerics::gaussianMseAlpha(
                          static_cast<int>(layerBits),
                          numerics::GaussianGrid::Symmetric, alpha, ignored))
        alpha = 0.0;
      return alpha;
    };
    if (isStatic) {
      if (stats.empty()) {
        func.emitError("quantize-activations: mode=static needs "
                       "stats=FILE.npz (a calibration sidecar)");
        return signalPassFailure();
      }
      if (!(percentile > 0.0 && percentile <= 100.0)) {
        func.emitError("quantize-activations: percentile must be in (0, "
                       "100], got ")
            << static_cast<double>(percentile);
        return signalPassFailure();
      }
      std::string error;
      statistics.clear();
      if (!calibration::readStatistics(stats, statistics, error)) {
        func.emitError("quantize-activations: stats: ") << error;
        return signalPassFailure();
      }
    } else if (!stats.empty() || percentile != 100.0) {
      func.emitError("quantize-activations: stats= and percentile= apply to "
                     "mode=static only");
      return signalPassFailure();
    }
    bool failedLayer = false;
    // Convolutions: one dynamic scale for the whole input (per tensor); the
    // rows lower-to-lowbit multiplies are im2col patches, not tokens.
    func.walk([&](nn::Conv2DOp op) {
      if (isQuantizedActivation(op.getInput()))
        return;
      auto xType = op.getInput().getType();
      if (!xType.getElementType().isF32())
        return;
      std::string name = getLayerName(op);
      FailureOr<int64_t> layerBits = checkedBitsFor(op, name, rules);
      if (failed(layerBits)) {
        failedLayer = true;
        return;
      }
      if (*layerBits == 0)
        return;
      OpBuilder b(op);
      Location loc = op.getLoc();
      if (isStatic) {
        if (failed(assignStaticQdq(op, op.getInputMutable(), name, *layerBits)))
          failedLayer = true;
        return;
      }
      Value x = buildTosaReshape(b, loc, op.getInput(),
                                 {1, xType.getNumElements()});
      op.getInputMutable().assign(buildTosaReshape(
          b, loc, buildQdq(b, loc, x, *layerBits, rmsClipFor(*layerBits)),
          xType.getShape()));
    });
    func.walk([&](nn::LinearOp op) {
      // Already quantized (including migrate-quant-steps' unit-step pair) or
      // not f32 (quantize_dynamic reads f32): leave it.
      if (isQuantizedActivation(op.getInput()) ||
          !op.getInput().getType().getElementType().isF32())
        return;
      std::string name = getLayerName(op);
      FailureOr<int64_t> layerBits = checkedBitsFor(op, name, rules);
      if (failed(layerBits)) {
        failedLayer = true;
        return;
      }
      if (*layerBits == 0)
        return;
      OpBuilder b(op);
      if (isStatic) {
        if (failed(assignStaticQdq(op, op.getInputMutable(), name, *layerBits)))
          failedLayer = true;
        return;
      }
      Value x = buildQdq(b, op.getLoc(), op.getInput(), *layerBits,
                         rmsClipFor(*layerBits));
      op.getInputMutable().assign(x);
    });
    if (failedLayer)
      signalPassFailure();
  }
};

} // namespace
