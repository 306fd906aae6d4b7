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

#include "dialects/LowBit/LowBitDialect.h"
#include "passes/Quantization/WeightUtils.h"

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Matchers.h"


namespace lowbit {
#define GEN_PASS_DEF_CONVERTQLINEARTODOTKERNELPASS
#include "passes/Conversion/Passes.h.inc"
} // namespace lowbit

using namespace mlir;
using namespace lowbit;
using namespace lowbit::lb;

namespace {

/// Columns per vector (16 x i32 in one 512-bit register) and vectors per
/// column block; k values per 32-bit lane.
constexpr int64_t kLanes = 16, kVectorsPerBlock = 2, kKPerLane = 4;
constexpr int64_t kBlockCols = kLanes * kVectorsPerBlock;

int64_t roundUp(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

/// The constant weight values of a qlinear and the numbers of the kernel.
struct Plan {
  int64_t m = 0, n = 0, k = 0, groupSize = 0, groups = 0;
  int64_t paddedN = 0, paddedK = 0;
  std::vector<int8_t> w; ///< [N, K] container values (sign/zero extended)
  bool unsignedWeights = false;
  bool hasZero = false;
};

/// The [N, K] weight values of a qlinear, if they are compile-time
/// constants: packed storage from lowbit.packed_constant, or i8 containers
/// from an arith.constant. Sets `unsignedWeights`.
bool weightValues(QLinearOp op, Plan &plan) {
  Value w = op.getWQ();
  bool hasZero = static_cast<bool>(op.getWZero());
  if (auto packed = dyn_cast<PackedType>(w.getType())) {
    auto constant = w.getDefiningOp<PackedConstantOp>();
    if (!constant)
      return false;
    if (!getUnpackedValues(constant, plan.w))
      return false;
    plan.unsignedWeights = !isSignedElement(packed.getElementType());
    return true;
  }
  // i8 containers: unsigned (0..255) with an integer zero, as
  // convert-lowbit-to-linalg reads them.
  ElementsAttr dense;
  if (!matchPattern(w, m_Constant(&dense)) || !getConstantBytes(dense, plan.w))
    return false;
  plan.unsignedWeights = hasZero;
  return true;
}

/// Why the kernel cannot take `op` (empty when it can); fills `plan`.
std::string planFor(QLinearOp op, Plan &plan) {
  auto x = op.getXQ().getType();
  auto y = op.getResult().getType();
  if (!x.hasStaticShape() || !y.hasStaticShape() || x.getRank() != 2)
    return "needs a static [M, K] input";
  plan.m = x.getDimSize(0);
  plan.k = x.getDimSize(1);
  plan.n = y.getDimSize(1);
  plan.groupSize = op.getGroupSize();
  if (plan.groupSize <= 0 || plan.k % plan.groupSize != 0)
    return "the group size does not divide K";
  plan.groups = plan.k / plan.groupSize;
  if (plan.groups > 1 && plan.groupSize % kKPerLane != 0)
    return "groups must be a multiple of 4 wide";
  if (op.getABits() > 8 || op.getWBits() > 8)
    return "activations and weights must fit 8 bits";
  if (!weightValues(op, plan))
    return "the weight is not a compile-time constant";
  plan.hasZero = static_cast<bool>(op.getWZero());
  plan.paddedN = roundUp(plan.n, kBlockCols);
  plan.paddedK = roundUp(plan.k, kKPerLane);
  return "";
}

/// The tables of the kernel, column-padded to paddedN and group-major.
struct Tables {
  Value packed;  ///< [paddedN/16, paddedK/4, 64] i8 (compile time)
  Value colSums; ///< [G, paddedN] i32: 128 * sum_k w' per group (compile time)
  Value zeros;   ///< [G, paddedN] i32: z' (null without a zero point)
  Value scales;  ///< [G, paddedN] f32
};

/// The weights' tables, computed here.
void buildWeightTables(OpBuilder &b, Location loc, const Plan &p, Tables &t) {
  int64_t offset = p.unsignedWeights ? 128 : 0;
  int64_t blocks = p.paddedN / kLanes, k4 = p.paddedK / kKPerLane;
  std::vector<int8_t> packed(blocks * k4 * kLanes * kKPerLane, 0);
  std::vector<int32_t> colSums(p.groups * p.paddedN, 0);
  for (int64_t n = 0; n < p.n; ++n)
    for (int64_t k = 0; k < p.k; ++k) {
      int8_t stored = p.w[n * p.k + k];
      int32_t w = (p.unsignedWeights
                       ? static_cast<int32_t>(static_cast<uint8_t>(stored))
                       : static_cast<int32_t>(stored)) -
                  static_cast<int32_t>(offset);
      packed[((n / kLanes) * k4 + k / kKPerLane) * kLanes * kKPerLane +
             (n % kLanes) * kKPerLane + k % kKPerLane] = static_cast<int8_t>(w);
      // Unsigned arithmetic: the reference's i32 sums wrap mod 2^32.
      int32_t &sum = colSums[(k / p.groupSize) * p.paddedN + n];
      sum = static_cast<int32_t>(static_cast<uint32_t>(sum) +
                                 static_cast<uint32_t>(128 * w));
    }
  t.packed = createResourceConstant(
      b, loc,
      RankedTensorType::get({blocks, k4, kLanes * kKPerLane}, b.getI8Type()),
      packed.data(), packed.size(), "qlinear_dot_weights");
  t.colSums = createResourceConstant(
      b, loc, RankedTensorType::get({p.groups, p.paddedN}, b.getI32Type()),
      colSums.data(), colSums.size() * 4, "qlinear_dot_colsums");
}

/// Offsets, sizes and strides of the [rows, cols] corner at (0, 0).
struct Corner {
  SmallVector<OpFoldResult> offsets, sizes, strides;
  Corner(OpBuilder &b, int64_t rows, int64_t cols)
      : offsets{b.getIndexAttr(0), b.getIndexAttr(0)},
        sizes{b.getIndexAttr(rows), b.getIndexAttr(cols)},
        strides{b.getIndexAttr(1), b.getIndexAttr(1)} {}
};

/// A [G, paddedN] table from a [N, G] one: transposed, `convert` applied to
/// each element, columns past N zero. Runs with the model (the scale and
/// zero tables may be function arguments); N * G elements, once per call.
Value groupMajor(OpBuilder &b, Location loc, Value table, const Plan &p,
                 Type elem,
                 function_ref<Value(OpBuilder &, Location, Value)> convert) {
  MLIRContext *ctx = b.getContext();
  Value zero = arith::ConstantOp::create(b, loc, b.getZeroAttr(elem));
  Value padded = linalg::FillOp::create(
                     b, loc, ValueRange{zero},
                     ValueRange{tensor::EmptyOp::create(
                         b, loc, ArrayRef<int64_t>{p.groups, p.paddedN}, elem)})
                     .getResult(0);
  Value init =
      tensor::EmptyOp::create(b, loc, ArrayRef<int64_t>{p.groups, p.n}, elem);
  AffineExpr dg, dn;
  bindDims(ctx, dg, dn);
  Value transposed =
      linalg::GenericOp::create(
          b, loc, TypeRange{init.getType()}, ValueRange{table},
          ValueRange{init},
          ArrayRef<AffineMap>{AffineMap::get(2, 0, {dn, dg}, ctx),
                              AffineMap::get(2, 0, {dg, dn}, ctx)},
          ArrayRef<utils::IteratorType>{utils::IteratorType::parallel,
                                        utils::IteratorType::parallel},
          [&](OpBuilder &nb, Location l, ValueRange args) {
            linalg::YieldOp::create(nb, l, convert(nb, l, args[0]));
          })
          .getResult(0);
  Corner corner(b, p.groups, p.n);
  return tensor::InsertSliceOp::create(
      b, loc, transposed, padded, corner.offsets, corner.sizes, corner.strides);
}

Tables buildTables(OpBuilder &b, Location loc, QLinearOp op, const Plan &p) {
  Tables t;
  buildWeightTables(b, loc, p, t);
  t.scales = groupMajor(b, loc, op.getWScale(), p, b.getF32Type(),
                        [](OpBuilder &, Location, Value v) { return v; });
  if (p.hasZero) {
    // z' = fptosi(zero) - offset, as the reference reads the zero table.
    int32_t offset = p.unsignedWeights ? 128 : 0;
    t.zeros = groupMajor(
        b, loc, op.getWZero(), p, b.getI32Type(),
        [&](OpBuilder &nb, Location l, Value v) -> Value {
          Value z = arith::FPToSIOp::create(nb, l, nb.getI32Type(), v);
          return arith::SubIOp::create(
              nb, l, z,
              arith::ConstantOp::create(nb, l, nb.getI32IntegerAttr(offset)));
        });
  }
  return t;
}

Value indexConst(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIndexOp::create(b, loc, v);
}

/// x with its columns padded to a multiple of 4 with zeros (their weights
/// are 0), or x itself when K is one already: the kernel reads four bytes
/// of a row at a time.
Value padColumns(OpBuilder &b, Location loc, Value x, const Plan &p) {
  if (p.paddedK == p.k)
    return x;
  Type i8 = b.getI8Type();
  Value zero = arith::ConstantOp::create(b, loc, b.getIntegerAttr(i8, 0));
  Value padded = linalg::FillOp::create(
                     b, loc, ValueRange{zero},
                     ValueRange{tensor::EmptyOp::create(
                         b, loc, ArrayRef<int64_t>{p.m, p.paddedK}, i8)})
                     .getResult(0);
  Corner corner(b, p.m, p.k);
  return tensor::InsertSliceOp::create(b, loc, x, padded, corner.offsets,
                                       corner.sizes, corner.strides);
}

/// sum_k x[m, k] per group, [M, G] i32 (for the zero-point term).
Value rowSums(OpBuilder &b, Location loc, Value x, const Plan &p) {
  MLIRContext *ctx = b.getContext();
  Type i32 = b.getI32Type();
  Value x3 = tensor::ExpandShapeOp::create(
      b, loc,
      RankedTensorType::get({p.m, p.groups, p.groupSize}, b.getI8Type()), x,
      SmallVector<ReassociationIndices>{{0}, {1, 2}});
  Value zero = arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(0));
  Value init = linalg::FillOp::create(
                   b, loc, ValueRange{zero},
                   ValueRange{tensor::EmptyOp::create(
                       b, loc, ArrayRef<int64_t>{p.m, p.groups}, i32)})
                   .getResult(0);
  AffineExpr dm, dg, dk;
  bindDims(ctx, dm, dg, dk);
  return linalg::GenericOp::create(
             b, loc, TypeRange{init.getType()}, ValueRange{x3},
             ValueRange{init},
             ArrayRef<AffineMap>{AffineMap::get(3, 0, {dm, dg, dk}, ctx),
                                 AffineMap::get(3, 0, {dm, dg}, ctx)},
             ArrayRef<utils::IteratorType>{utils::IteratorType::parallel,
                                           utils::IteratorType::parallel,
                                           utils::IteratorType::reduction},
             [&](OpBuilder &nb, Location l, ValueRange args) {
               Value v = arith::ExtSIOp::create(nb, l, i32, args[0]);
               linalg::YieldOp::create(
                   nb, l, arith::AddIOp::create(nb, l, args[1], v).getResult());
             })
      .getResult(0);
}

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
    auto loop = scf::ForOp::create(
        b, loc, indexConst(b, loc, 0), indexConst(b, loc, p.paddedN),
        indexConst(b, loc, kBlockCols), ValueRange{out},
        [&](OpBuilder &nb, Location l, Value n0, ValueRange args) {
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPointToEnd(nb.getInsertionBlock());
          scf::YieldOp::create(b, l, block(n0, args[0], n0));
        });
    return loop.getResult(0);
  }

  Value parallelBlocks(Value out) {
    auto forall = scf::ForallOp::create(
        b, loc, ArrayRef<OpFoldResult>{b.getIndexAttr(p.paddedN / kBlockCols)},
        ValueRange{out}, std::nullopt);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(forall.getTerminator());
    Value n0 = arith::MulIOp::create(b, loc, forall.getInductionVar(0),
                                     indexConst(b, loc, kBlockCols));
    Value shared = forall.getRegionIterArgs()[0];
    SmallVector<OpFoldResult> offsets = {b.getIndexAttr(0), n0};
    SmallVector<OpFoldResult> sizes = {b.getIndexAttr(p.m),
                                       b.getIndexAttr(kBlockCols)};
    SmallVector<OpFoldResult> strides = {b.getIndexAttr(1), b.getIndexAttr(1)};
    Value slice =
        tensor::ExtractSliceOp::create(b, loc, shared, offsets, sizes, strides);
    Value done = block(n0, slice, indexConst(b, loc, 0));
    b.setInsertionPointToStart(forall.getTerminator().getBody());
    tensor::ParallelInsertSliceOp::create(b, loc, done, shared, offsets, sizes,
                                          strides);
    return forall.getResult(0);
  }

  /// Rows [lo, hi) in steps of `rows`, for the column block at n0.
  Value rowLoop(Value n0, int64_t lo, int64_t hi, int64_t rows, Value y,
                Value yCol0) {
    auto loop = scf::ForOp::create(
        b, loc, indexConst(b, loc, lo), indexConst(b, loc, hi),
        indexConst(b, loc, rows), ValueRange{y},
        [&](OpBuilder &nb, Location l, Value m0, ValueRange args) {
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPointToEnd(nb.getInsertionBlock());
          scf::YieldOp::create(b, l, tile(n0, m0, rows, args[0], yCol0));
        });
    return loop.getResult(0);
  }

  Value add(Value a, int64_t c) {
    return arith::AddIOp::create(b, loc, a, indexConst(b, loc, c));
  }

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

  /// acc + (four u8 x s8 products summed) per 32-bit lane: the form that
  /// convert-i8-dot-to-vnni matches.
  Value dot(Value accumulator, Value uBytes, Value wBytes) {
    auto wide = VectorType::get({kLanes * kKPerLane}, i32);
    Value products = arith::MulIOp::create(
        b, loc, arith::ExtUIOp::create(b, loc, wide, uBytes),
        arith::ExtSIOp::create(b, loc, wide, wBytes));
    Value grouped = vector::ShapeCastOp::create(
        b, loc, VectorType::get({kLanes, kKPerLane}, i32), products);
    return vector::MultiDimReductionOp::create(b, loc, grouped, accumulator,
                                               ArrayRef<bool>{false, true},
                                               vector::CombiningKind::ADD);
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
    if (numThreads < 1 || minParallelWork < 0) {
      getOperation().emitError("convert-qlinear-to-dot-kernel: num-threads "
                               "must be positive and min-parallel-work not "
                               "negative");
      return signalPassFailure();
    }
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
