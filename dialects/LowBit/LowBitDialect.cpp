//===- LowBitDialect.cpp - lowbit dialect, types and verifiers ------------===//
#include "dialects/LowBit/LowBitDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

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

/// Storage width of a low-bit element type: a quant type's storage width or a
/// signless integer's width; 0 if the type is neither.
static unsigned getStorageWidth(Type type) {
  if (auto q = dyn_cast<quant::QuantizedType>(type))
    return q.getStorageTypeIntegralWidth();
  if (auto i = dyn_cast<IntegerType>(type))
    return i.isSignless() ? i.getWidth() : 0;
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
    return emitError() << "packed element type must be a !quant.uniform type "
                          "or a signless integer, got "
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
  int64_t multiple = 1;
  switch (layout) {
  case LayoutKind::int2_crumbs:
  case LayoutKind::int6_planes:
    multiple = 4;
    break;
  case LayoutKind::int4_nibbles:
    multiple = 2;
    break;
  case LayoutKind::int8_bytes:
    multiple = 1;
    break;
  case LayoutKind::bit_planes:
    multiple = 8;
    break;
  }
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
  int64_t k = getShape().back();
  switch (getLayout()) {
  case LayoutKind::int2_crumbs:
    return k / 4;
  case LayoutKind::int4_nibbles:
    return k / 2;
  case LayoutKind::int6_planes:
    return k / 2 + k / 4;
  case LayoutKind::int8_bytes:
    return k;
  case LayoutKind::bit_planes:
    return getBitWidth() * k / 8;
  }
  return 0;
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
  return verifyPackPair(*this, cast<RankedTensorType>(getInput().getType()),
                        getResult().getType());
}

LogicalResult UnpackOp::verify() {
  return verifyPackPair(*this, cast<RankedTensorType>(getResult().getType()),
                        getInput().getType());
}
