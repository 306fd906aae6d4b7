//===- MigrateQuantSteps.cpp - MergeQuant quantization step migration -----===//
#include "passes/Quantization/Passes.h"
#include "passes/Quantization/WeightUtils.h"

#include "dialects/NN/NNDialect.h"
#include "lib/Calibration/Statistics.h"
#include "lib/Numerics/ClipSearch.h"
#include "lib/Numerics/Quantize.h"

#include "mlir/Dialect/Quant/IR/QuantTypes.h"
#include "llvm/ADT/MapVector.h"

#include <cmath>

namespace lowbit {
#define GEN_PASS_DEF_MIGRATEQUANTSTEPSPASS
#include "passes/Quantization/Passes.h.inc"
} // namespace lowbit

using namespace mlir;
using namespace lowbit;
namespace nm = lowbit::numerics;

namespace {

/// A normalisation whose steps can migrate: nn.rms_norm / nn.layer_norm over
/// the last dimension with constant f32 scale (and bias), float result.
struct Norm {
  Operation *op = nullptr;
  FloatValues gamma;
  std::optional<FloatValues> beta;
};

std::optional<Norm> matchNorm(Value x) {
  Operation *op = x.getDefiningOp();
  Value scale, bias;
  int64_t axis;
  if (auto ln = dyn_cast_or_null<nn::LayerNormOp>(op)) {
    if (ln.getOutBits())
      return std::nullopt;
    scale = ln.getScale();
    bias = ln.getBias();
    axis = ln.getAxis();
  } else if (auto rms = dyn_cast_or_null<nn::RMSNormOp>(op)) {
    if (rms.getOutBits())
      return std::nullopt;
    scale = rms.getScale();
    axis = rms.getAxis();
  } else {
    return std::nullopt;
  }
  auto type = cast<RankedTensorType>(x.getType());
  if (axis != type.getRank() - 1 || !type.getElementType().isF32())
    return std::nullopt;
  Norm norm{op, {}, std::nullopt};
  std::optional<FloatValues> gamma = readFloatConstant(scale);
  if (!gamma)
    return std::nullopt;
  norm.gamma = std::move(*gamma);
  if (bias && !(norm.beta = readFloatConstant(bias)))
    return std::nullopt;
  return norm;
}

/// The ratio c in 1, .., minRatio (ClipSearch.h's default grid) whose step
/// c * absMax / qmax gives the smallest squared error on the channel's
/// samples `x[t * stride]`, t < rows (ties keep the larger ratio).
float searchClipRatio(const float *x, int64_t rows, int64_t stride,
                      float absMax, int qmax) {
  nm::ClipSearchOptions grid;
  float best = 1.0f;
  double bestError = INFINITY;
  for (int i = 0; i <= grid.steps; ++i) {
    float ratio = 1.0f - i * (1.0f - grid.minRatio) / grid.steps;
    float step = ratio * absMax / static_cast<float>(qmax);
    double error = 0;
    for (int64_t t = 0; t < rows; ++t) {
      float v = x[t * stride];
      float back = nm::dequantizeValue(nm::quantizeValue(v, step, 0, -qmax, qmax),
                                       step, 0);
      error += double(v - back) * double(v - back);
    }
    if (error < bestError) {
      bestError = error;
      best = ratio;
    }
  }
  return best;
}

struct MigrateQuantStepsPass
    : lowbit::impl::MigrateQuantStepsPassBase<MigrateQuantStepsPass> {
  using MigrateQuantStepsPassBase::MigrateQuantStepsPassBase;

  /// Steps s [K] of the group's input from the statistics; fails (diagnosed)
  /// when a layer has none or they do not fit.
  FailureOr<std::vector<float>>
  groupSteps(ArrayRef<nn::LinearOp> ops, int64_t k,
             const calibration::Statistics &table) {
    int qmax = nm::qmax(static_cast<int>(bits), /*symmetric=*/true);
    std::vector<float> absMax(k, 0.0f);
    const calibration::TensorStatistics *withSamples = nullptr;
    for (nn::LinearOp op : ops) {
      std::string name = getLayerName(op);
      auto it = table.find(name);
      if (it == table.end()) {
        op.emitError("migrate-quant-steps: layer '")
            << name << "' has no statistics in '" << stats
            << "' (calibrate the model with taps named after its layers)";
        return failure();
      }
      const calibration::TensorStatistics &st = it->second;
      if (st.channels != k || static_cast<int64_t>(st.absMax.size()) != k) {
        op.emitError("migrate-quant-steps: layer '")
            << name << "' has statistics for " << st.channels
            << " channels, its input has " << k;
        return failure();
      }
      for (int64_t j = 0; j < k; ++j)
        absMax[j] = std::max(absMax[j], st.absMax[j]);
      if (!withSamples && st.sampleRows > 0 &&
          static_cast<int64_t>(st.samples.size()) == st.sampleRows * k)
        withSamples = &st;
    }
    if (clipSearch && !withSamples) {
      nn::LinearOp first = ops.front();
      first.emitError("migrate-quant-steps: layer '")
          << getLayerName(first)
          << "' has no samples in the statistics (clip-search needs the "
             "'<layer>/samples' that calibration keeps with the Hessian; or "
             "pass clip-search=false)";
      return failure();
    }
    std::vector<float> s(k, 1.0f);
    for (int64_t j = 0; j < k; ++j) {
      if (!(absMax[j] > 0) || !std::isfinite(absMax[j]))
        continue; // an all-zero channel keeps step 1
      float ratio = 1.0f;
      if (clipSearch)
        ratio = searchClipRatio(withSamples->samples.data() + j,
                                withSamples->sampleRows, k, absMax[j], qmax);
      s[j] = ratio * absMax[j] / static_cast<float>(qmax);
    }
    return s;
  }

  /// fold=true: gamma / s and beta / s in `norm` (cloned for the group when
  /// other ops read it), W diag(s), a unit-step quantizer in front.
  void foldSteps(Value x, Norm &norm, ArrayRef<nn::LinearOp> ops,
            const std::vector<float> &s) {
    int64_t k = s.size();
    Operation *target = norm.op;
    bool onlyGroup = llvm::all_of(x.getUsers(), [&](Operation *user) {
      return llvm::is_contained(ops, dyn_cast<nn::LinearOp>(user));
    });
    OpBuilder b(norm.op);
    b.setInsertionPointAfter(norm.op);
    if (!onlyGroup)
      target = b.clone(*norm.op);
    std::string name = getLayerName(norm.op);
    std::vector<float> g(norm.gamma.data, norm.gamma.data + k);
    for (int64_t j = 0; j < k; ++j)
      g[j] /= s[j];
    auto vecType = RankedTensorType::get({k}, b.getF32Type());
    OpBuilder cb(target);
    target->setOperand(1, createResourceConstant(cb, target->getLoc(), vecType,
                                                 g.data(), k * sizeof(float),
                                                 name + ".qsm_scale"));
    if (norm.beta) {
      std::vector<float> bb(norm.beta->data, norm.beta->data + k);
      for (int64_t j = 0; j < k; ++j)
        bb[j] /= s[j];
      target->setOperand(2, createResourceConstant(
                                cb, target->getLoc(), vecType, bb.data(),
                                k * sizeof(float), name + ".qsm_bias"));
    }
    Value xs = target->getResult(0);
    b.setInsertionPointAfter(target);
    Location loc = target->getLoc();
    auto xType = cast<RankedTensorType>(x.getType());
    int64_t qmax = nm::qmax(static_cast<int>(bits), true);
    auto elem = quant::UniformQuantizedType::get(
        quant::QuantizationFlags::Signed, b.getI8Type(), b.getF32Type(),
        /*scale=*/1.0, /*zeroPoint=*/0, -qmax, qmax);
    Value q = lb::QuantizeOp::create(
        b, loc, RankedTensorType::get(xType.getShape(), elem), xs);
    Value dq = lb::DequantizeOp::create(b, loc, xType, q);
    for (nn::LinearOp op : ops) {
      std::optional<FloatValues> w = readFloatConstant(op.getWeight());
      int64_t n = op.getWeight().getType().getDimSize(0);
      std::vector<float> scaled(w->data, w->data + n * k);
      for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < k; ++j)
          scaled[i * k + j] *= s[j];
      OpBuilder wb(op);
      op.getWeightMutable().assign(createResourceConstant(
          wb, op.getLoc(), op.getWeight().getType(), scaled.data(),
          scaled.size() * sizeof(float), getLayerName(op) + ".qsm"));
      op.getInputMutable().assign(dq);
    }
  }

  /// fold=false: a per-channel static quantize/dequantize pair with steps s
  /// in front of the group; norm and weights unchanged.
  void perChannelReference(Value x, ArrayRef<nn::LinearOp> ops,
                           const std::vector<float> &s) {
    auto xType = cast<RankedTensorType>(x.getType());
    OpBuilder b(x.getContext());
    b.setInsertionPointAfterValue(x);
    int64_t qmax = nm::qmax(static_cast<int>(bits), true);
    SmallVector<double> scales(s.begin(), s.end());
    SmallVector<int64_t> zeros(s.size(), 0);
    auto elem = quant::UniformQuantizedPerAxisType::get(
        quant::QuantizationFlags::Signed, b.getI8Type(), b.getF32Type(),
        scales, zeros, xType.getRank() - 1, -qmax, qmax);
    nn::LinearOp first = ops.front();
    Location loc = first.getLoc();
    Value q = lb::QuantizeOp::create(
        b, loc, RankedTensorType::get(xType.getShape(), elem), x);
    Value dq = lb::DequantizeOp::create(b, loc, xType, q);
    for (nn::LinearOp op : ops)
      op.getInputMutable().assign(dq);
  }

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (stats.empty()) {
      func.emitError("migrate-quant-steps: needs stats=FILE.npz (a "
                     "calibration sidecar)");
      return signalPassFailure();
    }
    if (bits < 2 || bits > 8) {
      func.emitError("migrate-quant-steps: bits must be 2..8, got ")
          << static_cast<int64_t>(bits);
      return signalPassFailure();
    }
    calibration::Statistics table;
    std::string error;
    if (!calibration::readStatistics(stats, table, error)) {
      func.emitError("migrate-quant-steps: stats: ") << error;
      return signalPassFailure();
    }
    // Groups: the constant-weight f32 linears reading each norm result.
    llvm::MapVector<Value, SmallVector<nn::LinearOp>> readers;
    func.walk([&](nn::LinearOp op) {
      auto w = op.getWeight().getType();
      if (op->hasAttr("lowbit.qsm") ||
          !op.getInput().getType().getElementType().isF32() ||
          !w.getElementType().isF32() || w.getRank() != 2 ||
          !readFloatConstant(op.getWeight()) ||
          !isa_and_nonnull<nn::LayerNormOp, nn::RMSNormOp>(
              op.getInput().getDefiningOp()))
        return;
      readers[op.getInput()].push_back(op);
    });
    UnitAttr marker = UnitAttr::get(&getContext());
    for (auto &[x, ops] : readers) {
      std::optional<Norm> norm = matchNorm(x);
      if (!norm)
        continue;
      int64_t k = cast<RankedTensorType>(x.getType()).getShape().back();
      FailureOr<std::vector<float>> s = groupSteps(ops, k, table);
      if (failed(s))
        return signalPassFailure();
      if (fold) {
        foldSteps(x, *norm, ops, *s);
        for (nn::LinearOp op : ops)
          calibration::divideChannels(table[getLayerName(op)], *s);
      } else {
        perChannelReference(x, ops, *s);
      }
      for (nn::LinearOp op : ops)
        op->setAttr("lowbit.qsm", marker);
    }
    if (!statsOut.empty() &&
        !calibration::writeStatistics(statsOut, table, error)) {
      func.emitError("migrate-quant-steps: stats-out: ") << error;
      return signalPassFailure();
    }
  }
};

} // namespace
