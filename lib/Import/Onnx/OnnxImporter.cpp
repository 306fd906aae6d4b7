//===- OnnxImporter.cpp - ONNX graph -> nn / tosa / tensor ----------------===//
//
// Walks the plain-struct graph of OnnxModel.h in order and emits one function.
// Ops that passes must see whole become nn ops; element-wise and shape ops
// become upstream tosa/tensor/linalg ops. All shapes are made static here:
// from the model's declared input shapes or the caller's overrides, then
// propagated through every node by the importer's own shape rules.
//
//===----------------------------------------------------------------------===//
#include "lib/Import/Onnx/Importer.h"

#include "lowbit/Import.h"

using namespace mlir;
using namespace lowbit;
using lowbit::onnximport::Importer;
namespace ox = lowbit::onnx;

namespace lowbit::onnximport {

//===----------------------------------------------------------------------===//
// Types and constants
//===----------------------------------------------------------------------===//

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
  // [-rank, rank): a rank-0 tensor has no axis, and the callers index the
  // shape with the result (Split on a scalar read past its shape).
  if (axis < -rank || axis >= rank)
    return invalid(Twine(what) + " " + Twine(axis) +
                   " is out of range for rank " + Twine(rank));
  if (axis < 0)
    axis += rank;
  return success();
}

} // namespace lowbit::onnximport

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
  if (dimsText != "scalar") {
    SmallVector<StringRef> parts;
    dimsText.split(parts, 'x');
    if (parts.size() > ox::kMaxRank)
      return "--input-shape '" + flag.str() + "' has rank " +
             std::to_string(parts.size()) + "; lowbit reads ranks up to " +
             std::to_string(ox::kMaxRank);
    for (StringRef p : parts) {
      int64_t d;
      if (p.getAsInteger(10, d) || d < 0 || d > ox::kMaxElements)
        return "--input-shape '" + flag.str() + "': '" + p.str() +
               "' is not a non-negative dimension";
      dims.push_back(d);
    }
  }
  auto [it, inserted] = options.inputShapes.try_emplace(name.str(), dims);
  if (!inserted && it->second != dims)
    return "--input-shape gives input '" + name.str() +
           "' two different shapes";
  return "";
}

std::string lowbit::parseMaxMemoryFlag(StringRef flag, ImportOptions &options) {
  StringRef text = flag.trim();
  uint64_t scale = 1;
  if (!text.empty()) {
    switch (llvm::toUpper(text.back())) {
    case 'K':
      scale = uint64_t(1) << 10;
      break;
    case 'M':
      scale = uint64_t(1) << 20;
      break;
    case 'G':
      scale = uint64_t(1) << 30;
      break;
    case 'T':
      scale = uint64_t(1) << 40;
      break;
    }
    if (scale != 1)
      text = text.drop_back();
  }
  uint64_t value;
  if (text.empty() || text.getAsInteger(10, value) || value == 0 ||
      value > (uint64_t(1) << 62) / scale)
    return "--max-memory expects a positive size such as 8G, 512M or a "
           "byte count, got '" + flag.str() + "'";
  options.maxMemoryBytes = value * scale;
  return "";
}
