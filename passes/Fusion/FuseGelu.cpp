//===- FuseGelu.cpp - Erf and Tanh GELU -> nn.gelu ------------------------===//
#include "passes/Fusion/Match.h"
#include "passes/Fusion/Passes.h"


#include <cmath>

namespace lowbit {
#define GEN_PASS_DEF_FUSEGELUPASS
#include "passes/Fusion/Passes.h.inc"
} // namespace lowbit

using namespace mlir;
using namespace lowbit;
using namespace lowbit::fusion;

namespace {

/// `v` is x * c: a Div by 1/c or a product whose factors are x and c.
bool isScaled(Value v, Value x, double c) {
  if (auto div = asKind(v, Kind::Div))
    return div->operands[0].tensor == x && near(div->operands[1].constant,
                                                1.0 / c);
  auto factors = productFactors(v);
  if (factors.size() != 2)
    return false;
  for (int i = 0; i < 2; ++i)
    if (factors[i].tensor == x && !factors[i].constant &&
        near(factors[1 - i].constant, c))
      return true;
  return false;
}

/// `v` is 0.044715 * x^3 with x^3 as Pow(x, 3) or x * x * x.
bool isCubicTerm(Value v, Value x) {
  auto factors = productFactors(v);
  int xs = 0, cubes = 0, coefficients = 0;
  for (const Operand &f : factors) {
    if (f.tensor == x && !f.constant)
      ++xs;
    else if (near(f.constant, 0.044715))
      ++coefficients;
    else if (auto pow = f.tensor ? asKind(f.tensor, Kind::Pow) : std::nullopt;
             pow && pow->operands[0].tensor == x &&
             pow->operands[1].constant && *pow->operands[1].constant == 3.0)
      ++cubes;
    else
      return false;
  }
  return coefficients == 1 && ((xs == 3 && cubes == 0) || (xs == 0 && cubes == 1));
}

/// `v` is 1 + erf(x / sqrt 2) (returns "none") or
/// 1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)) (returns "tanh").
StringRef onePlusInner(Value v, Value x) {
  auto add = asKind(v, Kind::Add);
  if (!add)
    return {};
  for (int i = 0; i < 2; ++i) {
    if (!near(add->operands[1 - i].constant, 1.0) || !add->operands[i].tensor)
      continue;
    Value inner = add->operands[i].tensor;
    if (auto erf = asKind(inner, Kind::Erf))
      if (erf->operands[0].tensor &&
          isScaled(erf->operands[0].tensor, x, M_SQRT1_2))
        return "none";
    if (auto tanh = asKind(inner, Kind::Tanh)) {
      auto factors = tanh->operands[0].tensor
                         ? productFactors(tanh->operands[0].tensor)
                         : SmallVector<Operand, 4>();
      if (factors.size() != 2)
        continue;
      for (int j = 0; j < 2; ++j) {
        auto sum = factors[j].tensor ? asKind(factors[j].tensor, Kind::Add)
                                     : std::nullopt;
        if (!near(factors[1 - j].constant, std::sqrt(2.0 / M_PI)) || !sum)
          continue;
        for (int k = 0; k < 2; ++k)
          if (sum->operands[k].tensor == x && sum->operands[1 - k].tensor &&
              isCubicTerm(sum->operands[1 - k].tensor, x))
            return "tanh";
      }
    }
  }
  return {};
}

struct GeluPattern : OpRewritePattern<tosa::MulOp> {
  GeluPattern(MLIRContext *ctx, bool erf, bool tanh)
      : OpRewritePattern(ctx), erf(erf), tanh(tanh) {}
  LogicalResult matchAndRewrite(tosa::MulOp op,
                                PatternRewriter &rewriter) const override {
    auto factors = productFactors(op.getResult());
    if (factors.size() != 3)
      return failure();
    // One factor 0.5, one x, one 1 + erf/tanh(x ...).
    for (int h = 0; h < 3; ++h) {
      if (!near(factors[h].constant, 0.5))
        continue;
      for (int i = 1; i < 3; ++i) {
        Value x = factors[(h + i) % 3].tensor;
        Value inner = factors[(h + 3 - i) % 3].tensor;
        if (!x || !inner || factors[(h + i) % 3].constant ||
            x.getType() != op.getType() || !isNNFloatTensor(x.getType()))
          continue;
        StringRef form = onePlusInner(inner, x);
        if (form.empty() || (form == "none" && !erf) ||
            (form == "tanh" && !tanh))
          continue;
        rewriter.replaceOpWithNewOp<nn::GeluOp>(op, op.getType(), x,
                                                rewriter.getStringAttr(form));
        return success();
      }
    }
    return failure();
  }
  bool erf, tanh;
};

struct FuseGeluPass : lowbit::impl::FuseGeluPassBase<FuseGeluPass> {
  using FuseGeluPassBase::FuseGeluPassBase;
  LogicalResult initialize(MLIRContext *ctx) override {
    if (forms != "all" && forms != "erf" && forms != "tanh")
      return emitError(UnknownLoc::get(ctx))
             << "fuse-gelu: forms must be all, erf or tanh, got '" << forms
             << "'";
    return success();
  }
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<GeluPattern>(&getContext(), forms != "tanh", forms != "erf");
    if (failed(fusion::applyFusionPatterns(getOperation(),
                                           std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
