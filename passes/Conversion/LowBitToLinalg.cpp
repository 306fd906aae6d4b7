//===- LowBitToLinalg.cpp - lowbit ops -> linalg / tensor / arith / math --===//
//
// Every lowbit op becomes linalg.generic ops on tensors with exact integer
// semantics (LowBitDialect.td is the spec; lib/Numerics/Pack.cpp and
// lib/Numerics/Quantize.cpp are the reference implementations these
// lowerings match bit for bit):
//
//   !lowbit.packed<D0x...xK x E, layout>  -> tensor<D0x...x ROW_BYTES x i8>
//   tensor<... x !quant.*<iB ...>>         -> tensor<... x iB>
//   tensor<... x uiB>                      -> tensor<... x iB>
//
// Packed bytes are read with one linalg.generic whose inputs are the byte
// tensor once per bit field of the layout (affine maps `k floordiv per_byte
// + plane offset`), and written with one reduction per field over a
// [rows..., bytes, per_byte] view of the values. The builders live in
// LowBitToLinalgBuilders.cpp, the activation-side patterns (hadamard,
// quantize_dynamic, dequantize_dynamic) in LowBitActivationsToLinalg.cpp.
//
//===----------------------------------------------------------------------===//
#include "passes/Conversion/LowBitToLinalgBuilders.h"
#include "passes/Conversion/Passes.h"
#include "passes/Conversion/WinogradToLinalg.h"

#include "dialects/LowBit/LowBitDialect.h"

#include "mlir/Dialect/Func/Transforms/FuncConversions.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Transforms/DialectConversion.h"

#include <cmath>
#include <limits>

namespace lowbit {
#define GEN_PASS_DEF_CONVERTLOWBITTOLINALGPASS
#include "passes/Conversion/Passes.h.inc"
} // namespace lowbit

using namespace mlir;
using namespace lowbit;
using namespace lowbit::lb;
using namespace lowbit::lowering;

namespace {

using utils::IteratorType;

//===----------------------------------------------------------------------===//
// What the pass can lower
//===----------------------------------------------------------------------===//

bool isUniform(Type type) {
  return isa<quant::UniformQuantizedType, quant::UniformQuantizedPerAxisType,
             quant::UniformQuantizedSubChannelType>(type);
}

/// Emits an error on `op` and fails when the pass cannot lower it.
LogicalResult checkSupported(Operation *op) {
  if (isWinogradTransformOp(op))
    return success();
  if (!isa<PackedConstantOp, PackOp, UnpackOp, DequantizeWeightOp,
           QuantizeDynamicOp, DequantizeDynamicOp, QLinearOp, QuantizeOp,
           DequantizeOp, ObserveOp, HadamardOp>(op))
    return op->emitOpError("has no lowering to linalg");
  for (Type type :
       llvm::concat<Type>(op->getOperandTypes(), op->getResultTypes())) {
    auto tensor = dyn_cast<RankedTensorType>(type);
    if (tensor && !tensor.hasStaticShape())
      return op->emitOpError("cannot be lowered to linalg: needs statically "
                             "shaped tensors, got ")
             << type;
  }
  Type quantized;
  if (auto q = dyn_cast<QuantizeOp>(op))
    quantized = q.getResult().getType().getElementType();
  else if (auto d = dyn_cast<DequantizeOp>(op))
    quantized = d.getInput().getType().getElementType();
  if (quantized) {
    if (!isUniform(quantized))
      return op->emitOpError("cannot be lowered to linalg: ")
             << quantized
             << " has no scale and zero point (expected a !quant.uniform "
                "per-tensor, per-axis or sub-channel type)";
    auto q = cast<quant::QuantizedType>(quantized);
    if (!isa<IntegerType>(q.getStorageType()) ||
        q.getStorageTypeIntegralWidth() > 32)
      return op->emitOpError("cannot be lowered to linalg: storage type ")
             << q.getStorageType() << " is not an integer of at most 32 bits";
    if (auto sub = dyn_cast<quant::UniformQuantizedSubChannelType>(q)) {
      auto scaleType = sub.getScales().getType();
      if (!isa<FloatType>(scaleType.getElementType()) ||
          !isa<IntegerType>(sub.getZeroPoints().getType().getElementType()))
        return op->emitOpError("cannot be lowered to linalg: sub-channel "
                               "scales must be floats and zero points "
                               "integers");
      auto zpCount = sub.getZeroPoints().getNumElements();
      if (zpCount != 1 && zpCount != scaleType.getNumElements())
        return op->emitOpError("cannot be lowered to linalg: sub-channel "
                               "zero points do not match the scales");
    }
  }
  if (auto unpack = dyn_cast<UnpackOp>(op)) {
    Type elem = storageType(
        cast<RankedTensorType>(unpack.getResult().getType()).getElementType());
    if (!isa<IntegerType>(elem))
      return op->emitOpError("cannot be lowered to linalg: storage type ")
             << elem << " is not an integer";
  }
  if (auto pack = dyn_cast<PackOp>(op)) {
    Type elem = storageType(pack.getInput().getType().getElementType());
    if (!isa<IntegerType>(elem))
      return op->emitOpError("cannot be lowered to linalg: storage type ")
             << elem << " is not an integer";
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Patterns
//===----------------------------------------------------------------------===//

struct PackedConstantLowering : OpConversionPattern<PackedConstantOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(PackedConstantOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto value = dyn_cast<TypedAttr>(op.getValue());
    if (!value)
      return rewriter.notifyMatchFailure(op, "value is not a typed attribute");
    rewriter.replaceOp(
        op,
        arith::ConstantOp::create(rewriter, op.getLoc(), value).getResult());
    return success();
  }
};

struct PackLowering : OpConversionPattern<PackOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(PackOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    PackedType packed = op.getResult().getType();
    rewriter.replaceOp(op, buildPack(rewriter, op.getLoc(), adaptor.getInput(),
                                     packed,
                                     isSignedElement(packed.getElementType())));
    return success();
  }
};

struct UnpackLowering : OpConversionPattern<UnpackOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(UnpackOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto resultType = dyn_cast_if_present<RankedTensorType>(
        getTypeConverter()->convertType(op.getResult().getType()));
    if (!resultType || !isa<IntegerType>(resultType.getElementType()))
      return rewriter.notifyMatchFailure(op, "result is not an integer tensor");
    PackedType packed = op.getInput().getType();
    rewriter.replaceOp(op,
                       buildUnpack(rewriter, op.getLoc(), adaptor.getInput(),
                                   packed, resultType.getElementType(),
                                   isSignedElement(packed.getElementType())));
    return success();
  }
};

struct DequantizeWeightLowering : OpConversionPattern<DequantizeWeightOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(DequantizeWeightOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    bool hasZero = static_cast<bool>(op.getZero());
    bool floatOffset = op.getZeroKind() == "float_offset";
    Value q;
    bool isSigned;
    std::tie(q, isSigned) = weightContainers(
        rewriter, loc, op.getQ(), adaptor.getQ(), hasZero && !floatOffset);
    auto outType = op.getResult().getType();
    int64_t k = outType.getDimSize(1), groupSize = op.getGroupSize();
    AffineExpr dn, dk;
    bindDims(ctx, dn, dk);
    AffineExpr group =
        groupSize == k ? getAffineConstantExpr(0, ctx) : dk.floorDiv(groupSize);
    AffineMap identity = AffineMap::getMultiDimIdentityMap(2, ctx);
    AffineMap tableMap = AffineMap::get(2, 0, {dn, group}, ctx);
    SmallVector<Value> inputs = {q, adaptor.getScale()};
    SmallVector<AffineMap> maps = {identity, tableMap};
    if (hasZero) {
      inputs.push_back(adaptor.getZero());
      maps.push_back(tableMap);
    }
    maps.push_back(identity);
    Value init = emptyTensor(rewriter, loc, outType.getShape(),
                             outType.getElementType());
    auto generic = linalg::GenericOp::create(
        rewriter, loc, TypeRange{outType}, inputs, ValueRange{init}, maps,
        parallelIterators(2), [&](OpBuilder &b, Location l, ValueRange args) {
          Value qf = arith::SIToFPOp::create(b, l, b.getF32Type(),
                                             toI32(b, l, args[0], isSigned));
          Value scale = args[1];
          Value w;
          if (!hasZero)
            w = arith::MulFOp::create(b, l, qf, scale);
          else if (floatOffset)
            w = arith::AddFOp::create(
                b, l, arith::MulFOp::create(b, l, qf, scale), args[2]);
          else
            w = arith::MulFOp::create(
                b, l, arith::SubFOp::create(b, l, qf, args[2]), scale);
          linalg::YieldOp::create(b, l, w);
        });
    rewriter.replaceOp(op, generic.getResult(0));
    return success();
  }
};

struct QLinearLowering : OpConversionPattern<QLinearOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(QLinearOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    Value zero = adaptor.getWZero();
    Value w;
    bool wSigned;
    std::tie(w, wSigned) = weightContainers(
        rewriter, loc, op.getWQ(), adaptor.getWQ(), static_cast<bool>(zero));
    auto xType = op.getXQ().getType();
    int64_t m = xType.getDimSize(0), k = xType.getDimSize(1);
    int64_t n = op.getResult().getType().getDimSize(1);
    int64_t groupSize = op.getGroupSize(), groups = k / groupSize;
    Type i32 = rewriter.getI32Type(), f32 = rewriter.getF32Type();

    // [M, K] -> [M, K/G, G] and [N, K] -> [N, K/G, G]: element (g, kk) is
    // column g*G + kk. (A map `g*G + kk` on the [., K] tensors would leave
    // kk without a plain dimension, which linalg rejects as non-invertible.)
    SmallVector<ReassociationIndices> reassociation = {{0}, {1, 2}};
    Value x3 = tensor::ExpandShapeOp::create(
        rewriter, loc,
        RankedTensorType::get({m, groups, groupSize}, rewriter.getI8Type()),
        adaptor.getXQ(), reassociation);
    Value w3 = tensor::ExpandShapeOp::create(
        rewriter, loc,
        RankedTensorType::get({n, groups, groupSize}, rewriter.getI8Type()), w,
        reassociation);

    // acc[m, n, g] = sum_kk x[m, g, kk] * (w[n, g, kk] - zero[n, g]) in i32.
    AffineExpr dm, dn, dg, dkk;
    bindDims(ctx, dm, dn, dg, dkk);
    SmallVector<Value> inputs = {x3, w3};
    SmallVector<AffineMap> maps = {AffineMap::get(4, 0, {dm, dg, dkk}, ctx),
                                   AffineMap::get(4, 0, {dn, dg, dkk}, ctx)};
    if (zero) {
      inputs.push_back(zero);
      maps.push_back(AffineMap::get(4, 0, {dn, dg}, ctx));
    }
    maps.push_back(AffineMap::get(4, 0, {dm, dn, dg}, ctx));
    SmallVector<int64_t> accShape = {m, n, groups};
    Value acc =
        linalg::GenericOp::create(
            rewriter, loc, TypeRange{RankedTensorType::get(accShape, i32)},
            inputs, ValueRange{zeroFilled(rewriter, loc, accShape, i32)}, maps,
            {IteratorType::parallel, IteratorType::parallel,
             IteratorType::parallel, IteratorType::reduction},
            [&](OpBuilder &b, Location l, ValueRange args) {
              Value xi = toI32(b, l, args[0], /*isSigned=*/true);
              Value wi = toI32(b, l, args[1], wSigned);
              if (zero)
                wi = arith::SubIOp::create(
                    b, l, wi, arith::FPToSIOp::create(b, l, i32, args[2]));
              Value prod = arith::MulIOp::create(b, l, xi, wi);
              linalg::YieldOp::create(
                  b, l,
                  arith::AddIOp::create(b, l, args.back(), prod).getResult());
            })
            .getResult(0);

    // y[m, n] = sum_g (float(acc[m, n, g]) * x_scale[m, 0]) * w_scale[n, g]
    AffineExpr em, en, eg;
    bindDims(ctx, em, en, eg);
    SmallVector<int64_t> outShape = {m, n};
    Value y =
        linalg::GenericOp::create(
            rewriter, loc, TypeRange{RankedTensorType::get(outShape, f32)},
            ValueRange{acc, adaptor.getXScale(), adaptor.getWScale()},
            ValueRange{zeroFilled(rewriter, loc, outShape, f32)},
            {AffineMap::get(3, 0, {em, en, eg}, ctx),
             AffineMap::get(3, 0, {em, getAffineConstantExpr(0, ctx)}, ctx),
             AffineMap::get(3, 0, {en, eg}, ctx),
             AffineMap::get(3, 0, {em, en}, ctx)},
            {IteratorType::parallel, IteratorType::parallel,
             IteratorType::reduction},
            [&](OpBuilder &b, Location l, ValueRange args) {
              Value a = arith::SIToFPOp::create(b, l, f32, args[0]);
              Value t = arith::MulFOp::create(
                  b, l, arith::MulFOp::create(b, l, a, args[1]), args[2]);
              linalg::YieldOp::create(
                  b, l, arith::AddFOp::create(b, l, args[3], t).getResult());
            })
            .getResult(0);

    if (Value bias = adaptor.getBias()) {
      AffineExpr bm, bn;
      bindDims(ctx, bm, bn);
      AffineMap identity = AffineMap::getMultiDimIdentityMap(2, ctx);
      y = linalg::GenericOp::create(
              rewriter, loc, TypeRange{y.getType()}, ValueRange{y, bias},
              ValueRange{emptyTensor(rewriter, loc, outShape, f32)},
              {identity, AffineMap::get(2, 0, {bn}, ctx), identity},
              parallelIterators(2),
              [](OpBuilder &b, Location l, ValueRange args) {
                linalg::YieldOp::create(
                    b, l,
                    arith::AddFOp::create(b, l, args[0], args[1]).getResult());
              })
              .getResult(0);
    }
    rewriter.replaceOp(op, y);
    return success();
  }
};

struct QuantizeLowering : OpConversionPattern<QuantizeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(QuantizeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto resultType = cast<RankedTensorType>(op.getResult().getType());
    auto qType = dyn_cast<quant::QuantizedType>(resultType.getElementType());
    if (!qType || !isUniform(qType))
      return rewriter.notifyMatchFailure(op, "not a uniform quant type");
    Location loc = op.getLoc();
    UniformParams p =
        uniformParams(rewriter, loc, qType, resultType.getShape());
    Value q = buildUniformGeneric(
        rewriter, loc, adaptor.getInput(), p, resultType.getShape(), p.storage,
        [&](OpBuilder &b, Location l, Value x, Value s, Value zp) {
          Value xf = convertFloat(b, l, x, b.getF32Type());
          Value v = buildQuantizeValue(b, l, xf, s, zp, p.qmin, p.qmax);
          return fromI32(b, l, v, p.storage);
        });
    rewriter.replaceOp(op, q);
    return success();
  }
};

/// quant.scast of a quantized tensor to its storage integers (static
/// activations in front of lowbit.qlinear): the converted operand already
/// is that tensor.
struct StorageCastLowering : OpConversionPattern<quant::StorageCastOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(quant::StorageCastOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    // Both directions: quantized -> storage, and storage -> quantized (an
    // imported DequantizeLinear of integer data); either way the converted
    // operand already is the storage tensor.
    if (adaptor.getInput().getType() !=
        getTypeConverter()->convertType(op.getResult().getType()))
      return rewriter.notifyMatchFailure(op, "not a cast to the storage type");
    rewriter.replaceOp(op, adaptor.getInput());
    return success();
  }
};

/// A calibration tap left in an ordinary compilation records nothing.
struct ObserveLowering : OpConversionPattern<ObserveOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ObserveOp op, OpAdaptor,
                  ConversionPatternRewriter &rewriter) const override {
    rewriter.eraseOp(op);
    return success();
  }
};

struct DequantizeLowering : OpConversionPattern<DequantizeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(DequantizeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto inputType = cast<RankedTensorType>(op.getInput().getType());
    auto qType = dyn_cast<quant::QuantizedType>(inputType.getElementType());
    if (!qType || !isUniform(qType))
      return rewriter.notifyMatchFailure(op, "not a uniform quant type");
    Location loc = op.getLoc();
    Type outElem = op.getResult().getType().getElementType();
    UniformParams p = uniformParams(rewriter, loc, qType, inputType.getShape());
    Value x = buildUniformGeneric(
        rewriter, loc, adaptor.getInput(), p, inputType.getShape(), outElem,
        [&](OpBuilder &b, Location l, Value q, Value s, Value zp) {
          Value centered =
              arith::SubIOp::create(b, l, toI32(b, l, q, p.isSigned), zp);
          Value f = arith::SIToFPOp::create(b, l, b.getF32Type(), centered);
          return convertFloat(b, l, arith::MulFOp::create(b, l, f, s), outElem);
        });
    rewriter.replaceOp(op, x);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

struct LowBitTypeConverter : TypeConverter {
  LowBitTypeConverter() {
    addConversion([](Type type) { return type; });
    addConversion([](PackedType type) -> Type { return bytesType(type); });
    addConversion([](RankedTensorType type) -> Type {
      return RankedTensorType::get(type.getShape(),
                                   storageType(type.getElementType()),
                                   type.getEncoding());
    });
    // Values still used by ops outside the lowbit dialect are bridged with
    // unrealized casts (reconcile-unrealized-casts removes matching pairs).
    auto cast = [](OpBuilder &b, Type type, ValueRange inputs,
                   Location loc) -> Value {
      if (inputs.size() != 1)
        return Value();
      return UnrealizedConversionCastOp::create(b, loc, type, inputs)
          .getResult(0);
    };
    addSourceMaterialization(cast);
    addTargetMaterialization(cast);
  }
};

struct ConvertLowBitToLinalgPass
    : lowbit::impl::ConvertLowBitToLinalgPassBase<ConvertLowBitToLinalgPass> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    func::FuncOp func = getOperation();

    // Reject what cannot be lowered up front, with one error per op.
    bool supported = true;
    func.walk([&](Operation *op) {
      if (isa_and_present<LowBitDialect>(op->getDialect()) &&
          failed(checkSupported(op)))
        supported = false;
    });
    if (!supported)
      return signalPassFailure();

    LowBitTypeConverter converter;
    ConversionTarget target(*ctx);
    target.addIllegalDialect<LowBitDialect>();
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    target.addDynamicallyLegalOp<func::FuncOp>([&](func::FuncOp op) {
      return converter.isSignatureLegal(op.getFunctionType()) &&
             converter.isLegal(&op.getBody());
    });
    target.addDynamicallyLegalOp<func::ReturnOp, func::CallOp,
                                 quant::StorageCastOp>(
        [&](Operation *op) { return converter.isLegal(op); });

    RewritePatternSet patterns(ctx);
    patterns.add<PackedConstantLowering, PackLowering, UnpackLowering,
                 DequantizeWeightLowering, QLinearLowering, QuantizeLowering,
                 DequantizeLowering, ObserveLowering, StorageCastLowering>(
        converter, ctx);
    populateActivationsToLinalgPatterns(converter, patterns);
    populateWinogradToLinalgPatterns(converter, patterns);
    populateFunctionOpInterfaceTypeConversionPattern<func::FuncOp>(patterns,
                                                                   converter);
    populateReturnOpTypeConversionPattern(patterns, converter);
    populateCallOpTypeConversionPattern(patterns, converter);
    if (failed(applyPartialConversion(func, target, std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
