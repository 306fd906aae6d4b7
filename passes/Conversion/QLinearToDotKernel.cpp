//===- QLinearToDotKernel.cpp - lowbit.qlinear as an int8 dot kernel ----===//
//
// convert-lowbit-to-linalg lowers lowbit.qlinear to one generic that widens
// every int8 to i32 and multiplies in i32: LLVM turns that into vpmovsx +
// vpmulld, slower than the float path. This pass replaces a qlinear whose
// weights are compile-time constants by a register-blocked kernel built from
// scf loops and vector ops, on a weight layout packed here, at compile time:
//
//   packed[nb, k4, 4*j + t] = w'[16*nb + j, 4*k4 + t]  (16 columns x 4 k)
//
// with w' = w - 128 for unsigned containers (asymmetric weights), w
// otherwise, so that every weight is an int8. Activations enter as
// u = x + 128 (one xor of each four-byte broadcast), so one 32-bit lane of
// `u . w'` over four k is what AVX-512 VNNI's vpdpbusd (u8 x s8 -> s32)
// computes. The integer identity that makes the result bit-exact with the
// reference (all arithmetic mod 2^32, as the reference's i32 sums):
//
//   sum_k x (w - z) = sum_k u w' - 128 sum_k w' - z' sum_k x,  z' = z - off
//
// The column sums (128 sum_k w', per group) are constants; z' and the
// scales are transposed to group-major tables once per call (the CPU runner
// passes large constants as arguments, so they may not be constants here);
// sum_k x per row and group is one reduction over x (only with a zero
// point). The dequantization then follows the reference exactly: per group,
// in order, y += (float(acc) * x_scale) * w_scale, then y + bias. With
// num-threads above 1, the 32-column blocks of a large product are the
// iterations of an scf.forall (no sum is split).
//
// Each lane's dot product is written in plain vector arithmetic (widen,
// multiply, add four: vector.multi_reduction over a 16x4 shape_cast), which
// LLVM lowers for any CPU; on CPUs with AVX-512 VNNI, convert-i8-dot-to-vnni
// turns exactly that form into vpdpbusd after bufferization.
//
//===----------------------------------------------------------------------===//

#include "passes/Conversion/Passes.h"

#include "passes/Conversion/QLinearDotKernelTables.h"

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinAttributes.h"

namespace lowbit {
#define GEN_PASS_DEF_CONVERTQLINEARTODOTKERNELPASS
#include "passes/Conversion/Passes.h.inc"
} // namespace lowbit

using namespace mlir;
using namespace lowbit;
using namespace lowbit::lb;
using namespace lowbit::dotkernel;

namespace {

/// The kernel's loops for one qlinear.
class KernelBuilder {
public:
  KernelBuilder(OpBuilder &b, Location loc, const Plan &plan,
                int64_t rowsPerTile)
      : b(b), loc(loc), p(plan), rowsPerTile(rowsPerTile) {
    i8 = b.getI8Type();
    i32 = b.getI32Type();
    f32 = b.getF32Type();
    acc = VectorType::get({kLanes}, i32);
    fvec = VectorType::get({kLanes}, f32);
    bytes = VectorType::get({kLanes * kKPerLane}, i8);
  }

  /// y [M, N]: the kernel over column blocks of 32 into a column-padded
  /// [M, paddedN] result, sliced to N at the end. With `parallel`, the
  /// blocks are the iterations of an scf.forall (each writes its own
  /// [M, 32] slice; no sum is split, so results do not depend on it).
  Value build(Value u, Value xScale, Value sums, Value bias, const Tables &t,
              bool parallel) {
    this->u = u;
    this->xScale = xScale;
    this->sums = sums;
    this->bias = bias;
    this->t = t;
    Value out =
        tensor::EmptyOp::create(b, loc, ArrayRef<int64_t>{p.m, p.paddedN}, f32);
    Value y = parallel ? parallelBlocks(out) : serialBlocks(out);
    if (p.paddedN == p.n)
      return y;
    Corner corner(b, p.m, p.n);
    return tensor::ExtractSliceOp::create(b, loc, y, corner.offsets,
                                          corner.sizes, corner.strides);
  }

private:
  /// Every row of the column block at n0 (table column), written into y at
  /// column yCol0.
  Value block(Value n0, Value y, Value yCol0) {
    int64_t mainRows = p.m / rowsPerTile * rowsPerTile;
    if (mainRows > 0)
      y = rowLoop(n0, 0, mainRows, rowsPerTile, y, yCol0);
    if (mainRows < p.m)
      y = rowLoop(n0, mainRows, p.m, 1, y, yCol0);
    return y;
  }

  Value serialBlocks(Value out) {
    return kernels::forLoop(b, loc, 0, p.paddedN, kBlockCols, out,
                            [&](Value n0, Value y) { return block(n0, y, n0); });
  }

  /// The column blocks as the iterations of an scf.forall, each writing its
  /// own [M, 32] slice.
  Value parallelBlocks(Value out) {
    Value n0;
    return kernels::forallSlices(
        b, loc, p.paddedN / kBlockCols, out,
        [&](Value iv) {
          n0 = arith::MulIOp::create(b, loc, iv,
                                     indexConst(b, loc, kBlockCols));
          return SmallVector<OpFoldResult>{b.getIndexAttr(0), n0};
        },
        {p.m, kBlockCols},
        [&](Value, Value slice) {
          return block(n0, slice, indexConst(b, loc, 0));
        });
  }

  /// Rows [lo, hi) in steps of `rows`, for the column block at n0.
  Value rowLoop(Value n0, int64_t lo, int64_t hi, int64_t rows, Value y,
                Value yCol0) {
    return kernels::forLoop(b, loc, lo, hi, rows, y, [&](Value m0, Value acc) {
      return tile(n0, m0, rows, acc, yCol0);
    });
  }

  Value add(Value a, int64_t c) { return kernels::addIndex(b, loc, a, c); }

  /// One register tile: `rows` rows x kBlockCols columns.
  Value tile(Value n0, Value m0, int64_t rows, Value y, Value yCol0) {
    int64_t tiles = rows * kVectorsPerBlock;
    Value fzero = arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(fvec, b.getF32FloatAttr(0.0f)));
    SmallVector<Value> init(tiles, fzero);
    Value block0 =
        arith::DivUIOp::create(b, loc, n0, indexConst(b, loc, kLanes));
    auto groupLoop = scf::ForOp::create(
        b, loc, indexConst(b, loc, 0), indexConst(b, loc, p.groups),
        indexConst(b, loc, 1), init,
        [&](OpBuilder &nb, Location l, Value g, ValueRange facc) {
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPointToEnd(nb.getInsertionBlock());
          SmallVector<Value> iacc = dotProducts(block0, m0, rows, g);
          scf::YieldOp::create(b, l, dequantize(n0, m0, rows, g, iacc, facc));
        });
    // y + bias, then the rows out (columns past N land in the padding).
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t v = 0; v < kVectorsPerBlock; ++v) {
        Value value = groupLoop.getResult(r * kVectorsPerBlock + v);
        if (bias)
          value = arith::AddFOp::create(b, loc, value,
                                        readF32(bias, {add(n0, v * kLanes)}));
        y = vector::TransferWriteOp::create(
                b, loc, value, y,
                ValueRange{add(m0, r), add(yCol0, v * kLanes)},
                ArrayRef<bool>{true})
                .getResult();
      }
    return y;
  }

  /// A [kLanes] f32 row of a 1-D or 2-D table, zero past its end.
  Value readF32(Value table, ValueRange indices) {
    Value pad = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0f));
    return vector::TransferReadOp::create(b, loc, fvec, table, indices, pad,
                                          ArrayRef<bool>{false});
  }
  Value readI32(Value table, ValueRange indices) {
    Value pad = arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(0));
    return vector::TransferReadOp::create(b, loc, acc, table, indices, pad,
                                          ArrayRef<bool>{true});
  }

  /// The i32 dot products of group g: acc[r][v] = sum_k u[m0+r, k] w'[n, k].
  SmallVector<Value> dotProducts(Value block0, Value m0, int64_t rows,
                                 Value g) {
    int64_t perGroup =
        p.groups == 1 ? p.paddedK / kKPerLane : p.groupSize / kKPerLane;
    Value izero = arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(acc, b.getI32IntegerAttr(0)));
    SmallVector<Value> init(rows * kVectorsPerBlock, izero);
    Value lo = arith::MulIOp::create(b, loc, g, indexConst(b, loc, perGroup));
    Value hi = add(lo, perGroup);
    auto loop = scf::ForOp::create(
        b, loc, lo, hi, indexConst(b, loc, 1), init,
        [&](OpBuilder &nb, Location l, Value k4, ValueRange accs) {
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPointToEnd(nb.getInsertionBlock());
          Value bytePad =
              arith::ConstantOp::create(b, l, b.getI8IntegerAttr(0));
          SmallVector<Value> weights;
          for (int64_t v = 0; v < kVectorsPerBlock; ++v)
            weights.push_back(vector::TransferReadOp::create(
                b, l, bytes, t.packed,
                ValueRange{add(block0, v), k4, indexConst(b, l, 0)}, bytePad,
                ArrayRef<bool>{true}));
          Value k =
              arith::MulIOp::create(b, l, k4, indexConst(b, l, kKPerLane));
          SmallVector<Value> next;
          for (int64_t r = 0; r < rows; ++r) {
            // Four bytes of x as one i32, shifted to u = x + 128 (x xor
            // 0x80 in every byte), broadcast to every lane.
            Value four = vector::TransferReadOp::create(
                b, l, VectorType::get({kKPerLane}, i8), u,
                ValueRange{add(m0, r), k}, bytePad, ArrayRef<bool>{true});
            Value word = arith::XOrIOp::create(
                b, l,
                vector::ExtractOp::create(
                    b, l,
                    vector::BitCastOp::create(b, l, VectorType::get({1}, i32),
                                              four),
                    ArrayRef<int64_t>{0}),
                arith::ConstantOp::create(
                    b, l,
                    b.getI32IntegerAttr(static_cast<int32_t>(0x80808080u))));
            Value lanes = vector::BitCastOp::create(
                b, l, bytes, vector::BroadcastOp::create(b, l, acc, word));
            for (int64_t v = 0; v < kVectorsPerBlock; ++v)
              next.push_back(
                  dot(accs[r * kVectorsPerBlock + v], lanes, weights[v]));
          }
          scf::YieldOp::create(b, l, next);
        });
    return SmallVector<Value>(loop.getResults());
  }

  Value dot(Value accumulator, Value u, Value w) {
    return fourByteDot(b, loc, accumulator, u, w);
  }

  /// facc + (float(acc - colsum - z' sum_x) * x_scale) * w_scale, per tile.
  SmallVector<Value> dequantize(Value n0, Value m0, int64_t rows, Value g,
                                ArrayRef<Value> iacc, ValueRange facc) {
    SmallVector<Value> colSums, zeros, scales;
    for (int64_t v = 0; v < kVectorsPerBlock; ++v) {
      Value n = add(n0, v * kLanes);
      colSums.push_back(readI32(t.colSums, {g, n}));
      scales.push_back(vector::TransferReadOp::create(
          b, loc, fvec, t.scales, ValueRange{g, n},
          arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0f)),
          ArrayRef<bool>{true}));
      if (t.zeros)
        zeros.push_back(readI32(t.zeros, {g, n}));
    }
    SmallVector<Value> out;
    for (int64_t r = 0; r < rows; ++r) {
      Value m = add(m0, r);
      Value xs = vector::BroadcastOp::create(
          b, loc, fvec,
          tensor::ExtractOp::create(b, loc, xScale,
                                    ValueRange{m, indexConst(b, loc, 0)}));
      Value zeroTerm;
      if (t.zeros)
        zeroTerm = vector::BroadcastOp::create(
            b, loc, acc,
            tensor::ExtractOp::create(b, loc, sums, ValueRange{m, g}));
      for (int64_t v = 0; v < kVectorsPerBlock; ++v) {
        int64_t i = r * kVectorsPerBlock + v;
        Value a = arith::SubIOp::create(b, loc, iacc[i], colSums[v]);
        if (t.zeros)
          a = arith::SubIOp::create(
              b, loc, a, arith::MulIOp::create(b, loc, zeros[v], zeroTerm));
        Value f = arith::SIToFPOp::create(b, loc, fvec, a);
        Value term = arith::MulFOp::create(
            b, loc, arith::MulFOp::create(b, loc, f, xs), scales[v]);
        out.push_back(arith::AddFOp::create(b, loc, facc[i], term));
      }
    }
    return out;
  }

  OpBuilder &b;
  Location loc;
  const Plan &p;
  int64_t rowsPerTile;
  Type i8, i32, f32;
  VectorType acc, fvec, bytes;
  Value u, xScale, sums, bias;
  Tables t;
};

struct ConvertQLinearToDotKernelPass
    : lowbit::impl::ConvertQLinearToDotKernelPassBase<
          ConvertQLinearToDotKernelPass> {
  using Base::Base;

  void runOnOperation() override {
    if (failed(kernels::checkThreadOptions(getOperation(), getArgument(),
                                           numThreads, minParallelWork)))
      return signalPassFailure();
    if (rowsPerTile < 1 || rowsPerTile > 8) {
      getOperation().emitError(
          "convert-qlinear-to-dot-kernel: rows-per-tile must be "
          "1..8, got ")
          << static_cast<int64_t>(rowsPerTile);
      return signalPassFailure();
    }
    SmallVector<QLinearOp> ops;
    getOperation().walk([&](QLinearOp op) { ops.push_back(op); });
    for (QLinearOp op : ops) {
      Plan plan;
      std::string why = planFor(op, plan);
      if (!why.empty()) {
        // Left to convert-lowbit-to-linalg's reference lowering.
        if (requireKernel) {
          op.emitOpError("cannot use the int8 dot kernel: ") << why;
          return signalPassFailure();
        }
        continue;
      }
      OpBuilder b(op);
      Location loc = op.getLoc();
      Tables tables = buildTables(b, loc, op, plan);
      Value u = padColumns(b, loc, op.getXQ(), plan);
      Value sums = plan.hasZero ? rowSums(b, loc, op.getXQ(), plan) : Value();
      // Threads split the column blocks of large products only (as
      // lowbit-cpu-tile-vectorize splits its output tiles).
      bool parallel = numThreads > 1 &&
                      plan.m * plan.paddedN * plan.paddedK >= minParallelWork &&
                      plan.paddedN > kBlockCols;
      KernelBuilder kernel(b, loc, plan, rowsPerTile);
      Value y =
          kernel.build(u, op.getXScale(), sums, op.getBias(), tables, parallel);
      op.getResult().replaceAllUsesWith(y);
      op.erase();
    }
  }
};

} // namespace
