//===- QConvToDirectKernel.cpp - quantized stride-1 convs, direct int8 ----===//
//
// lower-to-lowbit writes a quantized convolution as an int8 im2col gather
// (row (n, oh, ow), column (c, kh, kw)), a lowbit.qlinear on those patches
// and a transpose of its [N*OH*OW, F] result back to NCHW. On PP-OCRv4 det
// the gather (KH x KW copies of the input, byte by byte, with div/mod index
// arithmetic) and the transposes cost more than the int8 products: the
// W8A8 model ran twice as slow as lowbit's float one.
//
// (With one filter the transpose is folded away and the reshape is the NCHW
// result: ConvTranspose's stride-1 convolution on the zero-stuffed input in
// PP-OCRv4 det's head is one.)
//
// This pass recognises that form for stride 1 and dilation 1 (the gather's
// map is rebuilt and compared, so nothing is assumed), with one weight group
// per filter, symmetric signed weights, at most 8-bit operands and a
// per-tensor activation scale, and replaces it by a direct convolution with
// no im2col that writes NCHW:
//
//  - the (padded) int8 input is interleaved once, four channels per pixel,
//    shifted to unsigned bytes: u[n, c4, h, w, t] = x[n, 4 c4 + t, h, w] xor
//    0x80 (channels padded to a multiple of 4; their weights are 0);
//  - the weights, at compile time, as one i32 of four bytes per
//    (c4, kh, kw) and filter: packed[(c4 * KH + kh) * KW + kw, f] =
//    w[f, 4 c4 .. 4 c4 + 3, kh, kw], with the column sums 128 sum_k w;
//  - per image, output row and tile of `filters-per-tile` filters x 16 or
//    32 output columns (masked at the row's end): i32 accumulators; each
//    (c4, kh, kw) step loads the 64 bytes of 16 pixels x 4 channels once
//    and adds, per filter, the four-byte dot products with the broadcast
//    weights (the vector.multi_reduction that convert-i8-dot-to-vnni turns
//    into vpdpbusd);
//  - then, per output, acc - 128 sum_k w (= sum_k x w, all i32 mod 2^32 as
//    the reference), and (0.0 + (float(acc) * x_scale) * w_scale) + bias:
//    the reference's operations in its order, so the same bits.
//
// Anything else is left to convert-qlinear-to-dot-kernel and the reference.
//
//===----------------------------------------------------------------------===//

#include "passes/Conversion/Passes.h"

#include "passes/Conversion/QLinearDotKernelTables.h"
#include "passes/Quantization/WeightUtils.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tosa/IR/TosaOps.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinAttributes.h"

#include <vector>

namespace lowbit {
#define GEN_PASS_DEF_CONVERTQCONVTODIRECTKERNELPASS
#include "passes/Conversion/Passes.h.inc"
} // namespace lowbit

using namespace mlir;
using namespace lowbit;
using namespace lowbit::lb;
using kernels::indexConst;
using dotkernel::fourByteDot;
using dotkernel::kKPerLane;
using dotkernel::kLanes;

namespace {

constexpr int64_t kMaxVectors = 2;

/// One recognised quantized convolution.
struct QConv {
  Value result;                ///< the NCHW result
  tosa::TransposeOp transpose; ///< null when F = 1 (no transpose)
  tosa::ReshapeOp reshape;
  QLinearOp qlinear;
  linalg::GenericOp gather; ///< the im2col patches
  Value input;              ///< padded int8 input [N, C, HP, WP]
  Value scaleSource;        ///< [1, 1] f32 activation scale
  dotkernel::Plan plan;     ///< weights [F, C*KH*KW] and the numbers
  int64_t n = 0, c = 0, c4 = 0, f = 0, kh = 0, kw = 0, oh = 0, ow = 0;
};

/// Whether `op` copies its single input (the body yields it).
bool isCopy(linalg::GenericOp op) {
  if (op.getNumDpsInputs() != 1 || op.getNumDpsInits() != 1)
    return false;
  auto yield = cast<linalg::YieldOp>(op.getBody()->getTerminator());
  return yield.getNumOperands() == 1 &&
         yield.getOperand(0) == op.getBody()->getArgument(0);
}

/// The quantized convolution whose qlinear is `qlinear`, or why not. Its
/// NCHW result is the transpose of the reshaped [N*OH*OW, F] product, or,
/// with one filter (the transpose folded away), the reshape itself.
std::string match(QLinearOp qlinear, QConv &q) {
  q.qlinear = qlinear;
  if (!qlinear->hasOneUse())
    return "the qlinear has several uses";
  q.reshape = dyn_cast<tosa::ReshapeOp>(*qlinear->getUsers().begin());
  if (!q.reshape)
    return "the qlinear's result is not reshaped";
  q.transpose = nullptr;
  Value end = q.reshape.getResult();
  if (q.reshape->hasOneUse())
    if (auto t = dyn_cast<tosa::TransposeOp>(*q.reshape->getUsers().begin()))
      if (t.getPerms() == ArrayRef<int32_t>({0, 3, 1, 2})) {
        q.transpose = t;
        end = t.getResult();
      }
  auto endType = dyn_cast<RankedTensorType>(end.getType());
  if (!q.transpose &&
      (!endType || endType.getRank() != 4 || endType.getDimSize(1) != 1))
    return "not the NCHW result of a convolution";
  q.result = end;
  q.gather = q.qlinear.getXQ().getDefiningOp<linalg::GenericOp>();
  if (!q.gather || !isCopy(q.gather) || !q.gather->hasOneUse())
    return "the qlinear's input is not an im2col gather";
  q.input = q.gather.getDpsInputs()[0];
  auto in = dyn_cast<RankedTensorType>(q.input.getType());
  auto out = dyn_cast<RankedTensorType>(end.getType());
  if (!in || !out || !in.hasStaticShape() || !out.hasStaticShape() ||
      in.getRank() != 4 || out.getRank() != 4)
    return "shapes are not static NCHW";
  q.n = in.getDimSize(0);
  q.c = in.getDimSize(1);
  q.f = out.getDimSize(1);
  q.oh = out.getDimSize(2);
  q.ow = out.getDimSize(3);
  q.kh = in.getDimSize(2) - q.oh + 1;
  q.kw = in.getDimSize(3) - q.ow + 1;
  if (q.kh < 1 || q.kw < 1 || out.getDimSize(0) != q.n)
    return "not a stride-1 convolution's shapes";
  // The gather of a stride-1, dilation-1 convolution, exactly.
  MLIRContext *ctx = qlinear.getContext();
  AffineExpr dm = getAffineDimExpr(0, ctx), dk = getAffineDimExpr(1, ctx);
  AffineMap expected = AffineMap::get(
      2, 0,
      {dm.floorDiv(q.oh * q.ow), dk.floorDiv(q.kh * q.kw),
       dm.floorDiv(q.ow) % q.oh + dk.floorDiv(q.kw) % q.kh,
       dm % q.ow + dk % q.kw},
      ctx);
  auto patches = cast<RankedTensorType>(q.gather.getResult(0).getType());
  if (q.gather.getIndexingMapsArray()[0] != expected ||
      !q.gather.getIndexingMapsArray()[1].isIdentity() ||
      patches.getDimSize(0) != q.n * q.oh * q.ow ||
      patches.getDimSize(1) != q.c * q.kh * q.kw)
    return "the gather is not a stride-1 convolution's";
  // A per-tensor activation scale, broadcast to every row.
  auto scaleCopy = q.qlinear.getXScale().getDefiningOp<linalg::GenericOp>();
  if (!scaleCopy || !isCopy(scaleCopy))
    return "the activation scale is not a broadcast";
  q.scaleSource = scaleCopy.getDpsInputs()[0];
  auto scaleType = dyn_cast<RankedTensorType>(q.scaleSource.getType());
  if (!scaleType || scaleType.getShape() != ArrayRef<int64_t>{1, 1} ||
      !scaleCopy.getIndexingMapsArray()[0].isConstant())
    return "the activation scale is not per tensor";
  std::string why = dotkernel::planFor(q.qlinear, q.plan);
  if (!why.empty())
    return why;
  if (q.plan.groups != 1 || q.plan.hasZero || q.plan.unsignedWeights)
    return "the weights are grouped or asymmetric";
  q.c4 = (q.c + kKPerLane - 1) / kKPerLane;
  return "";
}

/// The weights as one i32 (four bytes) per (c4, kh, kw) step and filter,
/// and 128 * sum_k w per filter (i32, wrapping as the reference's sums).
void packWeights(OpBuilder &b, Location loc, const QConv &q, Value &packed,
                 Value &colSums) {
  int64_t steps = q.c4 * q.kh * q.kw, k = q.c * q.kh * q.kw;
  std::vector<int8_t> bytes(steps * q.f * kKPerLane, 0);
  std::vector<int32_t> sums(q.f, 0);
  for (int64_t f = 0; f < q.f; ++f)
    for (int64_t c = 0; c < q.c; ++c)
      for (int64_t i = 0; i < q.kh; ++i)
        for (int64_t j = 0; j < q.kw; ++j) {
          int8_t w = q.plan.w[f * k + (c * q.kh + i) * q.kw + j];
          int64_t step = ((c / kKPerLane) * q.kh + i) * q.kw + j;
          bytes[(step * q.f + f) * kKPerLane + c % kKPerLane] = w;
          sums[f] = static_cast<int32_t>(static_cast<uint32_t>(sums[f]) +
                                         static_cast<uint32_t>(128 * w));
        }
  packed = createResourceConstant(
      b, loc, RankedTensorType::get({steps, q.f}, b.getI32Type()),
      bytes.data(), bytes.size(), "qconv_direct_weights");
  colSums = createResourceConstant(
      b, loc, RankedTensorType::get({q.f}, b.getI32Type()), sums.data(),
      sums.size() * 4, "qconv_direct_colsums");
}

/// u [N, C4, HP, WP * 4] i8, u[n, c4, h, 4 w + t] = x[n, 4 c4 + t, h, w] xor
/// 0x80 (channels past C: x = 0): per 16 pixels, the four channels' rows
/// read as vectors and interleaved (two rounds of vector.interleave), so
/// that each 64-byte row segment is 16 pixels x 4 channels.
Value interleave(OpBuilder &b, Location loc, const QConv &q) {
  auto in = cast<RankedTensorType>(q.input.getType());
  int64_t hp = in.getDimSize(2), wp = in.getDimSize(3);
  Type i8 = b.getI8Type();
  auto row = VectorType::get({kLanes}, i8);
  Value u = tensor::EmptyOp::create(
      b, loc, ArrayRef<int64_t>{q.n, q.c4, hp, wp * kKPerLane}, i8);
  Value zeroRow = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(row, b.getI8IntegerAttr(0)));
  Value flip = arith::ConstantOp::create(
      b, loc,
      DenseElementsAttr::get(
          VectorType::get({kLanes * kKPerLane}, i8),
          b.getI8IntegerAttr(static_cast<int8_t>(0x80))));
  Value pad = arith::ConstantOp::create(b, loc, b.getI8IntegerAttr(0));
  // One 16-pixel segment of channel group c4 (`present` of its 4 channels
  // exist) at row h, column w0.
  auto segment = [&](Value n, Value c4, int64_t present, Value h, Value w0,
                     bool masked, Value acc) {
    SmallVector<Value> rows;
    Value c0 = arith::MulIOp::create(b, loc, c4, indexConst(b, loc, kKPerLane));
    for (int64_t t = 0; t < kKPerLane; ++t)
      rows.push_back(
          t < present
              ? vector::TransferReadOp::create(
                    b, loc, row, q.input,
                    ValueRange{n,
                               arith::AddIOp::create(b, loc, c0,
                                                     indexConst(b, loc, t)),
                               h, w0},
                    pad, ArrayRef<bool>{!masked})
                    .getResult()
              : zeroRow);
    Value even = vector::InterleaveOp::create(b, loc, rows[0], rows[2]);
    Value odd = vector::InterleaveOp::create(b, loc, rows[1], rows[3]);
    Value bytes = arith::XOrIOp::create(
        b, loc, vector::InterleaveOp::create(b, loc, even, odd), flip);
    Value column =
        arith::MulIOp::create(b, loc, w0, indexConst(b, loc, kKPerLane));
    return vector::TransferWriteOp::create(b, loc, bytes, acc,
                                           ValueRange{n, c4, h, column},
                                           ArrayRef<bool>{!masked})
        .getResult();
  };
  auto group = [&](Value n, Value c4, int64_t present, Value acc) {
    return kernels::forLoop(b, loc, 0, hp, 1, acc, [&](Value h, Value acc2) {
      int64_t main = wp / kLanes * kLanes;
      if (main > 0)
        acc2 = kernels::forLoop(b, loc, 0, main, kLanes, acc2, [&](Value w0, Value a) {
          return segment(n, c4, present, h, w0, /*masked=*/false, a);
        });
      if (main < wp)
        acc2 = segment(n, c4, present, h, indexConst(b, loc, main),
                       /*masked=*/true, acc2);
      return acc2;
    });
  };
  int64_t full = q.c / kKPerLane;
  return kernels::forLoop(b, loc, 0, q.n, 1, u, [&](Value n, Value acc) {
    if (full > 0)
      acc = kernels::forLoop(b, loc, 0, full, 1, acc, [&](Value c4, Value a) {
        return group(n, c4, kKPerLane, a);
      });
    if (full < q.c4)
      acc = group(n, indexConst(b, loc, full), q.c - full * kKPerLane, acc);
    return acc;
  });
}

/// The kernel's loops for one quantized convolution.
class KernelBuilder {
public:
  KernelBuilder(OpBuilder &b, Location loc, const QConv &q,
                int64_t filtersPerTile)
      : b(b), loc(loc), q(q), filtersPerTile(filtersPerTile) {
    i32 = b.getI32Type();
    f32 = b.getF32Type();
    acc = VectorType::get({kLanes}, i32);
    fvec = VectorType::get({kLanes}, f32);
    bytes = VectorType::get({kLanes * kKPerLane}, b.getI8Type());
  }

  Value build(Value u, Value packed, Value colSums, bool parallel) {
    QLinearOp qlinear = q.qlinear;
    wScale = qlinear.getWScale();
    bias = qlinear.getBias();
    this->u = u;
    this->packed = packed;
    this->colSums = colSums;
    xScale = tensor::ExtractOp::create(
        b, loc, q.scaleSource,
        ValueRange{indexConst(b, loc, 0), indexConst(b, loc, 0)});
    Value y = tensor::EmptyOp::create(
        b, loc, ArrayRef<int64_t>{q.n, q.f, q.oh, q.ow}, f32);
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
        b, loc, q.f, filtersPerTile, q.ow, kLanes, kMaxVectors, y,
        [&](Value f0, int64_t rows, Value ow0, int64_t vectors, bool masked,
            Value acc) {
          return tile(n, oh, f0, ow0, rows, vectors, masked, acc, yn, yRow);
        });
  }

  Value dot(Value accumulator, Value u, Value w) {
    return fourByteDot(b, loc, accumulator, u, w);
  }

  /// 16 pixels x 4 channels of u from output column ow (64 bytes); past
  /// the row's end (masked tiles) the bytes are 0x80 (x = 0), whose outputs
  /// are not written.
  Value readPixels(Value n, Value c4, Value h, Value w, bool masked) {
    Value pad = arith::ConstantOp::create(
        b, loc, b.getI8IntegerAttr(static_cast<int8_t>(0x80)));
    Value column =
        arith::MulIOp::create(b, loc, w, indexConst(b, loc, kKPerLane));
    return vector::TransferReadOp::create(b, loc, bytes, u,
                                          ValueRange{n, c4, h, column}, pad,
                                          ArrayRef<bool>{!masked});
  }

  Value tile(Value n, Value oh, Value f0, Value ow0, int64_t rows,
             int64_t vectors, bool masked, Value y, Value yn, Value yRow) {
    Value izero = arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(acc, b.getI32IntegerAttr(0)));
    SmallVector<Value> init(rows * vectors, izero);
    auto cLoop = scf::ForOp::create(
        b, loc, indexConst(b, loc, 0), indexConst(b, loc, q.c4),
        indexConst(b, loc, 1), init,
        [&](OpBuilder &nb, Location l, Value c4, ValueRange accs) {
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPointToEnd(nb.getInsertionBlock());
          SmallVector<Value> a(accs.begin(), accs.end());
          Value base =
              arith::MulIOp::create(b, l, c4, indexConst(b, l, q.kh * q.kw));
          for (int64_t i = 0; i < q.kh; ++i)
            for (int64_t j = 0; j < q.kw; ++j) {
              SmallVector<Value> pixels;
              for (int64_t v = 0; v < vectors; ++v)
                pixels.push_back(readPixels(n, c4, add(oh, i),
                                            add(ow0, j + v * kLanes), masked));
              Value step = add(base, i * q.kw + j);
              for (int64_t r = 0; r < rows; ++r) {
                Value word = tensor::ExtractOp::create(
                    b, l, packed, ValueRange{step, add(f0, r)});
                Value w = vector::BitCastOp::create(
                    b, l, bytes, vector::BroadcastOp::create(b, l, acc, word));
                for (int64_t v = 0; v < vectors; ++v)
                  a[r * vectors + v] = dot(a[r * vectors + v], pixels[v], w);
              }
            }
          scf::YieldOp::create(b, l, a);
        });
    // (0.0 + (float(acc - colsum) * x_scale) * w_scale) + bias, per output.
    Value xs = vector::BroadcastOp::create(b, loc, fvec, xScale);
    Value fzero = arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(fvec, b.getF32FloatAttr(0)));
    Value zeroIndex = indexConst(b, loc, 0);
    for (int64_t r = 0; r < rows; ++r) {
      Value f = add(f0, r);
      Value colSum = vector::BroadcastOp::create(
          b, loc, acc, tensor::ExtractOp::create(b, loc, colSums, f));
      Value ws = vector::BroadcastOp::create(
          b, loc, fvec,
          tensor::ExtractOp::create(b, loc, wScale, ValueRange{f, zeroIndex}));
      Value biasValue;
      if (bias)
        biasValue = vector::BroadcastOp::create(
            b, loc, fvec, tensor::ExtractOp::create(b, loc, bias, f));
      for (int64_t v = 0; v < vectors; ++v) {
        Value a = arith::SubIOp::create(b, loc, cLoop.getResult(r * vectors + v),
                                        colSum);
        Value term = arith::MulFOp::create(
            b, loc,
            arith::MulFOp::create(b, loc,
                                  arith::SIToFPOp::create(b, loc, fvec, a), xs),
            ws);
        Value out = arith::AddFOp::create(b, loc, fzero, term);
        if (biasValue)
          out = arith::AddFOp::create(b, loc, out, biasValue);
        y = vector::TransferWriteOp::create(
                b, loc, out, y, ValueRange{yn, f, yRow, add(ow0, v * kLanes)},
                ArrayRef<bool>{!masked})
                .getResult();
      }
    }
    return y;
  }

  OpBuilder &b;
  Location loc;
  const QConv &q;
  int64_t filtersPerTile;
  Type i32, f32;
  VectorType acc, fvec, bytes;
  Value u, packed, colSums, xScale, wScale, bias;
};

struct ConvertQConvToDirectKernelPass
    : lowbit::impl::ConvertQConvToDirectKernelPassBase<
          ConvertQConvToDirectKernelPass> {
  using Base::Base;

  void runOnOperation() override {
    if (failed(kernels::checkThreadOptions(getOperation(), getArgument(),
                                           numThreads, minParallelWork)))
      return signalPassFailure();
    if (filtersPerTile < 1 || filtersPerTile > 8) {
      getOperation().emitError("convert-qconv-to-direct-kernel: "
                               "filters-per-tile must be 1..8, got ")
          << static_cast<int64_t>(filtersPerTile);
      return signalPassFailure();
    }
    SmallVector<QLinearOp> qlinears;
    getOperation().walk([&](QLinearOp op) { qlinears.push_back(op); });
    for (QLinearOp qlinear : qlinears) {
      QConv q;
      if (!match(qlinear, q).empty())
        continue; // left to convert-qlinear-to-dot-kernel / the reference
      Operation *op = q.result.getDefiningOp();
      OpBuilder b(op);
      Location loc = op->getLoc();
      Value packed, colSums;
      packWeights(b, loc, q, packed, colSums);
      Value u = interleave(b, loc, q);
      int64_t work = q.n * q.f * q.oh * q.ow * q.c * q.kh * q.kw;
      bool parallel = numThreads > 1 && work >= minParallelWork && q.oh > 1;
      KernelBuilder kernel(b, loc, q, filtersPerTile);
      Value y = kernel.build(u, packed, colSums, parallel);
      q.result.replaceAllUsesWith(y);
      if (q.transpose)
        q.transpose.erase();
      q.reshape.erase();
      q.qlinear.erase();
      q.gather.erase();
    }
  }
};

} // namespace
