//===- OnnxImporter.cpp - ONNX graph -> nn / tosa / tensor ----------------===//
//
// Walks the plain-struct graph of OnnxModel.h in order and emits one function.
// Ops that passes must see whole become nn ops; element-wise and shape ops
// become upstream tosa/tensor/linalg ops. All shapes are made static here:
// from the model's declared input shapes or the caller's overrides, then
// propagated through every node by the importer's own shape rules.
//
//===----------------------------------------------------------------------===//
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

using namespace mlir;
using namespace lowbit;
namespace ox = lowbit::onnx;

namespace {

/// A failed node import: the message and whether the cause is a missing
/// feature (Unsupported) rather than malformed input (Error).
struct NodeFailure {
  ImportStatus status = ImportStatus::Error;
  std::string message;
};

int64_t product(ArrayRef<int64_t> dims) {
  return std::accumulate(dims.begin(), dims.end(), int64_t(1),
                         std::multiplies<int64_t>());
}

std::string shapeString(ArrayRef<int64_t> dims) {
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

class Importer {
public:
  Importer(MLIRContext *ctx, const ox::Model &model,
           const ImportOptions &options, std::string sourceName)
      : ctx(ctx), model(model), options(options), builder(ctx),
        sourceName(std::move(sourceName)) {}

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
  FailureOr<AffineMap> quantParamMap(const ox::Node &node,
                                     ArrayRef<int64_t> shape, Value &scale,
                                     Value &zp);
  LogicalResult quantizeArith(const ox::Node &node, Value x, int32_t qType,
                              Value scale, Value zp);
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

} // namespace

//===----------------------------------------------------------------------===//
// Types and constants
//===----------------------------------------------------------------------===//

/// The integer types of ONNX's quantization ops that lowbit holds in a
/// container whose MLIR type does not tell them (see Importer::intTypes).
static bool isTrackedIntType(int32_t t) {
  return t == ox::kUint8 || t == ox::kInt16 || t == ox::kUint16 ||
         ox::subByteBits(t) != 0;
}

static bool isUnsignedIntType(int32_t t) {
  return t == ox::kUint8 || t == ox::kUint16 || t == ox::kUint4 ||
         t == ox::kUint2;
}

/// Bits of the MLIR container of an ONNX integer type (sub-byte: one i8 per
/// value), 0 for types that are not integers of the quantization ops.
static unsigned containerWidth(int32_t t) {
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
static void intTypeRange(int32_t t, int64_t &lo, int64_t &hi) {
  unsigned bits = ox::subByteBits(t) ? ox::subByteBits(t) : containerWidth(t);
  if (isUnsignedIntType(t)) {
    lo = 0;
    hi = (int64_t(1) << bits) - 1;
  } else {
    lo = -(int64_t(1) << (bits - 1));
    hi = (int64_t(1) << (bits - 1)) - 1;
  }
}

FailureOr<Type> Importer::elementType(int32_t onnxType, StringRef what) {
  switch (onnxType) {
  case ox::kFloat:
    return Type(builder.getF32Type());
  case ox::kFloat16:
    return Type(builder.getF16Type());
  case ox::kBfloat16:
    return Type(builder.getBF16Type());
  case ox::kDouble:
    return Type(builder.getF64Type());
  case ox::kInt64:
    return Type(builder.getI64Type());
  case ox::kInt32:
    return Type(builder.getI32Type());
  case ox::kInt8:
    return Type(builder.getI8Type());
  case ox::kBool:
    return Type(builder.getI1Type());
  default:
    (void)unsupported(Twine(what) + " has element type " +
                      ox::dataTypeName(onnxType) +
                      ", which lowbit does not support yet");
    return failure();
  }
}

Value Importer::makeResourceConstant(RankedTensorType type,
                                     std::shared_ptr<ox::Buffer> buffer,
                                     size_t offset, size_t size,
                                     StringRef name, Location loc) {
  size_t align = std::max<size_t>(
      1, (type.getElementTypeBitWidth() + 7) / 8);
  const char *data = buffer->data() + offset;
  if (reinterpret_cast<uintptr_t>(data) % align != 0) {
    // External data can sit at any offset; blobs must be element-aligned.
    auto copy = std::make_shared<VectorBuffer>();
    copy->bytes.assign(data, data + size);
    buffer = copy;
    data = copy->bytes.data();
  }
  // The blob references the importer's buffer without copying; the deleter
  // keeps that buffer alive for as long as MLIR holds the blob.
  AsmResourceBlob blob(ArrayRef<char>(data, size), align,
                       [keep = std::move(buffer)](void *, size_t, size_t) {},
                       /*dataIsMutable=*/false);
  std::string blobName = name.empty() ? "onnx_constant" : name.str();
  for (char &c : blobName)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.')
      c = '_';
  auto attr = DenseResourceElementsAttr::get(type, blobName, std::move(blob));
  return arith::ConstantOp::create(builder, loc, attr);
}

Value Importer::makeConstant(const ox::Tensor &tensor, Location loc) {
  FailureOr<Type> elem = elementType(tensor.dataType, "constant '" +
                                                          tensor.name + "'");
  if (failed(elem))
    return {};
  auto type = RankedTensorType::get(tensor.dims, *elem);
  int64_t n = tensor.numElements();
  // Tiny constants (scalars, short vectors) stay inline so that folders and
  // the reader of the IR can see them; everything else is a resource blob,
  // except booleans (masks): LLVM IR translation has no i1 blobs.
  if (n > 8 && tensor.buffer && *elem != builder.getI1Type())
    return makeResourceConstant(type, tensor.buffer, tensor.offset,
                                tensor.size, tensor.name, loc);
  if (*elem == builder.getI1Type()) {
    SmallVector<bool> bits;
    for (int64_t i = 0; i < n; ++i)
      bits.push_back(tensor.bytes()[i] != 0);
    return arith::ConstantOp::create(
        builder, loc, DenseElementsAttr::get(type, ArrayRef<bool>(bits)));
  }
  ArrayRef<char> raw(tensor.bytes(), tensor.size);
  bool detectedSplat = false;
  if (!DenseElementsAttr::isValidRawBuffer(type, raw, detectedSplat)) {
    (void)invalid("constant '" + tensor.name + "' has " +
                  Twine(tensor.size) + " bytes, which do not fill " +
                  shapeString(tensor.dims));
    return {};
  }
  return arith::ConstantOp::create(builder, loc,
                                   DenseElementsAttr::getFromRawBuffer(type, raw));
}

Value Importer::makeFloatConstant(ArrayRef<int64_t> shape,
                                  ArrayRef<float> values, Type elemType,
                                  Location loc, StringRef name) {
  auto type = RankedTensorType::get(shape, elemType);
  if (!elemType.isF32()) {
    SmallVector<APFloat> converted;
    for (float v : values) {
      APFloat f(v);
      bool lost;
      f.convert(cast<FloatType>(elemType).getFloatSemantics(),
                APFloat::rmNearestTiesToEven, &lost);
      converted.push_back(f);
    }
    return arith::ConstantOp::create(builder, loc,
                                     DenseElementsAttr::get(type, converted));
  }
  if (values.size() <= 8)
    return arith::ConstantOp::create(builder, loc,
                                     DenseElementsAttr::get(type, values));
  auto buffer = std::make_shared<VectorBuffer>();
  buffer->bytes.assign(reinterpret_cast<const char *>(values.data()),
                       reinterpret_cast<const char *>(values.data()) +
                           values.size() * sizeof(float));
  size_t size = buffer->bytes.size();
  return makeResourceConstant(type, std::move(buffer), 0, size, name, loc);
}

Value Importer::splat(Type elemType, ArrayRef<int64_t> shape, double value,
                      Location loc) {
  return buildSplat(builder, loc, elemType, shape, value);
}

Value Importer::shift(Location loc) {
  auto type = RankedTensorType::get({1}, builder.getI8Type());
  return tosa::ConstOp::create(builder, loc, type,
                               DenseElementsAttr::get(type, int8_t(0)));
}

/// The values of a constant input converted to T. Integer and float tensors
/// are accepted for T = double, integers only for T = int64_t.
template <typename T>
static LogicalResult readConstantAs(const ox::Tensor &t, std::vector<T> &out,
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

LogicalResult Importer::constantInts(const ox::Node &node, size_t index,
                                     std::vector<int64_t> &out) {
  const ox::Tensor *t = constantOf(node, index);
  if (!t)
    return unsupported("input " + Twine(index) + " ('" +
                       (index < node.inputs.size() ? node.inputs[index] : "") +
                       "') must be a constant");
  std::string error;
  if (failed(readConstantAs(*t, out, error)))
    return invalid("input " + Twine(index) + " " + error);
  return success();
}

LogicalResult Importer::constantFloats(const ox::Node &node, size_t index,
                                       std::vector<double> &out) {
  const ox::Tensor *t = constantOf(node, index);
  if (!t)
    return unsupported("input " + Twine(index) + " ('" +
                       (index < node.inputs.size() ? node.inputs[index] : "") +
                       "') must be a constant");
  std::string error;
  if (failed(readConstantAs(*t, out, error)))
    return unsupported("input " + Twine(index) + " " + error);
  return success();
}

LogicalResult Importer::lookup(const ox::Node &node, size_t index,
                               Value &out) {
  if (!hasInput(node, index))
    return invalid("required input " + Twine(index) + " is missing");
  auto it = values.find(node.inputs[index]);
  if (it == values.end())
    return invalid("input '" + node.inputs[index] +
                   "' is not produced by any earlier node, initializer or "
                   "graph input");
  out = it->second;
  if (!out)
    return unsupported("input '" + node.inputs[index] +
                       "' has a type lowbit does not support");
  return success();
}

//===----------------------------------------------------------------------===//
// Emission helpers
//===----------------------------------------------------------------------===//

Value Importer::reshape(Value v, ArrayRef<int64_t> shape, Location loc) {
  auto type = tensorType(v);
  if (type.getShape() == shape)
    return v;
  return buildTosaReshape(builder, loc, v, shape);
}

Value Importer::expandRank(Value v, int64_t rank, Location loc) {
  return buildTosaExpandRank(builder, loc, v, rank);
}

FailureOr<SmallVector<int64_t>> Importer::broadcastShape(ArrayRef<int64_t> a,
                                                         ArrayRef<int64_t> b) {
  size_t rank = std::max(a.size(), b.size());
  SmallVector<int64_t> out(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1) {
      (void)invalid("shapes " + shapeString(a) + " and " + shapeString(b) +
                    " do not broadcast");
      return failure();
    }
    out[i] = da == 1 ? db : da;
  }
  return out;
}

Value Importer::broadcastGeneric(
    Location loc, ArrayRef<int64_t> shape, Type elemType, ValueRange operands,
    function_ref<Value(OpBuilder &, Location, ValueRange)> body) {
  int64_t rank = shape.size();
  SmallVector<AffineMap> maps;
  for (Value v : operands) {
    auto t = tensorType(v);
    SmallVector<AffineExpr> exprs;
    int64_t lead = rank - t.getRank();
    for (int64_t i = 0; i < t.getRank(); ++i)
      exprs.push_back(t.getDimSize(i) == 1 && shape[lead + i] != 1
                          ? builder.getAffineConstantExpr(0)
                          : builder.getAffineDimExpr(lead + i));
    maps.push_back(AffineMap::get(rank, 0, exprs, ctx));
  }
  maps.push_back(builder.getMultiDimIdentityMap(rank));
  Value init = tensor::EmptyOp::create(builder, loc, shape, elemType);
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  auto generic = linalg::GenericOp::create(
      builder, loc, TypeRange{init.getType()}, operands, ValueRange{init},
      maps, iterators, [&](OpBuilder &b, Location l, ValueRange args) {
        Value r = body(b, l, args.drop_back());
        linalg::YieldOp::create(b, l, r);
      });
  return generic.getResult(0);
}

FailureOr<Value> Importer::binary(StringRef kind, Value a, Value b,
                                  Location loc) {
  auto ta = tensorType(a), tb = tensorType(b);
  if (kind == "Pow")
    return power(a, b, loc);
  if (ta.getElementType() != tb.getElementType()) {
    (void)invalid("operand element types differ: " +
                  llvm::formatv("{0} vs {1}", ta.getElementType(),
                                tb.getElementType())
                      .str());
    return failure();
  }
  auto shape = broadcastShape(ta.getShape(), tb.getShape());
  if (failed(shape))
    return failure();
  Type elem = ta.getElementType();
  bool isFloat = isa<FloatType>(elem);
  if (kind == "Div") {
    // TOSA has no float division; an exact divf keeps parity with ONNX.
    return broadcastGeneric(
        loc, *shape, elem, {a, b},
        [&](OpBuilder &bb, Location l, ValueRange args) -> Value {
          if (isFloat)
            return arith::DivFOp::create(bb, l, args[0], args[1]);
          return arith::DivSIOp::create(bb, l, args[0], args[1]);
        });
  }
  int64_t rank = shape->size();
  a = expandRank(a, rank, loc);
  b = expandRank(b, rank, loc);
  auto type = RankedTensorType::get(*shape, elem);
  if (kind == "Add")
    return Value(tosa::AddOp::create(builder, loc, type, a, b));
  if (kind == "Sub")
    return Value(tosa::SubOp::create(builder, loc, type, a, b));
  if (kind == "Mul")
    return Value(tosa::MulOp::create(builder, loc, type, a, b, shift(loc)));
  if (kind == "Max")
    return Value(tosa::MaximumOp::create(builder, loc, type, a, b));
  if (kind == "Min")
    return Value(tosa::MinimumOp::create(builder, loc, type, a, b));
  (void)unsupported("binary op " + kind);
  return failure();
}

FailureOr<Value> Importer::power(Value a, Value b, Location loc) {
  // ONNX Pow lets base and exponent have different types; the result has
  // the base's type. Integer powers of integers stay exact (math.ipowi).
  auto ta = tensorType(a), tb = tensorType(b);
  auto shape = broadcastShape(ta.getShape(), tb.getShape());
  if (failed(shape))
    return failure();
  Type baseType = ta.getElementType(), expType = tb.getElementType();
  return broadcastGeneric(
      loc, *shape, baseType, {a, b},
      [&](OpBuilder &bb, Location l, ValueRange args) -> Value {
        Value base = args[0], exp = args[1];
        if (isa<IntegerType>(baseType) && isa<IntegerType>(expType)) {
          if (expType != baseType)
            exp = arith::TruncIOp::create(bb, l, baseType, exp);
          return math::IPowIOp::create(bb, l, base, exp);
        }
        Type f = isa<FloatType>(baseType) ? baseType : expType;
        if (isa<IntegerType>(base.getType()))
          base = arith::SIToFPOp::create(bb, l, f, base);
        if (isa<IntegerType>(exp.getType()))
          exp = arith::SIToFPOp::create(bb, l, f, exp);
        else if (exp.getType() != f)
          exp = cast<FloatType>(exp.getType()).getWidth() >
                        cast<FloatType>(f).getWidth()
                    ? Value(arith::TruncFOp::create(bb, l, f, exp))
                    : Value(arith::ExtFOp::create(bb, l, f, exp));
        Value r = math::PowFOp::create(bb, l, base, exp);
        if (isa<IntegerType>(baseType))
          r = arith::FPToSIOp::create(bb, l, baseType, r);
        return r;
      });
}

Value Importer::clamp(Value v, double lo, double hi, Location loc) {
  auto type = tensorType(v);
  Type elem = type.getElementType();
  Attribute loAttr, hiAttr;
  if (auto ft = dyn_cast<FloatType>(elem)) {
    loAttr = builder.getFloatAttr(ft, lo);
    hiAttr = builder.getFloatAttr(ft, hi);
  } else {
    loAttr = builder.getIntegerAttr(elem, static_cast<int64_t>(lo));
    hiAttr = builder.getIntegerAttr(elem, static_cast<int64_t>(hi));
  }
  return tosa::ClampOp::create(builder, loc, type, v, cast<TypedAttr>(loAttr),
                               cast<TypedAttr>(hiAttr));
}

LogicalResult Importer::normalizeAxis(int64_t &axis, int64_t rank,
                                      StringRef what) {
  if (axis < -rank || axis >= std::max<int64_t>(rank, 1))
    return invalid(Twine(what) + " " + Twine(axis) +
                   " is out of range for rank " + Twine(rank));
  if (axis < 0)
    axis += rank;
  return success();
}

//===----------------------------------------------------------------------===//
// Op handlers
//===----------------------------------------------------------------------===//

LogicalResult Importer::importElementwiseBinary(const ox::Node &node,
                                                StringRef kind) {
  Value a, b;
  if (failed(lookup(node, 0, a)) || failed(lookup(node, 1, b)))
    return failure();
  auto r = binary(kind, a, b, nodeLoc(node));
  if (failed(r))
    return failure();
  define(node, 0, *r);
  return success();
}

LogicalResult Importer::importMatMul(const ox::Node &node) {
  Location loc = nodeLoc(node);
  Value a, b;
  if (failed(lookup(node, 0, a)) || failed(lookup(node, 1, b)))
    return failure();
  auto ta = tensorType(a), tb = tensorType(b);
  if (ta.getRank() < 1 || tb.getRank() < 1)
    return invalid("operands must have rank >= 1");
  Type elem = ta.getElementType();
  if (!isa<FloatType>(elem))
    return unsupported("integer MatMul (use MatMulInteger)");
  if (elem.isF64())
    return unsupported("MatMul of DOUBLE (nn.matmul takes f32, f16, bf16)");
  const ox::Tensor *weight = constantOf(node, 1);
  if (weight && tb.getRank() == 2 && weight->dataType == ox::kFloat &&
      ta.getRank() >= 1) {
    // A constant [K, N] right operand is a linear layer; store its weight as
    // [N, K] so quantization groups run along the contiguous K.
    int64_t k = tb.getDimSize(0), n = tb.getDimSize(1);
    if (ta.getShape().back() != k)
      return invalid("MatMul reduction dimensions differ: " +
                     shapeString(ta.getShape()) + " x " +
                     shapeString(tb.getShape()));
    auto buffer = std::make_shared<VectorBuffer>();
    buffer->bytes.resize(k * n * sizeof(float));
    const float *src = reinterpret_cast<const float *>(weight->bytes());
    float *dst = reinterpret_cast<float *>(buffer->bytes.data());
    for (int64_t i = 0; i < k; ++i)
      for (int64_t j = 0; j < n; ++j)
        dst[j * k + i] = src[i * n + j];
    // The [K, N] original is not needed any more: an external-data weight's
    // pages leave memory now, so import peaks near the model size, not 2x.
    weight->buffer->releasePages(weight->offset, weight->size);
    size_t size = buffer->bytes.size();
    Value w = makeResourceConstant(RankedTensorType::get({n, k}, elem),
                                   std::move(buffer), 0, size,
                                   weight->name + "_nk", loc);
    SmallVector<int64_t> outShape(ta.getShape());
    outShape.back() = n;
    Value y = nn::LinearOp::create(builder, loc,
                                   RankedTensorType::get(outShape, elem), a, w,
                                   Value());
    define(node, 0, y);
    return success();
  }
  // General case: promote rank-1 operands as numpy does, then drop the
  // inserted dimension from the result.
  bool aVec = ta.getRank() == 1, bVec = tb.getRank() == 1;
  if (aVec)
    a = reshape(a, {1, ta.getDimSize(0)}, loc);
  if (bVec)
    b = reshape(b, {tb.getDimSize(0), 1}, loc);
  ta = tensorType(a);
  tb = tensorType(b);
  if (ta.getShape().back() != tb.getDimSize(tb.getRank() - 2))
    return invalid("MatMul reduction dimensions differ: " +
                   shapeString(ta.getShape()) + " x " +
                   shapeString(tb.getShape()));
  auto batch = broadcastShape(ta.getShape().drop_back(2),
                              tb.getShape().drop_back(2));
  if (failed(batch))
    return failure();
  SmallVector<int64_t> outShape(*batch);
  outShape.push_back(ta.getDimSize(ta.getRank() - 2));
  outShape.push_back(tb.getShape().back());
  Value y = nn::MatMulOp::create(builder, loc,
                                 RankedTensorType::get(outShape, elem), a, b);
  SmallVector<int64_t> finalShape(*batch);
  if (!aVec)
    finalShape.push_back(outShape[outShape.size() - 2]);
  if (!bVec)
    finalShape.push_back(outShape.back());
  define(node, 0, reshape(y, finalShape, loc));
  return success();
}

LogicalResult Importer::importGemm(const ox::Node &node) {
  Location loc = nodeLoc(node);
  Value a, b;
  if (failed(lookup(node, 0, a)) || failed(lookup(node, 1, b)))
    return failure();
  auto ta = tensorType(a), tb = tensorType(b);
  if (ta.getRank() != 2 || tb.getRank() != 2)
    return invalid("Gemm operands must have rank 2, got " +
                   shapeString(ta.getShape()) + " and " +
                   shapeString(tb.getShape()));
  Type elem = ta.getElementType();
  if (!isa<FloatType>(elem))
    return unsupported("integer Gemm");
  float alpha = attrFloat(node, "alpha", 1.0f);
  float beta = attrFloat(node, "beta", 1.0f);
  bool transA = attrInt(node, "transA", 0), transB = attrInt(node, "transB", 0);
  if (transA) {
    a = tosa::TransposeOp::create(
        builder, loc,
        RankedTensorType::get({ta.getDimSize(1), ta.getDimSize(0)}, elem), a,
        builder.getDenseI32ArrayAttr({1, 0}));
    ta = tensorType(a);
  }
  // nn.linear wants [N, K]: that is B itself when transB, else Bᵀ.
  Value w = b;
  if (!transB)
    w = tosa::TransposeOp::create(
        builder, loc,
        RankedTensorType::get({tb.getDimSize(1), tb.getDimSize(0)}, elem), b,
        builder.getDenseI32ArrayAttr({1, 0}));
  auto tw = tensorType(w);
  int64_t m = ta.getDimSize(0), k = ta.getDimSize(1), n = tw.getDimSize(0);
  if (tw.getDimSize(1) != k)
    return invalid("Gemm reduction dimensions differ: " + Twine(k) + " vs " +
                   Twine(tw.getDimSize(1)));
  auto outType = RankedTensorType::get({m, n}, elem);
  Value y = nn::LinearOp::create(builder, loc, outType, a, w, Value());
  if (alpha != 1.0f)
    y = tosa::MulOp::create(builder, loc, outType, y,
                            splat(elem, {1, 1}, alpha, loc), shift(loc));
  if (hasInput(node, 2) && beta != 0.0f) {
    Value c;
    if (failed(lookup(node, 2, c)))
      return failure();
    if (beta != 1.0f) {
      auto tc = tensorType(c);
      c = tosa::MulOp::create(
          builder, loc, tc, c,
          splat(elem, SmallVector<int64_t>(tc.getRank(), 1), beta, loc),
          shift(loc));
    }
    auto r = binary("Add", y, c, loc);
    if (failed(r))
      return failure();
    if (tensorType(*r).getShape() != outType.getShape())
      return invalid("Gemm bias of shape " +
                     shapeString(tensorType(c).getShape()) +
                     " does not broadcast to " + shapeString({m, n}));
    y = *r;
  }
  define(node, 0, y);
  return success();
}

LogicalResult Importer::computeConvPads(const ox::Node &node,
                                        ArrayRef<int64_t> in,
                                        ArrayRef<int64_t> kernel,
                                        ArrayRef<int64_t> strides,
                                        ArrayRef<int64_t> dilations,
                                        SmallVector<int64_t> &pads) {
  std::string autoPad = attrString(node, "auto_pad", "NOTSET");
  std::vector<int64_t> explicitPads = attrInts(node, "pads");
  pads.assign(4, 0);
  if (autoPad == "NOTSET") {
    if (!explicitPads.empty()) {
      if (explicitPads.size() != 4)
        return invalid("pads must have 4 values for a 2-D convolution, got " +
                       Twine(explicitPads.size()));
      pads.assign(explicitPads.begin(), explicitPads.end());
    }
    return success();
  }
  if (autoPad == "VALID")
    return success();
  if (autoPad != "SAME_UPPER" && autoPad != "SAME_LOWER")
    return invalid("unknown auto_pad '" + autoPad + "'");
  for (int i = 0; i < 2; ++i) {
    int64_t out = (in[i] + strides[i] - 1) / strides[i];
    int64_t total = std::max<int64_t>(
        0, (out - 1) * strides[i] + dilations[i] * (kernel[i] - 1) + 1 - in[i]);
    int64_t small = total / 2, large = total - small;
    pads[i] = autoPad == "SAME_UPPER" ? small : large;
    pads[2 + i] = autoPad == "SAME_UPPER" ? large : small;
  }
  return success();
}

LogicalResult Importer::importConv(const ox::Node &node) {
  Location loc = nodeLoc(node);
  Value x, w, bias;
  if (failed(lookup(node, 0, x)) || failed(lookup(node, 1, w)))
    return failure();
  if (hasInput(node, 2) && failed(lookup(node, 2, bias)))
    return failure();
  auto tx = tensorType(x), tw = tensorType(w);
  if (tx.getRank() != 4 || tw.getRank() != 4)
    return unsupported("only 2-D convolutions (rank-4 NCHW input and filter) "
                       "are supported, got input " +
                       shapeString(tx.getShape()));
  if (!isa<FloatType>(tx.getElementType()))
    return unsupported("integer Conv (use ConvInteger)");
  std::vector<int64_t> strides = attrInts(node, "strides");
  std::vector<int64_t> dilations = attrInts(node, "dilations");
  if (strides.empty())
    strides = {1, 1};
  if (dilations.empty())
    dilations = {1, 1};
  if (strides.size() != 2 || dilations.size() != 2)
    return invalid("strides and dilations must have 2 values");
  int64_t groups = attrInt(node, "group", 1);
  std::vector<int64_t> kernelShape = attrInts(node, "kernel_shape");
  if (!kernelShape.empty() &&
      ArrayRef<int64_t>(kernelShape) != tw.getShape().drop_front(2))
    return invalid("kernel_shape " + shapeString(kernelShape) +
                   " differs from the filter's " +
                   shapeString(tw.getShape().drop_front(2)));
  SmallVector<int64_t> pads;
  if (failed(computeConvPads(node, tx.getShape().drop_front(2),
                             tw.getShape().drop_front(2), strides, dilations,
                             pads)))
    return failure();
  int64_t c = tx.getDimSize(1), f = tw.getDimSize(0);
  if (groups < 1 || c % groups || f % groups || tw.getDimSize(1) * groups != c)
    return invalid("group = " + Twine(groups) + " does not fit input channels " +
                   Twine(c) + " and filter " + shapeString(tw.getShape()));
  SmallVector<int64_t> outShape = {tx.getDimSize(0), f};
  for (int i = 0; i < 2; ++i) {
    int64_t in = tx.getDimSize(2 + i) + pads[i] + pads[2 + i];
    int64_t span = dilations[i] * (tw.getDimSize(2 + i) - 1) + 1;
    if (in < span)
      return invalid("the kernel does not fit the padded input " +
                     shapeString(tx.getShape()));
    outShape.push_back((in - span) / strides[i] + 1);
  }
  Value y = nn::Conv2DOp::create(
      builder, loc, RankedTensorType::get(outShape, tx.getElementType()), x, w,
      bias, builder.getDenseI64ArrayAttr(strides),
      builder.getDenseI64ArrayAttr(pads),
      builder.getDenseI64ArrayAttr(dilations),
      builder.getI64IntegerAttr(groups));
  define(node, 0, y);
  return success();
}

LogicalResult Importer::importConvTranspose(const ox::Node &node) {
  // ConvTranspose = zero-insertion by the stride, padding by
  // dilation*(K-1)-pad, then a stride-1 convolution with the spatially
  // flipped filter whose in/out channels are swapped.
  Location loc = nodeLoc(node);
  Value x, bias;
  if (failed(lookup(node, 0, x)))
    return failure();
  if (hasInput(node, 2) && failed(lookup(node, 2, bias)))
    return failure();
  const ox::Tensor *wt = constantOf(node, 1);
  Value wValue;
  if (failed(lookup(node, 1, wValue)))
    return failure();
  auto twIn = tensorType(wValue);
  auto tx = tensorType(x);
  if (tx.getRank() != 4 || twIn.getRank() != 4)
    return unsupported("only 2-D ConvTranspose is supported");
  if (!attrInts(node, "output_shape").empty())
    return unsupported("ConvTranspose with output_shape");
  std::string autoPad = attrString(node, "auto_pad", "NOTSET");
  if (autoPad != "NOTSET" && autoPad != "VALID")
    return unsupported("ConvTranspose with auto_pad=" + autoPad);
  int64_t groups = attrInt(node, "group", 1);
  std::vector<int64_t> strides = attrInts(node, "strides");
  std::vector<int64_t> dilations = attrInts(node, "dilations");
  std::vector<int64_t> pads = attrInts(node, "pads");
  std::vector<int64_t> outPad = attrInts(node, "output_padding");
  if (strides.empty())
    strides = {1, 1};
  if (dilations.empty())
    dilations = {1, 1};
  if (pads.empty() || autoPad == "VALID")
    pads = {0, 0, 0, 0};
  if (outPad.empty())
    outPad = {0, 0};
  if (strides.size() != 2 || dilations.size() != 2 || pads.size() != 4 ||
      outPad.size() != 2)
    return invalid("strides, dilations, output_padding need 2 values and "
                   "pads 4");
  int64_t cin = twIn.getDimSize(0), coutPerGroup = twIn.getDimSize(1);
  int64_t kh = twIn.getDimSize(2), kw = twIn.getDimSize(3);
  if (tx.getDimSize(1) != cin || groups < 1 || cin % groups)
    return invalid("filter " + shapeString(twIn.getShape()) +
                   " does not match input " + shapeString(tx.getShape()) +
                   " with group = " + Twine(groups));
  int64_t cinPerGroup = cin / groups, cout = coutPerGroup * groups;
  Type elem = tx.getElementType();
  auto flippedType = RankedTensorType::get({cout, cinPerGroup, kh, kw}, elem);
  Value w;
  if (wt && wt->dataType == ox::kFloat) {
    // Constant filter: flip it once, here.
    auto buffer = std::make_shared<VectorBuffer>();
    buffer->bytes.resize(cout * cinPerGroup * kh * kw * sizeof(float));
    const float *src = reinterpret_cast<const float *>(wt->bytes());
    float *dst = reinterpret_cast<float *>(buffer->bytes.data());
    for (int64_t g = 0; g < groups; ++g)
      for (int64_t ci = 0; ci < cinPerGroup; ++ci)
        for (int64_t co = 0; co < coutPerGroup; ++co)
          for (int64_t i = 0; i < kh; ++i)
            for (int64_t j = 0; j < kw; ++j)
              dst[(((g * coutPerGroup + co) * cinPerGroup + ci) * kh + i) *
                      kw +
                  j] = src[(((g * cinPerGroup + ci) * coutPerGroup + co) * kh +
                            (kh - 1 - i)) *
                               kw +
                           (kw - 1 - j)];
    size_t size = buffer->bytes.size();
    w = makeResourceConstant(flippedType, std::move(buffer), 0, size,
                             wt->name + "_flipped", loc);
  } else {
    // Filter known only at run time: the same flip and channel swap as ops.
    Value r = tosa::ReverseOp::create(builder, loc, twIn, wValue,
                                      builder.getI32IntegerAttr(2));
    r = tosa::ReverseOp::create(builder, loc, twIn, r,
                                builder.getI32IntegerAttr(3));
    r = reshape(r, {groups, cinPerGroup, coutPerGroup, kh, kw}, loc);
    r = tosa::TransposeOp::create(
        builder, loc,
        RankedTensorType::get({groups, coutPerGroup, cinPerGroup, kh, kw},
                              elem),
        r, builder.getDenseI32ArrayAttr({0, 2, 1, 3, 4}));
    w = reshape(r, flippedType.getShape(), loc);
  }
  int64_t kernel[2] = {kh, kw};
  int64_t before[2], after[2], dilatedSize[2];
  for (int i = 0; i < 2; ++i) {
    int64_t span = dilations[i] * (kernel[i] - 1);
    before[i] = span - pads[i];
    after[i] = span - pads[2 + i] + outPad[i];
    if (before[i] < 0 || after[i] < 0)
      return unsupported("ConvTranspose with pads larger than "
                         "dilation*(kernel-1)");
    dilatedSize[i] = (tx.getDimSize(2 + i) - 1) * strides[i] + 1;
  }
  SmallVector<int64_t> paddedShape = {
      tx.getDimSize(0), cin, dilatedSize[0] + before[0] + after[0],
      dilatedSize[1] + before[1] + after[1]};
  Value zeros = splat(elem, paddedShape, 0.0, loc);
  SmallVector<OpFoldResult> offsets = {
      builder.getIndexAttr(0), builder.getIndexAttr(0),
      builder.getIndexAttr(before[0]), builder.getIndexAttr(before[1])};
  SmallVector<OpFoldResult> sizes;
  for (int64_t d : tx.getShape())
    sizes.push_back(builder.getIndexAttr(d));
  SmallVector<OpFoldResult> steps = {
      builder.getIndexAttr(1), builder.getIndexAttr(1),
      builder.getIndexAttr(strides[0]), builder.getIndexAttr(strides[1])};
  Value padded = tensor::InsertSliceOp::create(builder, loc, x, zeros, offsets,
                                               sizes, steps);
  SmallVector<int64_t> outShape = {tx.getDimSize(0), cout};
  for (int i = 0; i < 2; ++i)
    outShape.push_back(paddedShape[2 + i] - dilations[i] * (kernel[i] - 1));
  Value y = nn::Conv2DOp::create(
      builder, loc, RankedTensorType::get(outShape, elem), padded, w, bias,
      builder.getDenseI64ArrayAttr({1, 1}),
      builder.getDenseI64ArrayAttr({0, 0, 0, 0}),
      builder.getDenseI64ArrayAttr(dilations),
      builder.getI64IntegerAttr(groups));
  define(node, 0, y);
  return success();
}

LogicalResult Importer::importBatchNorm(const ox::Node &node) {
  Location loc = nodeLoc(node);
  Value x;
  if (failed(lookup(node, 0, x)))
    return failure();
  if (attrInt(node, "training_mode", 0) != 0 ||
      (node.outputs.size() > 1 && !node.outputs[1].empty()))
    return unsupported("BatchNormalization in training mode");
  auto tx = tensorType(x);
  if (tx.getRank() < 2)
    return invalid("BatchNormalization input must have rank >= 2");
  int64_t c = tx.getDimSize(1);
  SmallVector<int64_t> paramShape(tx.getRank(), 1);
  paramShape[1] = c;
  Type elem = tx.getElementType();
  double eps = attrFloat(node, "epsilon", 1e-5f);
  bool allConstant = true;
  for (size_t index = 1; index <= 4; ++index)
    allConstant = allConstant && constantOf(node, index);
  if (!allConstant) {
    // Statistics known only at run time: y = (x - mean) * rsqrt(var + eps)
    // * scale + bias, per channel.
    SmallVector<Value> params;
    for (size_t index = 1; index <= 4; ++index) {
      Value v;
      if (failed(lookup(node, index, v)))
        return failure();
      if (tensorType(v).getNumElements() != c ||
          tensorType(v).getElementType() != elem)
        return invalid("BatchNormalization parameter " + Twine(index) +
                       " must be " + Twine(c) + " values of the input's type");
      params.push_back(reshape(v, paramShape, loc));
    }
    auto paramType = RankedTensorType::get(paramShape, elem);
    Value var = tosa::AddOp::create(builder, loc, paramType, params[3],
                                    splat(elem, paramShape, eps, loc));
    Value inv = tosa::RsqrtOp::create(builder, loc, paramType, var);
    Value a = tosa::MulOp::create(builder, loc, paramType, inv, params[0],
                                  shift(loc));
    Value y = tosa::SubOp::create(builder, loc, tx, x, params[2]);
    y = tosa::MulOp::create(builder, loc, tx, y, a, shift(loc));
    y = tosa::AddOp::create(builder, loc, tx, y, params[1]);
    define(node, 0, y);
    return success();
  }
  std::vector<double> scale, shiftB, mean, var;
  for (auto [index, vec] : {std::pair<size_t, std::vector<double> *>{1, &scale},
                            {2, &shiftB},
                            {3, &mean},
                            {4, &var}})
    if (failed(constantFloats(node, index, *vec)))
      return failure();
  for (auto *vec : {&scale, &shiftB, &mean, &var})
    if (static_cast<int64_t>(vec->size()) != c)
      return invalid("BatchNormalization parameters must have " + Twine(c) +
                     " elements");
  // Inference BatchNorm is an affine map per channel: fold it to a, b.
  std::vector<float> a(c), b(c);
  for (int64_t i = 0; i < c; ++i) {
    double s = scale[i] / std::sqrt(var[i] + eps);
    a[i] = static_cast<float>(s);
    b[i] = static_cast<float>(shiftB[i] - mean[i] * s);
  }
  std::string base = node.name.empty() ? node.outputs[0] : node.name;
  Value av = makeFloatConstant(paramShape, a, elem, loc, base + "_scale");
  Value bv = makeFloatConstant(paramShape, b, elem, loc, base + "_shift");
  Value y = tosa::MulOp::create(builder, loc, tx, x, av, shift(loc));
  y = tosa::AddOp::create(builder, loc, tx, y, bv);
  define(node, 0, y);
  return success();
}

LogicalResult Importer::importClip(const ox::Node &node) {
  Location loc = nodeLoc(node);
  Value x;
  if (failed(lookup(node, 0, x)))
    return failure();
  auto tx = tensorType(x);
  double lo = -std::numeric_limits<double>::infinity();
  double hi = std::numeric_limits<double>::infinity();
  Value loValue, hiValue; // bounds known only at run time
  if (opset < 11) {
    lo = attrFloat(node, "min", -std::numeric_limits<float>::infinity());
    hi = attrFloat(node, "max", std::numeric_limits<float>::infinity());
  } else {
    for (size_t index : {1, 2}) {
      if (!hasInput(node, index))
        continue;
      const ox::Tensor *t = constantOf(node, index);
      if (!t) {
        Value v;
        if (failed(lookup(node, index, v)))
          return failure();
        if (tensorType(v).getNumElements() != 1)
          return invalid(Twine("Clip ") + (index == 1 ? "min" : "max") +
                         " must be a scalar");
        (index == 1 ? loValue : hiValue) =
            expandRank(reshape(v, {}, loc), tx.getRank(), loc);
        continue;
      }
      std::vector<double> v;
      if (failed(constantFloats(node, index, v)))
        return failure();
      if (v.size() != 1)
        return invalid(Twine("Clip ") + (index == 1 ? "min" : "max") +
                       " must be a scalar");
      (index == 1 ? lo : hi) = v[0];
    }
  }
  Type elem = tx.getElementType();
  if (auto ft = dyn_cast<FloatType>(elem)) {
    double maxv = APFloat::getLargest(ft.getFloatSemantics()).convertToDouble();
    lo = std::max(lo, -maxv);
    hi = std::min(hi, maxv);
  } else {
    unsigned w = elem.getIntOrFloatBitWidth();
    double maxv = std::ldexp(1.0, w - 1) - 1;
    lo = std::max(lo, -maxv - 1);
    hi = std::min(hi, maxv);
  }
  Value y = clamp(x, lo, hi, loc);
  // ONNX defines Clip as min(max(x, min), max), also when min > max.
  if (loValue)
    y = tosa::MaximumOp::create(builder, loc, tx, y, loValue);
  if (hiValue)
    y = tosa::MinimumOp::create(builder, loc, tx, y, hiValue);
  define(node, 0, y);
  return success();
}

LogicalResult Importer::importReshape(const ox::Node &node) {
  Value x;
  if (failed(lookup(node, 0, x)))
    return failure();
  std::vector<int64_t> shape;
  if (opset < 5)
    shape = attrInts(node, "shape");
  else if (failed(constantInts(node, 1, shape)))
    return failure();
  auto tx = tensorType(x);
  bool allowZero = attrInt(node, "allowzero", 0) != 0;
  int64_t known = 1, inferIndex = -1;
  SmallVector<int64_t> out;
  for (size_t i = 0; i < shape.size(); ++i) {
    int64_t d = shape[i];
    if (d == 0 && !allowZero) {
      if (static_cast<int64_t>(i) >= tx.getRank())
        return invalid("shape copies dimension " + Twine(i) +
                       " of a rank-" + Twine(tx.getRank()) + " input");
      d = tx.getDimSize(i);
    }
    if (d == -1) {
      if (inferIndex >= 0)
        return invalid("shape has more than one -1");
      inferIndex = i;
      out.push_back(1);
      continue;
    }
    if (d < 0)
      return invalid("shape has a negative dimension " + Twine(d));
    known *= d;
    out.push_back(d);
  }
  int64_t total = tx.getNumElements();
  if (inferIndex >= 0) {
    if (known == 0 || total % known)
      return invalid("cannot reshape " + shapeString(tx.getShape()) + " to " +
                     shapeString(shape));
    out[inferIndex] = total / known;
  } else if (known != total) {
    return invalid("cannot reshape " + shapeString(tx.getShape()) + " to " +
                   shapeString(shape));
  }
  define(node, 0, reshape(x, out, nodeLoc(node)));
  return success();
}

LogicalResult Importer::importTranspose(const ox::Node &node) {
  Value x;
  if (failed(lookup(node, 0, x)))
    return failure();
  auto tx = tensorType(x);
  std::vector<int64_t> perm = attrInts(node, "perm");
  if (perm.empty())
    for (int64_t i = tx.getRank() - 1; i >= 0; --i)
      perm.push_back(i);
  if (static_cast<int64_t>(perm.size()) != tx.getRank())
    return invalid("perm has " + Twine(perm.size()) +
                   " entries for a rank-" + Twine(tx.getRank()) + " input");
  SmallVector<int32_t> perms;
  SmallVector<int64_t> shape;
  std::vector<bool> seen(perm.size(), false);
  for (int64_t p : perm) {
    if (p < 0 || p >= tx.getRank() || seen[p])
      return invalid("perm is not a permutation");
    seen[p] = true;
    perms.push_back(static_cast<int32_t>(p));
    shape.push_back(tx.getDimSize(p));
  }
  Value y = tosa::TransposeOp::create(
      builder, nodeLoc(node), RankedTensorType::get(shape, tx.getElementType()),
      x, builder.getDenseI32ArrayAttr(perms));
  define(node, 0, y);
  return success();
}

LogicalResult Importer::importFlatten(const ox::Node &node) {
  Value x;
  if (failed(lookup(node, 0, x)))
    return failure();
  auto tx = tensorType(x);
  int64_t axis = attrInt(node, "axis", 1);
  if (axis < -tx.getRank() || axis > tx.getRank())
    return invalid("axis " + Twine(axis) + " out of range for rank " +
                   Twine(tx.getRank()));
  if (axis < 0)
    axis += tx.getRank();
  int64_t outer = product(tx.getShape().take_front(axis));
  define(node, 0,
         reshape(x, {outer, tx.getNumElements() / std::max<int64_t>(outer, 1)},
                 nodeLoc(node)));
  return success();
}

LogicalResult Importer::importSqueezeUnsqueeze(const ox::Node &node,
                                               bool squeeze) {
  Value x;
  if (failed(lookup(node, 0, x)))
    return failure();
  std::vector<int64_t> axes;
  if (opset < 13)
    axes = attrInts(node, "axes");
  else if (hasInput(node, 1) && failed(constantInts(node, 1, axes)))
    return failure();
  auto tx = tensorType(x);
  SmallVector<int64_t> shape;
  if (squeeze) {
    std::vector<bool> drop(tx.getRank(), axes.empty());
    if (axes.empty())
      for (int64_t i = 0; i < tx.getRank(); ++i)
        drop[i] = tx.getDimSize(i) == 1;
    for (int64_t a : axes) {
      if (failed(normalizeAxis(a, tx.getRank(), "axis")))
        return failure();
      if (tx.getDimSize(a) != 1)
        return invalid("cannot squeeze dimension " + Twine(a) + " of size " +
                       Twine(tx.getDimSize(a)));
      drop[a] = true;
    }
    for (int64_t i = 0; i < tx.getRank(); ++i)
      if (!drop[i])
        shape.push_back(tx.getDimSize(i));
  } else {
    int64_t rank = tx.getRank() + axes.size();
    std::vector<bool> inserted(rank, false);
    for (int64_t a : axes) {
      if (failed(normalizeAxis(a, rank, "axis")))
        return failure();
      if (inserted[a])
        return invalid("axes repeat " + Twine(a));
      inserted[a] = true;
    }
    int64_t src = 0;
    for (int64_t i = 0; i < rank; ++i)
      shape.push_back(inserted[i] ? 1 : tx.getDimSize(src++));
  }
  define(node, 0, reshape(x, shape, nodeLoc(node)));
  return success();
}

LogicalResult Importer::importConcat(const ox::Node &node) {
  SmallVector<Value> inputs;
  for (size_t i = 0; i < node.inputs.size(); ++i) {
    Value v;
    if (failed(lookup(node, i, v)))
      return failure();
    inputs.push_back(v);
  }
  if (inputs.empty())
    return invalid("Concat needs at least one input");
  auto t0 = tensorType(inputs[0]);
  int64_t axis = attrInt(node, "axis", 0);
  if (failed(normalizeAxis(axis, t0.getRank(), "axis")))
    return failure();
  SmallVector<int64_t> shape(t0.getShape());
  shape[axis] = 0;
  for (Value v : inputs) {
    auto t = tensorType(v);
    if (t.getRank() != t0.getRank() ||
        t.getElementType() != t0.getElementType())
      return invalid("Concat inputs differ in rank or element type");
    for (int64_t d = 0; d < t.getRank(); ++d)
      if (d != axis && t.getDimSize(d) != t0.getDimSize(d))
        return invalid("Concat inputs " + shapeString(t0.getShape()) +
                       " and " + shapeString(t.getShape()) +
                       " differ outside axis " + Twine(axis));
    shape[axis] += t.getDimSize(axis);
  }
  // Zero-element inputs (an empty KV cache: past length 0) contribute
  // nothing; TOSA rejects them, so they are dropped.
  llvm::erase_if(inputs, [](Value v) {
    return tensorType(v).getNumElements() == 0;
  });
  if (inputs.empty()) {
    define(node, 0,
           tensor::EmptyOp::create(builder, nodeLoc(node), shape,
                                   t0.getElementType()));
    return success();
  }
  if (inputs.size() == 1) {
    define(node, 0, inputs[0]);
    return success();
  }
  Value y = tosa::ConcatOp::create(
      builder, nodeLoc(node), RankedTensorType::get(shape, t0.getElementType()),
      inputs, builder.getI32IntegerAttr(axis));
  define(node, 0, y);
  return success();
}

LogicalResult Importer::importSoftmax(const ox::Node &node) {
  Location loc = nodeLoc(node);
  Value x;
  if (failed(lookup(node, 0, x)))
    return failure();
  auto tx = tensorType(x);
  if (!isa<FloatType>(tx.getElementType()))
    return invalid("Softmax needs a float input");
  int64_t axis = attrInt(node, "axis", opset < 13 ? 1 : -1);
  if (failed(normalizeAxis(axis, tx.getRank(), "axis")))
    return failure();
  if (opset < 13 && axis != tx.getRank() - 1) {
    // Before opset 13 Softmax flattened the input to 2-D at `axis`.
    int64_t outer = product(tx.getShape().take_front(axis));
    Value flat =
        reshape(x, {outer, tx.getNumElements() / std::max<int64_t>(outer, 1)},
                loc);
    Value y = nn::SoftmaxOp::create(builder, loc, flat.getType(), flat,
                                    builder.getI64IntegerAttr(1));
    define(node, 0, reshape(y, tx.getShape(), loc));
    return success();
  }
  define(node, 0,
         nn::SoftmaxOp::create(builder, loc, tx, x,
                               builder.getI64IntegerAttr(axis)));
  return success();
}

LogicalResult Importer::importLayerNorm(const ox::Node &node) {
  Value x, scale, bias;
  if (failed(lookup(node, 0, x)) || failed(lookup(node, 1, scale)))
    return failure();
  if (hasInput(node, 2) && failed(lookup(node, 2, bias)))
    return failure();
  for (size_t i = 1; i < node.outputs.size(); ++i)
    if (!node.outputs[i].empty())
      return unsupported("LayerNormalization's Mean/InvStdDev outputs");
  auto tx = tensorType(x);
  int64_t axis = attrInt(node, "axis", -1);
  if (failed(normalizeAxis(axis, tx.getRank(), "axis")))
    return failure();
  Location loc = nodeLoc(node);
  // ONNX lets scale and bias broadcast to the normalised shape; nn wants
  // exactly that shape.
  auto normShape = tx.getShape().drop_front(axis);
  auto fit = [&](Value &v) -> LogicalResult {
    auto t = tensorType(v);
    if (t.getShape() == normShape)
      return success();
    auto b = broadcastShape(t.getShape(), normShape);
    if (failed(b) || ArrayRef<int64_t>(*b) != normShape)
      return invalid("LayerNormalization scale/bias " +
                     shapeString(t.getShape()) + " do not broadcast to " +
                     shapeString(normShape));
    Value zero = splat(t.getElementType(), normShape, 0.0, loc);
    v = tosa::AddOp::create(
        builder, loc, RankedTensorType::get(normShape, t.getElementType()),
        expandRank(v, normShape.size(), loc), zero);
    return success();
  };
  if (failed(fit(scale)) || (bias && failed(fit(bias))))
    return failure();
  Value y = nn::LayerNormOp::create(
      builder, loc, tx, x, scale, bias, builder.getI64IntegerAttr(axis),
      builder.getF32FloatAttr(attrFloat(node, "epsilon", 1e-5f)));
  define(node, 0, y);
  return success();
}

LogicalResult Importer::importRMSNorm(const ox::Node &node) {
  Value x, scale;
  if (failed(lookup(node, 0, x)) || failed(lookup(node, 1, scale)))
    return failure();
  auto tx = tensorType(x);
  if (!isa<FloatType>(tx.getElementType()))
    return invalid("RMSNormalization needs a float input");
  if (tensorType(scale).getElementType() != tx.getElementType())
    return unsupported("RMSNormalization with a scale type different from "
                       "the input's");
  int64_t axis = attrInt(node, "axis", -1);
  if (failed(normalizeAxis(axis, tx.getRank(), "axis")))
    return failure();
  Location loc = nodeLoc(node);
  // As for LayerNormalization: nn wants the scale in the normalised shape.
  auto normShape = tx.getShape().drop_front(axis);
  auto ts = tensorType(scale);
  if (ts.getShape() != normShape) {
    auto b = broadcastShape(ts.getShape(), normShape);
    if (failed(b) || ArrayRef<int64_t>(*b) != normShape)
      return invalid("RMSNormalization scale " + shapeString(ts.getShape()) +
                     " does not broadcast to " + shapeString(normShape));
    Value zero = splat(ts.getElementType(), normShape, 0.0, loc);
    scale = tosa::AddOp::create(
        builder, loc, RankedTensorType::get(normShape, ts.getElementType()),
        expandRank(scale, normShape.size(), loc), zero);
  }
  Value y = nn::RMSNormOp::create(
      builder, loc, tx, x, scale, builder.getI64IntegerAttr(axis),
      builder.getF32FloatAttr(attrFloat(node, "epsilon", 1e-5f)));
  define(node, 0, y);
  return success();
}

LogicalResult Importer::importGlobalAveragePool(const ox::Node &node) {
  Location loc = nodeLoc(node);
  Value x;
  if (failed(lookup(node, 0, x)))
    return failure();
  auto tx = tensorType(x);
  if (tx.getRank() < 3)
    return invalid("GlobalAveragePool needs rank >= 3");
  SmallVector<int64_t> shape(tx.getShape());
  int64_t count = 1;
  Value y = x;
  for (int64_t d = 2; d < tx.getRank(); ++d) {
    count *= shape[d];
    shape[d] = 1;
    y = tosa::ReduceSumOp::create(
        builder, loc, RankedTensorType::get(shape, tx.getElementType()), y,
        builder.getI32IntegerAttr(d));
  }
  auto outType = RankedTensorType::get(shape, tx.getElementType());
  y = tosa::MulOp::create(
      builder, loc, outType, y,
      splat(tx.getElementType(), SmallVector<int64_t>(shape.size(), 1),
            1.0 / count, loc),
      shift(loc));
  define(node, 0, y);
  return success();
}

LogicalResult Importer::importResize(const ox::Node &node) {
  Location loc = nodeLoc(node);
  Value x;
  if (failed(lookup(node, 0, x)))
    return failure();
  auto tx = tensorType(x);
  std::string mode = attrString(node, "mode", "nearest");
  std::string ctm = attrString(node, "coordinate_transformation_mode",
                               opset < 11 ? "asymmetric" : "half_pixel");
  std::string nearestMode =
      attrString(node, "nearest_mode", "round_prefer_floor");
  if (!attrInts(node, "axes").empty())
    return unsupported("Resize with the axes attribute");
  std::vector<double> scales;
  std::vector<int64_t> sizes;
  size_t scalesIndex = opset < 11 ? 1 : 2;
  if (hasInput(node, scalesIndex) && constantOf(node, scalesIndex) &&
      constantOf(node, scalesIndex)->numElements() > 0) {
    if (failed(constantFloats(node, scalesIndex, scales)))
      return failure();
  } else if (opset >= 11 && hasInput(node, 3)) {
    if (failed(constantInts(node, 3, sizes)))
      return failure();
    if (static_cast<int64_t>(sizes.size()) != tx.getRank())
      return invalid("sizes has " + Twine(sizes.size()) + " entries for rank " +
                     Twine(tx.getRank()));
    for (int64_t d = 0; d < tx.getRank(); ++d)
      scales.push_back(static_cast<double>(sizes[d]) / tx.getDimSize(d));
  } else {
    return unsupported("Resize without constant scales or sizes");
  }
  if (static_cast<int64_t>(scales.size()) != tx.getRank())
    return invalid("scales has " + Twine(scales.size()) + " entries for rank " +
                   Twine(tx.getRank()));
  if (mode == "linear") {
    SmallVector<int64_t> outShape;
    for (int64_t d = 0; d < tx.getRank(); ++d)
      outShape.push_back(sizes.empty()
                             ? static_cast<int64_t>(std::floor(
                                   tx.getDimSize(d) * scales[d]))
                             : sizes[d]);
    return importResizeLinear(node, x, scales, outShape);
  }
  if (mode != "nearest")
    return unsupported("Resize mode '" + mode +
                       "' (nearest and linear are supported)");
  // Integer up-sampling factors with floor-style rounding select source
  // element floor(i / s): an affine map, so one linalg.generic does it.
  bool floorLike = (ctm == "asymmetric" && nearestMode == "floor");
  SmallVector<int64_t> factors, outShape;
  for (int64_t d = 0; d < tx.getRank(); ++d) {
    double s = scales[d];
    int64_t f = static_cast<int64_t>(std::llround(s));
    if (std::fabs(s - f) > 1e-6 || f < 1)
      return unsupported("Resize with non-integer scale " +
                         llvm::formatv("{0}", s).str());
    if (f != 1 && !floorLike)
      return unsupported("Resize nearest with coordinate_transformation_mode "
                         "'" + ctm + "' and nearest_mode '" + nearestMode +
                         "'");
    factors.push_back(f);
    outShape.push_back(tx.getDimSize(d) * f);
  }
  int64_t rank = tx.getRank();
  SmallVector<AffineExpr> exprs;
  for (int64_t d = 0; d < rank; ++d)
    exprs.push_back(builder.getAffineDimExpr(d).floorDiv(factors[d]));
  define(node, 0,
         buildAffineCopy(builder, loc, x, AffineMap::get(rank, 0, exprs, ctx),
                         outShape));
  return success();
}

LogicalResult Importer::importGather(const ox::Node &node) {
  // out[o..., i..., r...] = data[o..., indices[i...], r...]: one
  // linalg.generic over the output reads the index and extracts the element.
  Location loc = nodeLoc(node);
  Value data, indices;
  if (failed(lookup(node, 0, data)) || failed(lookup(node, 1, indices)))
    return failure();
  auto td = tensorType(data), ti = tensorType(indices);
  if (!isa<IntegerType>(ti.getElementType()) ||
      ti.getElementType().isInteger(1))
    return invalid("Gather indices must be int32 or int64");
  int64_t axis = attrInt(node, "axis", 0);
  if (td.getRank() < 1 || failed(normalizeAxis(axis, td.getRank(), "axis")))
    return failure();
  SmallVector<int64_t> outShape(td.getShape().take_front(axis));
  llvm::append_range(outShape, ti.getShape());
  llvm::append_range(outShape, td.getShape().drop_front(axis + 1));
  int64_t rank = outShape.size(), ir = ti.getRank();
  SmallVector<AffineExpr> indexExprs;
  for (int64_t d = 0; d < ir; ++d)
    indexExprs.push_back(builder.getAffineDimExpr(axis + d));
  SmallVector<AffineMap> maps = {AffineMap::get(rank, 0, indexExprs, ctx),
                                 builder.getMultiDimIdentityMap(rank)};
  Value init = tensor::EmptyOp::create(builder, loc, outShape,
                                       td.getElementType());
  int64_t axisSize = td.getDimSize(axis);
  auto generic = linalg::GenericOp::create(
      builder, loc, TypeRange{init.getType()}, ValueRange{indices},
      ValueRange{init}, maps,
      SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
      [&](OpBuilder &b, Location l, ValueRange args) {
        Value idx = arith::IndexCastOp::create(b, l, b.getIndexType(), args[0]);
        // Negative indices count from the end, as in ONNX.
        Value zero = arith::ConstantIndexOp::create(b, l, 0);
        Value size = arith::ConstantIndexOp::create(b, l, axisSize);
        Value negative =
            arith::CmpIOp::create(b, l, arith::CmpIPredicate::slt, idx, zero);
        Value wrapped = arith::AddIOp::create(b, l, idx, size);
        idx = arith::SelectOp::create(b, l, negative, wrapped, idx);
        SmallVector<Value> coords;
        for (int64_t d = 0; d < axis; ++d)
          coords.push_back(linalg::IndexOp::create(b, l, d));
        coords.push_back(idx);
        for (int64_t d = axis + ir; d < rank; ++d)
          coords.push_back(linalg::IndexOp::create(b, l, d));
        Value v = tensor::ExtractOp::create(b, l, data, coords);
        linalg::YieldOp::create(b, l, v);
      });
  define(node, 0, generic.getResult(0));
  return success();
}

LogicalResult Importer::importConstant(const ox::Node &node) {
  const ox::Attribute *value = node.findAttribute("value");
  if (!value || value->kind != ox::Attribute::kTensor) {
    // value_int(s) / value_float(s): a scalar or 1-D int64 / float tensor.
    IntTensor ints;
    std::vector<float> floats;
    bool scalar = true, isInt = true;
    if (const ox::Attribute *a = node.findAttribute("value_int");
        a && a->kind == ox::Attribute::kInt) {
      ints.vals = {a->i};
    } else if (const ox::Attribute *a = node.findAttribute("value_ints");
               a && a->kind == ox::Attribute::kInts) {
      ints.vals = a->ints;
      scalar = false;
    } else if (const ox::Attribute *a = node.findAttribute("value_float");
               a && a->kind == ox::Attribute::kFloat) {
      floats = {a->f};
      isInt = false;
    } else if (const ox::Attribute *a = node.findAttribute("value_floats");
               a && a->kind == ox::Attribute::kFloats) {
      floats = a->floats;
      scalar = false;
      isInt = false;
    } else {
      return unsupported("Constant without a tensor, int or float value "
                         "(string and sparse constants)");
    }
    if (isInt) {
      if (!scalar)
        ints.dims = {static_cast<int64_t>(ints.vals.size())};
      return defineKnown(node, 0, ints);
    }
    auto tensor = std::make_shared<ox::Tensor>();
    tensor->name = node.outputs.empty() ? node.name : node.outputs[0];
    tensor->dataType = ox::kFloat;
    if (!scalar)
      tensor->dims = {static_cast<int64_t>(floats.size())};
    auto buffer = std::make_shared<VectorBuffer>();
    buffer->bytes.assign(reinterpret_cast<const char *>(floats.data()),
                         reinterpret_cast<const char *>(floats.data()) +
                             floats.size() * sizeof(float));
    tensor->size = buffer->bytes.size();
    tensor->buffer = std::move(buffer);
    Value v = makeConstant(*tensor, nodeLoc(node));
    if (!v)
      return failure();
    ownedTensors.push_back(tensor);
    constants[tensor->name] = tensor.get();
    define(node, 0, v);
    return success();
  }
  ox::Tensor &t = *value->tensor;
  if (t.name.empty())
    t.name = node.outputs.empty() ? node.name : node.outputs[0];
  Value v = makeConstant(t, nodeLoc(node));
  if (!v)
    return failure();
  constants[node.outputs[0]] = &t;
  define(node, 0, v);
  return success();
}

//===----------------------------------------------------------------------===//
// Integer shape computations known at import time
//===----------------------------------------------------------------------===//

bool Importer::knownInput(const ox::Node &node, size_t index, IntTensor &out) {
  const ox::Tensor *t = constantOf(node, index);
  if (!t)
    return false;
  int64_t n = t->numElements();
  if (n > 0 && !t->bytes())
    return false;
  out.dtype = t->dataType;
  out.dims = t->dims;
  out.vals.clear();
  const char *data = t->bytes();
  switch (t->dataType) {
  case ox::kInt64:
    if (t->size < n * sizeof(int64_t))
      return false;
    for (int64_t i = 0; i < n; ++i) {
      int64_t v;
      std::memcpy(&v, data + i * sizeof(int64_t), sizeof(v));
      out.vals.push_back(v);
    }
    return true;
  case ox::kInt32:
    if (t->size < n * sizeof(int32_t))
      return false;
    for (int64_t i = 0; i < n; ++i) {
      int32_t v;
      std::memcpy(&v, data + i * sizeof(int32_t), sizeof(v));
      out.vals.push_back(v);
    }
    return true;
  case ox::kBool:
    if (t->size < static_cast<size_t>(n))
      return false;
    for (int64_t i = 0; i < n; ++i)
      out.vals.push_back(data[i] != 0);
    return true;
  default:
    return false;
  }
}

LogicalResult Importer::defineKnown(const ox::Node &node, size_t index,
                                    const IntTensor &t) {
  if (index >= node.outputs.size() || node.outputs[index].empty())
    return success();
  auto tensor = std::make_shared<ox::Tensor>();
  tensor->name = node.outputs[index];
  tensor->dataType = t.dtype;
  tensor->dims = t.dims;
  auto buffer = std::make_shared<VectorBuffer>();
  for (int64_t v : t.vals) {
    if (t.dtype == ox::kInt64) {
      const char *p = reinterpret_cast<const char *>(&v);
      buffer->bytes.insert(buffer->bytes.end(), p, p + sizeof(int64_t));
    } else if (t.dtype == ox::kInt32) {
      int32_t w = static_cast<int32_t>(v);
      const char *p = reinterpret_cast<const char *>(&w);
      buffer->bytes.insert(buffer->bytes.end(), p, p + sizeof(int32_t));
    } else if (t.dtype == ox::kFloat) {
      float w = static_cast<float>(v);
      const char *p = reinterpret_cast<const char *>(&w);
      buffer->bytes.insert(buffer->bytes.end(), p, p + sizeof(float));
    } else if (t.dtype == ox::kDouble) {
      double w = static_cast<double>(v);
      const char *p = reinterpret_cast<const char *>(&w);
      buffer->bytes.insert(buffer->bytes.end(), p, p + sizeof(double));
    } else {
      buffer->bytes.push_back(v != 0);
    }
  }
  tensor->size = buffer->bytes.size();
  tensor->buffer = std::move(buffer);
  Value v = makeConstant(*tensor, nodeLoc(node));
  if (!v)
    return failure();
  ownedTensors.push_back(tensor);
  constants[tensor->name] = tensor.get();
  values[tensor->name] = v;
  return success();
}

/// Row-major strides of `dims`.
static SmallVector<int64_t> rowMajorStrides(ArrayRef<int64_t> dims) {
  SmallVector<int64_t> strides(dims.size(), 1);
  for (int64_t d = static_cast<int64_t>(dims.size()) - 2; d >= 0; --d)
    strides[d] = strides[d + 1] * dims[d + 1];
  return strides;
}

FailureOr<bool> Importer::foldKnownInts(const ox::Node &node) {
  static const llvm::StringSet<> foldable = {
      "Add",   "Sub",          "Mul",       "Div",         "Max",
      "Min",   "Mod",          "Equal",     "Less",        "Greater",
      "LessOrEqual", "GreaterOrEqual", "And", "Or",        "Not",
      "Where", "Cast",         "Gather",    "Concat",      "Slice",
      "Expand", "Neg",         "Abs",       "ReduceProd",  "ReduceSum"};
  const std::string &op = node.opType;
  if (!foldable.contains(op) || node.outputs.empty())
    return false;
  std::vector<IntTensor> in(node.inputs.size());
  bool any = false;
  for (size_t i = 0; i < node.inputs.size(); ++i) {
    if (!hasInput(node, i))
      continue;
    if (!knownInput(node, i, in[i]))
      return false;
    any = true;
  }
  if (!any || in[0].dims.size() > 8 || in[0].vals.size() > 4096)
    return false;
  IntTensor out;
  out.dtype = in[0].dtype;
  auto elementwise = [&](ArrayRef<size_t> operands,
                         function_ref<std::optional<int64_t>(ArrayRef<int64_t>)>
                             fn) -> FailureOr<bool> {
    SmallVector<int64_t> shape;
    for (size_t i : operands) {
      auto b = broadcastShape(shape, in[i].dims);
      if (failed(b))
        return failure();
      shape = *b;
    }
    int64_t n = product(shape);
    if (n > 4096)
      return false;
    out.dims.assign(shape.begin(), shape.end());
    SmallVector<int64_t> outStrides = rowMajorStrides(shape);
    for (int64_t flat = 0; flat < n; ++flat) {
      SmallVector<int64_t> args;
      for (size_t i : operands) {
        const IntTensor &t = in[i];
        int64_t lead = shape.size() - t.dims.size(), idx = 0, stride = 1;
        for (int64_t d = t.dims.size() - 1; d >= 0; --d) {
          int64_t coord = (flat / outStrides[lead + d]) % shape[lead + d];
          if (t.dims[d] != 1)
            idx += coord * stride;
          stride *= t.dims[d];
        }
        args.push_back(t.vals[idx]);
      }
      std::optional<int64_t> r = fn(args);
      if (!r)
        return false;
      out.vals.push_back(*r);
    }
    if (failed(defineKnown(node, 0, out)))
      return failure();
    return true;
  };
  if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div" ||
      op == "Mod" || op == "Max" || op == "Min") {
    SmallVector<size_t> operands;
    for (size_t i = 0; i < in.size(); ++i) {
      if (in[i].dtype != out.dtype || out.dtype == ox::kBool)
        return false;
      operands.push_back(i);
    }
    if (operands.size() != 2 && op != "Max" && op != "Min")
      return false;
    bool fmod = attrInt(node, "fmod", 0) != 0;
    return elementwise(operands, [&](ArrayRef<int64_t> a)
                                     -> std::optional<int64_t> {
      int64_t r = a[0];
      for (size_t i = 1; i < a.size(); ++i) {
        int64_t b = a[i];
        if (op == "Add")
          r = r + b;
        else if (op == "Sub")
          r = r - b;
        else if (op == "Mul")
          r = r * b;
        else if (op == "Max")
          r = std::max(r, b);
        else if (op == "Min")
          r = std::min(r, b);
        else if (b == 0)
          return std::nullopt;
        else if (op == "Div")
          r = r / b;
        else {
          int64_t m = r % b;
          if (!fmod && m != 0 && ((m < 0) != (b < 0)))
            m += b;
          r = m;
        }
      }
      return r;
    });
  }
  if (op == "Equal" || op == "Less" || op == "Greater" ||
      op == "LessOrEqual" || op == "GreaterOrEqual" || op == "And" ||
      op == "Or") {
    if (in.size() != 2 || in[0].dtype != in[1].dtype)
      return false;
    out.dtype = ox::kBool;
    return elementwise({0, 1}, [&](ArrayRef<int64_t> a)
                                   -> std::optional<int64_t> {
      if (op == "Equal")
        return a[0] == a[1];
      if (op == "Less")
        return a[0] < a[1];
      if (op == "Greater")
        return a[0] > a[1];
      if (op == "LessOrEqual")
        return a[0] <= a[1];
      if (op == "GreaterOrEqual")
        return a[0] >= a[1];
      if (op == "And")
        return (a[0] != 0) && (a[1] != 0);
      return (a[0] != 0) || (a[1] != 0);
    });
  }
  if (op == "Not" || op == "Neg" || op == "Abs") {
    if ((op == "Not") != (out.dtype == ox::kBool))
      return false;
    return elementwise({0}, [&](ArrayRef<int64_t> a) -> std::optional<int64_t> {
      if (op == "Not")
        return a[0] == 0;
      return op == "Neg" ? -a[0] : std::abs(a[0]);
    });
  }
  if (op == "Where") {
    if (in.size() != 3 || in[0].dtype != ox::kBool ||
        in[1].dtype != in[2].dtype)
      return false;
    out.dtype = in[1].dtype;
    return elementwise({0, 1, 2},
                       [&](ArrayRef<int64_t> a) -> std::optional<int64_t> {
                         return a[0] ? a[1] : a[2];
                       });
  }
  if (op == "Cast") {
    // Integers cast to f32/f64 stay known too (as float constants that
    // Range and friends can read), but no longer as integers.
    int64_t to = attrInt(node, "to", 0);
    if (to != ox::kInt64 && to != ox::kInt32 && to != ox::kBool &&
        to != ox::kFloat && to != ox::kDouble)
      return false;
    out.dtype = static_cast<int32_t>(to);
    return elementwise({0}, [&](ArrayRef<int64_t> a) -> std::optional<int64_t> {
      if (to == ox::kBool)
        return a[0] != 0;
      if (to == ox::kInt32)
        return static_cast<int32_t>(a[0]);
      return a[0];
    });
  }
  if (op == "Expand") {
    if (in.size() != 2)
      return false;
    IntTensor shapeT;
    shapeT.dims = in[1].vals;
    for (int64_t d : shapeT.dims)
      if (d < 0)
        return invalid("Expand shape has a negative dimension");
    shapeT.vals.assign(product(shapeT.dims), 0);
    shapeT.dtype = out.dtype;
    in[1] = shapeT;
    return elementwise({0, 1}, [&](ArrayRef<int64_t> a)
                                   -> std::optional<int64_t> { return a[0]; });
  }
  if (op == "Gather") {
    if (in.size() != 2 || in[0].dims.empty())
      return false;
    int64_t axis = attrInt(node, "axis", 0);
    int64_t rank = in[0].dims.size();
    if (failed(normalizeAxis(axis, rank, "axis")))
      return failure();
    const IntTensor &data = in[0], &idx = in[1];
    int64_t outer = product(ArrayRef<int64_t>(data.dims).take_front(axis));
    int64_t inner = product(ArrayRef<int64_t>(data.dims).drop_front(axis + 1));
    int64_t axisSize = data.dims[axis];
    out.dims.assign(data.dims.begin(), data.dims.begin() + axis);
    out.dims.insert(out.dims.end(), idx.dims.begin(), idx.dims.end());
    out.dims.insert(out.dims.end(), data.dims.begin() + axis + 1,
                    data.dims.end());
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t k : idx.vals) {
        if (k < 0)
          k += axisSize;
        if (k < 0 || k >= axisSize)
          return invalid("Gather index out of range");
        for (int64_t i = 0; i < inner; ++i)
          out.vals.push_back(data.vals[(o * axisSize + k) * inner + i]);
      }
    if (failed(defineKnown(node, 0, out)))
      return failure();
    return true;
  }
  if (op == "Concat") {
    int64_t axis = attrInt(node, "axis", 0);
    int64_t rank = in[0].dims.size();
    if (failed(normalizeAxis(axis, rank, "axis")))
      return failure();
    out.dims = in[0].dims;
    out.dims[axis] = 0;
    for (const IntTensor &t : in) {
      if (t.dims.size() != static_cast<size_t>(rank) || t.dtype != out.dtype)
        return false;
      out.dims[axis] += t.dims[axis];
    }
    int64_t outer = product(ArrayRef<int64_t>(out.dims).take_front(axis));
    for (int64_t o = 0; o < outer; ++o)
      for (const IntTensor &t : in) {
        int64_t chunk = product(ArrayRef<int64_t>(t.dims).drop_front(axis));
        out.vals.insert(out.vals.end(), t.vals.begin() + o * chunk,
                        t.vals.begin() + (o + 1) * chunk);
      }
    if (failed(defineKnown(node, 0, out)))
      return failure();
    return true;
  }
  if (op == "Slice") {
    SmallVector<int64_t> start, size, step;
    if (failed(sliceParams(node, in[0].dims, start, size, step)))
      return failure();
    out.dims.assign(size.begin(), size.end());
    int64_t n = product(size);
    SmallVector<int64_t> outStrides = rowMajorStrides(size);
    SmallVector<int64_t> inStrides = rowMajorStrides(in[0].dims);
    for (int64_t flat = 0; flat < n; ++flat) {
      int64_t idx = 0;
      for (size_t d = 0; d < size.size(); ++d)
        idx += (start[d] + step[d] * ((flat / outStrides[d]) % size[d])) *
               inStrides[d];
      out.vals.push_back(in[0].vals[idx]);
    }
    if (failed(defineKnown(node, 0, out)))
      return failure();
    return true;
  }
  if (op == "ReduceProd" || op == "ReduceSum") {
    // Only the common full reduction of a vector (e.g. a shape's product).
    if (out.dtype == ox::kBool || in[0].dims.size() != 1 || in.size() > 1 ||
        !attrInts(node, "axes").empty())
      return false;
    int64_t r = op == "ReduceProd" ? 1 : 0;
    for (int64_t v : in[0].vals)
      r = op == "ReduceProd" ? r * v : r + v;
    if (attrInt(node, "keepdims", 1))
      out.dims = {1};
    out.vals = {r};
    if (failed(defineKnown(node, 0, out)))
      return failure();
    return true;
  }
  return false;
}

LogicalResult Importer::sliceParams(const ox::Node &node,
                                    ArrayRef<int64_t> shape,
                                    SmallVector<int64_t> &start,
                                    SmallVector<int64_t> &size,
                                    SmallVector<int64_t> &step) {
  std::vector<int64_t> starts, ends, axes, steps;
  if (opset < 10) {
    starts = attrInts(node, "starts");
    ends = attrInts(node, "ends");
    axes = attrInts(node, "axes");
  } else {
    if (failed(constantInts(node, 1, starts)) ||
        failed(constantInts(node, 2, ends)))
      return failure();
    if (hasInput(node, 3) && failed(constantInts(node, 3, axes)))
      return failure();
    if (hasInput(node, 4) && failed(constantInts(node, 4, steps)))
      return failure();
  }
  int64_t rank = shape.size();
  if (axes.empty())
    for (size_t i = 0; i < starts.size(); ++i)
      axes.push_back(i);
  if (steps.empty())
    steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() ||
      steps.size() != starts.size())
    return invalid("Slice starts, ends, axes and steps differ in length");
  start.assign(rank, 0);
  size.assign(shape.begin(), shape.end());
  step.assign(rank, 1);
  std::vector<bool> seen(rank, false);
  for (size_t k = 0; k < starts.size(); ++k) {
    int64_t a = axes[k];
    if (failed(normalizeAxis(a, rank, "axis")))
      return failure();
    if (seen[a])
      return invalid("Slice axes repeat " + Twine(a));
    seen[a] = true;
    int64_t st = steps[k], d = shape[a], s = starts[k], e = ends[k];
    if (st == 0)
      return invalid("Slice step is 0");
    if (s < 0)
      s += d;
    if (e < 0)
      e += d;
    int64_t n = 0;
    if (st > 0) {
      s = std::clamp<int64_t>(s, 0, d);
      e = std::clamp<int64_t>(e, 0, d);
      n = e > s ? (e - s + st - 1) / st : 0;
    } else if (d > 0) {
      s = std::clamp<int64_t>(s, 0, d - 1);
      e = std::clamp<int64_t>(e, -1, d - 1);
      n = s > e ? (s - e - st - 1) / -st : 0;
    }
    start[a] = n ? s : 0;
    size[a] = n;
    step[a] = st;
  }
  return success();
}

Value Importer::fill(Location loc, ArrayRef<int64_t> shape, Type elem,
                     double v) {
  Value init = tensor::EmptyOp::create(builder, loc, shape, elem);
  TypedAttr attr;
  if (auto ft = dyn_cast<FloatType>(elem))
    attr = builder.getFloatAttr(ft, v);
  else
    attr = builder.getIntegerAttr(
        elem, APInt(elem.getIntOrFloatBitWidth(), static_cast<int64_t>(v),
                    /*isSigned=*/true, /*implicitTrunc=*/true));
  Value c = arith::ConstantOp::create(builder, loc, attr);
  return linalg::FillOp::create(builder, loc, ValueRange{c}, ValueRange{init})
      .getResult(0);
}

/// A scalar constant of `type` inside a region body.
static Value scalarConst(OpBuilder &b, Location l, Type type, double v) {
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
static Value floatToIntWrapping(OpBuilder &b, Location l, Value v,
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
static Value convertScalar(OpBuilder &b, Location l, Value v, Type to) {
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

//===----------------------------------------------------------------------===//
// Casts, comparisons, shape and reduction ops
//===----------------------------------------------------------------------===//

LogicalResult Importer::importCast(const ox::Node &node, Type to,
                                   int32_t toIntType) {
  Value x;
  if (failed(lookup(node, 0, x)))
    return failure();
  auto t = tensorType(x);
  auto tracked = intTypes.find(x);
  int32_t fromIntType =
      tracked != intTypes.end() ? tracked->second : int32_t(ox::kUndefined);
  if (fromIntType != ox::kUndefined || toIntType != ox::kUndefined) {
    if (fromIntType == toIntType) {
      define(node, 0, x);
      return success();
    }
    // Integers held in containers (uint8 in i8, int4 in i8, ...): the
    // source widened by its signedness to i32 (exact for all of them), the
    // target wrapped to its bits, ONNX's fixed-point rule; a float source
    // is truncated to int64 first (floatToIntWrapping), so Cast(9.0) to
    // INT4 is -7 (docs/onnx-cast.md).
    Type i32 = builder.getI32Type();
    unsigned bits = ox::subByteBits(toIntType);
    bool toUnsigned = isUnsignedIntType(toIntType);
    Value y = broadcastGeneric(
        nodeLoc(node), t.getShape(), to, {x},
        [&](OpBuilder &b, Location l, ValueRange a) -> Value {
          Value v = a[0];
          if (fromIntType != ox::kUndefined)
            v = isUnsignedIntType(fromIntType)
                    ? arith::ExtUIOp::create(b, l, i32, v).getResult()
                    : arith::ExtSIOp::create(b, l, i32, v).getResult();
          if (toIntType == ox::kUndefined)
            return convertScalar(b, l, v, to);
          if (isa<FloatType>(v.getType()))
            v = floatToIntWrapping(b, l, v, b.getI64Type());
          v = convertScalar(b, l, v, to);
          if (bits) {
            Value shift = scalarConst(b, l, to, 8 - bits);
            v = arith::ShLIOp::create(b, l, v, shift);
            v = toUnsigned
                    ? arith::ShRUIOp::create(b, l, v, shift).getResult()
                    : arith::ShRSIOp::create(b, l, v, shift).getResult();
          }
          return v;
        });
    if (toIntType != ox::kUndefined && isTrackedIntType(toIntType))
      intTypes[y] = toIntType;
    define(node, 0, y);
    return success();
  }
  if (t.getElementType() == to) {
    define(node, 0, x);
    return success();
  }
  define(node, 0,
         broadcastGeneric(nodeLoc(node), t.getShape(), to, {x},
                          [&](OpBuilder &b, Location l, ValueRange a) {
                            return convertScalar(b, l, a[0], to);
                          }));
  return success();
}

LogicalResult Importer::importShape(const ox::Node &node) {
  Value x;
  if (failed(lookup(node, 0, x)))
    return failure();
  auto shape = tensorType(x).getShape();
  int64_t rank = shape.size();
  IntTensor t;
  if (node.opType == "Size") {
    t.vals = {product(shape)};
    return defineKnown(node, 0, t);
  }
  int64_t start = attrInt(node, "start", 0), end = attrInt(node, "end", rank);
  if (start < 0)
    start += rank;
  if (end < 0)
    end += rank;
  start = std::clamp<int64_t>(start, 0, rank);
  end = std::clamp<int64_t>(end, 0, rank);
  for (int64_t i = start; i < end; ++i)
    t.vals.push_back(shape[i]);
  t.dims = {static_cast<int64_t>(t.vals.size())};
  return defineKnown(node, 0, t);
}

LogicalResult Importer::importExpand(const ox::Node &node) {
  Value x;
  if (failed(lookup(node, 0, x)))
    return failure();
  std::vector<int64_t> shape;
  if (failed(constantInts(node, 1, shape)))
    return failure();
  auto tx = tensorType(x);
  for (int64_t d : shape)
    if (d < 0)
      return invalid("Expand shape has a negative dimension " + Twine(d));
  auto out = broadcastShape(tx.getShape(), shape);
  if (failed(out))
    return failure();
  if (ArrayRef<int64_t>(*out) == tx.getShape()) {
    define(node, 0, x);
    return success();
  }
  define(node, 0,
         broadcastGeneric(nodeLoc(node), *out, tx.getElementType(), {x},
                          [](OpBuilder &, Location, ValueRange a) {
                            return a[0];
                          }));
  return success();
}

LogicalResult Importer::importSlice(const ox::Node &node) {
  Location loc = nodeLoc(node);
  Value x;
  if (failed(lookup(node, 0, x)))
    return failure();
  auto tx = tensorType(x);
  SmallVector<int64_t> start, size, step;
  if (failed(sliceParams(node, tx.getShape(), start, size, step)))
    return failure();
  Type elem = tx.getElementType();
  auto outType = RankedTensorType::get(size, elem);
  if (product(size) == 0) {
    define(node, 0, tensor::EmptyOp::create(builder, loc, size, elem));
    return success();
  }
  if (llvm::all_of(step, [](int64_t s) { return s > 0; })) {
    SmallVector<OpFoldResult> offsets, sizes, strides;
    for (size_t d = 0; d < size.size(); ++d) {
      offsets.push_back(builder.getIndexAttr(start[d]));
      sizes.push_back(builder.getIndexAttr(size[d]));
      strides.push_back(builder.getIndexAttr(step[d]));
    }
    Value y = tensor::ExtractSliceOp::create(builder, loc, outType, x, offsets,
                                             sizes, strides);
    define(node, 0, y);
    return success();
  }
  // Negative steps: read input[start + step * i] with one linalg.generic.
  int64_t rank = size.size();
  SmallVector<AffineExpr> exprs;
  for (int64_t d = 0; d < rank; ++d)
    exprs.push_back(builder.getAffineConstantExpr(start[d]) +
                    builder.getAffineDimExpr(d) * step[d]);
  define(node, 0,
         buildAffineCopy(builder, loc, x, AffineMap::get(rank, 0, exprs, ctx),
                         size));
  return success();
}

LogicalResult Importer::importWhere(const ox::Node &node) {
  Value c, x, y;
  if (failed(lookup(node, 0, c)) || failed(lookup(node, 1, x)) ||
      failed(lookup(node, 2, y)))
    return failure();
  auto tc = tensorType(c), tx = tensorType(x), ty = tensorType(y);
  if (!tc.getElementType().isInteger(1))
    return invalid("Where condition must be bool");
  if (tx.getElementType() != ty.getElementType())
    return invalid("Where X and Y element types differ");
  auto s1 = broadcastShape(tc.getShape(), tx.getShape());
  if (failed(s1))
    return failure();
  auto s2 = broadcastShape(*s1, ty.getShape());
  if (failed(s2))
    return failure();
  define(node, 0,
         broadcastGeneric(nodeLoc(node), *s2, tx.getElementType(), {c, x, y},
                          [](OpBuilder &b, Location l, ValueRange a) -> Value {
                            return arith::SelectOp::create(b, l, a[0], a[1],
                                                           a[2]);
                          }));
  return success();
}

LogicalResult Importer::importCompare(const ox::Node &node, StringRef kind) {
  Value a, b;
  if (failed(lookup(node, 0, a)) || failed(lookup(node, 1, b)))
    return failure();
  auto ta = tensorType(a), tb = tensorType(b);
  if (ta.getElementType() != tb.getElementType())
    return invalid("operand element types differ");
  auto shape = broadcastShape(ta.getShape(), tb.getShape());
  if (failed(shape))
    return failure();
  Type elem = ta.getElementType();
  bool isFloat = isa<FloatType>(elem), isBool = elem.isInteger(1);
  auto fp = llvm::StringSwitch<arith::CmpFPredicate>(kind)
                .Case("Equal", arith::CmpFPredicate::OEQ)
                .Case("Less", arith::CmpFPredicate::OLT)
                .Case("Greater", arith::CmpFPredicate::OGT)
                .Case("LessOrEqual", arith::CmpFPredicate::OLE)
                .Default(arith::CmpFPredicate::OGE);
  auto ip = llvm::StringSwitch<arith::CmpIPredicate>(kind)
                .Case("Equal", arith::CmpIPredicate::eq)
                .Case("Less", isBool ? arith::CmpIPredicate::ult
                                     : arith::CmpIPredicate::slt)
                .Case("Greater", isBool ? arith::CmpIPredicate::ugt
                                        : arith::CmpIPredicate::sgt)
                .Case("LessOrEqual", isBool ? arith::CmpIPredicate::ule
                                            : arith::CmpIPredicate::sle)
                .Default(isBool ? arith::CmpIPredicate::uge
                                : arith::CmpIPredicate::sge);
  define(node, 0,
         broadcastGeneric(nodeLoc(node), *shape, builder.getI1Type(), {a, b},
                          [&](OpBuilder &bb, Location l, ValueRange v) -> Value {
                            if (isFloat)
                              return arith::CmpFOp::create(bb, l, fp, v[0],
                                                           v[1]);
                            return arith::CmpIOp::create(bb, l, ip, v[0], v[1]);
                          }));
  return success();
}

LogicalResult Importer::importLogical(const ox::Node &node, StringRef kind) {
  SmallVector<Value> operands;
  size_t n = kind == "Not" ? 1 : 2;
  SmallVector<int64_t> shape;
  for (size_t i = 0; i < n; ++i) {
    Value v;
    if (failed(lookup(node, i, v)))
      return failure();
    if (!tensorType(v).getElementType().isInteger(1))
      return invalid(kind + " needs bool operands");
    auto s = broadcastShape(shape, tensorType(v).getShape());
    if (failed(s))
      return failure();
    shape = *s;
    operands.push_back(v);
  }
  define(node, 0,
         broadcastGeneric(nodeLoc(node), shape, builder.getI1Type(), operands,
                          [&](OpBuilder &b, Location l, ValueRange v) -> Value {
                            if (kind == "Not")
                              return arith::XOrIOp::create(
                                  b, l, v[0],
                                  scalarConst(b, l, b.getI1Type(), 1));
                            if (kind == "And")
                              return arith::AndIOp::create(b, l, v[0], v[1]);
                            if (kind == "Or")
                              return arith::OrIOp::create(b, l, v[0], v[1]);
                            return arith::XOrIOp::create(b, l, v[0], v[1]);
                          }));
  return success();
}

LogicalResult Importer::importRange(const ox::Node &node) {
  Location loc = nodeLoc(node);
  const ox::Tensor *t0 = constantOf(node, 0);
  for (size_t i = 0; i < 3; ++i)
    if (!constantOf(node, i))
      return unsupported("input " + Twine(i) + " ('" +
                         (i < node.inputs.size() ? node.inputs[i] : "") +
                         "') must be a constant");
  int32_t dtype = t0->dataType;
  if (dtype == ox::kInt64 || dtype == ox::kInt32) {
    std::vector<int64_t> s, l, d;
    if (failed(constantInts(node, 0, s)) || failed(constantInts(node, 1, l)) ||
        failed(constantInts(node, 2, d)))
      return failure();
    if (s.size() != 1 || l.size() != 1 || d.size() != 1 || d[0] == 0)
      return invalid("Range needs scalar start, limit and a non-zero delta");
    int64_t n = static_cast<int64_t>(
        std::ceil(static_cast<double>(l[0] - s[0]) / d[0]));
    IntTensor t;
    t.dtype = dtype;
    for (int64_t i = 0; i < n; ++i)
      t.vals.push_back(s[0] + i * d[0]);
    t.dims = {static_cast<int64_t>(t.vals.size())};
    return defineKnown(node, 0, t);
  }
  FailureOr<Type> elem = elementType(dtype, "Range start");
  if (failed(elem))
    return failure();
  if (!isa<FloatType>(*elem))
    return unsupported("Range of this element type");
  // Opset 27 added stash_type, the precision of float16/bfloat16 ranges:
  // FLOAT (the default) or DOUBLE. Earlier opsets compute them as ONNX's
  // reference does, in double.
  int64_t stash = ox::kDouble;
  bool half = elem->isF16() || elem->isBF16();
  if (opset >= 27 && half) {
    stash = attrInt(node, "stash_type", ox::kFloat);
    if (stash != ox::kFloat && stash != ox::kDouble)
      return unsupported("Range with stash_type=" + ox::dataTypeName(stash) +
                         " (FLOAT and DOUBLE are supported)");
  }
  // Start, limit and delta as doubles (float16/bfloat16 bits converted).
  auto scalar = [&](size_t i, std::vector<double> &out) -> LogicalResult {
    const ox::Tensor *t = constantOf(node, i);
    if (!half || t->dataType != dtype)
      return constantFloats(node, i, out);
    out.clear();
    const auto *bits = reinterpret_cast<const uint16_t *>(t->bytes());
    for (int64_t k = 0; k < t->numElements(); ++k)
      out.push_back(
          APFloat(cast<FloatType>(*elem).getFloatSemantics(), APInt(16, bits[k]))
              .convertToDouble());
    return success();
  };
  std::vector<double> s, l, d;
  if (failed(scalar(0, s)) || failed(scalar(1, l)) || failed(scalar(2, d)))
    return failure();
  if (s.size() != 1 || l.size() != 1 || d.size() != 1 || d[0] == 0)
    return invalid("Range needs scalar start, limit and a non-zero delta");
  int64_t n = std::max<int64_t>(
      0, static_cast<int64_t>(std::ceil((l[0] - s[0]) / d[0])));
  std::vector<float> vals;
  for (int64_t i = 0; i < n; ++i)
    vals.push_back(stash == ox::kFloat
                       ? float(s[0]) + float(i) * float(d[0])
                       : static_cast<float>(s[0] + i * d[0]));
  define(node, 0,
         makeFloatConstant({n}, vals, *elem, loc,
                           node.outputs.empty() ? "range" : node.outputs[0]));
  return success();
}

LogicalResult Importer::importReduce(const ox::Node &node, StringRef kind) {
  Location loc = nodeLoc(node);
  Value x;
  if (failed(lookup(node, 0, x)))
    return failure();
  auto tx = tensorType(x);
  int64_t rank = tx.getRank();
  bool axesFromInput = kind == "ReduceSum" ? opset >= 13 : opset >= 18;
  std::vector<int64_t> axes;
  if (!axesFromInput)
    axes = attrInts(node, "axes");
  else if (hasInput(node, 1) && failed(constantInts(node, 1, axes)))
    return failure();
  bool keepdims = attrInt(node, "keepdims", 1) != 0;
  if (axes.empty()) {
    if (attrInt(node, "noop_with_empty_axes", 0)) {
      define(node, 0, x);
      return success();
    }
    for (int64_t d = 0; d < rank; ++d)
      axes.push_back(d);
  }
  std::vector<bool> reduced(rank, false);
  for (int64_t a : axes) {
    if (failed(normalizeAxis(a, rank, "axis")))
      return failure();
    reduced[a] = true;
  }
  Type elem = tx.getElementType();
  bool isFloat = isa<FloatType>(elem), isBool = elem.isInteger(1);
  bool isSum = kind == "ReduceSum" || kind == "ReduceMean" ||
               kind == "ReduceSumSquare" || kind == "ReduceL1" ||
               kind == "ReduceL2" || kind == "ReduceLogSum" ||
               kind == "ReduceLogSumExp";
  bool isMax = kind == "ReduceMax", isMin = kind == "ReduceMin";
  bool isProd = kind == "ReduceProd";
  if (isBool && !isMax && !isMin)
    return unsupported(kind + " of bool tensors");
  if (!isFloat && (kind == "ReduceL2" || kind == "ReduceLogSum" ||
                   kind == "ReduceLogSumExp"))
    return unsupported(kind + " of integer tensors");
  // f16/bf16 accumulate in f32.
  Type acc = isFloat && cast<FloatType>(elem).getWidth() < 32
                 ? Type(builder.getF32Type())
                 : elem;
  SmallVector<int64_t> outShape, keepShape;
  SmallVector<AffineExpr> outExprs;
  SmallVector<utils::IteratorType> iterators;
  int64_t count = 1;
  for (int64_t d = 0; d < rank; ++d) {
    if (reduced[d]) {
      count *= tx.getDimSize(d);
      keepShape.push_back(1);
      iterators.push_back(utils::IteratorType::reduction);
    } else {
      outShape.push_back(tx.getDimSize(d));
      keepShape.push_back(tx.getDimSize(d));
      outExprs.push_back(builder.getAffineDimExpr(d));
      iterators.push_back(utils::IteratorType::parallel);
    }
  }
  double initValue = 0;
  if (isProd)
    initValue = 1;
  if (isMax || isMin) {
    if (isBool)
      initValue = isMax ? 0 : 1;
    else if (isFloat)
      initValue = isMax ? -INFINITY : INFINITY;
    else {
      unsigned w = elem.getIntOrFloatBitWidth();
      initValue = isMax ? -std::ldexp(1.0, w - 1) : std::ldexp(1.0, w - 1) - 1;
    }
  }
  Value init = fill(loc, outShape, acc, initValue);
  // The sum of exponentials is taken relative to the maximum, for range.
  Value maxValue;
  if (kind == "ReduceLogSumExp") {
    SmallVector<AffineMap> maps = {builder.getMultiDimIdentityMap(rank),
                                   AffineMap::get(rank, 0, outExprs, ctx)};
    auto g = linalg::GenericOp::create(
        builder, loc, TypeRange{init.getType()}, ValueRange{x},
        ValueRange{fill(loc, outShape, acc, -INFINITY)}, maps, iterators,
        [&](OpBuilder &b, Location l, ValueRange args) {
          Value v = convertScalar(b, l, args[0], acc);
          linalg::YieldOp::create(b, l,
                                  Value(arith::MaximumFOp::create(b, l, v,
                                                                  args[1])));
        });
    maxValue = g.getResult(0);
  }
  SmallVector<Value> ins = {x};
  SmallVector<AffineMap> maps = {builder.getMultiDimIdentityMap(rank)};
  if (maxValue) {
    ins.push_back(maxValue);
    maps.push_back(AffineMap::get(rank, 0, outExprs, ctx));
  }
  maps.push_back(AffineMap::get(rank, 0, outExprs, ctx));
  auto generic = linalg::GenericOp::create(
      builder, loc, TypeRange{init.getType()}, ins, ValueRange{init}, maps,
      iterators, [&](OpBuilder &b, Location l, ValueRange args) {
        Value v = convertScalar(b, l, args[0], acc), a = args.back();
        Value r;
        if (kind == "ReduceSumSquare" || kind == "ReduceL2")
          v = isFloat ? Value(arith::MulFOp::create(b, l, v, v))
                      : Value(arith::MulIOp::create(b, l, v, v));
        if (kind == "ReduceL1")
          v = isFloat ? Value(math::AbsFOp::create(b, l, v))
                      : Value(math::AbsIOp::create(b, l, v));
        if (kind == "ReduceLogSumExp") {
          // exp(-inf - -inf) would be NaN: an all -inf slice adds 0.
          Value m = args[1];
          Value finite = arith::CmpFOp::create(
              b, l, arith::CmpFPredicate::ONE, m,
              scalarConst(b, l, acc, -INFINITY));
          Value shifted = arith::SubFOp::create(b, l, v, m);
          Value e = math::ExpOp::create(b, l, shifted);
          v = arith::SelectOp::create(b, l, finite, e,
                                      math::ExpOp::create(b, l, v));
        }
        if (isSum)
          r = isFloat ? Value(arith::AddFOp::create(b, l, a, v))
                      : Value(arith::AddIOp::create(b, l, a, v));
        else if (isProd)
          r = isFloat ? Value(arith::MulFOp::create(b, l, a, v))
                      : Value(arith::MulIOp::create(b, l, a, v));
        else if (isBool)
          r = isMax ? Value(arith::OrIOp::create(b, l, a, v))
                    : Value(arith::AndIOp::create(b, l, a, v));
        else if (isFloat)
          r = isMax ? Value(arith::MaximumFOp::create(b, l, a, v))
                    : Value(arith::MinimumFOp::create(b, l, a, v));
        else
          r = isMax ? Value(arith::MaxSIOp::create(b, l, a, v))
                    : Value(arith::MinSIOp::create(b, l, a, v));
        linalg::YieldOp::create(b, l, r);
      });
  Value y = generic.getResult(0);
  if (kind == "ReduceMean" || kind == "ReduceL2" || kind == "ReduceLogSum" ||
      kind == "ReduceLogSumExp" || acc != elem) {
    SmallVector<Value> post = {y};
    if (maxValue)
      post.push_back(maxValue);
    y = broadcastGeneric(
        loc, outShape, elem, post,
        [&](OpBuilder &b, Location l, ValueRange a) -> Value {
          Value v = a[0];
          if (kind == "ReduceMean")
            v = isFloat ? Value(arith::DivFOp::create(
                              b, l, v, scalarConst(b, l, acc, count)))
                        : Value(arith::DivSIOp::create(
                              b, l, v, scalarConst(b, l, acc, count)));
          else if (kind == "ReduceL2")
            v = math::SqrtOp::create(b, l, v);
          else if (kind == "ReduceLogSum")
            v = math::LogOp::create(b, l, v);
          else if (kind == "ReduceLogSumExp") {
            Value m = a[1];
            Value finite = arith::CmpFOp::create(
                b, l, arith::CmpFPredicate::ONE, m,
                scalarConst(b, l, acc, -INFINITY));
            Value lg = math::LogOp::create(b, l, v);
            v = arith::SelectOp::create(
                b, l, finite, arith::AddFOp::create(b, l, lg, m), lg);
          }
          return convertScalar(b, l, v, elem);
        });
  }
  if (keepdims)
    y = product(keepShape) == 0
            ? Value(tensor::EmptyOp::create(builder, loc, keepShape, elem))
            : reshape(y, keepShape, loc);
  define(node, 0, y);
  return success();
}

LogicalResult Importer::importSplit(const ox::Node &node) {
  Location loc = nodeLoc(node);
  Value x;
  if (failed(lookup(node, 0, x)))
    return failure();
  auto tx = tensorType(x);
  int64_t axis = attrInt(node, "axis", 0);
  if (failed(normalizeAxis(axis, tx.getRank(), "axis")))
    return failure();
  int64_t dim = tx.getDimSize(axis);
  std::vector<int64_t> splits;
  if (opset >= 13) {
    if (hasInput(node, 1) && failed(constantInts(node, 1, splits)))
      return failure();
  } else {
    splits = attrInts(node, "split");
  }
  int64_t outputs = node.outputs.size();
  if (splits.empty()) {
    int64_t n = opset >= 18 ? attrInt(node, "num_outputs", outputs) : outputs;
    if (n < 1)
      return invalid("Split needs at least one output");
    int64_t chunk = (dim + n - 1) / n;
    if (opset < 18 && dim % n)
      return invalid("Split of " + Twine(dim) + " into " + Twine(n) +
                     " equal parts");
    for (int64_t i = 0; i < n; ++i)
      splits.push_back(std::max<int64_t>(0, std::min(chunk, dim - i * chunk)));
  }
  if (static_cast<int64_t>(splits.size()) != outputs)
    return invalid("Split has " + Twine(splits.size()) + " parts for " +
                   Twine(outputs) + " outputs");
  int64_t total = 0;
  for (int64_t s : splits) {
    if (s < 0)
      return invalid("Split part sizes must be non-negative");
    total += s;
  }
  if (total != dim)
    return invalid("Split parts sum to " + Twine(total) + ", not " +
                   Twine(dim));
  int64_t offset = 0;
  for (int64_t i = 0; i < outputs; ++i) {
    SmallVector<OpFoldResult> offsets, sizes, strides;
    SmallVector<int64_t> shape(tx.getShape());
    shape[axis] = splits[i];
    for (int64_t d = 0; d < tx.getRank(); ++d) {
      offsets.push_back(builder.getIndexAttr(d == axis ? offset : 0));
      sizes.push_back(builder.getIndexAttr(shape[d]));
      strides.push_back(builder.getIndexAttr(1));
    }
    Value y = splits[i] == 0
                  ? Value(tensor::EmptyOp::create(builder, loc, shape,
                                                  tx.getElementType()))
                  : Value(tensor::ExtractSliceOp::create(
                        builder, loc,
                        RankedTensorType::get(shape, tx.getElementType()), x,
                        offsets, sizes, strides));
    define(node, i, y);
    offset += splits[i];
  }
  return success();
}

LogicalResult Importer::importCumSum(const ox::Node &node) {
  // out[..., i, ...] = sum over k of x[..., k, ...] where k <= i (k < i when
  // exclusive, >= / > when reversed): one generic with an extra reduction
  // loop over k.
  Location loc = nodeLoc(node);
  Value x;
  if (failed(lookup(node, 0, x)))
    return failure();
  std::vector<int64_t> axisV;
  if (failed(constantInts(node, 1, axisV)))
    return failure();
  if (axisV.size() != 1)
    return invalid("CumSum axis must be a scalar");
  auto tx = tensorType(x);
  int64_t rank = tx.getRank(), axis = axisV[0];
  if (rank < 1 || failed(normalizeAxis(axis, rank, "axis")))
    return failure();
  bool exclusive = attrInt(node, "exclusive", 0) != 0;
  bool reverse = attrInt(node, "reverse", 0) != 0;
  Type elem = tx.getElementType();
  if (elem.isInteger(1))
    return invalid("CumSum of bool");
  bool isFloat = isa<FloatType>(elem);
  SmallVector<AffineExpr> inExprs, outExprs;
  for (int64_t d = 0; d < rank; ++d) {
    inExprs.push_back(builder.getAffineDimExpr(d == axis ? rank : d));
    outExprs.push_back(builder.getAffineDimExpr(d));
  }
  SmallVector<AffineMap> maps = {AffineMap::get(rank + 1, 0, inExprs, ctx),
                                 AffineMap::get(rank + 1, 0, outExprs, ctx)};
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  iterators.push_back(utils::IteratorType::reduction);
  auto pred = reverse ? (exclusive ? arith::CmpIPredicate::sgt
                                   : arith::CmpIPredicate::sge)
                      : (exclusive ? arith::CmpIPredicate::slt
                                   : arith::CmpIPredicate::sle);
  Value init = fill(loc, tx.getShape(), elem, 0);
  auto generic = linalg::GenericOp::create(
      builder, loc, TypeRange{init.getType()}, ValueRange{x}, ValueRange{init},
      maps, iterators, [&](OpBuilder &b, Location l, ValueRange args) {
        Value i = linalg::IndexOp::create(b, l, axis);
        Value k = linalg::IndexOp::create(b, l, rank);
        Value take = arith::CmpIOp::create(b, l, pred, k, i);
        Value v = arith::SelectOp::create(b, l, take, args[0],
                                          scalarConst(b, l, elem, 0));
        Value r = isFloat ? Value(arith::AddFOp::create(b, l, args[1], v))
                          : Value(arith::AddIOp::create(b, l, args[1], v));
        linalg::YieldOp::create(b, l, r);
      });
  define(node, 0, generic.getResult(0));
  return success();
}

LogicalResult Importer::importTrilu(const ox::Node &node) {
  Value x;
  if (failed(lookup(node, 0, x)))
    return failure();
  auto tx = tensorType(x);
  int64_t rank = tx.getRank();
  if (rank < 2)
    return invalid("Trilu input must have rank >= 2");
  int64_t k = 0;
  if (hasInput(node, 1)) {
    std::vector<int64_t> kv;
    if (failed(constantInts(node, 1, kv)))
      return failure();
    if (kv.size() != 1)
      return invalid("Trilu k must be a scalar");
    k = kv[0];
  }
  bool upper = attrInt(node, "upper", 1) != 0;
  Type elem = tx.getElementType();
  define(node, 0,
         broadcastGeneric(
             nodeLoc(node), tx.getShape(), elem, {x},
             [&](OpBuilder &b, Location l, ValueRange a) -> Value {
               Value i = linalg::IndexOp::create(b, l, rank - 2);
               Value j = linalg::IndexOp::create(b, l, rank - 1);
               Value diff = arith::SubIOp::create(b, l, j, i);
               Value kc = arith::ConstantIndexOp::create(b, l, k);
               Value keep = arith::CmpIOp::create(
                   b, l,
                   upper ? arith::CmpIPredicate::sge : arith::CmpIPredicate::sle,
                   diff, kc);
               return arith::SelectOp::create(b, l, keep, a[0],
                                              scalarConst(b, l, elem, 0));
             }));
  return success();
}

LogicalResult Importer::importMathUnary(const ox::Node &node, StringRef kind) {
  Value x;
  if (failed(lookup(node, 0, x)))
    return failure();
  auto t = tensorType(x);
  Type elem = t.getElementType();
  bool isFloat = isa<FloatType>(elem);
  if (!isFloat && kind != "Sign")
    return unsupported(kind + " on " + llvm::formatv("{0}", elem).str() +
                       " tensors");
  double alpha = attrFloat(node, "alpha", kind == "Selu" ? 1.67326319217681884765625f
                                                         : 1.0f);
  double gamma = attrFloat(node, "gamma", 1.05070102214813232421875f);
  std::string approximate = attrString(node, "approximate", "none");
  if (kind == "Gelu" && approximate != "none" && approximate != "tanh")
    return invalid("Gelu approximate must be 'none' or 'tanh'");
  // f32 Gelu is the graph op nn.gelu, the op fuse-gelu forms from the
  // decomposed Erf / Tanh forms, so later passes find it either way.
  if (kind == "Gelu" && elem.isF32()) {
    define(node, 0,
           nn::GeluOp::create(builder, nodeLoc(node), t, x,
                              builder.getStringAttr(approximate)));
    return success();
  }
  // Work in f32 for narrower floats.
  Type work = isFloat && cast<FloatType>(elem).getWidth() < 32
                  ? Type(builder.getF32Type())
                  : elem;
  define(node, 0,
         broadcastGeneric(
             nodeLoc(node), t.getShape(), elem, {x},
             [&](OpBuilder &b, Location l, ValueRange a) -> Value {
               Value v = convertScalar(b, l, a[0], work);
               auto c = [&](double d) { return scalarConst(b, l, work, d); };
               Value r;
               if (kind == "Sign") {
                 if (isFloat) {
                   Value pos = arith::CmpFOp::create(
                       b, l, arith::CmpFPredicate::OGT, v, c(0));
                   Value neg = arith::CmpFOp::create(
                       b, l, arith::CmpFPredicate::OLT, v, c(0));
                   r = arith::SelectOp::create(
                       b, l, pos, c(1),
                       arith::SelectOp::create(b, l, neg, c(-1), c(0)));
                 } else {
                   Value pos = arith::CmpIOp::create(
                       b, l, arith::CmpIPredicate::sgt, v, c(0));
                   Value neg = arith::CmpIOp::create(
                       b, l, arith::CmpIPredicate::slt, v, c(0));
                   r = arith::SelectOp::create(
                       b, l, pos, c(1),
                       arith::SelectOp::create(b, l, neg, c(-1), c(0)));
                 }
               } else if (kind == "Sin")
                 r = math::SinOp::create(b, l, v);
               else if (kind == "Cos")
                 r = math::CosOp::create(b, l, v);
               else if (kind == "Tan")
                 r = math::TanOp::create(b, l, v);
               else if (kind == "Atan")
                 r = math::AtanOp::create(b, l, v);
               else if (kind == "Sinh")
                 r = math::SinhOp::create(b, l, v);
               else if (kind == "Cosh")
                 r = math::CoshOp::create(b, l, v);
               else if (kind == "Floor")
                 r = math::FloorOp::create(b, l, v);
               else if (kind == "Ceil")
                 r = math::CeilOp::create(b, l, v);
               else if (kind == "Round")
                 r = math::RoundEvenOp::create(b, l, v);
               else if (kind == "Softplus") {
                 // log(1 + e^x) = max(x, 0) + log1p(e^-|x|), without overflow.
                 Value m = arith::MaximumFOp::create(b, l, v, c(0));
                 Value na = arith::NegFOp::create(
                     b, l, math::AbsFOp::create(b, l, v));
                 r = arith::AddFOp::create(
                     b, l, m,
                     math::Log1pOp::create(b, l,
                                           math::ExpOp::create(b, l, na)));
               } else if (kind == "Softsign") {
                 Value d = arith::AddFOp::create(
                     b, l, c(1), math::AbsFOp::create(b, l, v));
                 r = arith::DivFOp::create(b, l, v, d);
               } else if (kind == "Elu" || kind == "Selu") {
                 Value neg = arith::MulFOp::create(
                     b, l, c(alpha), math::ExpM1Op::create(b, l, v));
                 Value isNeg = arith::CmpFOp::create(
                     b, l,
                     kind == "Elu" ? arith::CmpFPredicate::OLT
                                   : arith::CmpFPredicate::OLE,
                     v, c(0));
                 r = arith::SelectOp::create(b, l, isNeg, neg, v);
                 if (kind == "Selu")
                   r = arith::MulFOp::create(b, l, r, c(gamma));
               } else { // Gelu
                 Value inner;
                 if (approximate == "tanh") {
                   Value x3 = arith::MulFOp::create(
                       b, l, v, arith::MulFOp::create(b, l, v, v));
                   Value s = arith::AddFOp::create(
                       b, l, v, arith::MulFOp::create(b, l, c(0.044715), x3));
                   inner = math::TanhOp::create(
                       b, l,
                       arith::MulFOp::create(b, l, c(std::sqrt(2.0 / M_PI)),
                                             s));
                 } else {
                   inner = math::ErfOp::create(
                       b, l, arith::MulFOp::create(b, l, v, c(M_SQRT1_2)));
                 }
                 Value h = arith::MulFOp::create(b, l, c(0.5), v);
                 r = arith::MulFOp::create(
                     b, l, h, arith::AddFOp::create(b, l, c(1), inner));
               }
               return convertScalar(b, l, r, elem);
             }));
  return success();
}

LogicalResult Importer::importConstantOfShape(const ox::Node &node) {
  Location loc = nodeLoc(node);
  std::vector<int64_t> shape;
  if (failed(constantInts(node, 0, shape)))
    return failure();
  for (int64_t d : shape)
    if (d < 0)
      return invalid("ConstantOfShape has a negative dimension");
  const ox::Attribute *valueAttr = node.findAttribute("value");
  int32_t dtype = ox::kFloat;
  double v = 0;
  if (valueAttr && valueAttr->kind == ox::Attribute::kTensor) {
    const ox::Tensor &t = *valueAttr->tensor;
    if (t.numElements() != 1)
      return invalid("ConstantOfShape value must have one element");
    dtype = t.dataType;
    if (dtype == ox::kBool) {
      v = t.bytes()[0] != 0;
    } else {
      std::vector<double> vals;
      std::string error;
      if (failed(readConstantAs(t, vals, error)))
        return unsupported("ConstantOfShape value " + error);
      v = vals[0];
    }
  }
  int64_t n = product(shape);
  if ((dtype == ox::kInt64 || dtype == ox::kInt32 || dtype == ox::kBool) &&
      n <= 4096) {
    IntTensor t;
    t.dtype = dtype;
    t.dims = shape;
    t.vals.assign(n, static_cast<int64_t>(v));
    return defineKnown(node, 0, t);
  }
  FailureOr<Type> elem = elementType(dtype, "ConstantOfShape value");
  if (failed(elem))
    return failure();
  auto type = RankedTensorType::get(shape, *elem);
  TypedAttr attr;
  if (auto ft = dyn_cast<FloatType>(*elem))
    attr = builder.getFloatAttr(ft, v);
  else
    attr = builder.getIntegerAttr(
        *elem, APInt((*elem).getIntOrFloatBitWidth(), static_cast<int64_t>(v),
                     /*isSigned=*/true, /*implicitTrunc=*/true));
  define(node, 0,
         arith::ConstantOp::create(builder, loc,
                                   SplatElementsAttr::get(type, attr)));
  return success();
}

//===----------------------------------------------------------------------===//
// Pooling, padding and CNN odds and ends
//===----------------------------------------------------------------------===//

LogicalResult Importer::importPool(const ox::Node &node, bool isMax) {
  Location loc = nodeLoc(node);
  Value x;
  if (failed(lookup(node, 0, x)))
    return failure();
  auto tx = tensorType(x);
  if (tx.getRank() != 4)
    return unsupported("only 2-D pooling (rank-4 NCHW input) is supported, "
                       "got " + shapeString(tx.getShape()));
  if (node.outputs.size() > 1 && !node.outputs[1].empty())
    return unsupported("MaxPool's Indices output");
  Type elem = tx.getElementType();
  bool isFloat = isa<FloatType>(elem);
  if (!isFloat && (!isMax || elem.isInteger(1)))
    return unsupported("pooling of " + llvm::formatv("{0}", elem).str() +
                       " tensors");
  std::vector<int64_t> kernel = attrInts(node, "kernel_shape");
  std::vector<int64_t> strides = attrInts(node, "strides");
  std::vector<int64_t> dilations = attrInts(node, "dilations");
  if (strides.empty())
    strides = {1, 1};
  if (dilations.empty())
    dilations = {1, 1};
  if (kernel.size() != 2 || strides.size() != 2 || dilations.size() != 2)
    return invalid("kernel_shape, strides and dilations need 2 values");
  bool ceilMode = attrInt(node, "ceil_mode", 0) != 0;
  bool countPad = attrInt(node, "count_include_pad", 0) != 0;
  SmallVector<int64_t> pads;
  if (failed(computeConvPads(node, tx.getShape().drop_front(2), kernel,
                             strides, dilations, pads)))
    return failure();
  int64_t in[2] = {tx.getDimSize(2), tx.getDimSize(3)};
  int64_t out[2], extra[2], span[2];
  for (int i = 0; i < 2; ++i) {
    if (kernel[i] < 1 || strides[i] < 1 || dilations[i] < 1)
      return invalid("kernel_shape, strides and dilations must be positive");
    int64_t padded = in[i] + pads[i] + pads[2 + i];
    span[i] = dilations[i] * (kernel[i] - 1) + 1;
    if (padded < span[i])
      return invalid("the pooling window does not fit the padded input");
    if (ceilMode) {
      out[i] = (padded - span[i] + strides[i] - 1) / strides[i] + 1;
      // The last window must start inside the input or its leading padding.
      if ((out[i] - 1) * strides[i] >= in[i] + pads[i])
        --out[i];
    } else {
      out[i] = (padded - span[i]) / strides[i] + 1;
    }
    extra[i] = std::max<int64_t>(0, (out[i] - 1) * strides[i] + span[i] -
                                        padded);
  }
  Type acc = isFloat && cast<FloatType>(elem).getWidth() < 32
                 ? Type(builder.getF32Type())
                 : elem;
  double padValue = 0;
  if (isMax)
    padValue = isFloat ? -INFINITY
                       : -std::ldexp(1.0, elem.getIntOrFloatBitWidth() - 1);
  Value src = x;
  if (pads[0] || pads[1] || pads[2] || pads[3] || extra[0] || extra[1]) {
    SmallVector<int64_t> paddedShape = {
        tx.getDimSize(0), tx.getDimSize(1),
        in[0] + pads[0] + pads[2] + extra[0],
        in[1] + pads[1] + pads[3] + extra[1]};
    Value base = fill(loc, paddedShape, elem, padValue);
    SmallVector<OpFoldResult> offsets = {
        builder.getIndexAttr(0), builder.getIndexAttr(0),
        builder.getIndexAttr(pads[0]), builder.getIndexAttr(pads[1])};
    SmallVector<OpFoldResult> sizes, steps;
    for (int64_t d : tx.getShape()) {
      sizes.push_back(builder.getIndexAttr(d));
      steps.push_back(builder.getIndexAttr(1));
    }
    src = tensor::InsertSliceOp::create(builder, loc, x, base, offsets, sizes,
                                        steps);
  }
  SmallVector<int64_t> outShape = {tx.getDimSize(0), tx.getDimSize(1), out[0],
                                   out[1]};
  auto d = [&](unsigned i) { return builder.getAffineDimExpr(i); };
  SmallVector<AffineMap> maps = {
      AffineMap::get(6, 0,
                     {d(0), d(1), d(2) * strides[0] + d(4) * dilations[0],
                      d(3) * strides[1] + d(5) * dilations[1]},
                     ctx),
      AffineMap::get(6, 0, {d(4), d(5)}, ctx),
      AffineMap::get(6, 0, {d(0), d(1), d(2), d(3)}, ctx)};
  SmallVector<utils::IteratorType> iterators(4, utils::IteratorType::parallel);
  iterators.append(2, utils::IteratorType::reduction);
  Value window = tensor::EmptyOp::create(builder, loc, kernel, acc);
  Value init = fill(loc, outShape, acc, isMax ? padValue : 0.0);
  auto generic = linalg::GenericOp::create(
      builder, loc, TypeRange{init.getType()}, ValueRange{src, window},
      ValueRange{init}, maps, iterators,
      [&](OpBuilder &b, Location l, ValueRange args) {
        Value v = convertScalar(b, l, args[0], acc), a = args[2];
        Value r;
        if (!isMax)
          r = arith::AddFOp::create(b, l, a, v);
        else if (isFloat)
          r = arith::MaximumFOp::create(b, l, a, v);
        else
          r = arith::MaxSIOp::create(b, l, a, v);
        linalg::YieldOp::create(b, l, r);
      });
  Value y = generic.getResult(0);
  if (!isMax) {
    // Divisors per output position, known statically.
    std::vector<float> counts;
    for (int64_t oh = 0; oh < out[0]; ++oh)
      for (int64_t ow = 0; ow < out[1]; ++ow) {
        int64_t c[2] = {0, 0}, o[2] = {oh, ow};
        for (int i = 0; i < 2; ++i)
          for (int64_t t = 0; t < kernel[i]; ++t) {
            int64_t p = o[i] * strides[i] - pads[i] + t * dilations[i];
            bool inside = countPad ? p >= -pads[i] && p < in[i] + pads[2 + i]
                                   : p >= 0 && p < in[i];
            c[i] += inside;
          }
        counts.push_back(static_cast<float>(std::max<int64_t>(1, c[0] * c[1])));
      }
    Value divisors = makeFloatConstant(
        {1, 1, out[0], out[1]}, counts, acc, loc,
        (node.outputs[0] + "_divisors"));
    y = broadcastGeneric(loc, outShape, elem, {y, divisors},
                         [&](OpBuilder &b, Location l, ValueRange a) {
                           return convertScalar(
                               b, l, arith::DivFOp::create(b, l, a[0], a[1]),
                               elem);
                         });
  } else if (acc != elem) {
    y = broadcastGeneric(loc, outShape, elem, {y},
                         [&](OpBuilder &b, Location l, ValueRange a) {
                           return convertScalar(b, l, a[0], elem);
                         });
  }
  define(node, 0, y);
  return success();
}

LogicalResult Importer::importPad(const ox::Node &node) {
  Location loc = nodeLoc(node);
  Value x;
  if (failed(lookup(node, 0, x)))
    return failure();
  auto tx = tensorType(x);
  int64_t rank = tx.getRank();
  Type elem = tx.getElementType();
  std::string mode = attrString(node, "mode", "constant");
  std::vector<int64_t> pads, axes;
  double value = 0;
  Value runtimeValue;
  if (opset < 11) {
    pads = attrInts(node, "pads");
    if (pads.empty())
      pads = attrInts(node, "paddings");
    value = attrFloat(node, "value", 0.0f);
  } else {
    if (failed(constantInts(node, 1, pads)))
      return failure();
    if (hasInput(node, 2) && !constantOf(node, 2)) {
      // A value known only at run time: a scalar operand of the generic.
      if (failed(lookup(node, 2, runtimeValue)))
        return failure();
      if (tensorType(runtimeValue).getNumElements() != 1 ||
          tensorType(runtimeValue).getElementType() != elem)
        return invalid("Pad constant_value must be a scalar of the input's "
                       "type");
      runtimeValue = reshape(runtimeValue, {}, loc);
    } else if (hasInput(node, 2)) {
      std::vector<double> v;
      if (failed(constantFloats(node, 2, v)))
        return failure();
      if (v.size() != 1)
        return invalid("Pad constant_value must be a scalar");
      value = v[0];
    }
    if (hasInput(node, 3) && failed(constantInts(node, 3, axes)))
      return failure();
  }
  if (axes.empty())
    for (int64_t d = 0; d < rank; ++d)
      axes.push_back(d);
  if (pads.size() != 2 * axes.size())
    return invalid("Pad pads has " + Twine(pads.size()) + " values for " +
                   Twine(axes.size()) + " axes");
  SmallVector<int64_t> before(rank, 0), after(rank, 0), outShape;
  for (size_t k = 0; k < axes.size(); ++k) {
    int64_t a = axes[k];
    if (failed(normalizeAxis(a, rank, "axis")))
      return failure();
    before[a] = pads[k];
    after[a] = pads[k + axes.size()];
  }
  if (mode != "constant" && mode != "edge" && mode != "reflect" &&
      mode != "wrap")
    return invalid("unknown Pad mode '" + mode + "'");
  for (int64_t d = 0; d < rank; ++d) {
    int64_t dim = tx.getDimSize(d);
    outShape.push_back(dim + before[d] + after[d]);
    if (outShape.back() < 0)
      return invalid("Pad removes more than dimension " + Twine(d) + " has");
    if (mode == "reflect" && (before[d] >= dim || after[d] >= dim) &&
        (before[d] > 0 || after[d] > 0))
      return unsupported("reflect Pad by at least the dimension's size");
  }
  if (product(outShape) == 0) {
    define(node, 0, tensor::EmptyOp::create(builder, loc, outShape, elem));
    return success();
  }
  define(node, 0,
         broadcastGeneric(
             loc, outShape, elem,
             runtimeValue ? ValueRange{runtimeValue} : ValueRange{},
             [&](OpBuilder &b, Location l, ValueRange args) -> Value {
               SmallVector<Value> coords;
               Value inside;
               Value zero = arith::ConstantIndexOp::create(b, l, 0);
               for (int64_t d = 0; d < rank; ++d) {
                 int64_t dim = tx.getDimSize(d);
                 Value o = linalg::IndexOp::create(b, l, d);
                 Value i = arith::SubIOp::create(
                     b, l, o, arith::ConstantIndexOp::create(b, l, before[d]));
                 Value last = arith::ConstantIndexOp::create(b, l, dim - 1);
                 Value size = arith::ConstantIndexOp::create(b, l, dim);
                 if (mode == "reflect") {
                   Value neg = arith::CmpIOp::create(
                       b, l, arith::CmpIPredicate::slt, i, zero);
                   i = arith::SelectOp::create(
                       b, l, neg, arith::SubIOp::create(b, l, zero, i), i);
                   Value high = arith::CmpIOp::create(
                       b, l, arith::CmpIPredicate::sgt, i, last);
                   Value twice = arith::ConstantIndexOp::create(b, l,
                                                                2 * (dim - 1));
                   i = arith::SelectOp::create(
                       b, l, high, arith::SubIOp::create(b, l, twice, i), i);
                 } else if (mode == "wrap") {
                   Value r = arith::RemSIOp::create(b, l, i, size);
                   Value neg = arith::CmpIOp::create(
                       b, l, arith::CmpIPredicate::slt, r, zero);
                   i = arith::SelectOp::create(
                       b, l, neg, arith::AddIOp::create(b, l, r, size), r);
                 } else {
                   if (mode == "constant") {
                     Value ge = arith::CmpIOp::create(
                         b, l, arith::CmpIPredicate::sge, i, zero);
                     Value le = arith::CmpIOp::create(
                         b, l, arith::CmpIPredicate::sle, i, last);
                     Value in = arith::AndIOp::create(b, l, ge, le);
                     inside = inside ? Value(arith::AndIOp::create(b, l,
                                                                   inside, in))
                                     : in;
                   }
                   i = arith::MaxSIOp::create(b, l, i, zero);
                   i = arith::MinSIOp::create(b, l, i, last);
                 }
                 coords.push_back(i);
               }
               Value v = tensor::ExtractOp::create(b, l, x, coords);
               if (inside)
                 v = arith::SelectOp::create(
                     b, l, inside, v,
                     runtimeValue ? args[0] : scalarConst(b, l, elem, value));
               return v;
             }));
  return success();
}

LogicalResult Importer::importPRelu(const ox::Node &node) {
  Value x, slope;
  if (failed(lookup(node, 0, x)) || failed(lookup(node, 1, slope)))
    return failure();
  auto tx = tensorType(x), ts = tensorType(slope);
  Type elem = tx.getElementType();
  if (ts.getElementType() != elem)
    return invalid("PRelu slope and input element types differ");
  auto shape = broadcastShape(tx.getShape(), ts.getShape());
  if (failed(shape))
    return failure();
  bool isFloat = isa<FloatType>(elem);
  define(node, 0,
         broadcastGeneric(
             nodeLoc(node), *shape, elem, {x, slope},
             [&](OpBuilder &b, Location l, ValueRange a) -> Value {
               Value zero = scalarConst(b, l, elem, 0);
               Value neg =
                   isFloat ? Value(arith::CmpFOp::create(
                                 b, l, arith::CmpFPredicate::OLT, a[0], zero))
                           : Value(arith::CmpIOp::create(
                                 b, l, arith::CmpIPredicate::slt, a[0], zero));
               Value m = isFloat
                             ? Value(arith::MulFOp::create(b, l, a[0], a[1]))
                             : Value(arith::MulIOp::create(b, l, a[0], a[1]));
               return arith::SelectOp::create(b, l, neg, m, a[0]);
             }));
  return success();
}

LogicalResult Importer::importTile(const ox::Node &node) {
  Location loc = nodeLoc(node);
  Value x;
  if (failed(lookup(node, 0, x)))
    return failure();
  std::vector<int64_t> repeats;
  if (failed(constantInts(node, 1, repeats)))
    return failure();
  auto tx = tensorType(x);
  int64_t rank = tx.getRank();
  if (static_cast<int64_t>(repeats.size()) != rank)
    return invalid("Tile repeats has " + Twine(repeats.size()) +
                   " values for rank " + Twine(rank));
  SmallVector<int64_t> outShape;
  SmallVector<AffineExpr> exprs;
  for (int64_t d = 0; d < rank; ++d) {
    if (repeats[d] < 0)
      return invalid("Tile repeats must be non-negative");
    int64_t dim = tx.getDimSize(d);
    outShape.push_back(dim * repeats[d]);
    exprs.push_back(dim == 1 ? builder.getAffineConstantExpr(0)
                    : repeats[d] == 1
                        ? builder.getAffineDimExpr(d)
                        : builder.getAffineDimExpr(d) % dim);
  }
  if (product(outShape) == 0) {
    define(node, 0,
           tensor::EmptyOp::create(builder, loc, outShape,
                                   tx.getElementType()));
    return success();
  }
  define(node, 0,
         buildAffineCopy(builder, loc, x, AffineMap::get(rank, 0, exprs, ctx),
                         outShape));
  return success();
}

LogicalResult Importer::importArgMinMax(const ox::Node &node, bool isMax) {
  Location loc = nodeLoc(node);
  Value x;
  if (failed(lookup(node, 0, x)))
    return failure();
  auto tx = tensorType(x);
  int64_t rank = tx.getRank();
  int64_t axis = attrInt(node, "axis", 0);
  if (rank < 1 || failed(normalizeAxis(axis, rank, "axis")))
    return failure();
  bool keepdims = attrInt(node, "keepdims", 1) != 0;
  bool last = attrInt(node, "select_last_index", 0) != 0;
  Type elem = tx.getElementType();
  if (elem.isInteger(1))
    return unsupported(node.opType + " of bool tensors");
  bool isFloat = isa<FloatType>(elem);
  SmallVector<int64_t> outShape, keepShape(tx.getShape());
  keepShape[axis] = 1;
  SmallVector<AffineExpr> outExprs;
  SmallVector<utils::IteratorType> iterators;
  for (int64_t d = 0; d < rank; ++d) {
    iterators.push_back(d == axis ? utils::IteratorType::reduction
                                  : utils::IteratorType::parallel);
    if (d != axis) {
      outShape.push_back(tx.getDimSize(d));
      outExprs.push_back(builder.getAffineDimExpr(d));
    }
  }
  double initValue =
      isFloat ? (isMax ? -INFINITY : INFINITY)
              : (isMax ? -std::ldexp(1.0, elem.getIntOrFloatBitWidth() - 1)
                       : std::ldexp(1.0, elem.getIntOrFloatBitWidth() - 1) - 1);
  Value bestInit = fill(loc, outShape, elem, initValue);
  Value indexInit = fill(loc, outShape, builder.getI64Type(), 0);
  AffineMap outMap = AffineMap::get(rank, 0, outExprs, ctx);
  SmallVector<AffineMap> maps = {builder.getMultiDimIdentityMap(rank), outMap,
                                 outMap};
  auto fp = isMax ? (last ? arith::CmpFPredicate::OGE
                          : arith::CmpFPredicate::OGT)
                  : (last ? arith::CmpFPredicate::OLE
                          : arith::CmpFPredicate::OLT);
  auto ip = isMax ? (last ? arith::CmpIPredicate::sge
                          : arith::CmpIPredicate::sgt)
                  : (last ? arith::CmpIPredicate::sle
                          : arith::CmpIPredicate::slt);
  auto generic = linalg::GenericOp::create(
      builder, loc, TypeRange{bestInit.getType(), indexInit.getType()},
      ValueRange{x}, ValueRange{bestInit, indexInit}, maps, iterators,
      [&](OpBuilder &b, Location l, ValueRange args) {
        Value k = arith::IndexCastOp::create(
            b, l, b.getI64Type(), linalg::IndexOp::create(b, l, axis));
        Value better =
            isFloat ? Value(arith::CmpFOp::create(b, l, fp, args[0], args[1]))
                    : Value(arith::CmpIOp::create(b, l, ip, args[0], args[1]));
        // The first element always wins, so that an all -inf (or NaN-free
        // extreme) slice still reports a valid index.
        Value first = arith::CmpIOp::create(
            b, l, arith::CmpIPredicate::eq, k,
            arith::ConstantOp::create(b, l, b.getI64IntegerAttr(0)));
        better = arith::OrIOp::create(b, l, better, first);
        linalg::YieldOp::create(
            b, l,
            ValueRange{arith::SelectOp::create(b, l, better, args[0], args[1]),
                       arith::SelectOp::create(b, l, better, k, args[2])});
      });
  Value y = generic.getResult(1);
  if (keepdims)
    y = reshape(y, keepShape, loc);
  define(node, 0, y);
  return success();
}

void Importer::registerMoreHandlers() {
  handlers["Cast"] = [this](const ox::Node &n) -> LogicalResult {
    auto toType = static_cast<int32_t>(attrInt(n, "to", ox::kUndefined));
    if (isTrackedIntType(toType))
      return importCast(n, builder.getIntegerType(containerWidth(toType)),
                        toType);
    FailureOr<Type> to = elementType(toType, "Cast target");
    if (failed(to))
      return failure();
    return importCast(n, *to);
  };
  handlers["CastLike"] = [this](const ox::Node &n) -> LogicalResult {
    Value like;
    if (failed(lookup(n, 1, like)))
      return failure();
    auto tracked = intTypes.find(like);
    return importCast(n, tensorType(like).getElementType(),
                      tracked != intTypes.end() ? tracked->second
                                                : int32_t(ox::kUndefined));
  };
  handlers["Shape"] = [this](const ox::Node &n) { return importShape(n); };
  handlers["Size"] = [this](const ox::Node &n) { return importShape(n); };
  handlers["Expand"] = [this](const ox::Node &n) { return importExpand(n); };
  handlers["Slice"] = [this](const ox::Node &n) { return importSlice(n); };
  handlers["Where"] = [this](const ox::Node &n) { return importWhere(n); };
  for (StringRef kind :
       {"Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual"})
    handlers[kind] = [this, kind](const ox::Node &n) {
      return importCompare(n, kind);
    };
  for (StringRef kind : {"And", "Or", "Xor", "Not"})
    handlers[kind] = [this, kind](const ox::Node &n) {
      return importLogical(n, kind);
    };
  handlers["Range"] = [this](const ox::Node &n) { return importRange(n); };
  for (StringRef kind :
       {"ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd",
        "ReduceSumSquare", "ReduceL1", "ReduceL2", "ReduceLogSum",
        "ReduceLogSumExp"})
    handlers[kind] = [this, kind](const ox::Node &n) {
      return importReduce(n, kind);
    };
  handlers["Split"] = [this](const ox::Node &n) { return importSplit(n); };
  handlers["CumSum"] = [this](const ox::Node &n) { return importCumSum(n); };
  handlers["Trilu"] = [this](const ox::Node &n) { return importTrilu(n); };
  for (StringRef kind :
       {"Sin", "Cos", "Tan", "Atan", "Sinh", "Cosh", "Floor", "Ceil", "Round",
        "Sign", "Softplus", "Softsign", "Elu", "Selu", "Gelu"})
    handlers[kind] = [this, kind](const ox::Node &n) {
      return importMathUnary(n, kind);
    };
  handlers["ConstantOfShape"] = [this](const ox::Node &n) {
    return importConstantOfShape(n);
  };
  handlers["MaxPool"] = [this](const ox::Node &n) {
    return importPool(n, true);
  };
  handlers["AveragePool"] = [this](const ox::Node &n) {
    return importPool(n, false);
  };
  handlers["Pad"] = [this](const ox::Node &n) { return importPad(n); };
  handlers["PRelu"] = [this](const ox::Node &n) { return importPRelu(n); };
  handlers["Tile"] = [this](const ox::Node &n) { return importTile(n); };
  handlers["ArgMax"] = [this](const ox::Node &n) {
    return importArgMinMax(n, true);
  };
  handlers["ArgMin"] = [this](const ox::Node &n) {
    return importArgMinMax(n, false);
  };
}

void Importer::registerHandlers() {
  for (StringRef kind : {"Add", "Sub", "Mul", "Div", "Pow"})
    handlers[kind] = [this, kind](const ox::Node &n) {
      return importElementwiseBinary(n, kind);
    };
  for (StringRef kind : {"Max", "Min", "Sum"})
    handlers[kind] = [this, kind](const ox::Node &n) -> LogicalResult {
      // Variadic: fold the inputs pairwise with broadcasting.
      Value acc;
      if (failed(lookup(n, 0, acc)))
        return failure();
      StringRef binaryKind = kind == "Sum" ? "Add" : kind;
      for (size_t i = 1; i < n.inputs.size(); ++i) {
        Value next;
        if (failed(lookup(n, i, next)))
          return failure();
        auto r = binary(binaryKind, acc, next, nodeLoc(n));
        if (failed(r))
          return failure();
        acc = *r;
      }
      define(n, 0, acc);
      return success();
    };
  auto unary = [this](StringRef kind) {
    handlers[kind] = [this, kind](const ox::Node &n) -> LogicalResult {
      Value x;
      if (failed(lookup(n, 0, x)))
        return failure();
      Location loc = nodeLoc(n);
      auto t = tensorType(x);
      Type elem = t.getElementType();
      bool isFloat = isa<FloatType>(elem);
      Value y;
      if (kind == "Relu")
        y = clamp(x, 0.0,
                  isFloat ? APFloat::getLargest(
                                cast<FloatType>(elem).getFloatSemantics())
                                .convertToDouble()
                          : std::ldexp(1.0, elem.getIntOrFloatBitWidth() - 1) -
                                1,
                  loc);
      else if (!isFloat)
        return unsupported(kind + " on " +
                           llvm::formatv("{0}", elem).str() + " tensors");
      else if (kind == "Sigmoid")
        y = tosa::SigmoidOp::create(builder, loc, t, x);
      else if (kind == "Tanh")
        y = tosa::TanhOp::create(builder, loc, t, x);
      else if (kind == "Exp")
        y = tosa::ExpOp::create(builder, loc, t, x);
      else if (kind == "Log")
        y = tosa::LogOp::create(builder, loc, t, x);
      else if (kind == "Abs")
        y = tosa::AbsOp::create(builder, loc, t, x);
      else if (kind == "Erf")
        y = tosa::ErfOp::create(builder, loc, t, x);
      else if (kind == "Reciprocal")
        y = broadcastGeneric(
            loc, t.getShape(), elem, {x},
            [&](OpBuilder &b, Location l, ValueRange a) -> Value {
              Value one = arith::ConstantOp::create(
                  b, l, b.getFloatAttr(elem, 1.0));
              return arith::DivFOp::create(b, l, one, a[0]);
            });
      else if (kind == "Neg" || kind == "Sqrt")
        y = broadcastGeneric(
            loc, t.getShape(), elem, {x},
            [&](OpBuilder &b, Location l, ValueRange a) -> Value {
              if (kind == "Neg")
                return arith::NegFOp::create(b, l, a[0]);
              return math::SqrtOp::create(b, l, a[0]);
            });
      else if (kind == "HardSigmoid") {
        double alpha = attrFloat(n, "alpha", 0.2f);
        double beta = attrFloat(n, "beta", 0.5f);
        SmallVector<int64_t> ones(t.getRank(), 1);
        y = tosa::MulOp::create(builder, loc, t, x,
                                splat(elem, ones, alpha, loc), shift(loc));
        y = tosa::AddOp::create(builder, loc, t, y,
                                splat(elem, ones, beta, loc));
        y = clamp(y, 0.0, 1.0, loc);
      } else if (kind == "HardSwish" &&
                 (elem.isF32() || elem.isF16() || elem.isBF16())) {
        // The graph op fuse-hard-swish also forms from x * relu6(x+3) / 6.
        y = nn::HardSwishOp::create(builder, loc, t, x);
      } else if (kind == "HardSwish") {
        SmallVector<int64_t> ones(t.getRank(), 1);
        Value h = tosa::MulOp::create(builder, loc, t, x,
                                      splat(elem, ones, 1.0 / 6.0, loc),
                                      shift(loc));
        h = tosa::AddOp::create(builder, loc, t, h,
                                splat(elem, ones, 0.5, loc));
        h = clamp(h, 0.0, 1.0, loc);
        y = tosa::MulOp::create(builder, loc, t, x, h, shift(loc));
      } else if (kind == "LeakyRelu") {
        double alpha = attrFloat(n, "alpha", 0.01f);
        y = broadcastGeneric(
            loc, t.getShape(), elem, {x},
            [&](OpBuilder &b, Location l, ValueRange a) -> Value {
              Value zero =
                  arith::ConstantOp::create(b, l, b.getFloatAttr(elem, 0.0));
              Value al =
                  arith::ConstantOp::create(b, l, b.getFloatAttr(elem, alpha));
              Value neg = arith::MulFOp::create(b, l, a[0], al);
              Value pos = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OGT,
                                                a[0], zero);
              return arith::SelectOp::create(b, l, pos, a[0], neg);
            });
      }
      define(n, 0, y);
      return success();
    };
  };
  for (StringRef kind :
       {"Relu", "Sigmoid", "Tanh", "Exp", "Log", "Abs", "Erf", "Reciprocal",
        "Neg", "Sqrt", "HardSigmoid", "HardSwish", "LeakyRelu"})
    unary(kind);
  handlers["Identity"] = [this](const ox::Node &n) -> LogicalResult {
    Value x;
    if (failed(lookup(n, 0, x)))
      return failure();
    define(n, 0, x);
    if (const ox::Tensor *t = constantOf(n, 0))
      constants[n.outputs[0]] = t;
    return success();
  };
  handlers["MatMul"] = [this](const ox::Node &n) { return importMatMul(n); };
  handlers["Gemm"] = [this](const ox::Node &n) { return importGemm(n); };
  handlers["Conv"] = [this](const ox::Node &n) { return importConv(n); };
  handlers["ConvTranspose"] = [this](const ox::Node &n) {
    return importConvTranspose(n);
  };
  handlers["BatchNormalization"] = [this](const ox::Node &n) {
    return importBatchNorm(n);
  };
  handlers["Clip"] = [this](const ox::Node &n) { return importClip(n); };
  handlers["Reshape"] = [this](const ox::Node &n) { return importReshape(n); };
  handlers["Transpose"] = [this](const ox::Node &n) {
    return importTranspose(n);
  };
  handlers["Flatten"] = [this](const ox::Node &n) { return importFlatten(n); };
  handlers["Squeeze"] = [this](const ox::Node &n) {
    return importSqueezeUnsqueeze(n, true);
  };
  handlers["Unsqueeze"] = [this](const ox::Node &n) {
    return importSqueezeUnsqueeze(n, false);
  };
  handlers["Concat"] = [this](const ox::Node &n) { return importConcat(n); };
  handlers["Softmax"] = [this](const ox::Node &n) { return importSoftmax(n); };
  handlers["LayerNormalization"] = [this](const ox::Node &n) {
    return importLayerNorm(n);
  };
  handlers["RMSNormalization"] = [this](const ox::Node &n) {
    return importRMSNorm(n);
  };
  handlers["GlobalAveragePool"] = [this](const ox::Node &n) {
    return importGlobalAveragePool(n);
  };
  handlers["Resize"] = [this](const ox::Node &n) { return importResize(n); };
  handlers["MatMulInteger"] = [this](const ox::Node &n) {
    return importMatMulInteger(n);
  };
  handlers["QuantizeLinear"] = [this](const ox::Node &n) {
    return importQuantizeLinear(n);
  };
  handlers["DequantizeLinear"] = [this](const ox::Node &n) {
    return importDequantizeLinear(n);
  };
  handlers["Gather"] = [this](const ox::Node &n) { return importGather(n); };
  handlers["Constant"] = [this](const ox::Node &n) {
    return importConstant(n);
  };
  registerMoreHandlers();
}

LogicalResult Importer::importNode(const ox::Node &node) {
  if (node.domain == "com.microsoft" && node.opType == "MatMulNBits")
    return importMatMulNBits(node);
  if (!node.domain.empty())
    return unsupported("ops of domain '" + node.domain +
                       "' are not supported");
  auto it = handlers.find(node.opType);
  if (it == handlers.end())
    return unsupported("unsupported op");
  // Integers whose container does not tell their ONNX type (uint8 in i8,
  // int4 in i8, int16/uint16 in i16) are read only by the ops that look
  // their type up; any other op would take uint8 bits for int8.
  static const llvm::StringSet<> readsTrackedInts = {
      "QuantizeLinear", "DequantizeLinear", "MatMulInteger", "Identity",
      "Cast", "CastLike"};
  if (!readsTrackedInts.contains(node.opType))
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      auto found = hasInput(node, i) ? values.find(node.inputs[i])
                                     : values.end();
      if (found == values.end() || !found->second)
        continue;
      auto tracked = intTypes.find(found->second);
      if (tracked != intTypes.end())
        return unsupported("input '" + node.inputs[i] + "' is " +
                           ox::dataTypeName(tracked->second) +
                           ", which lowbit reads only in QuantizeLinear, "
                           "DequantizeLinear, MatMulInteger, Cast, CastLike "
                           "and Identity");
    }
  // TOSA rejects zero-element tensors; only constants (empty Resize roi,
  // folded shape values) and ops that never emit TOSA for them may see empty
  // inputs.
  static const llvm::StringSet<> emptyOk = {"Shape", "Size", "Trilu",
                                            "Concat"};
  for (size_t i = 0; i < node.inputs.size(); ++i) {
    if (!hasInput(node, i))
      continue;
    auto found = values.find(node.inputs[i]);
    if (found != values.end() && found->second &&
        tensorType(found->second).getNumElements() == 0 &&
        !constantOf(node, i) && !emptyOk.contains(node.opType) &&
        !(node.opType == "CastLike" && i == 1) &&
        !StringRef(node.opType).starts_with("Reduce"))
      return unsupported("zero-element tensors (input '" + node.inputs[i] +
                         "' is " +
                         shapeString(tensorType(found->second).getShape()) +
                         ")");
  }
  // Integer shape arithmetic on values known at import time folds to
  // constants, so that Reshape/Expand/Slice/... downstream can read them.
  FailureOr<bool> folded = foldKnownInts(node);
  if (failed(folded))
    return failure();
  if (*folded)
    return success();
  if (failed(it->second(node)))
    return failure();
  // Ops that only rearrange a known tensor keep it known.
  static const char *const shapeOnly[] = {"Reshape", "Squeeze", "Unsqueeze",
                                          "Flatten"};
  IntTensor known;
  if (llvm::is_contained(shapeOnly, node.opType) &&
      knownInput(node, 0, known) && known.vals.size() <= 4096 &&
      !node.outputs.empty()) {
    auto found = values.find(node.outputs[0]);
    if (found != values.end() && found->second) {
      Value emitted = found->second;
      known.dims.assign(tensorType(emitted).getShape().begin(),
                        tensorType(emitted).getShape().end());
      if (failed(defineKnown(node, 0, known)))
        return failure();
      // The handler's reshape of the constant is dead now.
      Operation *op = emitted.getDefiningOp();
      if (op && emitted.use_empty() && isa<tosa::ReshapeOp>(op)) {
        Operation *shapeOp = op->getOperand(1).getDefiningOp();
        op->erase();
        if (shapeOp && shapeOp->use_empty())
          shapeOp->erase();
      }
    }
  }
  return success();
}

OwningOpRef<ModuleOp> Importer::run(ImportStatus &status) {
  ctx->loadDialect<nn::NNDialect, tosa::TosaDialect, arith::ArithDialect,
                   func::FuncDialect, tensor::TensorDialect,
                   linalg::LinalgDialect, math::MathDialect,
                   lb::LowBitDialect, quant::QuantDialect>();
  status = ImportStatus::Error;
  Location fileLoc = FileLineColLoc::get(ctx, sourceName, 0, 0);
  auto it = model.opsets.find("");
  if (it == model.opsets.end()) {
    emitError(fileLoc) << "the model declares no opset for the default ONNX "
                          "domain (is the file truncated?)";
    return nullptr;
  }
  opset = it->second;
  // 26..28 changed, of the ops lowbit imports, Range (stash_type, checked
  // there), Cast/QuantizeLinear/DequantizeLinear (float6 types, which lowbit
  // rejects by name) and ReduceLogSum/ReduceLogSumExp (integer types
  // dropped); nothing else lowbit reads changed meaning.
  if (opset < 7 || opset > 28) {
    status = ImportStatus::Unsupported;
    emitError(fileLoc) << "ONNX opset " << opset
                       << " is not supported (lowbit handles opsets 7..28)";
    return nullptr;
  }
  const ox::Graph &graph = model.graph;
  if (graph.outputs.empty()) {
    emitError(fileLoc) << "the graph has no outputs (is the file truncated?)";
    return nullptr;
  }
  registerHandlers();

  // Graph inputs that are not initializers become function arguments.
  llvm::StringMap<const ox::Tensor *> initializers;
  for (const ox::Tensor &t : graph.initializers)
    initializers[t.name] = &t;
  SmallVector<Type> argTypes;
  SmallVector<std::string> argNames;
  SmallVector<int32_t> argIntTypes;
  for (const ox::ValueInfo &in : graph.inputs) {
    if (initializers.count(in.name))
      continue;
    if (!in.isTensor) {
      status = ImportStatus::Unsupported;
      emitError(fileLoc) << "input '" << in.name
                         << "' is not a tensor; sequence, map and optional "
                            "inputs are not supported";
      return nullptr;
    }
    std::vector<int64_t> dims = in.dims;
    auto override = options.inputShapes.find(in.name);
    if (override != options.inputShapes.end()) {
      if (in.hasShape && dims.size() != override->second.size()) {
        emitError(fileLoc) << "--input-shape gives rank "
                           << override->second.size() << " for input '"
                           << in.name << "', but the model declares rank "
                           << dims.size();
        return nullptr;
      }
      for (size_t i = 0; in.hasShape && i < dims.size(); ++i)
        if (dims[i] >= 0 && dims[i] != override->second[i]) {
          emitError(fileLoc) << "--input-shape sets dimension " << i
                             << " of input '" << in.name << "' to "
                             << override->second[i]
                             << ", but the model fixes it to " << dims[i];
          return nullptr;
        }
      dims = override->second;
    } else if (!in.hasShape) {
      emitError(fileLoc) << "input '" << in.name
                         << "' has no shape; give one with --input-shape "
                         << in.name << "=DIMS";
      return nullptr;
    }
    for (size_t i = 0; i < dims.size(); ++i)
      if (dims[i] < 0) {
        std::string param = i < in.dimParams.size() ? in.dimParams[i] : "";
        emitError(fileLoc) << "input '" << in.name << "' has dynamic dimension "
                           << i << (param.empty() ? "" : " ('" + param + "')")
                           << "; make it static with --input-shape " << in.name
                           << "=" << "DIMS";
        return nullptr;
      }
    // uint8/int16/uint16/int4/uint4/int2/uint2 inputs (of the quantization
    // ops) come in integer containers, with their type in intTypes.
    FailureOr<Type> elem =
        isTrackedIntType(in.elemType)
            ? FailureOr<Type>(builder.getIntegerType(containerWidth(in.elemType)))
            : elementType(in.elemType, "input '" + in.name + "'");
    if (failed(elem)) {
      status = failure_.status;
      emitError(fileLoc) << failure_.message;
      return nullptr;
    }
    argTypes.push_back(RankedTensorType::get(dims, *elem));
    argNames.push_back(in.name);
    argIntTypes.push_back(isTrackedIntType(in.elemType) ? in.elemType
                                                        : ox::kUndefined);
  }
  for (const auto &[name, shape] : options.inputShapes)
    if (!llvm::is_contained(argNames, name)) {
      emitError(fileLoc) << "--input-shape names '" << name
                         << "', which is not an input of the model";
      return nullptr;
    }

  OwningOpRef<ModuleOp> module = ModuleOp::create(fileLoc);
  builder.setInsertionPointToEnd(module->getBody());
  auto func = func::FuncOp::create(
      builder, fileLoc, options.functionName,
      builder.getFunctionType(argTypes, {}));
  Block *entry = func.addEntryBlock();
  for (size_t i = 0; i < argNames.size(); ++i) {
    values[argNames[i]] = entry->getArgument(i);
    func.setArgAttr(i, "onnx.name", builder.getStringAttr(argNames[i]));
    if (argIntTypes[i] != ox::kUndefined) {
      intTypes[entry->getArgument(i)] = argIntTypes[i];
      func.setArgAttr(i, "onnx.elem_type",
                      builder.getI32IntegerAttr(argIntTypes[i]));
    }
  }
  builder.setInsertionPointToStart(entry);
  for (const ox::Tensor &t : graph.initializers) {
    if (values.count(t.name))
      continue; // an input overrides its initializer
    if (isTrackedIntType(t.dataType)) {
      // Quantized integer data: only the quantization ops read it, from the
      // constant itself (a null value makes any other consumer unsupported).
      values[t.name] = Value();
      constants[t.name] = &t;
      continue;
    }
    Value v = makeConstant(t, FileLineColLoc::get(ctx, sourceName, 0, 0));
    if (!v) {
      status = failure_.status;
      emitError(fileLoc) << "initializer '" << t.name
                         << "': " << failure_.message;
      return nullptr;
    }
    values[t.name] = v;
    constants[t.name] = &t;
  }

  for (const ox::Node &node : graph.nodes) {
    if (failed(importNode(node))) {
      status = failure_.status;
      emitError(nodeLoc(node))
          << "node '" << (node.name.empty() ? "<unnamed>" : node.name) << "' ("
          << (node.domain.empty() ? "" : node.domain + "::") << node.opType
          << ", opset " << opset << "): " << failure_.message;
      return nullptr;
    }
  }

  SmallVector<Value> results;
  SmallVector<Type> resultTypes;
  SmallVector<int32_t> resultIntTypes;
  for (const ox::ValueInfo &out : graph.outputs) {
    auto found = values.find(out.name);
    if (found == values.end() || !found->second) {
      emitError(fileLoc) << "graph output '" << out.name
                         << "' is not produced by any node";
      return nullptr;
    }
    Value v = found->second;
    // Integers in containers leave with their ONNX type as a result
    // attribute, which the runtime reads (uint8 stays uint8).
    auto tracked = intTypes.find(v);
    int32_t intType =
        tracked != intTypes.end() ? tracked->second : int32_t(ox::kUndefined);
    if (auto q = dyn_cast<quant::QuantizedType>(
            tensorType(v).getElementType())) {
      // A QuantizeLinear result leaves the graph as its storage integers.
      if (q.getStorageTypeIntegralWidth() != 8) {
        status = ImportStatus::Unsupported;
        emitError(fileLoc) << "graph output '" << out.name << "' is " << q
                           << "; only int8 and uint8 quantized outputs are "
                              "supported";
        return nullptr;
      }
      if (!q.isSigned())
        intType = ox::kUint8;
      builder.setInsertionPointToEnd(entry);
      v = quant::StorageCastOp::create(
          builder, fileLoc,
          RankedTensorType::get(tensorType(v).getShape(), builder.getI8Type()),
          v);
    }
    if (out.hasShape) {
      auto shape = tensorType(v).getShape();
      bool matches = out.dims.size() == shape.size();
      for (size_t i = 0; matches && i < shape.size(); ++i)
        matches = out.dims[i] < 0 || out.dims[i] == shape[i];
      if (!matches) {
        emitError(fileLoc) << "graph output '" << out.name
                           << "' is declared with shape "
                           << shapeString(out.dims)
                           << " but computes to " << shapeString(shape);
        return nullptr;
      }
    }
    results.push_back(v);
    resultTypes.push_back(v.getType());
    resultIntTypes.push_back(intType);
  }
  func::ReturnOp::create(builder, fileLoc, results);
  func.setType(builder.getFunctionType(argTypes, resultTypes));
  for (size_t i = 0; i < graph.outputs.size(); ++i) {
    func.setResultAttr(i, "onnx.name",
                       builder.getStringAttr(graph.outputs[i].name));
    if (resultIntTypes[i] != ox::kUndefined)
      func.setResultAttr(i, "onnx.elem_type",
                         builder.getI32IntegerAttr(resultIntTypes[i]));
  }
  if (failed(verify(*module))) {
    emitError(fileLoc) << "internal error: the imported module does not "
                          "verify";
    return nullptr;
  }
  status = ImportStatus::Ok;
  return module;
}

//===----------------------------------------------------------------------===//
// Public API
//===----------------------------------------------------------------------===//

OwningOpRef<ModuleOp> lowbit::importOnnxFile(StringRef path,
                                             MLIRContext *context,
                                             const ImportOptions &options,
                                             ImportStatus *status) {
  ImportStatus local;
  ImportStatus &st = status ? *status : local;
  st = ImportStatus::Error;
  ox::Model model;
  std::string error;
  if (!ox::readModelFile(path.str(), model, error)) {
    emitError(FileLineColLoc::get(context, path, 0, 0)) << error;
    return nullptr;
  }
  Importer importer(context, model, options, path.str());
  return importer.run(st);
}

OwningOpRef<ModuleOp> lowbit::importOnnxBytes(StringRef bytes,
                                              MLIRContext *context,
                                              const ImportOptions &options,
                                              ImportStatus *status) {
  ImportStatus local;
  ImportStatus &st = status ? *status : local;
  st = ImportStatus::Error;
  ox::Model model;
  std::string error;
  if (!ox::readModelBytes(bytes.data(), bytes.size(), "", model, error)) {
    emitError(UnknownLoc::get(context)) << error;
    return nullptr;
  }
  Importer importer(context, model, options, "<memory>");
  return importer.run(st);
}

std::vector<std::string> lowbit::getSupportedOnnxOps() {
  MLIRContext context;
  ox::Model model;
  ImportOptions options;
  return Importer(&context, model, options, "").supportedOps();
}

std::string lowbit::parseInputShapeFlag(StringRef flag,
                                        ImportOptions &options) {
  auto [name, dimsText] = flag.rsplit('=');
  if (name.empty() || dimsText.empty() || !flag.contains('='))
    return "--input-shape expects NAME=DIMS (for example x=1x3x64x64), got '" +
           flag.str() + "'";
  std::vector<int64_t> dims;
  SmallVector<StringRef> parts;
  dimsText.split(parts, 'x');
  for (StringRef p : parts) {
    int64_t d;
    if (p.getAsInteger(10, d) || d < 0)
      return "--input-shape '" + flag.str() + "': '" + p.str() +
             "' is not a non-negative dimension";
    dims.push_back(d);
  }
  if (dimsText == "scalar")
    dims.clear();
  options.inputShapes[name.str()] = dims;
  return "";
}

//===----------------------------------------------------------------------===//
// ONNX's own quantized ops: QuantizeLinear / DequantizeLinear become
// lowbit.quantize / lowbit.dequantize on upstream !quant.uniform types;
// com.microsoft::MatMulNBits becomes nn.linear on lowbit.dequantize_weight.
//===----------------------------------------------------------------------===//

/// An integer constant of the quantization ops in its container: int8/uint8
/// as i8, int16/uint16 as i16, int32 as i32 (bits kept), int4/uint4/int2/
/// uint2 unpacked to one i8 per value (sign-extended for the signed ones).
/// Types the container does not tell are recorded in intTypes.
Value Importer::integerConstant(const ox::Tensor &tensor, Location loc) {
  unsigned width = containerWidth(tensor.dataType);
  if (!width) {
    (void)unsupported("constant '" + tensor.name + "' of type " +
                      ox::dataTypeName(tensor.dataType));
    return {};
  }
  auto type = RankedTensorType::get(tensor.dims, builder.getIntegerType(width));
  std::shared_ptr<ox::Buffer> buffer = tensor.buffer;
  size_t offset = tensor.offset, size = tensor.size;
  std::string name = tensor.name;
  if (ox::subByteBits(tensor.dataType)) {
    auto unpacked = std::make_shared<VectorBuffer>();
    unpacked->bytes = ox::unpackSubByte(tensor);
    buffer = unpacked;
    offset = 0;
    size = unpacked->bytes.size();
    name += "_unpacked";
  }
  Value v;
  if (tensor.numElements() > 8 && buffer) {
    v = makeResourceConstant(type, buffer, offset, size, name, loc);
  } else {
    ArrayRef<char> raw(buffer ? buffer->data() + offset : nullptr, size);
    bool splat = false;
    if (!DenseElementsAttr::isValidRawBuffer(type, raw, splat)) {
      (void)invalid("constant '" + tensor.name + "' has " + Twine(size) +
                    " bytes, which do not fill " + shapeString(tensor.dims));
      return {};
    }
    v = arith::ConstantOp::create(builder, loc,
                                  DenseElementsAttr::getFromRawBuffer(type, raw));
  }
  if (v && isTrackedIntType(tensor.dataType))
    intTypes[v] = tensor.dataType;
  return v;
}

/// The ONNX type of an integer value of the quantization ops: its intTypes
/// entry, else INT8/UINT8 from a quant type, else INT8/INT16/INT32 by width;
/// kUndefined for anything else.
int32_t Importer::onnxIntType(Value v) {
  auto it = intTypes.find(v);
  if (it != intTypes.end())
    return it->second;
  Type elem = tensorType(v).getElementType();
  if (auto q = dyn_cast<quant::QuantizedType>(elem))
    return q.getStorageTypeIntegralWidth() != 8 ? ox::kUndefined
           : q.isSigned()                        ? ox::kInt8
                                                 : ox::kUint8;
  if (elem.isInteger(8))
    return ox::kInt8;
  if (elem.isInteger(16))
    return ox::kInt16;
  if (elem.isInteger(32))
    return ox::kInt32;
  return ox::kUndefined;
}

/// Integer input `index` of a quantization op (data or zero point): an
/// integer constant in its container, or the value; `type` is its ONNX type
/// (kUndefined when it is not an integer of the quantization ops).
LogicalResult Importer::quantOperand(const ox::Node &node, size_t index,
                                     Value &v, int32_t &type) {
  // Tracked-type initializers have no value of their own (see run()).
  const ox::Tensor *c = constantOf(node, index);
  if (c && isTrackedIntType(c->dataType)) {
    type = c->dataType;
    v = integerConstant(*c, nodeLoc(node));
    return success(v != nullptr);
  }
  if (failed(lookup(node, index, v)))
    return failure();
  type = onnxIntType(v);
  return success();
}

/// The ONNX type that quantOperand would report, without emitting anything.
LogicalResult Importer::quantOperandType(const ox::Node &node, size_t index,
                                         int32_t &type) {
  const ox::Tensor *c = constantOf(node, index);
  if (c && isTrackedIntType(c->dataType)) {
    type = c->dataType;
    return success();
  }
  Value v;
  if (failed(lookup(node, index, v)))
    return failure();
  type = onnxIntType(v);
  return success();
}

/// The !quant.uniform type that a QuantizeLinear/DequantizeLinear node
/// describes with its constant scale (input 1) and zero point (input 2):
/// per-tensor for a one-element scale, per-axis for a 1-D scale along `axis`.
FailureOr<quant::QuantizedType>
Importer::quantTypeOf(const ox::Node &node, ArrayRef<int64_t> shape,
                      int32_t storageType) {
  bool isSigned = storageType != ox::kUint8;
  bool is32 = storageType == ox::kInt32;
  const ox::Tensor *scaleT = constantOf(node, 1);
  if (!scaleT)
    return unsupported("non-constant scale '" +
                       (hasInput(node, 1) ? node.inputs[1] : "") +
                       "' (only constant scales and zero points are "
                       "supported)");
  if (scaleT->dataType != ox::kFloat)
    return unsupported("scale of type " + ox::dataTypeName(scaleT->dataType) +
                       " (only FLOAT)");
  const ox::Tensor *zpT = constantOf(node, 2);
  if (hasInput(node, 2) && !zpT)
    return unsupported("non-constant zero point '" + node.inputs[2] +
                       "' (only constant scales and zero points are "
                       "supported)");
  int64_t n = scaleT->numElements();
  if (zpT && zpT->numElements() != n)
    return invalid("zero point has " + Twine(zpT->numElements()) +
                   " elements, scale has " + Twine(n));
  if (attrInt(node, "block_size", 0) != 0)
    return unsupported("blocked quantization (block_size=" +
                       Twine(attrInt(node, "block_size", 0)) + ")");
  const float *scales = reinterpret_cast<const float *>(scaleT->bytes());
  std::vector<double> scaleVals;
  std::vector<int64_t> zpVals;
  for (int64_t i = 0; i < n; ++i) {
    if (!(scales[i] > 0) || !std::isfinite(scales[i]))
      return unsupported("scale " + Twine(llvm::formatv("{0}", scales[i]).str()) +
                         " (only positive finite scales are supported)");
    scaleVals.push_back(scales[i]);
    int64_t zp = 0;
    if (zpT)
      zp = is32 ? int64_t(reinterpret_cast<const int32_t *>(zpT->bytes())[i])
           : isSigned
               ? int64_t(reinterpret_cast<const int8_t *>(zpT->bytes())[i])
               : int64_t(reinterpret_cast<const uint8_t *>(zpT->bytes())[i]);
    zpVals.push_back(zp);
  }
  unsigned flags = isSigned ? quant::QuantizationFlags::Signed : 0;
  Type storage = builder.getIntegerType(is32 ? 32 : 8);
  Type expressed = builder.getF32Type();
  int64_t qmin = is32 ? INT32_MIN : isSigned ? -128 : 0;
  int64_t qmax = is32 ? INT32_MAX : isSigned ? 127 : 255;
  bool perTensor = n == 1 && scaleT->dims.size() <= 1;
  if (perTensor)
    return quant::QuantizedType(quant::UniformQuantizedType::get(
        flags, storage, expressed, scaleVals[0], zpVals[0], qmin, qmax));
  int64_t axis = attrInt(node, "axis", 1);
  if (failed(normalizeAxis(axis, shape.size(), "axis")))
    return failure();
  if (scaleT->dims.size() != 1 || scaleT->dims[0] != shape[axis])
    return invalid("scale of shape " + shapeString(scaleT->dims) +
                   " does not fit input " + shapeString(shape) + " along axis " +
                   Twine(axis));
  return quant::QuantizedType(quant::UniformQuantizedPerAxisType::get(
      flags, storage, expressed, scaleVals, zpVals, axis, qmin, qmax));
}

LogicalResult Importer::importQuantizeLinear(const ox::Node &node) {
  Location loc = nodeLoc(node);
  Value x;
  if (failed(lookup(node, 0, x)))
    return failure();
  auto xType = tensorType(x);
  if (!xType.getElementType().isF32())
    return unsupported("QuantizeLinear of a non-f32 input");
  int64_t precision = attrInt(node, "precision", 0);
  if (precision != 0 && precision != ox::kFloat)
    return unsupported("QuantizeLinear with precision=" +
                       ox::dataTypeName(precision) +
                       " (lowbit divides in FLOAT)");
  // The output type: the zero point's, else output_dtype, else uint8.
  int32_t outType = int32_t(attrInt(node, "output_dtype", 0));
  if (hasInput(node, 2)) {
    int32_t zpType;
    if (failed(quantOperandType(node, 2, zpType)))
      return failure();
    if (zpType == ox::kUndefined)
      return unsupported("QuantizeLinear with a zero point '" +
                         node.inputs[2] + "' that is not an integer");
    if (outType != 0 && outType != zpType)
      return invalid("output_dtype " + ox::dataTypeName(outType) +
                     " differs from the zero point's type " +
                     ox::dataTypeName(zpType));
    outType = zpType;
  }
  if (outType == 0)
    outType = ox::kUint8;
  if (!containerWidth(outType) || outType == ox::kInt32)
    return unsupported("QuantizeLinear to " + ox::dataTypeName(outType) +
                       " (int8, uint8, int16, uint16, int4, uint4, int2 and "
                       "uint2 are supported)");
  const ox::Tensor *zpT = constantOf(node, 2);
  bool byteType = outType == ox::kInt8 || outType == ox::kUint8;
  if (!byteType || attrInt(node, "block_size", 0) != 0 ||
      !constantOf(node, 1) || (hasInput(node, 2) && !zpT)) {
    // Other integer types, blocked scales or parameters computed at run
    // time: ONNX's formula as arithmetic into the type's container.
    Value scale, zp;
    int32_t zpType;
    if (failed(lookup(node, 1, scale)) ||
        (hasInput(node, 2) && failed(quantOperand(node, 2, zp, zpType))))
      return failure();
    return quantizeArith(node, x, outType, scale, zp);
  }
  FailureOr<quant::QuantizedType> qt =
      quantTypeOf(node, xType.getShape(), outType);
  if (failed(qt))
    return failure();
  Value y = lb::QuantizeOp::create(
      builder, loc, RankedTensorType::get(xType.getShape(), *qt), x);
  define(node, 0, y);
  return success();
}

LogicalResult Importer::importDequantizeLinear(const ox::Node &node) {
  Location loc = nodeLoc(node);
  int64_t outDtype = attrInt(node, "output_dtype", 0);
  if (outDtype != 0 && outDtype != ox::kFloat)
    return unsupported("DequantizeLinear to " + ox::dataTypeName(outDtype) +
                       " (FLOAT is supported)");
  Value q;
  int32_t qType;
  if (failed(quantOperand(node, 0, q, qType)))
    return failure();
  if (qType == ox::kUndefined)
    return unsupported("DequantizeLinear of a tensor of " +
                       Twine(llvm::formatv("{0}", tensorType(q).getElementType())
                                 .str()) +
                       " (int8, uint8, int16, uint16, int32, int4, uint4, "
                       "int2 and uint2 are supported)");
  const ox::Tensor *zpT = constantOf(node, 2);
  if (hasInput(node, 2)) {
    int32_t zpType;
    if (failed(quantOperandType(node, 2, zpType)))
      return failure();
    if (zpType != qType)
      return invalid("zero point is " + ox::dataTypeName(zpType) +
                     " but the input is " + ox::dataTypeName(qType));
  }
  ArrayRef<int64_t> shape = tensorType(q).getShape();
  if ((qType != ox::kInt8 && qType != ox::kUint8) ||
      attrInt(node, "block_size", 0) != 0 || !constantOf(node, 1) ||
      (hasInput(node, 2) && !zpT)) {
    // Forms without a lowbit quant type (int32 data such as a QDQ model's
    // bias, 16-bit and sub-byte data, blocked scales, scales or zero points
    // computed at run time): ONNX's formula as arithmetic, (x - zp) * scale.
    if (auto qe = dyn_cast<quant::QuantizedType>(tensorType(q).getElementType()))
      q = quant::StorageCastOp::create(
          builder, loc, RankedTensorType::get(shape, qe.getStorageType()), q);
    Value scale, zp;
    int32_t zpType;
    if (failed(lookup(node, 1, scale)) ||
        (hasInput(node, 2) && failed(quantOperand(node, 2, zp, zpType))))
      return failure();
    return dequantizeArith(node, q, isUnsignedIntType(qType), scale, zp);
  }
  FailureOr<quant::QuantizedType> qt =
      quantTypeOf(node, shape, qType);
  if (failed(qt))
    return failure();
  auto qTensor = RankedTensorType::get(shape, *qt);
  if (q.getType() != qTensor) {
    // Reinterpret the integers with this node's parameters.
    if (auto qe = dyn_cast<quant::QuantizedType>(tensorType(q).getElementType()))
      q = quant::StorageCastOp::create(
          builder, loc, RankedTensorType::get(shape, qe.getStorageType()), q);
    q = quant::StorageCastOp::create(builder, loc, qTensor, q);
  }
  Value y = lb::DequantizeOp::create(
      builder, loc, RankedTensorType::get(shape, builder.getF32Type()), q);
  define(node, 0, y);
  return success();
}

/// com.microsoft::MatMulNBits (onnxruntime contrib op): Y = A x dequant(B)^T
/// (+ bias) with B [N, n_blocks, blob] holding `bits`-wide unsigned values
/// packed low bits first, scales [N * n_blocks], optional packed zero points
/// (default 2^(bits-1)). Imported as nn.linear on lowbit.dequantize_weight of
/// the unpacked integers and the scale/zero tables, so that lowbit's own
/// quantized path sees it.
LogicalResult Importer::importMatMulNBits(const ox::Node &node) {
  Location loc = nodeLoc(node);
  Value a;
  if (failed(lookup(node, 0, a)))
    return failure();
  int64_t k = attrInt(node, "K", -1), n = attrInt(node, "N", -1);
  int64_t bits = attrInt(node, "bits", 4);
  int64_t block = attrInt(node, "block_size", -1);
  if (k <= 0 || n <= 0)
    return invalid("attributes K and N must be given and positive");
  if (bits != 2 && bits != 4 && bits != 8)
    return invalid("bits=" + Twine(bits) +
                   " is not defined for MatMulNBits (2, 4 or 8)");
  if (block < 16 || (block & (block - 1)) != 0)
    return invalid("block_size=" + Twine(block) +
                   " must be a power of two >= 16");
  auto aType = tensorType(a);
  if (!aType.getElementType().isF32())
    return unsupported("MatMulNBits with a non-f32 input A");
  if (aType.getRank() < 1 || aType.getShape().back() != k)
    return invalid("input A of shape " + shapeString(aType.getShape()) +
                   " does not end in K=" + Twine(k));
  int64_t nBlocks = (k + block - 1) / block;
  int64_t blob = block * bits / 8;
  const ox::Tensor *bT = constantOf(node, 1);
  if (!bT)
    return unsupported("non-constant weight B");
  std::vector<int64_t> bDims = {n, nBlocks, blob};
  if (bT->dataType != ox::kUint8 || bT->dims != bDims)
    return invalid("B is " + ox::dataTypeName(bT->dataType) + " " +
                   shapeString(bT->dims) + ", expected UINT8 " +
                   shapeString(bDims) + " for K=" + Twine(k) + ", N=" +
                   Twine(n) + ", bits=" + Twine(bits) +
                   ", block_size=" + Twine(block));
  const ox::Tensor *sT = constantOf(node, 2);
  if (!sT)
    return unsupported("non-constant scales");
  if (sT->dataType != ox::kFloat || sT->numElements() != n * nBlocks)
    return invalid("scales must be FLOAT with N*n_blocks=" +
                   Twine(n * nBlocks) + " elements");
  int64_t zpRow = (nBlocks * bits + 7) / 8;
  const ox::Tensor *zT = constantOf(node, 3);
  if (hasInput(node, 3)) {
    if (!zT)
      return unsupported("non-constant zero_points");
    if (zT->dataType != ox::kUint8)
      return unsupported("zero_points of type " +
                         ox::dataTypeName(zT->dataType) +
                         " (packed UINT8 is supported)");
    if (zT->numElements() != n * zpRow)
      return invalid("zero_points must have N*ceil(n_blocks*bits/8)=" +
                     Twine(n * zpRow) + " elements, has " +
                     Twine(zT->numElements()));
  }
  if (hasInput(node, 4))
    return unsupported("MatMulNBits with g_idx");
  if (k % block != 0)
    return unsupported("K=" + Twine(k) + " that is not a multiple of "
                       "block_size=" + Twine(block));
  Value bias;
  if (hasInput(node, 5)) {
    if (failed(lookup(node, 5, bias)))
      return failure();
    auto bt = tensorType(bias);
    if (bt.getRank() != 1 || bt.getDimSize(0) != n ||
        !bt.getElementType().isF32())
      return invalid("bias must be f32 [N]");
  }

  // Unpack to one i8 container per value, [N, K], and the [N, n_blocks]
  // scale and zero tables.
  const uint8_t *packed = reinterpret_cast<const uint8_t *>(bT->bytes());
  const uint8_t *zps =
      zT ? reinterpret_cast<const uint8_t *>(zT->bytes()) : nullptr;
  unsigned mask = (1u << bits) - 1;
  auto qBuf = std::make_shared<VectorBuffer>();
  qBuf->bytes.resize(n * k);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t c = 0; c < k; ++c) {
      int64_t blk = c / block, j = c % block;
      uint8_t byte = packed[(r * nBlocks + blk) * blob + j * bits / 8];
      qBuf->bytes[r * k + c] = char((byte >> (j * bits % 8)) & mask);
    }
  std::vector<float> scaleTab(n * nBlocks), zeroTab(n * nBlocks);
  const float *scales = reinterpret_cast<const float *>(sT->bytes());
  for (int64_t r = 0; r < n; ++r)
    for (int64_t blk = 0; blk < nBlocks; ++blk) {
      scaleTab[r * nBlocks + blk] = scales[r * nBlocks + blk];
      unsigned zp = 1u << (bits - 1);
      if (zps)
        zp = (zps[r * zpRow + blk * bits / 8] >> (blk * bits % 8)) & mask;
      zeroTab[r * nBlocks + blk] = float(zp);
    }
  std::string base = bT->name;
  size_t qSize = qBuf->bytes.size();
  Value q = makeResourceConstant(
      RankedTensorType::get({n, k}, builder.getI8Type()), std::move(qBuf), 0,
      qSize, base + "_q", loc);
  Type f32 = builder.getF32Type();
  Value scale =
      makeFloatConstant({n, nBlocks}, scaleTab, f32, loc, base + "_scale");
  Value zero =
      makeFloatConstant({n, nBlocks}, zeroTab, f32, loc, base + "_zero");
  Value w = lb::DequantizeWeightOp::create(
      builder, loc, RankedTensorType::get({n, k}, f32), q, scale, zero,
      builder.getI64IntegerAttr(bits), builder.getI64IntegerAttr(block),
      builder.getStringAttr("integer"));
  SmallVector<int64_t> outShape(aType.getShape());
  outShape.back() = n;
  Value y = nn::LinearOp::create(builder, loc,
                                 RankedTensorType::get(outShape, f32), a, w,
                                 bias);
  define(node, 0, y);
  return success();
}

/// Resize mode=linear: separable 1-D linear interpolation along every axis
/// whose size changes. Per output index i of such an axis, the import-time
/// tables hold the source coordinate x(i) of coordinate_transformation_mode,
/// i0 = clamp(floor(x)), i1 = clamp(floor(x) + 1) and w = x - floor(x); one
/// linalg.generic per axis computes v[i0] * (1 - w) + v[i1] * w (ONNX's
/// reference formula; clamping the neighbours is its edge padding).
LogicalResult Importer::importResizeLinear(const ox::Node &node, Value x,
                                           ArrayRef<double> scales,
                                           ArrayRef<int64_t> outShape) {
  Location loc = nodeLoc(node);
  auto tx = tensorType(x);
  if (!tx.getElementType().isF32())
    return unsupported("Resize linear of a non-f32 tensor");
  std::string ctm = attrString(node, "coordinate_transformation_mode",
                               opset < 11 ? "asymmetric" : "half_pixel");
  if (ctm != "half_pixel" && ctm != "pytorch_half_pixel" &&
      ctm != "align_corners" && ctm != "asymmetric")
    return unsupported("Resize linear with coordinate_transformation_mode '" +
                       ctm + "'");
  if (attrInt(node, "antialias", 0) != 0)
    return unsupported("Resize linear with antialias=1");
  if (attrString(node, "keep_aspect_ratio_policy", "stretch") != "stretch")
    return unsupported("Resize linear with keep_aspect_ratio_policy");
  Value cur = x;
  for (int64_t d = 0; d < tx.getRank(); ++d) {
    int64_t in = tx.getDimSize(d), out = outShape[d];
    if (out <= 0)
      return invalid("Resize output dimension " + Twine(d) + " is " +
                     Twine(out));
    if (out == in && scales[d] == 1.0)
      continue;
    std::vector<int32_t> lo(out), hi(out);
    std::vector<float> weight(out);
    for (int64_t i = 0; i < out; ++i) {
      double c;
      // ONNX's reference takes the resized length as in * scale (not the
      // floored output size) when scales are given.
      double outLen = scales[d] * in;
      if (ctm == "align_corners")
        c = outLen == 1 ? 0.0 : double(i) * (in - 1) / (outLen - 1);
      else if (ctm == "asymmetric")
        c = i / scales[d];
      else if (ctm == "pytorch_half_pixel" && out == 1)
        c = 0.0;
      else
        c = (i + 0.5) / scales[d] - 0.5;
      double f = std::floor(c);
      lo[i] = static_cast<int32_t>(std::clamp<double>(f, 0, in - 1));
      hi[i] = static_cast<int32_t>(std::clamp<double>(f + 1, 0, in - 1));
      weight[i] = static_cast<float>(c - f);
    }
    auto idxType = RankedTensorType::get({out}, builder.getI32Type());
    Value loT = arith::ConstantOp::create(
        builder, loc, DenseElementsAttr::get(idxType, ArrayRef<int32_t>(lo)));
    Value hiT = arith::ConstantOp::create(
        builder, loc, DenseElementsAttr::get(idxType, ArrayRef<int32_t>(hi)));
    Value wT = arith::ConstantOp::create(
        builder, loc,
        DenseElementsAttr::get(
            RankedTensorType::get({out}, builder.getF32Type()),
            ArrayRef<float>(weight)));
    auto curType = tensorType(cur);
    SmallVector<int64_t> shape(curType.getShape());
    shape[d] = out;
    int64_t rank = shape.size();
    AffineMap along = AffineMap::get(rank, 0, builder.getAffineDimExpr(d));
    SmallVector<AffineMap> maps = {along, along, along,
                                   builder.getMultiDimIdentityMap(rank)};
    Value init =
        tensor::EmptyOp::create(builder, loc, shape, builder.getF32Type());
    Value src = cur;
    auto generic = linalg::GenericOp::create(
        builder, loc, TypeRange{init.getType()}, ValueRange{loT, hiT, wT},
        ValueRange{init}, maps,
        SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
        [&](OpBuilder &b, Location l, ValueRange args) {
          SmallVector<Value> coords;
          for (int64_t k = 0; k < rank; ++k)
            coords.push_back(linalg::IndexOp::create(b, l, k));
          coords[d] = arith::IndexCastOp::create(b, l, b.getIndexType(),
                                                 args[0]);
          Value v0 = tensor::ExtractOp::create(b, l, src, coords);
          coords[d] = arith::IndexCastOp::create(b, l, b.getIndexType(),
                                                 args[1]);
          Value v1 = tensor::ExtractOp::create(b, l, src, coords);
          Value one = arith::ConstantOp::create(b, l, b.getF32FloatAttr(1.0f));
          Value w0 = arith::SubFOp::create(b, l, one, args[2]);
          Value y = arith::AddFOp::create(
              b, l, arith::MulFOp::create(b, l, v0, w0),
              arith::MulFOp::create(b, l, v1, args[2]));
          linalg::YieldOp::create(b, l, y);
        });
    cur = generic.getResult(0);
  }
  define(node, 0, cur);
  return success();
}

/// MatMulInteger: int8/uint8 A [..., M, K] and B [K, N] with optional zero
/// points (scalar, per row of A [M], per column of B [N]; constants or
/// computed at run time) -> int32, exact: both operands are widened to i32
/// minus their zero point (one linalg.generic each), then an i32
/// linalg.matmul.
LogicalResult Importer::importMatMulInteger(const ox::Node &node) {
  Location loc = nodeLoc(node);
  Type i32 = builder.getI32Type();
  // The operand as i8 bits and whether those bits are unsigned.
  auto operand = [&](size_t idx, Value &v, bool &isUnsigned) -> LogicalResult {
    int32_t type;
    if (failed(quantOperand(node, idx, v, type)))
      return failure();
    if (type != ox::kInt8 && type != ox::kUint8)
      return invalid("MatMulInteger input " + Twine(idx) +
                     " must be int8 or uint8, got " +
                     (type != ox::kUndefined
                          ? ox::dataTypeName(type)
                          : llvm::formatv("{0}", tensorType(v).getElementType())
                                .str()));
    isUnsigned = type == ox::kUint8;
    if (isa<quant::QuantizedType>(tensorType(v).getElementType()))
      v = quant::StorageCastOp::create(
          builder, loc,
          RankedTensorType::get(tensorType(v).getShape(), builder.getI8Type()),
          v);
    return success();
  };
  // The zero point as i8 bits of the operand's type (null: none).
  auto zeroPoint = [&](size_t idx, bool isUnsigned, Value &zp) -> LogicalResult {
    zp = {};
    if (!hasInput(node, idx))
      return success();
    int32_t type;
    if (failed(quantOperand(node, idx, zp, type)))
      return failure();
    if (type != (isUnsigned ? ox::kUint8 : ox::kInt8))
      return invalid("zero point '" + node.inputs[idx] + "' is " +
                     (type != ox::kUndefined
                          ? ox::dataTypeName(type)
                          : llvm::formatv("{0}", tensorType(zp).getElementType())
                                .str()) +
                     ", its operand is " + (isUnsigned ? "UINT8" : "INT8"));
    if (isa<quant::QuantizedType>(tensorType(zp).getElementType()))
      zp = quant::StorageCastOp::create(
          builder, loc,
          RankedTensorType::get(tensorType(zp).getShape(),
                                builder.getI8Type()),
          zp);
    if (tensorType(zp).getRank() > 1)
      return unsupported("zero point '" + node.inputs[idx] + "' of rank " +
                         Twine(tensorType(zp).getRank()));
    return success();
  };
  Value a, b, aZp, bZp;
  bool aUnsigned = false, bUnsigned = false;
  if (failed(operand(0, a, aUnsigned)) || failed(operand(1, b, bUnsigned)) ||
      failed(zeroPoint(2, aUnsigned, aZp)) ||
      failed(zeroPoint(3, bUnsigned, bZp)))
    return failure();
  auto ta = tensorType(a), tb = tensorType(b);
  if (ta.getRank() < 2 || tb.getRank() != 2)
    return unsupported("MatMulInteger with A of rank " +
                       Twine(ta.getRank()) + " and B of rank " +
                       Twine(tb.getRank()) + " (A rank >= 2, B rank 2)");
  int64_t m = ta.getDimSize(ta.getRank() - 2), k = ta.getShape().back();
  int64_t n = tb.getDimSize(1);
  if (tb.getDimSize(0) != k)
    return invalid("MatMulInteger reduction dimensions differ: " +
                   shapeString(ta.getShape()) + " x " +
                   shapeString(tb.getShape()));
  int64_t aZpSize = aZp ? tensorType(aZp).getNumElements() : 0;
  int64_t bZpSize = bZp ? tensorType(bZp).getNumElements() : 0;
  if (aZpSize > 1 && (aZpSize != m || ta.getRank() != 2))
    return invalid("a_zero_point has " + Twine(aZpSize) +
                   " elements; expected 1 or M=" + Twine(m) +
                   " (for a 2-D A)");
  if (bZpSize > 1 && bZpSize != n)
    return invalid("b_zero_point has " + Twine(bZpSize) +
                   " elements; expected 1 or N=" + Twine(n));
  // x -> ext(x) - ext(zp[index along `zpDim`]) as i32.
  auto widen = [&](Value v, bool isUnsigned, Value zp, int64_t zpDim) -> Value {
    auto t = tensorType(v);
    int64_t rank = t.getRank();
    SmallVector<Value> ins = {v};
    SmallVector<AffineMap> maps = {builder.getMultiDimIdentityMap(rank)};
    if (zp && tensorType(zp).getNumElements() == 1) {
      ins.push_back(reshape(zp, {}, loc));
      maps.push_back(AffineMap::get(rank, 0, {}, ctx));
    } else if (zp) {
      ins.push_back(zp);
      maps.push_back(AffineMap::get(rank, 0, builder.getAffineDimExpr(zpDim)));
    }
    maps.push_back(builder.getMultiDimIdentityMap(rank));
    Value init = tensor::EmptyOp::create(builder, loc, t.getShape(), i32);
    auto ext = [&](OpBuilder &bb, Location l, Value x) -> Value {
      return isUnsigned ? arith::ExtUIOp::create(bb, l, i32, x).getResult()
                        : arith::ExtSIOp::create(bb, l, i32, x).getResult();
    };
    return linalg::GenericOp::create(
               builder, loc, TypeRange{init.getType()}, ins, ValueRange{init},
               maps,
               SmallVector<utils::IteratorType>(rank,
                                                utils::IteratorType::parallel),
               [&](OpBuilder &bb, Location l, ValueRange args) {
                 Value x = ext(bb, l, args[0]);
                 if (args.size() > 2)
                   x = arith::SubIOp::create(bb, l, x, ext(bb, l, args[1]));
                 linalg::YieldOp::create(bb, l, x);
               })
        .getResult(0);
  };
  Value aw = widen(a, aUnsigned, aZp, ta.getRank() - 2);
  Value bw = widen(b, bUnsigned, bZp, 1);
  int64_t rows = ta.getNumElements() / k;
  aw = reshape(aw, {rows, k}, loc);
  Value init = tensor::EmptyOp::create(builder, loc,
                                       SmallVector<int64_t>{rows, n}, i32);
  Value zero = arith::ConstantOp::create(builder, loc,
                                         builder.getI32IntegerAttr(0));
  Value acc = linalg::FillOp::create(builder, loc, ValueRange{zero},
                                     ValueRange{init})
                  .getResult(0);
  Value y = linalg::MatmulOp::create(builder, loc, TypeRange{acc.getType()},
                                     ValueRange{aw, bw}, ValueRange{acc})
                .getResult(0);
  SmallVector<int64_t> outShape(ta.getShape());
  outShape.back() = n;
  define(node, 0, reshape(y, outShape, loc));
  return success();
}

/// The scale (and zero point) layout of a Quantize/DequantizeLinear node on
/// an input of `shape`: per tensor (both reshaped to rank 0), per `axis`, or
/// blocked along `axis` (index i reads entry i / block_size). Checks the
/// shapes and returns the indexing map that reads scale and zero point.
FailureOr<AffineMap> Importer::quantParamMap(const ox::Node &node,
                                             ArrayRef<int64_t> shape,
                                             Value &scale, Value &zp) {
  Location loc = nodeLoc(node);
  auto ts = tensorType(scale);
  int64_t rank = shape.size();
  if (zp && tensorType(zp).getShape() != ts.getShape() &&
      !(ts.getNumElements() == 1 && tensorType(zp).getNumElements() == 1))
    return invalid("zero point of shape " +
                   shapeString(tensorType(zp).getShape()) +
                   " differs from the scale's " + shapeString(ts.getShape()));
  int64_t block = attrInt(node, "block_size", 0);
  int64_t axis = attrInt(node, "axis", 1);
  if (ts.getNumElements() == 1 && block == 0) {
    scale = reshape(scale, {}, loc);
    if (zp)
      zp = reshape(zp, {}, loc);
    return AffineMap::get(rank, 0, {}, ctx);
  }
  if (rank == 0 || failed(normalizeAxis(axis, rank, "axis")))
    return failure();
  if (block < 0)
    return invalid("block_size=" + Twine(block) + " must be positive");
  SmallVector<int64_t> expected = {shape[axis]};
  AffineMap map = AffineMap::get(rank, 0, builder.getAffineDimExpr(axis));
  if (block > 0) {
    expected.assign(shape.begin(), shape.end());
    expected[axis] = (shape[axis] + block - 1) / block;
    SmallVector<AffineExpr> exprs;
    for (int64_t d = 0; d < rank; ++d)
      exprs.push_back(d == axis ? builder.getAffineDimExpr(d).floorDiv(block)
                                : builder.getAffineDimExpr(d));
    map = AffineMap::get(rank, 0, exprs, ctx);
  }
  if (ts.getShape() != ArrayRef<int64_t>(expected))
    return invalid(Twine(block ? "blocked " : "") + "scale of shape " +
                   shapeString(ts.getShape()) + " does not fit input " +
                   shapeString(shape) +
                   (block ? " with block_size=" + std::to_string(block)
                          : std::string()) +
                   " along axis " + Twine(axis) + " (expected " +
                   shapeString(expected) + ")");
  return map;
}

/// DequantizeLinear as arithmetic: y = (float(x) - float(zp)) * scale, x and
/// zp widened by their signedness; scale/zp per tensor, per axis, or blocked
/// along `axis` (index i reads entry i / block_size).
LogicalResult Importer::dequantizeArith(const ox::Node &node, Value q,
                                        bool isUnsigned, Value scale,
                                        Value zp) {
  Location loc = nodeLoc(node);
  auto tq = tensorType(q), ts = tensorType(scale);
  ArrayRef<int64_t> shape = tq.getShape();
  int64_t rank = shape.size();
  if (!isa<IntegerType>(tq.getElementType()) ||
      tq.getElementType().isInteger(1))
    return unsupported("DequantizeLinear of " +
                       llvm::formatv("{0}", tq.getElementType()).str());
  if (!ts.getElementType().isF32())
    return unsupported("DequantizeLinear with a non-f32 scale");
  FailureOr<AffineMap> paramMap = quantParamMap(node, shape, scale, zp);
  if (failed(paramMap))
    return failure();
  SmallVector<Value> ins = {q, scale};
  SmallVector<AffineMap> maps = {builder.getMultiDimIdentityMap(rank),
                                 *paramMap};
  if (zp) {
    ins.push_back(zp);
    maps.push_back(*paramMap);
  }
  maps.push_back(builder.getMultiDimIdentityMap(rank));
  Type f32 = builder.getF32Type(), i32 = builder.getI32Type();
  Value init = tensor::EmptyOp::create(builder, loc, shape, f32);
  auto widen = [&](OpBuilder &b, Location l, Value v) -> Value {
    unsigned w = v.getType().getIntOrFloatBitWidth();
    if (w < 32)
      v = isUnsigned ? arith::ExtUIOp::create(b, l, i32, v).getResult()
                     : arith::ExtSIOp::create(b, l, i32, v).getResult();
    return isUnsigned && w < 32
               ? arith::UIToFPOp::create(b, l, f32, v).getResult()
               : arith::SIToFPOp::create(b, l, f32, v).getResult();
  };
  Value y =
      linalg::GenericOp::create(
          builder, loc, TypeRange{init.getType()}, ins, ValueRange{init}, maps,
          SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
          [&](OpBuilder &b, Location l, ValueRange args) {
            Value x = widen(b, l, args[0]);
            if (args.size() > 3)
              x = arith::SubFOp::create(b, l, x, widen(b, l, args[2]));
            linalg::YieldOp::create(
                b, l, arith::MulFOp::create(b, l, x, args[1]).getResult());
          })
          .getResult(0);
  define(node, 0, y);
  return success();
}

/// QuantizeLinear as arithmetic: q = saturate(round_half_even(x / scale) +
/// zp) into qType's container (i8 or i16; sub-byte types one value per i8);
/// scale/zp per tensor, per axis or blocked, as in dequantizeArith.
LogicalResult Importer::quantizeArith(const ox::Node &node, Value x,
                                      int32_t qType, Value scale, Value zp) {
  bool isUnsigned = isUnsignedIntType(qType);
  Location loc = nodeLoc(node);
  auto tx = tensorType(x), ts = tensorType(scale);
  ArrayRef<int64_t> shape = tx.getShape();
  int64_t rank = shape.size();
  if (!ts.getElementType().isF32())
    return unsupported("QuantizeLinear with a non-f32 scale");
  FailureOr<AffineMap> paramMap = quantParamMap(node, shape, scale, zp);
  if (failed(paramMap))
    return failure();
  SmallVector<Value> ins = {x, scale};
  SmallVector<AffineMap> maps = {builder.getMultiDimIdentityMap(rank),
                                 *paramMap};
  if (zp) {
    ins.push_back(zp);
    maps.push_back(*paramMap);
  }
  maps.push_back(builder.getMultiDimIdentityMap(rank));
  Type f32 = builder.getF32Type(), i32 = builder.getI32Type(),
       iN = builder.getIntegerType(containerWidth(qType));
  int64_t lo, hi;
  intTypeRange(qType, lo, hi);
  // Exact in f32: every bound is at most 16 bits wide.
  float qmin = float(lo), qmax = float(hi);
  Value init = tensor::EmptyOp::create(builder, loc, shape, iN);
  Value y =
      linalg::GenericOp::create(
          builder, loc, TypeRange{init.getType()}, ins, ValueRange{init}, maps,
          SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
          [&](OpBuilder &b, Location l, ValueRange args) {
            Value v = arith::DivFOp::create(b, l, args[0], args[1]);
            v = math::RoundEvenOp::create(b, l, v);
            if (args.size() > 3) {
              Value z = isUnsigned
                            ? arith::ExtUIOp::create(b, l, i32, args[2])
                                  .getResult()
                            : arith::ExtSIOp::create(b, l, i32, args[2])
                                  .getResult();
              v = arith::AddFOp::create(
                  b, l, v, arith::SIToFPOp::create(b, l, f32, z));
            }
            v = arith::MaximumFOp::create(
                b, l, v,
                arith::ConstantOp::create(b, l, b.getF32FloatAttr(qmin)));
            v = arith::MinimumFOp::create(
                b, l, v,
                arith::ConstantOp::create(b, l, b.getF32FloatAttr(qmax)));
            Value q = arith::FPToSIOp::create(b, l, i32, v);
            linalg::YieldOp::create(b, l,
                                    arith::TruncIOp::create(b, l, iN, q)
                                        .getResult());
          })
          .getResult(0);
  if (isTrackedIntType(qType))
    intTypes[y] = qType;
  define(node, 0, y);
  return success();
}
