//===- FoldBatchNorm.cpp - fold BatchNorm scale/shift into nn.conv2d ------===//
#include "passes/Fusion/Match.h"
#include "passes/Fusion/Passes.h"
#include "passes/Quantization/WeightUtils.h"


namespace lowbit {
#define GEN_PASS_DEF_FOLDBATCHNORMPASS
#include "passes/Fusion/Passes.h.inc"
} // namespace lowbit

using namespace mlir;
using namespace lowbit;
using namespace lowbit::fusion;

namespace {

/// The per-output-channel values of a constant broadcast against an NCHW
/// result with `channels` channels (shape [1, F, 1, 1], [F, 1, 1] or a
/// scalar, which is repeated).
std::optional<std::vector<float>> perChannel(Value v, int64_t channels) {
  auto t = dyn_cast<RankedTensorType>(v.getType());
  if (!t || t.getRank() > 4 || !t.getElementType().isF32())
    return std::nullopt;
  SmallVector<int64_t> shape(4 - t.getRank(), 1);
  shape.append(t.getShape().begin(), t.getShape().end());
  if (shape[0] != 1 || shape[2] != 1 || shape[3] != 1 ||
      (shape[1] != 1 && shape[1] != channels))
    return std::nullopt;
  auto values = readFloatConstant(lookThroughReshape(v));
  if (!values)
    return std::nullopt;
  std::vector<float> out(channels);
  for (int64_t f = 0; f < channels; ++f)
    out[f] = values->data[values->size == 1 ? 0 : f];
  return out;
}

/// add(mul(conv(x, w, b), scale), shift) -> conv(x, w * scale, b * scale + shift)
struct FoldPattern : OpRewritePattern<tosa::AddOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(tosa::AddOp add,
                                PatternRewriter &rewriter) const override {
    for (int i = 0; i < 2; ++i) {
      auto mul = add->getOperand(i).getDefiningOp<tosa::MulOp>();
      if (!mul || !mul->hasOneUse() || mul.getType() != add.getType())
        continue;
      for (int j = 0; j < 2; ++j) {
        auto conv = mul->getOperand(j).getDefiningOp<nn::Conv2DOp>();
        if (!conv || !conv->hasOneUse() || conv.getType() != mul.getType())
          continue;
        int64_t channels = conv.getType().getDimSize(1);
        auto scale = perChannel(mul->getOperand(1 - j), channels);
        auto shift = perChannel(add->getOperand(1 - i), channels);
        auto filter = readFloatConstant(conv.getFilter());
        std::optional<FloatValues> bias;
        if (conv.getBias()) {
          bias = readFloatConstant(conv.getBias());
          if (!bias)
            continue;
        }
        if (!scale || !shift || !filter ||
            filter->size % static_cast<size_t>(channels) != 0 ||
            (bias && bias->size != static_cast<size_t>(channels)))
          continue;
        auto fType = conv.getFilter().getType();
        size_t perFilter = filter->size / channels;
        std::vector<float> w(filter->data, filter->data + filter->size);
        std::vector<float> b(channels);
        for (int64_t f = 0; f < channels; ++f) {
          for (size_t k = 0; k < perFilter; ++k)
            w[f * perFilter + k] *= (*scale)[f];
          float b0 = bias ? bias->data[f] : 0.0f;
          b[f] = b0 * (*scale)[f] + (*shift)[f];
        }
        std::string name = getLayerName(conv);
        Location loc = conv.getLoc();
        rewriter.setInsertionPoint(conv);
        Value newFilter = createResourceConstant(
            rewriter, loc, fType, w.data(), w.size() * sizeof(float),
            name + "_folded_filter");
        Value newBias = createResourceConstant(
            rewriter, loc,
            RankedTensorType::get({channels}, rewriter.getF32Type()), b.data(),
            b.size() * sizeof(float), name + "_folded_bias");
        rewriter.replaceOpWithNewOp<nn::Conv2DOp>(
            add, add.getType(), conv.getInput(), newFilter, newBias,
            conv.getStridesAttr(), conv.getPadsAttr(), conv.getDilationsAttr(),
            conv.getGroupsAttr());
        return success();
      }
    }
    return failure();
  }
};

struct FoldBatchNormPass
    : lowbit::impl::FoldBatchNormPassBase<FoldBatchNormPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FoldPattern>(&getContext());
    if (failed(fusion::applyFusionPatterns(getOperation(),
                                           std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
