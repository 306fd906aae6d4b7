//===- HadamardRotate.cpp - QuEST block Hadamard rotation of linear inputs ===//
//
// For each group of nn.linear layers with constant f32 weights reading one
// value X [..., K]: W' = W · blockdiag(H_b) (exact in f64, rounded to f32
// once) and the group reads lowbit.hadamard(X) = X · blockdiag(H_b) instead.
// H_b is orthonormal and symmetric, so X·H·(W·H)ᵀ = X·H·H·Wᵀ = X·Wᵀ: the
// float model is unchanged up to rounding, while the rotated activations and
// weights have their outliers spread over the block (easier to quantize).
//
//===----------------------------------------------------------------------===//
#include "passes/Quantization/Passes.h"
#include "passes/Quantization/WeightUtils.h"

#include "dialects/NN/NNDialect.h"

#include "llvm/ADT/MapVector.h"
#include "llvm/Support/MathExtras.h"

#include <cmath>

namespace lowbit {
#define GEN_PASS_DEF_HADAMARDROTATEPASS
#include "passes/Quantization/Passes.h.inc"
} // namespace lowbit

using namespace mlir;
using namespace lowbit;

namespace {

/// Each row of w [n, k] times blockdiag(H_block): a fast Walsh-Hadamard
/// transform per block in f64, scaled by 1/sqrt(block), rounded to f32 once.
std::vector<float> rotateRows(const float *w, int64_t n, int64_t k,
                              int64_t block) {
  std::vector<float> out(n * k);
  std::vector<double> v(block);
  double norm = 1.0 / std::sqrt(static_cast<double>(block));
  for (int64_t row = 0; row < n; ++row) {
    for (int64_t start = 0; start < k; start += block) {
      const float *src = w + row * k + start;
      for (int64_t j = 0; j < block; ++j)
        v[j] = src[j];
      for (int64_t h = 1; h < block; h *= 2)
        for (int64_t i = 0; i < block; i += 2 * h)
          for (int64_t j = i; j < i + h; ++j) {
            double a = v[j], c = v[j + h];
            v[j] = a + c;
            v[j + h] = a - c;
          }
      float *dst = out.data() + row * k + start;
      for (int64_t j = 0; j < block; ++j)
        dst[j] = static_cast<float>(v[j] * norm);
    }
  }
  return out;
}

struct HadamardRotatePass
    : lowbit::impl::HadamardRotatePassBase<HadamardRotatePass> {
  using HadamardRotatePassBase::HadamardRotatePassBase;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (block < 0 ||
        (block != 0 &&
         (block < 2 || !llvm::isPowerOf2_64(static_cast<uint64_t>(block))))) {
      func.emitError("hadamard-rotate: option 'block' must be 0 (the layer's "
                     "K) or a power of two >= 2, got ")
          << static_cast<int64_t>(block);
      return signalPassFailure();
    }
    // Groups: the constant-weight f32 linears reading each value, not yet
    // rotated.
    llvm::MapVector<Value, SmallVector<nn::LinearOp>> readers;
    func.walk([&](nn::LinearOp op) {
      auto w = op.getWeight().getType();
      if (op->hasAttr("lowbit.rotated") ||
          op.getInput().getDefiningOp<lb::HadamardOp>() ||
          !op.getInput().getType().getElementType().isF32() ||
          !w.getElementType().isF32() || w.getRank() != 2 ||
          !op.getWeight().getDefiningOp<arith::ConstantOp>())
        return;
      readers[op.getInput()].push_back(op);
    });
    Builder attrs(&getContext());
    for (auto &[x, ops] : readers) {
      auto xType = cast<RankedTensorType>(x.getType());
      int64_t k = xType.getShape().back();
      int64_t b = block == 0 ? k : static_cast<int64_t>(block);
      if (ShapedType::isDynamic(k) || b < 2 ||
          !llvm::isPowerOf2_64(static_cast<uint64_t>(b)) || k % b != 0) {
        for (nn::LinearOp op : ops)
          op.emitRemark("hadamard-rotate: layer '")
              << getLayerName(op) << "' left alone: K=" << k
              << (block == 0 ? " is not a power of two"
                             : " is not divisible by block=" +
                                   std::to_string(b));
        continue;
      }
      SmallVector<nn::LinearOp> rotated;
      for (nn::LinearOp op : ops) {
        std::optional<FloatValues> w = readFloatConstant(op.getWeight());
        if (!w)
          continue;
        int64_t n = op.getWeight().getType().getDimSize(0);
        std::vector<float> r = rotateRows(w->data, n, k, b);
        OpBuilder builder(op);
        op.getWeightMutable().assign(createResourceConstant(
            builder, op.getLoc(), op.getWeight().getType(), r.data(),
            r.size() * sizeof(float), getLayerName(op) + ".rotated"));
        op->setAttr("lowbit.rotated", attrs.getI64IntegerAttr(b));
        rotated.push_back(op);
      }
      if (rotated.empty())
        continue;
      OpBuilder builder(&getContext());
      builder.setInsertionPointAfterValue(x);
      Value hx = lb::HadamardOp::create(builder, rotated.front().getLoc(),
                                        xType, x, builder.getI64IntegerAttr(b));
      for (nn::LinearOp op : rotated)
        op.getInputMutable().assign(hx);
    }
  }
};

} // namespace
