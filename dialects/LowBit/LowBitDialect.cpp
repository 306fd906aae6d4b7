//===- LowBitDialect.cpp - lowbit dialect, types and verifiers ------------===//
#include "dialects/LowBit/LowBitDialect.h"

#include "lib/Numerics/Pack.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/DialectImplementation.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>

using namespace mlir;
using namespace lowbit::lb;

#include "dialects/LowBit/LowBitDialect.cpp.inc"
#include "dialects/LowBit/LowBitEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/LowBit/LowBitAttrs.cpp.inc"

#define GET_TYPEDEF_CLASSES
#include "dialects/LowBit/LowBitTypes.cpp.inc"

#define GET_OP_CLASSES
#include "dialects/LowBit/LowBitOps.cpp.inc"

void LowBitDialect::initialize() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "dialects/LowBit/LowBitAttrs.cpp.inc"
      >();
  addTypes<
#define GET_TYPEDEF_LIST
#include "dialects/LowBit/LowBitTypes.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "dialects/LowBit/LowBitOps.cpp.inc"
      >();
}

int64_t lowbit::lb::getLayoutRowMultiple(LayoutKind kind) {
  // Rows fill whole bytes (in every plane) without padding.
  switch (kind) {
  case LayoutKind::int2_crumbs:
  case LayoutKind::int6_planes:
    return 4;
  case LayoutKind::int4_nibbles:
    return 2;
  case LayoutKind::int8_bytes:
    return 1;
  case LayoutKind::bit_planes:
    return 8;
  }
  return 1;
}

unsigned lowbit::lb::getLayoutBits(LayoutKind kind) {
  switch (kind) {
  case LayoutKind::int2_crumbs:
    return 2;
  case LayoutKind::int4_nibbles:
    return 4;
  case LayoutKind::int6_planes:
    return 6;
  case LayoutKind::int8_bytes:
    return 8;
  case LayoutKind::bit_planes:
    return 0;
  }
  return 0;
}

// LayoutKind and lib/Numerics' PackLayout name the same layouts with the same
// values, so one converts to the other by value.
static_assert(static_cast<int>(LayoutKind::int2_crumbs) ==
                  static_cast<int>(lowbit::numerics::PackLayout::Int2Crumbs) &&
              static_cast<int>(LayoutKind::int4_nibbles) ==
                  static_cast<int>(lowbit::numerics::PackLayout::Int4Nibbles) &&
              static_cast<int>(LayoutKind::int6_planes) ==
                  static_cast<int>(lowbit::numerics::PackLayout::Int6Planes) &&
              static_cast<int>(LayoutKind::int8_bytes) ==
                  static_cast<int>(lowbit::numerics::PackLayout::Int8Bytes) &&
              static_cast<int>(LayoutKind::bit_planes) ==
                  static_cast<int>(lowbit::numerics::PackLayout::BitPlanes),
              "LayoutKind and numerics::PackLayout must agree");

static lowbit::numerics::PackLayout toNumericsLayout(LayoutKind kind) {
  return static_cast<lowbit::numerics::PackLayout>(static_cast<int>(kind));
}

/// Storage width of a low-bit element type: a quant type's storage width or a
/// signless integer's width; 0 if the type is neither.
static unsigned getStorageWidth(Type type) {
  if (auto q = dyn_cast<quant::QuantizedType>(type))
    return q.getStorageTypeIntegralWidth();
  // Signless integers are two's complement values, unsigned ones are
  // zero-extended; `si` types would only restate signless, so they are out.
  if (auto i = dyn_cast<IntegerType>(type))
    return i.isSigned() ? 0 : i.getWidth();
  return 0;
}

/// Checks the scale tables of per-axis and sub-channel quant types against
/// the shape they quantize; "" when consistent, else the reason.
static std::string checkQuantTypeShape(Type elementType,
                                       ArrayRef<int64_t> shape) {
  if (auto perAxis = dyn_cast<quant::UniformQuantizedPerAxisType>(elementType)) {
    int32_t axis = perAxis.getQuantizedDimension();
    if (axis < 0 || axis >= static_cast<int64_t>(shape.size()))
      return "quantized dimension " + std::to_string(axis) +
             " out of range for rank " + std::to_string(shape.size());
    if (shape[axis] != static_cast<int64_t>(perAxis.getScales().size()))
      return "per-axis type has " + std::to_string(perAxis.getScales().size()) +
             " scales for dimension " + std::to_string(axis) + " of size " +
             std::to_string(shape[axis]);
  }
  if (auto sub =
          dyn_cast<quant::UniformQuantizedSubChannelType>(elementType)) {
    ArrayRef<int64_t> scaleShape = sub.getScales().getType().getShape();
    if (scaleShape.size() != shape.size())
      return "sub-channel scales have rank " +
             std::to_string(scaleShape.size()) + ", the tensor " +
             std::to_string(shape.size());
    SmallVector<int64_t> blocks(shape.size(), 0);
    for (auto [dim, block] :
         llvm::zip(sub.getQuantizedDimensions(), sub.getBlockSizes())) {
      if (dim < 0 || dim >= static_cast<int64_t>(shape.size()))
        return "quantized dimension " + std::to_string(dim) +
               " out of range for rank " + std::to_string(shape.size());
      blocks[dim] = block;
    }
    for (size_t d = 0; d < shape.size(); ++d) {
      // As upstream: a dimension without a block size has block size 1.
      int64_t block = blocks[d] ? blocks[d] : 1;
      if (block <= 0 || shape[d] % block != 0)
        return "block size " + std::to_string(block) +
               " does not divide dimension " + std::to_string(d) +
               " of size " + std::to_string(shape[d]);
      if (scaleShape[d] != shape[d] / block)
        return "sub-channel scales have " + std::to_string(scaleShape[d]) +
               " entries along dimension " + std::to_string(d) +
               ", expected " + std::to_string(shape[d] / block);
    }
  }
  return "";
}

//===----------------------------------------------------------------------===//
// PackedType
//===----------------------------------------------------------------------===//

Type PackedType::parse(AsmParser &parser) {
  SmallVector<int64_t> shape;
  Type elementType;
  std::string layoutName;
  SMLoc loc = parser.getCurrentLocation();
  if (parser.parseLess() ||
      parser.parseDimensionList(shape, /*allowDynamic=*/false,
                                /*withTrailingX=*/true) ||
      parser.parseType(elementType) || parser.parseComma() ||
      parser.parseKeywordOrString(&layoutName) || parser.parseGreater())
    return {};
  std::optional<LayoutKind> layout = symbolizeLayoutKind(layoutName);
  if (!layout) {
    parser.emitError(loc, "unknown packed layout '")
        << layoutName
        << "'; expected int2_crumbs, int4_nibbles, int6_planes, int8_bytes "
           "or bit_planes";
    return {};
  }
  return getChecked([&] { return parser.emitError(loc); },
                    parser.getContext(), shape, elementType, *layout);
}

void PackedType::print(AsmPrinter &printer) const {
  printer << "<";
  for (int64_t d : getShape())
    printer << d << "x";
  printer << getElementType() << ", " << stringifyLayoutKind(getLayout())
          << ">";
}

LogicalResult
PackedType::verify(llvm::function_ref<InFlightDiagnostic()> emitError,
                   ArrayRef<int64_t> shape, Type elementType,
                   LayoutKind layout) {
  if (shape.empty())
    return emitError() << "packed tensors must have rank >= 1";
  for (int64_t d : shape)
    if (d <= 0)
      return emitError() << "packed tensors need static positive dimensions";
  unsigned width = getStorageWidth(elementType);
  if (width == 0)
    return emitError() << "packed element type must be a !quant.uniform type, "
                          "a signless (two's complement) or an unsigned "
                          "integer, got "
                       << elementType;
  unsigned bits = getLayoutBits(layout);
  if (layout == LayoutKind::bit_planes) {
    if (width < 1 || width > 8)
      return emitError() << "bit_planes holds 1..8-bit values, got " << width;
  } else if (width > bits || width + 2 <= bits) {
    // A layout holds its own width and the one below (INT3 in nibbles, INT5
    // in 6-bit planes, INT7 in bytes); anything narrower is wasted storage.
    return emitError() << "a " << width << "-bit element does not fit layout "
                       << stringifyLayoutKind(layout);
  }
  std::string shapeError = checkQuantTypeShape(elementType, shape);
  if (!shapeError.empty())
    return emitError() << shapeError;
  int64_t multiple = getLayoutRowMultiple(layout);
  if (shape.back() % multiple != 0)
    return emitError() << "last dimension " << shape.back()
                       << " must be a multiple of " << multiple << " for layout "
                       << stringifyLayoutKind(layout);
  return success();
}

unsigned PackedType::getBitWidth() const {
  return getStorageWidth(getElementType());
}

int64_t PackedType::getRowBytes() const {
  std::string error;
  return lowbit::numerics::packedRowBytes(toNumericsLayout(getLayout()),
                                          getBitWidth(), getShape().back(),
                                          error);
}

int64_t PackedType::getStorageBytes() const {
  int64_t rows = 1;
  for (int64_t d : getShape().drop_back())
    rows *= d;
  return rows * getRowBytes();
}

//===----------------------------------------------------------------------===//
// Ops
//===----------------------------------------------------------------------===//

/// Checks that `quantized` is a tensor of quant types whose expressed type is
/// the element type of `real`, with the same shape and a 2..8-bit storage.
static LogicalResult verifyQuantPair(Operation *op, RankedTensorType real,
                                     RankedTensorType quantized) {
  if (real.getShape() != quantized.getShape())
    return op->emitOpError("float and quantized shapes differ");
  auto q = dyn_cast<quant::QuantizedType>(quantized.getElementType());
  if (!q)
    return op->emitOpError("expects a !quant.uniform element type, got ")
           << quantized.getElementType();
  unsigned width = q.getStorageTypeIntegralWidth();
  if (width < 2 || width > 8)
    return op->emitOpError("storage width must be 2..8 bits, got ") << width;
  if (q.getExpressedType() != real.getElementType())
    return op->emitOpError("quantized type expresses ")
           << q.getExpressedType() << " but the float side is "
           << real.getElementType();
  std::string shapeError = checkQuantTypeShape(q, quantized.getShape());
  if (!shapeError.empty())
    return op->emitOpError(shapeError);
  return success();
}

LogicalResult QuantizeOp::verify() {
  return verifyQuantPair(*this, getInput().getType(),
                         cast<RankedTensorType>(getResult().getType()));
}

LogicalResult DequantizeOp::verify() {
  return verifyQuantPair(*this, getResult().getType(),
                         cast<RankedTensorType>(getInput().getType()));
}

static LogicalResult verifyPackPair(Operation *op, RankedTensorType unpacked,
                                    PackedType packed) {
  if (unpacked.getShape() != packed.getShape())
    return op->emitOpError("packed and unpacked shapes differ");
  if (unpacked.getElementType() != packed.getElementType())
    return op->emitOpError("element types differ: ")
           << unpacked.getElementType() << " vs " << packed.getElementType();
  return success();
}

LogicalResult PackOp::verify() {
  auto input = cast<RankedTensorType>(getInput().getType());
  PackedType packed = getResult().getType();
  // The i8-container form: i8 elements holding values of the packed width.
  if (input.getElementType().isInteger(8) &&
      isa<IntegerType>(packed.getElementType()) && packed.getBitWidth() <= 8) {
    if (input.getShape() != packed.getShape())
      return emitOpError("packed and unpacked shapes differ");
    return success();
  }
  return verifyPackPair(*this, input, packed);
}

bool lowbit::lb::getConstantBytes(ElementsAttr value,
                                  std::vector<int8_t> &bytes) {
  if (!value || !value.getElementType().isInteger(8))
    return false;
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(value)) {
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob || blob->getData().size() !=
                     static_cast<size_t>(resource.getNumElements()))
      return false;
    ArrayRef<char> data = blob->getData();
    bytes.assign(data.begin(), data.end());
    return true;
  }
  if (auto dense = dyn_cast<DenseIntElementsAttr>(value)) {
    bytes.clear();
    for (APInt v : dense.getValues<APInt>())
      bytes.push_back(static_cast<int8_t>(v.getSExtValue()));
    return true;
  }
  return false;
}

bool lowbit::lb::isSignedElement(Type elem) {
  if (auto q = dyn_cast<quant::QuantizedType>(elem))
    return q.isSigned();
  if (auto i = dyn_cast<IntegerType>(elem))
    return !i.isUnsigned();
  return true;
}

bool lowbit::lb::getUnpackedValues(PackedConstantOp op,
                                   std::vector<int8_t> &values) {
  PackedType packed = op.getResult().getType();
  std::vector<int8_t> bytes;
  if (!getConstantBytes(op.getValue(), bytes))
    return false;
  int64_t k = packed.getShape().back(), rows = 1;
  for (int64_t d : packed.getShape().drop_back())
    rows *= d;
  std::string error;
  return lowbit::numerics::unpack(
      toNumericsLayout(packed.getLayout()), packed.getBitWidth(),
      isSignedElement(packed.getElementType()),
      reinterpret_cast<const uint8_t *>(bytes.data()),
      static_cast<int64_t>(bytes.size()), rows, k, values, error);
}

OpFoldResult PackOp::fold(FoldAdaptor adaptor) {
  // Packing a constant happens here, at compile time.
  auto value = dyn_cast_if_present<ElementsAttr>(adaptor.getInput());
  PackedType packed = getResult().getType();
  if (!value || !value.getElementType().isInteger(8) ||
      !isa<IntegerType>(packed.getElementType()))
    return {};
  std::vector<int8_t> q;
  if (!getConstantBytes(value, q))
    return {};
  int64_t k = packed.getShape().back();
  int64_t rows = static_cast<int64_t>(q.size()) / k;
  std::vector<uint8_t> bytes;
  std::string error;
  bool isSigned = !packed.getElementType().isUnsignedInteger();
  if (!lowbit::numerics::pack(toNumericsLayout(packed.getLayout()),
                      packed.getBitWidth(), isSigned, q.data(), rows,
                      k, bytes, error))
    return {};
  SmallVector<int64_t> shape(packed.getShape().drop_back());
  shape.push_back(packed.getRowBytes());
  auto type = RankedTensorType::get(shape, IntegerType::get(getContext(), 8));
  return DenseResourceElementsAttr::get(
      type, "packed",
      HeapAsmResourceBlob::allocateAndCopyInferAlign(ArrayRef<uint8_t>(bytes)));
}

LogicalResult PackedConstantOp::verify() {
  auto type = dyn_cast<RankedTensorType>(getValue().getType());
  PackedType packed = getResult().getType();
  SmallVector<int64_t> expected(packed.getShape().drop_back());
  expected.push_back(packed.getRowBytes());
  if (!type || !type.getElementType().isInteger(8) ||
      type.getShape() != ArrayRef<int64_t>(expected)) {
    auto d = emitOpError("value must be a tensor of i8 with shape [");
    llvm::interleave(expected, d, "x");
    return d << "] (rows x row bytes of the layout)";
  }
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(getValue()))
    if (AsmResourceBlob *blob = resource.getRawHandle().getBlob())
      if (blob->getData().size() != static_cast<size_t>(type.getNumElements()))
        return emitOpError("blob holds ")
               << blob->getData().size() << " bytes, the layout needs "
               << type.getNumElements();
  return success();
}

OpFoldResult PackedConstantOp::fold(FoldAdaptor) { return getValue(); }

Operation *LowBitDialect::materializeConstant(OpBuilder &builder,
                                              Attribute value, Type type,
                                              Location loc) {
  auto packed = dyn_cast<PackedType>(type);
  auto elements = dyn_cast<ElementsAttr>(value);
  if (!packed || !elements)
    return nullptr;
  return PackedConstantOp::create(builder, loc, packed, elements);
}

/// Shape and bit width of a weight's integer part: `!lowbit.packed` or a
/// tensor of i8 containers (whose width is `bits`).
static LogicalResult integerPartShape(Operation *op, Value q, int64_t bits,
                                      SmallVectorImpl<int64_t> &shape) {
  if (bits < 2 || bits > 8)
    return op->emitOpError("bit width must be 2..8, got ") << bits;
  if (auto packed = dyn_cast<PackedType>(q.getType())) {
    if (static_cast<int64_t>(packed.getBitWidth()) != bits)
      return op->emitOpError("packed weight holds ")
             << packed.getBitWidth() << "-bit values, but bits = " << bits;
    shape.assign(packed.getShape().begin(), packed.getShape().end());
    return success();
  }
  auto tensor = dyn_cast<RankedTensorType>(q.getType());
  if (!tensor || !tensor.getElementType().isInteger(8))
    return op->emitOpError("integer part must be a tensor of i8 containers or "
                           "!lowbit.packed, got ")
           << q.getType();
  shape.assign(tensor.getShape().begin(), tensor.getShape().end());
  return success();
}

/// Packed integer parts are unsigned exactly when an integer zero point
/// goes with them.
static LogicalResult verifyPackedSignedness(Operation *op, Value q,
                                            bool unsignedValues) {
  auto packed = dyn_cast<PackedType>(q.getType());
  if (!packed || !isa<IntegerType>(packed.getElementType()))
    return success();
  if (packed.getElementType().isUnsignedInteger() != unsignedValues)
    return op->emitOpError(unsignedValues
                               ? "an integer zero point needs an unsigned "
                                 "packed weight (ui<bits>)"
                               : "a packed weight without an integer zero "
                                 "point must be signless (i<bits>)");
  return success();
}

/// Checks an [N, K] weight against its [N, K/G] tables.
static LogicalResult verifyWeightTables(Operation *op, ArrayRef<int64_t> w,
                                        int64_t groupSize, Value scale,
                                        Value zero) {
  if (w.size() != 2)
    return op->emitOpError("weight must have rank 2 ([N, K])");
  if (groupSize <= 0 || w[1] % groupSize != 0)
    return op->emitOpError("group size ")
           << groupSize << " does not divide K = " << w[1];
  SmallVector<int64_t> expected = {w[0], w[1] / groupSize};
  for (Value table : {scale, zero}) {
    if (!table)
      continue;
    auto shape = cast<RankedTensorType>(table.getType()).getShape();
    if (shape != ArrayRef<int64_t>(expected))
      return op->emitOpError("scale/zero tables must be [")
             << expected[0] << "x" << expected[1] << "], got ["
             << llvm::make_range(shape.begin(), shape.end()) << "]";
  }
  return success();
}

LogicalResult DequantizeWeightOp::verify() {
  SmallVector<int64_t> shape;
  if (failed(integerPartShape(*this, getQ(), getBits(), shape)) ||
      failed(verifyWeightTables(*this, shape, getGroupSize(), getScale(),
                                getZero())))
    return failure();
  if (getZeroKind() != "integer" && getZeroKind() != "float_offset")
    return emitOpError("zero_kind must be 'integer' or 'float_offset', got '")
           << getZeroKind() << "'";
  if (failed(verifyPackedSignedness(*this, getQ(),
                                    getZero() && getZeroKind() == "integer")))
    return failure();
  if (getResult().getType().getShape() != ArrayRef<int64_t>(shape))
    return emitOpError("result shape must equal the weight shape");
  return success();
}

LogicalResult QuantizeDynamicOp::verify() {
  if (getBits() < 2 || getBits() > 8)
    return emitOpError("bit width must be 2..8, got ") << getBits();
  auto in = getInput().getType();
  if (in.getRank() < 1)
    return emitOpError("input must have rank >= 1");
  if (getQ().getType().getShape() != in.getShape())
    return emitOpError("q must have the input's shape");
  SmallVector<int64_t> scaleShape(in.getShape());
  scaleShape.back() = 1;
  if (getScale().getType().getShape() != ArrayRef<int64_t>(scaleShape))
    return emitOpError("scale must have the input's shape with the last "
                       "dimension 1");
  if (FloatAttr clip = getRmsClipAttr()) {
    double c = clip.getValueAsDouble();
    if (!(c > 0.0 && std::isfinite(c)))
      return emitOpError("rms_clip must be a positive finite number, got ")
             << c;
  }
  return success();
}

LogicalResult DequantizeDynamicOp::verify() {
  if (getBits() < 2 || getBits() > 8)
    return emitOpError("bit width must be 2..8, got ") << getBits();
  auto q = getQ().getType();
  if (q.getRank() < 1 || getResult().getType().getShape() != q.getShape())
    return emitOpError("result must have the shape of q");
  SmallVector<int64_t> scaleShape(q.getShape());
  scaleShape.back() = 1;
  if (getScale().getType().getShape() != ArrayRef<int64_t>(scaleShape))
    return emitOpError("scale must have q's shape with the last dimension 1");
  return success();
}

LogicalResult QLinearOp::verify() {
  if (getABits() < 2 || getABits() > 8)
    return emitOpError("activation bit width must be 2..8, got ")
           << getABits();
  SmallVector<int64_t> w;
  if (failed(integerPartShape(*this, getWQ(), getWBits(), w)) ||
      failed(verifyWeightTables(*this, w, getGroupSize(), getWScale(),
                                getWZero())) ||
      failed(verifyPackedSignedness(*this, getWQ(), bool(getWZero()))))
    return failure();
  auto x = getXQ().getType();
  if (x.getRank() != 2 || x.getDimSize(1) != w[1])
    return emitOpError("x_q must be [M, K] with K = ") << w[1];
  if (getXScale().getType().getShape() !=
      ArrayRef<int64_t>{x.getDimSize(0), 1})
    return emitOpError("x_scale must be [M, 1]");
  if (getBias() &&
      getBias().getType().getShape() != ArrayRef<int64_t>{w[0]})
    return emitOpError("bias must be [N]");
  if (getResult().getType().getShape() !=
      ArrayRef<int64_t>{x.getDimSize(0), w[0]})
    return emitOpError("result must be [M, N]");
  return success();
}

LogicalResult UnpackOp::verify() {
  return verifyPackPair(*this, cast<RankedTensorType>(getResult().getType()),
                        getInput().getType());
}

LogicalResult ObserveOp::verify() {
  int64_t rank = getInput().getType().getRank();
  if (getName().empty())
    return emitOpError("needs a non-empty name");
  if (getChannelAxis() < 0 || getChannelAxis() >= rank)
    return emitOpError("channel_axis ")
           << getChannelAxis() << " is out of range for a rank-" << rank
           << " input";
  if (getHessian() && getChannelAxis() != rank - 1)
    return emitOpError("hessian needs the channels in the last dimension");
  return success();
}

LogicalResult HadamardOp::verify() {
  auto type = getInput().getType();
  int64_t block = getBlock();
  if (block < 2 || !llvm::isPowerOf2_64(static_cast<uint64_t>(block)))
    return emitOpError("block must be a power of two >= 2, got ") << block;
  if (type.getRank() < 1 || ShapedType::isDynamic(type.getShape().back()))
    return emitOpError("input needs a static last dimension");
  if (type.getShape().back() % block != 0)
    return emitOpError("block ")
           << block << " does not divide the last dimension "
           << type.getShape().back();
  return success();
}
