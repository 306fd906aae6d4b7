//===- KernelLoops.cpp - loop nests shared by the CPU kernel passes -------===//
#include "passes/Conversion/KernelLoops.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;

Value lowbit::kernels::indexConst(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIndexOp::create(b, loc, v);
}

Value lowbit::kernels::addIndex(OpBuilder &b, Location loc, Value a,
                                int64_t c) {
  return c == 0 ? a : arith::AddIOp::create(b, loc, a, indexConst(b, loc, c));
}

Value lowbit::kernels::forLoop(OpBuilder &b, Location loc, Value lo, Value hi,
                               int64_t step, Value init,
                               function_ref<Value(Value, Value)> body) {
  auto loop = scf::ForOp::create(
      b, loc, lo, hi, indexConst(b, loc, step), ValueRange{init},
      [&](OpBuilder &nb, Location l, Value iv, ValueRange args) {
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToEnd(nb.getInsertionBlock());
        scf::YieldOp::create(b, l, body(iv, args[0]));
      });
  return loop.getResult(0);
}

Value lowbit::kernels::forLoop(OpBuilder &b, Location loc, int64_t lo,
                               int64_t hi, int64_t step, Value init,
                               function_ref<Value(Value, Value)> body) {
  return forLoop(b, loc, indexConst(b, loc, lo), indexConst(b, loc, hi), step,
                 init, body);
}

Value lowbit::kernels::forallSlices(
    OpBuilder &b, Location loc, int64_t count, Value shared,
    function_ref<SmallVector<OpFoldResult>(Value)> offsets,
    ArrayRef<int64_t> sizes, function_ref<Value(Value, Value)> body) {
  auto forall = scf::ForallOp::create(
      b, loc, ArrayRef<OpFoldResult>{b.getIndexAttr(count)},
      ValueRange{shared}, std::nullopt);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(forall.getTerminator());
  Value iv = forall.getInductionVar(0);
  Value whole = forall.getRegionIterArgs()[0];
  SmallVector<OpFoldResult> at = offsets(iv);
  SmallVector<OpFoldResult> sizeAttrs, strides;
  for (int64_t size : sizes) {
    sizeAttrs.push_back(b.getIndexAttr(size));
    strides.push_back(b.getIndexAttr(1));
  }
  Value slice =
      tensor::ExtractSliceOp::create(b, loc, whole, at, sizeAttrs, strides);
  Value done = body(iv, slice);
  b.setInsertionPointToStart(forall.getTerminator().getBody());
  tensor::ParallelInsertSliceOp::create(b, loc, done, whole, at, sizeAttrs,
                                        strides);
  return forall.getResult(0);
}

Value lowbit::kernels::forEachOutputRow(
    OpBuilder &b, Location loc, Value y, bool parallel,
    function_ref<Value(Value, Value, Value, Value, Value)> row) {
  auto type = cast<RankedTensorType>(y.getType());
  int64_t images = type.getDimSize(0), filters = type.getDimSize(1),
          rows = type.getDimSize(2), width = type.getDimSize(3);
  return forLoop(b, loc, 0, images, 1, y, [&](Value n, Value acc) {
    if (!parallel)
      return forLoop(b, loc, 0, rows, 1, acc, [&](Value oh, Value acc2) {
        return row(n, oh, acc2, n, oh);
      });
    return forallSlices(
        b, loc, rows, acc,
        [&](Value oh) {
          return SmallVector<OpFoldResult>{n, b.getIndexAttr(0), oh,
                                           b.getIndexAttr(0)};
        },
        {1, filters, 1, width},
        [&](Value oh, Value slice) {
          Value zero = indexConst(b, loc, 0);
          return row(n, oh, slice, zero, zero);
        });
  });
}

Value lowbit::kernels::forEachRowTile(
    OpBuilder &b, Location loc, int64_t filters, int64_t filtersPerTile,
    int64_t width, int64_t lanes, int64_t maxVectors, Value y,
    function_ref<Value(Value, int64_t, Value, int64_t, bool, Value)> tile) {
  int64_t tileWidth = lanes * maxVectors;
  int64_t mainCols = width / tileWidth * tileWidth;
  auto columns = [&](Value f0, int64_t rows, Value acc) {
    if (mainCols > 0)
      acc = forLoop(b, loc, 0, mainCols, tileWidth, acc,
                    [&](Value ow0, Value acc2) {
                      return tile(f0, rows, ow0, maxVectors,
                                  /*masked=*/false, acc2);
                    });
    if (mainCols < width) {
      int64_t rest = width - mainCols;
      acc = tile(f0, rows, indexConst(b, loc, mainCols),
                 (rest + lanes - 1) / lanes, /*masked=*/rest % lanes != 0,
                 acc);
    }
    return acc;
  };
  int64_t mainFilters = filters / filtersPerTile * filtersPerTile;
  if (mainFilters > 0)
    y = forLoop(b, loc, 0, mainFilters, filtersPerTile, y,
                [&](Value f0, Value acc) {
                  return columns(f0, filtersPerTile, acc);
                });
  if (mainFilters < filters)
    y = forLoop(b, loc, mainFilters, filters, filters - mainFilters, y,
                [&](Value f0, Value acc) {
                  return columns(f0, filters - mainFilters, acc);
                });
  return y;
}

LogicalResult lowbit::kernels::checkThreadOptions(Operation *op,
                                                  StringRef pass,
                                                  int64_t numThreads,
                                                  int64_t minParallelWork) {
  if (numThreads >= 1 && minParallelWork >= 0)
    return success();
  return op->emitError(pass) << ": num-threads must be positive and "
                                "min-parallel-work not negative";
}

std::string lowbit::kernels::whyNotStaticF32Conv(nn::Conv2DOp op) {
  auto x = dyn_cast<RankedTensorType>(op.getInput().getType());
  auto w = dyn_cast<RankedTensorType>(op.getFilter().getType());
  auto y = dyn_cast<RankedTensorType>(op.getType());
  if (!x || !w || !y || !x.hasStaticShape() || !w.hasStaticShape() ||
      !y.hasStaticShape() || x.getRank() != 4 || w.getRank() != 4 ||
      y.getRank() != 4)
    return "its shapes are not static NCHW";
  if (!x.getElementType().isF32() || !w.getElementType().isF32() ||
      !y.getElementType().isF32())
    return "it is not f32";
  if (op.getBias() &&
      !cast<ShapedType>(op.getBias().getType()).getElementType().isF32())
    return "its bias is not f32";
  if (llvm::any_of(op.getPads(), [](int64_t p) { return p < 0; }))
    return "it has negative pads";
  return "";
}
