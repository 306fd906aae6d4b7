//===- QLinearDotKernelTables.cpp - plan and tables of the int8 kernel ---===//
#include "passes/Conversion/QLinearDotKernelTables.h"

#include "passes/Quantization/WeightUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Matchers.h"

using namespace mlir;
using namespace lowbit;
using namespace lowbit::lb;
using namespace lowbit::dotkernel;

namespace {

int64_t roundUp(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

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

} // namespace

namespace lowbit::dotkernel {

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

/// The weights' tables, computed here.
static void buildWeightTables(OpBuilder &b, Location loc, const Plan &p,
                              Tables &t) {
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

/// A [G, paddedN] table from a [N, G] one: transposed, `convert` applied to
/// each element, columns past N zero. Runs with the model (the scale and
/// zero tables may be function arguments); N * G elements, once per call.
static Value
groupMajor(OpBuilder &b, Location loc, Value table, const Plan &p, Type elem,
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

Value fourByteDot(OpBuilder &b, Location loc, Value acc, Value u, Value w) {
  Type i32 = b.getI32Type();
  auto wide = VectorType::get({kLanes * kKPerLane}, i32);
  Value products = arith::MulIOp::create(
      b, loc, arith::ExtUIOp::create(b, loc, wide, u),
      arith::ExtSIOp::create(b, loc, wide, w));
  Value grouped = vector::ShapeCastOp::create(
      b, loc, VectorType::get({kLanes, kKPerLane}, i32), products);
  return vector::MultiDimReductionOp::create(b, loc, grouped, acc,
                                             ArrayRef<bool>{false, true},
                                             vector::CombiningKind::ADD);
}

} // namespace lowbit::dotkernel
