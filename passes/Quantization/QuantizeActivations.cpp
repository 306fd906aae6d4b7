//===- QuantizeActivations.cpp - dynamic per-token activation QDQ ---------===//
#include "passes/Quantization/Passes.h"
#include "passes/Quantization/WeightUtils.h"

#include "dialects/NN/NNDialect.h"
#include "lib/Support/TosaBuilders.h"

namespace lowbit {
#define GEN_PASS_DEF_QUANTIZEACTIVATIONSPASS
#include "passes/Quantization/Passes.h.inc"
} // namespace lowbit

using namespace mlir;
using namespace lowbit;

namespace {

/// quantize_dynamic + dequantize_dynamic of `x` (one scale per row of its
/// last dimension): `x` with exactly quantized values.
Value buildQdq(OpBuilder &b, Location loc, Value x, int64_t bits) {
  auto type = cast<RankedTensorType>(x.getType());
  SmallVector<int64_t> scaleShape(type.getShape());
  scaleShape.back() = 1;
  auto q = lb::QuantizeDynamicOp::create(
      b, loc, RankedTensorType::get(type.getShape(), b.getI8Type()),
      RankedTensorType::get(scaleShape, b.getF32Type()), x,
      b.getI64IntegerAttr(bits));
  return lb::DequantizeDynamicOp::create(b, loc, type, q.getQ(), q.getScale(),
                                         b.getI64IntegerAttr(bits));
}

struct QuantizeActivationsPass
    : lowbit::impl::QuantizeActivationsPassBase<QuantizeActivationsPass> {
  using QuantizeActivationsPassBase::QuantizeActivationsPassBase;

  int64_t bitsFor(const std::string &name,
                  ArrayRef<std::pair<std::string, int64_t>> rules) {
    for (const auto &[glob, b] : rules)
      if (matchesGlob(glob, name))
        return b;
    return bits;
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
      rules.emplace_back(glob.str(), b);
    }
    if (bits < 2 || bits > 8) {
      func.emitError("quantize-activations: bits must be 2..8, got ")
          << static_cast<int64_t>(bits);
      return signalPassFailure();
    }
    // Convolutions: one dynamic scale for the whole input (per tensor); the
    // rows lower-to-lowbit multiplies are im2col patches, not tokens.
    func.walk([&](nn::Conv2DOp op) {
      if (op.getInput().getDefiningOp<tosa::ReshapeOp>() &&
          op.getInput()
              .getDefiningOp<tosa::ReshapeOp>()
              .getInput1()
              .getDefiningOp<lb::DequantizeDynamicOp>())
        return;
      auto xType = op.getInput().getType();
      if (!xType.getElementType().isF32())
        return;
      int64_t layerBits = bitsFor(getLayerName(op), rules);
      if (layerBits == 0)
        return;
      OpBuilder b(op);
      Location loc = op.getLoc();
      Value x = buildTosaReshape(b, loc, op.getInput(),
                                 {1, xType.getNumElements()});
      op.getInputMutable().assign(buildTosaReshape(
          b, loc, buildQdq(b, loc, x, layerBits), xType.getShape()));
    });
    func.walk([&](nn::LinearOp op) {
      // Already quantized, or not f32 (quantize_dynamic reads f32): leave it.
      if (op.getInput().getDefiningOp<lb::DequantizeDynamicOp>() ||
          !op.getInput().getType().getElementType().isF32())
        return;
      int64_t layerBits = bitsFor(getLayerName(op), rules);
      if (layerBits == 0)
        return;
      OpBuilder b(op);
      Value x = buildQdq(b, op.getLoc(), op.getInput(), layerBits);
      op.getInputMutable().assign(x);
    });
  }
};

} // namespace
