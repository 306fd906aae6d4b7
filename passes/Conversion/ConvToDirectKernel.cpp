//===- ConvToDirectKernel.cpp - nn.conv2d as a direct f32 kernel ----------===//
//
// convert-nn-to-linalg lowers nn.conv2d to linalg.conv_2d_nchw_fchw, which
// lowbit-cpu-tile-vectorize rewrites as im2col + a matmul: a copy of the
// input KH x KW times over (gathered element by element) and 4x16x8 tiles
// that load eight rows of the im2col matrix per step. On PP-OCRv4 det the
// stride-1 dense convolutions are 91% of the arithmetic and ran at a third
// of onnxruntime's speed.
//
// This pass replaces an f32 nn.conv2d with groups = 1, strides 1,
// dilations 1 and a compile-time constant filter by a direct convolution
// (no im2col) of scf loops and vector ops. The filter is transposed at
// compile time so that the filters of one tile are contiguous:
//
//   packed[(c * KH + kh) * KW + kw, f] = filter[f, c, kh, kw]
//
// A weight-only quantized filter (a reshaped lowbit.dequantize_weight of a
// constant integer part) is kept as its integer part, transposed at compile
// time to [G, group size, F], and dequantized once per call into the same
// [K, F] layout by the reference's formula (DequantizedWeights.h): a filter
// is small next to the activations it is applied to.
//
// The input is zero-padded once (tensor.pad, only if the op pads). For each
// image, output row and tile of `filters-per-tile` filters x 32 output
// columns (the last tile of a row 16 or 32 wide, masked at the row's end),
// the kernel keeps filters x 2 vectors of 16 f32 accumulators in registers,
// starting from the bias; each (c, kh, kw) step loads the input row segment
// x[n, c, oh + kh, ow0 + kw ...] once and adds, per filter, the broadcast
// filter value times it (vector.fma). The sum runs over c, kh, kw in the
// order of linalg.conv_2d_nchw_fchw's loops, one fused multiply-add per
// step. With num-threads above 1 the output rows of a large convolution are
// the iterations of an scf.forall (no sum is split).
//
//===----------------------------------------------------------------------===//

#include "passes/Conversion/Passes.h"

#include "dialects/NN/NNDialect.h"
#include "lib/Support/TosaBuilders.h"
#include "passes/Conversion/DequantizedWeights.h"
#include "passes/Conversion/KernelLoops.h"
#include "passes/Quantization/WeightUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tosa/IR/TosaOps.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinAttributes.h"

#include <vector>

namespace lowbit {
#define GEN_PASS_DEF_CONVERTCONVTODIRECTKERNELPASS
#include "passes/Conversion/Passes.h.inc"
} // namespace lowbit

using namespace mlir;
using namespace lowbit;

namespace {

/// Output columns per vector (16 f32 in one 512-bit register) and the most
/// vectors per tile.
constexpr int64_t kLanes = 16, kMaxVectors = 2;

/// The numbers of one convolution's kernel.
struct Plan {
  int64_t n = 0, c = 0, f = 0, kh = 0, kw = 0, oh = 0, ow = 0;
  int64_t reduction() const { return c * kh * kw; }
  bool quantized = false; ///< the filter is `dequantized` below, reshaped
  dequantized::Weight dequantized;
};

using kernels::indexConst;

/// Why the kernel cannot take `op` (empty when it can); fills `plan`.
std::string planFor(nn::Conv2DOp op, Plan &plan) {
  if (std::string why = kernels::whyNotStaticF32Conv(op); !why.empty())
    return why;
  auto x = cast<RankedTensorType>(op.getInput().getType());
  auto w = cast<RankedTensorType>(op.getFilter().getType());
  auto y = cast<RankedTensorType>(op.getType());
  if (op.getGroups() != 1)
    return "it is grouped";
  if (llvm::any_of(op.getStrides(), [](int64_t s) { return s != 1; }) ||
      llvm::any_of(op.getDilations(), [](int64_t d) { return d != 1; }))
    return "its strides or dilations are not 1";
  if (auto reshape = op.getFilter().getDefiningOp<tosa::ReshapeOp>()) {
    plan.quantized = true;
    std::string why = dequantized::read(reshape.getInput1(), plan.dequantized);
    if (!why.empty())
      return why;
  } else if (!op.getFilter().getDefiningOp<arith::ConstantOp>()) {
    return "the filter is not a compile-time constant";
  }
  plan.n = x.getDimSize(0);
  plan.c = x.getDimSize(1);
  plan.f = w.getDimSize(0);
  plan.kh = w.getDimSize(2);
  plan.kw = w.getDimSize(3);
  plan.oh = y.getDimSize(2);
  plan.ow = y.getDimSize(3);
  if (y.getNumElements() == 0 || plan.reduction() == 0)
    return "it is empty";
  return "";
}

/// A weight-only filter as f32 [C * KH * KW, F], dequantized with the model
/// (once per call, by the reference's formula) from its integer part, kept
/// transposed at compile time as [G, group size, F] i8, and the [F, G]
/// scale (and zero) tables transposed to [G, F]: every map a projected
/// permutation, contiguous along F.
Value dequantizeFilter(OpBuilder &b, Location loc, nn::Conv2DOp op,
                       const Plan &p) {
  const dequantized::Weight &dq = p.dequantized;
  int64_t k = p.reduction(), gs = dq.groupSize, groups = dq.groups;
  std::vector<int8_t> transposed(static_cast<size_t>(k * p.f));
  for (int64_t f = 0; f < p.f; ++f)
    for (int64_t r = 0; r < k; ++r)
      transposed[r * p.f + f] = dq.q[f * k + r];
  Value q = createResourceConstant(
      b, loc, RankedTensorType::get({groups, gs, p.f}, b.getI8Type()),
      transposed.data(), transposed.size(), getLayerName(op) + ".packed");
  auto groupMajor = [&](Value table) {
    Value init = tensor::EmptyOp::create(
        b, loc, ArrayRef<int64_t>{groups, p.f}, b.getF32Type());
    return linalg::TransposeOp::create(b, loc, table, init,
                                       ArrayRef<int64_t>{1, 0})
        .getResult()[0];
  };
  SmallVector<Value> inputs = {q, groupMajor(dq.op.getScale())};
  if (dq.hasZero)
    inputs.push_back(groupMajor(dq.op.getZero()));
  MLIRContext *ctx = b.getContext();
  AffineMap id = AffineMap::getMultiDimIdentityMap(3, ctx);
  AffineMap table = AffineMap::get(
      3, 0, {getAffineDimExpr(0, ctx), getAffineDimExpr(2, ctx)}, ctx);
  SmallVector<AffineMap> maps = {id, table};
  if (dq.hasZero)
    maps.push_back(table);
  maps.push_back(id);
  Value init = tensor::EmptyOp::create(
      b, loc, ArrayRef<int64_t>{groups, gs, p.f}, b.getF32Type());
  Value w = linalg::GenericOp::create(
                b, loc, TypeRange{init.getType()}, inputs, ValueRange{init},
                maps,
                SmallVector<utils::IteratorType>(
                    3, utils::IteratorType::parallel),
                [&](OpBuilder &nb, Location l, ValueRange args) {
                  Value zero = dq.hasZero ? args[2] : Value();
                  linalg::YieldOp::create(
                      nb, l,
                      dequantized::dequantize(nb, l, dq, args[0], args[1],
                                              zero));
                })
                .getResult(0);
  return tensor::CollapseShapeOp::create(
      b, loc, w, ArrayRef<ReassociationIndices>{{0, 1}, {2}});
}

/// The filter transposed to [C * KH * KW, F] as a dense_resource constant
/// (a weight-only filter: dequantized with the model, dequantizeFilter);
/// null if its values cannot be read.
Value packFilter(OpBuilder &b, Location loc, nn::Conv2DOp op, const Plan &p) {
  if (p.quantized)
    return dequantizeFilter(b, loc, op, p);
  std::optional<FloatValues> w = readFloatConstant(op.getFilter());
  int64_t k = p.reduction();
  if (!w || w->size != static_cast<size_t>(p.f * k))
    return Value();
  std::vector<float> packed(static_cast<size_t>(k * p.f));
  for (int64_t f = 0; f < p.f; ++f)
    for (int64_t r = 0; r < k; ++r)
      packed[r * p.f + f] = w->data[f * k + r];
  auto type = RankedTensorType::get({k, p.f}, b.getF32Type());
  return createResourceConstant(b, loc, type, packed.data(),
                                packed.size() * sizeof(float),
                                getLayerName(op) + ".packed");
}

/// The kernel's loops for one convolution.
class DirectConvBuilder {
public:
  DirectConvBuilder(OpBuilder &b, Location loc, const Plan &plan,
                    int64_t filtersPerTile)
      : b(b), loc(loc), p(plan), filtersPerTile(filtersPerTile) {
    fvec = VectorType::get({kLanes}, b.getF32Type());
  }

  /// y [N, F, OH, OW] from the padded input and the packed filter.
  Value build(Value x, Value packed, Value bias, bool parallel) {
    this->x = x;
    this->packed = packed;
    this->bias = bias;
    Value y = tensor::EmptyOp::create(
        b, loc, ArrayRef<int64_t>{p.n, p.f, p.oh, p.ow}, b.getF32Type());
    return kernels::forEachOutputRow(
        b, loc, y, parallel,
        [&](Value n, Value oh, Value acc, Value yn, Value yRow) {
          return outputRow(n, oh, acc, yn, yRow);
        });
  }

private:
  Value add(Value a, int64_t c) { return kernels::addIndex(b, loc, a, c); }

  /// Output row oh of image n, written into y at [yn, f, yRow, ow]: tiles of
  /// filtersPerTile filters x 32 columns (kernels::forEachRowTile).
  Value outputRow(Value n, Value oh, Value y, Value yn, Value yRow) {
    return kernels::forEachRowTile(
        b, loc, p.f, filtersPerTile, p.ow, kLanes, kMaxVectors, y,
        [&](Value f0, int64_t rows, Value ow0, int64_t vectors, bool masked,
            Value acc) {
          return tile(n, oh, f0, ow0, rows, vectors, masked, acc, yn, yRow);
        });
  }

  /// One register tile: `rows` filters x `vectors` x 16 output columns.
  Value tile(Value n, Value oh, Value f0, Value ow0, int64_t rows,
             int64_t vectors, bool masked, Value y, Value yn, Value yRow) {
    SmallVector<Value> init;
    Value zero;
    if (!bias)
      zero = arith::ConstantOp::create(
          b, loc, DenseElementsAttr::get(fvec, b.getF32FloatAttr(0)));
    for (int64_t r = 0; r < rows; ++r) {
      Value start =
          bias ? vector::BroadcastOp::create(
                     b, loc, fvec,
                     tensor::ExtractOp::create(b, loc, bias,
                                               ValueRange{add(f0, r)}))
               : zero;
      init.append(vectors, start);
    }
    auto cLoop = scf::ForOp::create(
        b, loc, indexConst(b, loc, 0), indexConst(b, loc, p.c),
        indexConst(b, loc, 1), init,
        [&](OpBuilder &nb, Location l, Value c, ValueRange accs) {
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPointToEnd(nb.getInsertionBlock());
          SmallVector<Value> acc(accs.begin(), accs.end());
          Value pad = arith::ConstantOp::create(b, l, b.getF32FloatAttr(0));
          Value cBase = arith::MulIOp::create(b, l, c,
                                              indexConst(b, l, p.kh * p.kw));
          for (int64_t kh = 0; kh < p.kh; ++kh)
            for (int64_t kw = 0; kw < p.kw; ++kw) {
              SmallVector<Value> inputs;
              for (int64_t v = 0; v < vectors; ++v)
                inputs.push_back(vector::TransferReadOp::create(
                    b, l, fvec, x,
                    ValueRange{n, c, add(oh, kh), add(ow0, kw + v * kLanes)},
                    pad, ArrayRef<bool>{!masked}));
              Value k = add(cBase, kh * p.kw + kw);
              for (int64_t r = 0; r < rows; ++r) {
                Value w = vector::BroadcastOp::create(
                    b, l, fvec,
                    tensor::ExtractOp::create(b, l, packed,
                                              ValueRange{k, add(f0, r)}));
                for (int64_t v = 0; v < vectors; ++v)
                  acc[r * vectors + v] = vector::FMAOp::create(
                      b, l, w, inputs[v], acc[r * vectors + v]);
              }
            }
          scf::YieldOp::create(b, l, acc);
        });
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t v = 0; v < vectors; ++v)
        y = vector::TransferWriteOp::create(
                b, loc, cLoop.getResult(r * vectors + v), y,
                ValueRange{yn, add(f0, r), yRow, add(ow0, v * kLanes)},
                ArrayRef<bool>{!masked})
                .getResult();
    return y;
  }

  OpBuilder &b;
  Location loc;
  const Plan &p;
  int64_t filtersPerTile;
  VectorType fvec;
  Value x, packed, bias;
};

struct ConvertConvToDirectKernelPass
    : lowbit::impl::ConvertConvToDirectKernelPassBase<
          ConvertConvToDirectKernelPass> {
  using Base::Base;

  void runOnOperation() override {
    if (failed(kernels::checkThreadOptions(getOperation(), getArgument(),
                                           numThreads, minParallelWork)))
      return signalPassFailure();
    if (filtersPerTile < 1 || filtersPerTile > 12) {
      getOperation().emitError("convert-conv-to-direct-kernel: "
                               "filters-per-tile must be 1..12, got ")
          << static_cast<int64_t>(filtersPerTile);
      return signalPassFailure();
    }
    SmallVector<nn::Conv2DOp> ops;
    getOperation().walk([&](nn::Conv2DOp op) { ops.push_back(op); });
    for (nn::Conv2DOp op : ops) {
      Plan plan;
      std::string why = planFor(op, plan);
      if (why.empty() && plan.quantized && !quantizedWeights)
        why = "quantized-weights is off";
      OpBuilder b(op);
      Location loc = op.getLoc();
      Value packed = why.empty() ? packFilter(b, loc, op, plan) : Value();
      if (why.empty() && !packed)
        why = "the filter's values cannot be read";
      if (!why.empty()) {
        // Left to convert-nn-to-linalg's generic lowering.
        if (requireKernel) {
          op.emitOpError("cannot use the direct convolution kernel: ") << why;
          return signalPassFailure();
        }
        continue;
      }
      Value x = buildNchwZeroPad(b, loc, op.getInput(), op.getPads());
      int64_t work = plan.n * plan.f * plan.oh * plan.ow * plan.reduction();
      bool parallel = numThreads > 1 && work >= minParallelWork && plan.oh > 1;
      DirectConvBuilder conv(b, loc, plan, filtersPerTile);
      Value y = conv.build(x, packed, op.getBias(), parallel);
      op.getResult().replaceAllUsesWith(y);
      op.erase();
    }
  }
};

} // namespace
