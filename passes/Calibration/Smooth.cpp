//===- Smooth.cpp - SmoothQuant scales folded into weights and producers --===//
#include "passes/Calibration/Passes.h"
#include "passes/Quantization/WeightUtils.h"

#include "dialects/NN/NNDialect.h"
#include "lib/Calibration/Statistics.h"
#include "lib/Numerics/Gptq.h"
#include "lib/Numerics/Rtn.h"
#include "lib/Support/TosaBuilders.h"

#include "llvm/ADT/MapVector.h"

#include <cmath>

namespace lowbit {
#define GEN_PASS_DEF_SMOOTHPASS
#include "passes/Calibration/Passes.h.inc"
} // namespace lowbit

using namespace mlir;
using namespace lowbit;
namespace nm = lowbit::numerics;

namespace {

/// One consumer of the smoothed value: the layer, its name and weights.
struct Consumer {
  nn::LinearOp op;
  std::string name;
  FloatValues weight; ///< [N, K]
  int64_t n = 0;
};

/// s_j = a_j^alpha / w_j^(1-alpha), 1 where a_j or w_j is 0, kept in
/// [1e-5, 1e5] so that neither side overflows.
std::vector<float> smoothingScales(const std::vector<float> &actMax,
                                   const std::vector<float> &weightMax,
                                   double alpha) {
  std::vector<float> s(actMax.size(), 1.0f);
  for (size_t j = 0; j < s.size(); ++j) {
    if (actMax[j] <= 0 || weightMax[j] <= 0)
      continue;
    double v = std::pow(double(actMax[j]), alpha) /
               std::pow(double(weightMax[j]), 1.0 - alpha);
    s[j] = static_cast<float>(std::min(1e5, std::max(1e-5, v)));
  }
  return s;
}

struct SmoothPass : lowbit::impl::SmoothPassBase<SmoothPass> {
  using SmoothPassBase::SmoothPassBase;

  /// The search's loss of the group at scales `s` (see Passes.td).
  FailureOr<double> groupLoss(MutableArrayRef<Consumer> group,
                              const std::vector<float> &s,
                              const nm::Hessian &h) {
    int64_t k = s.size();
    double loss = 0;
    for (Consumer &c : group) {
      std::vector<float> scaled(c.n * k);
      for (int64_t i = 0; i < c.n; ++i)
        for (int64_t j = 0; j < k; ++j)
          scaled[i * k + j] = c.weight.data[i * k + j] * s[j];
      int64_t g = groupSize == 0 || k % groupSize != 0 ? k : groupSize;
      nm::QuantParams p;
      p.bits = static_cast<int>(bits);
      nm::QuantizedWeights q;
      std::string error;
      if (!nm::quantizeRtn(scaled.data(), c.n, k, p, g, q, error)) {
        c.op.emitError("smooth: layer '") << c.name << "': " << error;
        return failure();
      }
      std::vector<float> back = q.dequantize();
      for (int64_t i = 0; i < c.n; ++i)
        for (int64_t j = 0; j < k; ++j)
          back[i * k + j] /= s[j];
      loss += nm::hessianLoss(c.weight.data, back.data(), c.n, k, h);
    }
    return loss;
  }

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (stats.empty()) {
      func.emitError("smooth: needs stats=FILE.npz (a calibration sidecar)");
      return signalPassFailure();
    }
    if (!(alpha >= 0.0 && alpha <= 1.0)) {
      func.emitError("smooth: alpha must be in [0, 1], got ")
          << static_cast<double>(alpha);
      return signalPassFailure();
    }
    SmallVector<double> candidates;
    if (search) {
      if (bits < 2 || bits > 8 || groupSize < 0) {
        func.emitError("smooth: search needs bits 2..8 and group-size >= 0");
        return signalPassFailure();
      }
      SmallVector<StringRef> items;
      StringRef(alphas).split(items, ',', -1, false);
      for (StringRef item : items) {
        double a;
        if (item.trim().getAsDouble(a) || a < 0 || a > 1) {
          func.emitError("smooth: alphas: '")
              << item << "' is not a number in [0, 1]";
          return signalPassFailure();
        }
        candidates.push_back(a);
      }
      if (candidates.empty()) {
        func.emitError("smooth: alphas is empty");
        return signalPassFailure();
      }
    }
    calibration::Statistics table;
    std::string error;
    if (!calibration::readStatistics(stats, table, error)) {
      func.emitError("smooth: stats: ") << error;
      return signalPassFailure();
    }

    // Groups: the constant-weight f32 linears reading each value.
    llvm::MapVector<Value, SmallVector<nn::LinearOp>> readers;
    func.walk([&](nn::LinearOp op) {
      auto w = op.getWeight().getType();
      if (op.getInput().getType().getElementType().isF32() &&
          w.getElementType().isF32() && w.getRank() == 2 &&
          op.getWeight().getDefiningOp<arith::ConstantOp>())
        readers[op.getInput()].push_back(op);
    });
    Builder attrs(&getContext());
    for (auto &[x, ops] : readers) {
      int64_t k = cast<RankedTensorType>(x.getType()).getShape().back();
      SmallVector<Consumer> group;
      std::vector<float> actMax(k, 0.0f), weightMax(k, 0.0f);
      const calibration::TensorStatistics *stat = nullptr;
      for (nn::LinearOp op : ops) {
        Consumer c{op, getLayerName(op), {}, 0};
        auto it = table.find(c.name);
        std::optional<FloatValues> w = readFloatConstant(op.getWeight());
        if (it == table.end() || !w || it->second.channels != k)
          break;
        c.weight = std::move(*w);
        if (c.weight.storage.size())
          c.weight.data = c.weight.storage.data();
        c.n = op.getWeight().getType().getDimSize(0);
        stat = &it->second;
        for (int64_t j = 0; j < k; ++j)
          actMax[j] = std::max(actMax[j], it->second.absMax[j]);
        for (int64_t i = 0; i < c.n; ++i)
          for (int64_t j = 0; j < k; ++j)
            weightMax[j] =
                std::max(weightMax[j], std::fabs(c.weight.data[i * k + j]));
        group.push_back(std::move(c));
      }
      if (group.size() != ops.size()) // a layer without statistics: leave it
        continue;

      double chosen = alpha;
      std::vector<float> s = smoothingScales(actMax, weightMax, alpha);
      if (search) {
        if (stat->hessian.empty()) {
          ops.front().emitError("smooth: layer '")
              << group.front().name
              << "': search needs its Hessian in the statistics";
          return signalPassFailure();
        }
        nm::Hessian h;
        h.k = k;
        h.samples = stat->count;
        h.h = stat->hessian;
        std::vector<float> ones(k, 1.0f);
        FailureOr<double> best = groupLoss(group, ones, h);
        if (failed(best))
          return signalPassFailure();
        chosen = -1;
        s = ones;
        for (double a : candidates) {
          std::vector<float> trial = smoothingScales(actMax, weightMax, a);
          FailureOr<double> loss = groupLoss(group, trial, h);
          if (failed(loss))
            return signalPassFailure();
          if (*loss < *best) {
            best = *loss;
            chosen = a;
            s = std::move(trial);
          }
        }
      }
      for (Consumer &c : group)
        c.op->setAttr("lowbit.smooth_alpha", attrs.getF64FloatAttr(chosen));
      if (chosen < 0)
        continue;
      // The group now reads X diag(1/s): so do the statistics stats-out
      // writes (GPTQ after smoothing needs diag(1/s) H diag(1/s)).
      for (Consumer &c : group)
        calibration::divideChannels(table[c.name], s);

      // Weights: column j times s_j.
      for (Consumer &c : group) {
        std::vector<float> w(c.weight.data, c.weight.data + c.n * k);
        for (int64_t i = 0; i < c.n; ++i)
          for (int64_t j = 0; j < k; ++j)
            w[i * k + j] *= s[j];
        OpBuilder b(c.op);
        c.op.getWeightMutable().assign(createResourceConstant(
            b, c.op.getLoc(), c.op.getWeight().getType(), w.data(),
            w.size() * sizeof(float), c.name + ".smoothed"));
      }
      // Activations: divided by s, in the producing layer norm if it feeds
      // only this group, else by a multiply in front of the group.
      std::vector<float> inverse(k);
      for (int64_t j = 0; j < k; ++j)
        inverse[j] = 1.0f / s[j];
      auto norm = x.getDefiningOp<nn::LayerNormOp>();
      auto xType = cast<RankedTensorType>(x.getType());
      bool onlyGroup = llvm::all_of(x.getUsers(), [&](Operation *user) {
        return llvm::is_contained(ops, dyn_cast<nn::LinearOp>(user));
      });
      std::optional<FloatValues> gamma, beta;
      if (norm && onlyGroup && norm.getAxis() == xType.getRank() - 1 &&
          norm.getScale().getType().getRank() == 1 &&
          (gamma = readFloatConstant(norm.getScale())) &&
          (!norm.getBias() || (beta = readFloatConstant(norm.getBias())))) {
        OpBuilder b(norm);
        std::string name = getLayerName(norm);
        std::vector<float> g(gamma->data, gamma->data + k);
        for (int64_t j = 0; j < k; ++j)
          g[j] *= inverse[j];
        norm.getScaleMutable().assign(createResourceConstant(
            b, norm.getLoc(), norm.getScale().getType(), g.data(),
            g.size() * sizeof(float), name + ".smoothed_scale"));
        if (beta) {
          std::vector<float> bb(beta->data, beta->data + k);
          for (int64_t j = 0; j < k; ++j)
            bb[j] *= inverse[j];
          norm.getBiasMutable().assign(createResourceConstant(
              b, norm.getLoc(), norm.getBias().getType(), bb.data(),
              bb.size() * sizeof(float), name + ".smoothed_bias"));
        }
        continue;
      }
      OpBuilder b(ops.front());
      Location loc = ops.front().getLoc();
      SmallVector<int64_t> shape(xType.getRank(), 1);
      shape.back() = k;
      auto scaleType = RankedTensorType::get(shape, b.getF32Type());
      Value scale = tosa::ConstOp::create(
          b, loc, scaleType,
          DenseElementsAttr::get(scaleType, ArrayRef<float>(inverse)));
      Value smoothed = buildTosaMul(b, loc, xType, x, scale);
      for (nn::LinearOp op : ops)
        op.getInputMutable().assign(smoothed);
    }
    if (!statsOut.empty() &&
        !calibration::writeStatistics(statsOut, table, error)) {
      func.emitError("smooth: stats-out: ") << error;
      return signalPassFailure();
    }
  }
};

} // namespace
