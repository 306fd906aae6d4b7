//===- Importer.h - the ONNX importer's class, shared by its files -*- C++ -*-===//
//
// Private to lib/Import/Onnx: the Importer class and the helpers its
// member functions share. The members are defined by op family across
// OnnxImporter.cpp (types, constants, emission helpers, the public API),
// Import*.cpp (op handlers) and ImportDriver.cpp (the handler table and
// the walk over the graph).
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_LIB_IMPORT_ONNX_IMPORTER_H
#define LOWBIT_LIB_IMPORT_ONNX_IMPORTER_H

#include "lowbit/Import.h"

#include "dialects/LowBit/LowBitDialect.h"
#include "dialects/NN/NNDialect.h"
#include "lib/Import/Onnx/OnnxModel.h"
#include "lib/Support/TosaBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Quant/IR/Quant.h"
#include "mlir/Dialect/Quant/IR/QuantTypes.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tosa/IR/TosaOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>
#include <cstring>
#include <optional>
#include <functional>
#include <numeric>
#include <type_traits>

namespace lowbit::onnximport {

using namespace mlir;
namespace ox = lowbit::onnx;

/// A failed node import: the message and whether the cause is a missing
/// feature (Unsupported) rather than malformed input (Error).
struct NodeFailure {
  ImportStatus status = ImportStatus::Error;
  std::string message;
};

inline int64_t product(ArrayRef<int64_t> dims) {
  return std::accumulate(dims.begin(), dims.end(), int64_t(1),
                         std::multiplies<int64_t>());
}

inline std::string shapeString(ArrayRef<int64_t> dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i)
    s += (i ? "x" : "") + std::to_string(dims[i]);
  return s + "]";
}

/// Owns bytes computed at import time (folded BatchNorm parameters,
/// transposed weights) so that they can back a resource blob.
struct VectorBuffer final : ox::Buffer {
  std::vector<char> bytes;
  const char *data() const override { return bytes.data(); }
  size_t size() const override { return bytes.size(); }
};

/// "" when the graph's structure is what the converters assume (unique
/// input, output and initializer names; every node with a first output; no
/// value defined twice), else the one-line reason (ImportChecks.cpp).
std::string checkGraphStructure(const ox::Graph &graph);
/// The machine's physical memory, the default ImportOptions::maxMemoryBytes.
uint64_t defaultMaxMemoryBytes();

class Importer {
public:
  Importer(MLIRContext *ctx, const ox::Model &model,
           const ImportOptions &options, std::string sourceName)
      : ctx(ctx), model(model), options(options), builder(ctx),
        sourceName(std::move(sourceName)),
        maxMemoryBytes(options.maxMemoryBytes ? options.maxMemoryBytes
                                              : defaultMaxMemoryBytes()) {}

  OwningOpRef<ModuleOp> run(ImportStatus &status);

  /// The op types this importer has handlers for, sorted.
  std::vector<std::string> supportedOps() {
    registerHandlers();
    std::vector<std::string> ops;
    for (const auto &entry : handlers)
      ops.push_back(entry.getKey().str());
    std::sort(ops.begin(), ops.end());
    return ops;
  }

private:
  using Handler = std::function<LogicalResult(const ox::Node &)>;

  // Diagnostics ------------------------------------------------------------
  Location nodeLoc(const ox::Node &node) {
    std::string name = node.name.empty() ? node.outputs.empty()
                                               ? node.opType
                                               : node.outputs[0]
                                         : node.name;
    return NameLoc::get(StringAttr::get(ctx, name),
                        FileLineColLoc::get(ctx, sourceName, 0, 0));
  }
  LogicalResult fail(ImportStatus kind, const Twine &message) {
    failure_.status = kind;
    failure_.message = message.str();
    return failure();
  }
  LogicalResult unsupported(const Twine &message) {
    return fail(ImportStatus::Unsupported, message);
  }
  LogicalResult invalid(const Twine &message) {
    return fail(ImportStatus::Error, message);
  }

  // Values -----------------------------------------------------------------
  LogicalResult lookup(const ox::Node &node, size_t index, Value &out);
  bool hasInput(const ox::Node &node, size_t index) {
    return index < node.inputs.size() && !node.inputs[index].empty();
  }
  void define(const ox::Node &node, size_t index, Value value) {
    if (index < node.outputs.size() && !node.outputs[index].empty())
      values[node.outputs[index]] = value;
  }
  const ox::Tensor *constantOf(const ox::Node &node, size_t index) {
    if (!hasInput(node, index))
      return nullptr;
    auto it = constants.find(node.inputs[index]);
    return it == constants.end() ? nullptr : it->second;
  }
  LogicalResult constantInts(const ox::Node &node, size_t index,
                             std::vector<int64_t> &out);
  LogicalResult constantFloats(const ox::Node &node, size_t index,
                               std::vector<double> &out);

  // Attributes -------------------------------------------------------------
  int64_t attrInt(const ox::Node &node, StringRef name, int64_t dflt) {
    const ox::Attribute *a = node.findAttribute(name.str());
    return a && a->kind == ox::Attribute::kInt ? a->i : dflt;
  }
  float attrFloat(const ox::Node &node, StringRef name, float dflt) {
    const ox::Attribute *a = node.findAttribute(name.str());
    return a && a->kind == ox::Attribute::kFloat ? a->f : dflt;
  }
  std::string attrString(const ox::Node &node, StringRef name,
                         StringRef dflt) {
    const ox::Attribute *a = node.findAttribute(name.str());
    return a && a->kind == ox::Attribute::kString ? a->s : dflt.str();
  }
  /// A 2-D window attribute (strides, dilations) with ONNX's default of 1s.
  std::vector<int64_t> windowAttr(const ox::Node &node, StringRef name) {
    std::vector<int64_t> v = attrInts(node, name);
    return v.empty() ? std::vector<int64_t>{1, 1} : v;
  }
  std::vector<int64_t> attrInts(const ox::Node &node, StringRef name) {
    const ox::Attribute *a = node.findAttribute(name.str());
    return a && a->kind == ox::Attribute::kInts ? a->ints
                                                : std::vector<int64_t>();
  }

  // Types and constants ----------------------------------------------------
  FailureOr<Type> elementType(int32_t onnxType, StringRef what);
  Value makeConstant(const ox::Tensor &tensor, Location loc);
  Value makeResourceConstant(RankedTensorType type,
                             std::shared_ptr<ox::Buffer> buffer, size_t offset,
                             size_t size, StringRef name, Location loc);
  Value makeFloatConstant(ArrayRef<int64_t> shape, ArrayRef<float> values,
                          Type elemType, Location loc, StringRef name);
  Value splat(Type elemType, ArrayRef<int64_t> shape, double value,
              Location loc);
  Value shift(Location loc);

  // Emission helpers -------------------------------------------------------
  static RankedTensorType tensorType(Value v) {
    return cast<RankedTensorType>(v.getType());
  }
  Value reshape(Value v, ArrayRef<int64_t> shape, Location loc);
  Value expandRank(Value v, int64_t rank, Location loc);
  FailureOr<SmallVector<int64_t>> broadcastShape(ArrayRef<int64_t> a,
                                                 ArrayRef<int64_t> b);
  FailureOr<Value> binary(StringRef kind, Value a, Value b, Location loc);
  FailureOr<Value> power(Value a, Value b, Location loc);
  Value broadcastGeneric(
      Location loc, ArrayRef<int64_t> shape, Type elemType, ValueRange operands,
      function_ref<Value(OpBuilder &, Location, ValueRange)> body);
  Value clamp(Value v, double lo, double hi, Location loc);
  LogicalResult normalizeAxis(int64_t &axis, int64_t rank, StringRef what);

  // Op handlers ------------------------------------------------------------
  void registerHandlers();
  LogicalResult importNode(const ox::Node &node);
  /// Fails (naming `what`, the size and the limit) when a tensor of this
  /// shape and element type would not fit the memory limit or has a
  /// negative or overflowing size (ImportChecks.cpp).
  LogicalResult checkTensorSize(ArrayRef<int64_t> shape, Type elem,
                                StringRef what);
  /// checkTensorSize on every tensor result of the ops after `lastBefore`
  /// (null: from the start) in `block`: what one node's converter built.
  LogicalResult checkNewTensors(Block *block, Operation *lastBefore);
  LogicalResult checkNodeInputs(const ox::Node &node, int32_t &movedType);
  FailureOr<int64_t> rangeCount(double start, double limit, double delta,
                                Type elem);
  LogicalResult importElementwiseBinary(const ox::Node &node, StringRef kind);
  LogicalResult importMatMul(const ox::Node &node);
  LogicalResult importGemm(const ox::Node &node);
  LogicalResult importConv(const ox::Node &node);
  LogicalResult importConvTranspose(const ox::Node &node);
  LogicalResult importBatchNorm(const ox::Node &node);
  LogicalResult importClip(const ox::Node &node);
  LogicalResult importReshape(const ox::Node &node);
  LogicalResult importTranspose(const ox::Node &node);
  LogicalResult importFlatten(const ox::Node &node);
  LogicalResult importSqueezeUnsqueeze(const ox::Node &node, bool squeeze);
  LogicalResult importConcat(const ox::Node &node);
  LogicalResult importSoftmax(const ox::Node &node);
  LogicalResult importLayerNorm(const ox::Node &node);
  LogicalResult importRMSNorm(const ox::Node &node);
  LogicalResult importGlobalAveragePool(const ox::Node &node);
  LogicalResult importGlobalMaxPool(const ox::Node &node);
  /// A 1-D Conv / pool `node` (rank-3 inputs) imported as its 2-D form by
  /// `import2d`, then reshaped back; nullopt when the node is not 1-D.
  std::optional<LogicalResult>
  importAs2d(const ox::Node &node, ArrayRef<size_t> spatialInputs,
             llvm::function_ref<LogicalResult(const ox::Node &)> import2d);
  LogicalResult importResize(const ox::Node &node);
  LogicalResult importConstant(const ox::Node &node);
  LogicalResult importGather(const ox::Node &node);
  // ONNX's own quantized ops (OnnxImporter.cpp, end of file) --------------
  FailureOr<quant::QuantizedType> quantTypeOf(const ox::Node &node,
                                              ArrayRef<int64_t> shape,
                                              int32_t storageType);
  Value integerConstant(const ox::Tensor &tensor, Location loc);
  int32_t onnxIntType(Value v);
  LogicalResult quantOperand(const ox::Node &node, size_t index, Value &v,
                             int32_t &type);
  LogicalResult quantOperandType(const ox::Node &node, size_t index,
                                 int32_t &type);
  LogicalResult importQuantizeLinear(const ox::Node &node);
  LogicalResult importDequantizeLinear(const ox::Node &node);
  LogicalResult importMatMulNBits(const ox::Node &node);
  LogicalResult importMatMulInteger(const ox::Node &node);
  LogicalResult int8Operand(const ox::Node &node, size_t idx, Value &v,
                            bool &isUnsigned);
  LogicalResult int8ZeroPoint(const ox::Node &node, size_t idx,
                              bool isUnsigned, Value &zp);
  Value widenInt8(Value v, bool isUnsigned, Value zp, int64_t zpDim,
                  Location loc);
  // ImportQLinearOps.cpp
  FailureOr<Value> convInt32(const ox::Node &node, size_t xIdx, size_t xZpIdx,
                             size_t wIdx, size_t wZpIdx);
  LogicalResult importConvInteger(const ox::Node &node);
  LogicalResult importQLinearConv(const ox::Node &node);
  LogicalResult importQLinearMatMul(const ox::Node &node);
  LogicalResult requantize(const ox::Node &node, Value acc, int64_t channelDim,
                           size_t xScaleIdx, size_t wScaleIdx,
                           size_t yScaleIdx, size_t yZpIdx, bool xUnsigned);
  FailureOr<AffineMap> quantParamMap(const ox::Node &node,
                                     ArrayRef<int64_t> shape, Value &scale,
                                     Value &zp);
  LogicalResult quantizeArith(const ox::Node &node, Value x, int32_t qType,
                              Value scale, Value zp);
  LogicalResult importDynamicQuantizeLinear(const ox::Node &node);
  LogicalResult dequantizeArith(const ox::Node &node, Value q, bool isUnsigned,
                                Value scale, Value zp);
  LogicalResult importResizeLinear(const ox::Node &node, Value x,
                                   ArrayRef<double> scales,
                                   ArrayRef<int64_t> outShape);
  // Integer shape computations known at import time ----------------------
  struct IntTensor {
    int32_t dtype = ox::kInt64; ///< kInt64, kInt32, kBool (kFloat/kDouble
                                ///< only as a folded Cast result)
    std::vector<int64_t> dims;
    std::vector<int64_t> vals;
  };
  bool knownInput(const ox::Node &node, size_t index, IntTensor &out);
  LogicalResult defineKnown(const ox::Node &node, size_t index,
                            const IntTensor &t);
  FailureOr<bool> foldKnownInts(const ox::Node &node);
  LogicalResult sliceParams(const ox::Node &node, ArrayRef<int64_t> shape,
                            SmallVector<int64_t> &start,
                            SmallVector<int64_t> &size,
                            SmallVector<int64_t> &step);
  Value fill(Location loc, ArrayRef<int64_t> shape, Type elem, double v);

  // More op handlers -------------------------------------------------------
  void registerMoreHandlers();
  LogicalResult importCast(const ox::Node &node, Type to,
                           int32_t toIntType = ox::kUndefined);
  LogicalResult importShape(const ox::Node &node);
  LogicalResult importExpand(const ox::Node &node);
  LogicalResult importSlice(const ox::Node &node);
  LogicalResult importWhere(const ox::Node &node);
  LogicalResult importCompare(const ox::Node &node, StringRef kind);
  LogicalResult importLogical(const ox::Node &node, StringRef kind);
  LogicalResult importRange(const ox::Node &node);
  LogicalResult importReduce(const ox::Node &node, StringRef kind);
  LogicalResult importSplit(const ox::Node &node);
  LogicalResult importCumSum(const ox::Node &node);
  LogicalResult importTrilu(const ox::Node &node);
  LogicalResult importMathUnary(const ox::Node &node, StringRef kind);
  LogicalResult importConstantOfShape(const ox::Node &node);
  LogicalResult importPool(const ox::Node &node, bool isMax);
  LogicalResult importPad(const ox::Node &node);
  LogicalResult importPRelu(const ox::Node &node);
  LogicalResult importTile(const ox::Node &node);
  LogicalResult importArgMinMax(const ox::Node &node, bool isMax);
  LogicalResult computeConvPads(const ox::Node &node, ArrayRef<int64_t> in,
                                ArrayRef<int64_t> kernel,
                                ArrayRef<int64_t> strides,
                                ArrayRef<int64_t> dilations,
                                SmallVector<int64_t> &pads);

  MLIRContext *ctx;
  const ox::Model &model;
  const ImportOptions &options;
  OpBuilder builder;
  std::string sourceName;
  /// No tensor of the graph may need more bytes than this.
  uint64_t maxMemoryBytes;
  int64_t opset = 0;
  llvm::StringMap<Value> values;
  llvm::StringMap<const ox::Tensor *> constants;
  std::vector<std::shared_ptr<ox::Tensor>> ownedTensors;
  llvm::StringMap<Handler> handlers;
  NodeFailure failure_;
  unsigned blobCounter = 0;
  /// Integer values whose MLIR type does not tell their ONNX type, with that
  /// type: UINT8 in i8, INT16/UINT16 in i16, INT4/UINT4/INT2/UINT2 one value
  /// per i8 (sign- or zero-extended). Only the quantization ops read them.
  llvm::DenseMap<Value, int32_t> intTypes;
};

//===----------------------------------------------------------------------===//
// Helpers shared by the member functions
//===----------------------------------------------------------------------===//

/// The integer types of ONNX's quantization ops that lowbit holds in a
/// container whose MLIR type does not tell them (see Importer::intTypes).
inline bool isTrackedIntType(int32_t t) {
  return t == ox::kUint8 || t == ox::kInt16 || t == ox::kUint16 ||
         ox::subByteBits(t) != 0;
}

inline bool isUnsignedIntType(int32_t t) {
  return t == ox::kUint8 || t == ox::kUint16 || t == ox::kUint4 ||
         t == ox::kUint2;
}

/// Bits of the MLIR container of an ONNX integer type (sub-byte: one i8 per
/// value), 0 for types that are not integers of the quantization ops.
inline unsigned containerWidth(int32_t t) {
  switch (t) {
  case ox::kInt8:
  case ox::kUint8:
  case ox::kInt4:
  case ox::kUint4:
  case ox::kInt2:
  case ox::kUint2:
    return 8;
  case ox::kInt16:
  case ox::kUint16:
    return 16;
  case ox::kInt32:
    return 32;
  default:
    return 0;
  }
}

/// The value range of a quantized integer type.
inline void intTypeRange(int32_t t, int64_t &lo, int64_t &hi) {
  unsigned bits = ox::subByteBits(t) ? ox::subByteBits(t) : containerWidth(t);
  if (isUnsignedIntType(t)) {
    lo = 0;
    hi = (int64_t(1) << bits) - 1;
  } else {
    lo = -(int64_t(1) << (bits - 1));
    hi = (int64_t(1) << (bits - 1)) - 1;
  }
}

/// The values of a constant input converted to T. Integer and float tensors
/// are accepted for T = double, integers only for T = int64_t.
template <typename T>
inline LogicalResult readConstantAs(const ox::Tensor &t, std::vector<T> &out,
                                    std::string &error) {
  out.clear();
  int64_t n = t.numElements();
  const char *data = t.bytes();
  for (int64_t i = 0; i < n; ++i) {
    switch (t.dataType) {
    case ox::kInt64:
      out.push_back(static_cast<T>(reinterpret_cast<const int64_t *>(data)[i]));
      break;
    case ox::kInt32:
      out.push_back(static_cast<T>(reinterpret_cast<const int32_t *>(data)[i]));
      break;
    case ox::kFloat:
      if (std::is_integral_v<T>)
        goto unsupported;
      out.push_back(static_cast<T>(reinterpret_cast<const float *>(data)[i]));
      break;
    case ox::kDouble:
      if (std::is_integral_v<T>)
        goto unsupported;
      out.push_back(static_cast<T>(reinterpret_cast<const double *>(data)[i]));
      break;
    default:
      goto unsupported;
    }
  }
  return success();
unsupported:
  error = std::string("holds ") + ox::dataTypeName(t.dataType) + ", expected " +
          (std::is_integral_v<T> ? "integers" : "numbers");
  return failure();
}

/// Row-major strides of `dims`.
inline SmallVector<int64_t> rowMajorStrides(ArrayRef<int64_t> dims) {
  SmallVector<int64_t> strides(dims.size(), 1);
  for (int64_t d = static_cast<int64_t>(dims.size()) - 2; d >= 0; --d)
    strides[d] = strides[d + 1] * dims[d + 1];
  return strides;
}

/// A scalar constant of `type` inside a region body.
inline Value scalarConst(OpBuilder &b, Location l, Type type, double v) {
  if (auto ft = dyn_cast<FloatType>(type))
    return arith::ConstantOp::create(b, l, b.getFloatAttr(ft, v));
  return arith::ConstantOp::create(
      b, l,
      b.getIntegerAttr(type, APInt(type.getIntOrFloatBitWidth(),
                                   static_cast<int64_t>(v), /*isSigned=*/true,
                                   /*implicitTrunc=*/true)));
}

/// Float -> integer of any width, one formula (docs/onnx-cast.md): truncate
/// toward zero to int64, then keep the target's low bits (two's complement),
/// as ONNX's fixed-point -> fixed-point rule does. The ONNX spec leaves
/// out-of-range float -> fixed point undefined; lowbit defines it this way so
/// that every width agrees (Cast(200.0) to INT8 is -56, to INT4 is -8) and
/// nothing reaches LLVM's fptosi out of range (poison): NaN, +-inf and
/// |x| >= 2^63 give 0.
inline Value floatToIntWrapping(OpBuilder &b, Location l, Value v,
                                IntegerType to) {
  Type i64 = b.getI64Type();
  Value magnitude = math::AbsFOp::create(b, l, v);
  Value inRange =
      arith::CmpFOp::create(b, l, arith::CmpFPredicate::OLT, magnitude,
                            scalarConst(b, l, v.getType(), 0x1p63));
  Value wide = arith::SelectOp::create(b, l, inRange,
                                       arith::FPToSIOp::create(b, l, i64, v),
                                       scalarConst(b, l, i64, 0));
  if (to.getWidth() == 64)
    return wide;
  return arith::TruncIOp::create(b, l, to, wide);
}

/// Converts a scalar between the element types lowbit supports, with ONNX
/// Cast semantics (float -> int truncates, x -> bool is x != 0).
inline Value convertScalar(OpBuilder &b, Location l, Value v, Type to) {
  Type from = v.getType();
  if (from == to)
    return v;
  auto ff = dyn_cast<FloatType>(from), ft = dyn_cast<FloatType>(to);
  if (to.isInteger(1)) {
    if (ff)
      return arith::CmpFOp::create(b, l, arith::CmpFPredicate::UNE, v,
                                   scalarConst(b, l, from, 0));
    return arith::CmpIOp::create(b, l, arith::CmpIPredicate::ne, v,
                                 scalarConst(b, l, from, 0));
  }
  if (ft && ft.isBF16()) {
    // Rounds to nearest even by hand: the CPU JIT has no truncf-to-bf16
    // runtime routine.
    Value f = convertScalar(b, l, v, b.getF32Type());
    Type i32 = b.getI32Type();
    Value bits = arith::BitcastOp::create(b, l, i32, f);
    Value lsb = arith::AndIOp::create(
        b, l,
        arith::ShRUIOp::create(b, l, bits, scalarConst(b, l, i32, 16)),
        scalarConst(b, l, i32, 1));
    Value rounded = arith::AddIOp::create(
        b, l, bits,
        arith::AddIOp::create(b, l, lsb, scalarConst(b, l, i32, 0x7fff)));
    Value isNan = arith::CmpFOp::create(b, l, arith::CmpFPredicate::UNO, f, f);
    Value hi = arith::SelectOp::create(
        b, l, isNan,
        arith::OrIOp::create(b, l, bits, scalarConst(b, l, i32, 0x00400000)),
        rounded);
    hi = arith::ShRUIOp::create(b, l, hi, scalarConst(b, l, i32, 16));
    Value h = arith::TruncIOp::create(b, l, b.getI16Type(), hi);
    return arith::BitcastOp::create(b, l, to, h);
  }
  if (ff && ft) {
    if (ff.getWidth() == ft.getWidth()) // f16 <-> bf16 goes through f32
      return arith::TruncFOp::create(
          b, l, to, arith::ExtFOp::create(b, l, b.getF32Type(), v));
    return ff.getWidth() < ft.getWidth()
               ? Value(arith::ExtFOp::create(b, l, to, v))
               : Value(arith::TruncFOp::create(b, l, to, v));
  }
  if (ff)
    return floatToIntWrapping(b, l, v, cast<IntegerType>(to));
  if (ft)
    return from.isInteger(1) ? Value(arith::UIToFPOp::create(b, l, to, v))
                             : Value(arith::SIToFPOp::create(b, l, to, v));
  unsigned fw = from.getIntOrFloatBitWidth(), tw = to.getIntOrFloatBitWidth();
  if (fw < tw)
    return from.isInteger(1) ? Value(arith::ExtUIOp::create(b, l, to, v))
                             : Value(arith::ExtSIOp::create(b, l, to, v));
  return arith::TruncIOp::create(b, l, to, v);
}

} // namespace lowbit::onnximport

#endif // LOWBIT_LIB_IMPORT_ONNX_IMPORTER_H
