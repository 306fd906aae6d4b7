//===- DepthwiseConvToKernel.cpp - depthwise nn.conv2d as vector code -----===//
//
// convert-nn-to-linalg lowers a grouped nn.conv2d to
// linalg.conv_2d_ngchw_gfchw, which no CPU pass vectorises: a depthwise
// convolution (one input channel per group) ran as scalar loops, one mulss
// and one addss per tap. On PP-OCRv4 rec (5x5 and 3x3 depthwise layers) that
// was a large share of the run time once the dense convolutions had kernels.
//
// This pass replaces an f32 depthwise nn.conv2d (groups = C = F), with a
// horizontal stride and dilations of 1 (any vertical stride) and a
// compile-time constant filter, by vector code along the output row: per
// image, channel and output row, tiles of up to 64 output columns (4 vectors
// of 16; the row's last tile masked at its end) whose accumulators start from
// the bias and take, per tap (kh, kw) in order, one vector.fma of the
// broadcast tap and the input row segment x[n, c, oh * sh + kh, ow + kw ...].
// The input is zero-padded once (only if the op pads). With num-threads above
// 1 the channels of a large convolution are the iterations of an scf.forall
// (no sum is split).
//
//===----------------------------------------------------------------------===//

#include "passes/Conversion/Passes.h"

#include "dialects/NN/NNDialect.h"
#include "lib/Support/TosaBuilders.h"
#include "passes/Conversion/KernelLoops.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinAttributes.h"

namespace lowbit {
#define GEN_PASS_DEF_CONVERTDEPTHWISECONVTOKERNELPASS
#include "passes/Conversion/Passes.h.inc"
} // namespace lowbit

using namespace mlir;
using namespace lowbit;

namespace {

constexpr int64_t kLanes = 16, kMaxVectors = 4;

struct Plan {
  int64_t n = 0, c = 0, kh = 0, kw = 0, oh = 0, ow = 0, strideH = 1;
};

using kernels::indexConst;

/// Why the kernel cannot take `op` (empty when it can); fills `plan`.
std::string planFor(nn::Conv2DOp op, Plan &plan) {
  if (std::string why = kernels::whyNotStaticF32Conv(op); !why.empty())
    return why;
  auto x = cast<RankedTensorType>(op.getInput().getType());
  auto w = cast<RankedTensorType>(op.getFilter().getType());
  auto y = cast<RankedTensorType>(op.getType());
  int64_t c = x.getDimSize(1);
  if (static_cast<int64_t>(op.getGroups()) != c || w.getDimSize(0) != c || w.getDimSize(1) != 1 ||
      c < 2)
    return "it is not depthwise";
  if (op.getStrides()[1] != 1 ||
      llvm::any_of(op.getDilations(), [](int64_t d) { return d != 1; }))
    return "its horizontal stride or dilations are not 1";
  plan.n = x.getDimSize(0);
  plan.c = c;
  plan.kh = w.getDimSize(2);
  plan.kw = w.getDimSize(3);
  plan.oh = y.getDimSize(2);
  plan.ow = y.getDimSize(3);
  plan.strideH = op.getStrides()[0];
  if (y.getNumElements() == 0)
    return "it is empty";
  return "";
}

class DepthwiseBuilder {
public:
  DepthwiseBuilder(OpBuilder &b, Location loc, const Plan &plan)
      : b(b), loc(loc), p(plan) {
    fvec = VectorType::get({kLanes}, b.getF32Type());
  }

  Value build(Value x, Value filter, Value bias, bool parallel) {
    this->x = x;
    this->filter = filter;
    this->bias = bias;
    Value y = tensor::EmptyOp::create(
        b, loc, ArrayRef<int64_t>{p.n, p.c, p.oh, p.ow}, b.getF32Type());
    return forLoop(0, p.n, 1, y, [&](Value n, Value acc) {
      if (parallel)
        return parallelChannels(n, acc);
      return forLoop(0, p.c, 1, acc, [&](Value c, Value acc2) {
        return channel(n, c, acc2, n, c);
      });
    });
  }

private:
  Value add(Value a, int64_t c) { return kernels::addIndex(b, loc, a, c); }

  Value forLoop(int64_t lo, int64_t hi, int64_t step, Value init,
                llvm::function_ref<Value(Value, Value)> body) {
    return kernels::forLoop(b, loc, lo, hi, step, init, body);
  }

  /// The channels of image n as an scf.forall, each writing its own
  /// [1, 1, OH, OW] slice.
  Value parallelChannels(Value n, Value y) {
    return kernels::forallSlices(
        b, loc, p.c, y,
        [&](Value c) {
          return SmallVector<OpFoldResult>{n, c, b.getIndexAttr(0),
                                           b.getIndexAttr(0)};
        },
        {1, 1, p.oh, p.ow},
        [&](Value c, Value slice) {
          Value zero = indexConst(b, loc, 0);
          return channel(n, c, slice, zero, zero);
        });
  }

  /// Every output row of channel c of image n, written into y at [yn, yc].
  Value channel(Value n, Value c, Value y, Value yn, Value yc) {
    Value start =
        bias ? vector::BroadcastOp::create(
                   b, loc, fvec, tensor::ExtractOp::create(b, loc, bias, c))
                   .getResult()
             : arith::ConstantOp::create(
                   b, loc, DenseElementsAttr::get(fvec, b.getF32FloatAttr(0)))
                   .getResult();
    int64_t width = kLanes * kMaxVectors;
    int64_t mainCols = p.ow / width * width;
    return forLoop(0, p.oh, 1, y, [&](Value oh, Value acc) {
      if (mainCols > 0)
        acc = forLoop(0, mainCols, width, acc, [&](Value ow0, Value acc2) {
          return tile(n, c, oh, ow0, kMaxVectors, /*masked=*/false, start,
                      acc2, yn, yc);
        });
      if (mainCols < p.ow) {
        int64_t rest = p.ow - mainCols;
        acc = tile(n, c, oh, indexConst(b, loc, mainCols),
                   (rest + kLanes - 1) / kLanes, rest % kLanes != 0, start,
                   acc, yn, yc);
      }
      return acc;
    });
  }

  Value tile(Value n, Value c, Value oh, Value ow0, int64_t vectors,
             bool masked, Value start, Value y, Value yn, Value yc) {
    SmallVector<Value> acc(vectors, start);
    Value pad = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0));
    Value row0 =
        arith::MulIOp::create(b, loc, oh, indexConst(b, loc, p.strideH));
    Value zero = indexConst(b, loc, 0);
    for (int64_t i = 0; i < p.kh; ++i)
      for (int64_t j = 0; j < p.kw; ++j) {
        Value w = vector::BroadcastOp::create(
            b, loc, fvec,
            tensor::ExtractOp::create(
                b, loc, filter,
                ValueRange{c, zero, indexConst(b, loc, i),
                           indexConst(b, loc, j)}));
        for (int64_t v = 0; v < vectors; ++v) {
          Value in = vector::TransferReadOp::create(
              b, loc, fvec, x,
              ValueRange{n, c, add(row0, i), add(ow0, j + v * kLanes)}, pad,
              ArrayRef<bool>{!masked});
          acc[v] = vector::FMAOp::create(b, loc, w, in, acc[v]);
        }
      }
    for (int64_t v = 0; v < vectors; ++v)
      y = vector::TransferWriteOp::create(
              b, loc, acc[v], y, ValueRange{yn, yc, oh, add(ow0, v * kLanes)},
              ArrayRef<bool>{!masked})
              .getResult();
    return y;
  }

  OpBuilder &b;
  Location loc;
  const Plan &p;
  VectorType fvec;
  Value x, filter, bias;
};

struct ConvertDepthwiseConvToKernelPass
    : lowbit::impl::ConvertDepthwiseConvToKernelPassBase<
          ConvertDepthwiseConvToKernelPass> {
  using Base::Base;

  void runOnOperation() override {
    if (failed(kernels::checkThreadOptions(getOperation(), getArgument(),
                                           numThreads, minParallelWork)))
      return signalPassFailure();
    SmallVector<nn::Conv2DOp> ops;
    getOperation().walk([&](nn::Conv2DOp op) { ops.push_back(op); });
    for (nn::Conv2DOp op : ops) {
      Plan plan;
      std::string why = planFor(op, plan);
      if (!why.empty()) {
        // Left to convert-nn-to-linalg's generic lowering.
        if (requireKernel) {
          op.emitOpError("cannot use the depthwise convolution kernel: ")
              << why;
          return signalPassFailure();
        }
        continue;
      }
      OpBuilder b(op);
      Location loc = op.getLoc();
      Value x = buildNchwZeroPad(b, loc, op.getInput(), op.getPads());
      int64_t work = plan.n * plan.c * plan.oh * plan.ow * plan.kh * plan.kw;
      bool parallel = numThreads > 1 && work >= minParallelWork;
      DepthwiseBuilder kernel(b, loc, plan);
      Value y = kernel.build(x, op.getFilter(), op.getBias(), parallel);
      op.getResult().replaceAllUsesWith(y);
      op.erase();
    }
  }
};

} // namespace
