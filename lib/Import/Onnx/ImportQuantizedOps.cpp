//===- ImportQuantizedOps.cpp - QuantizeLinear, MatMulNBits ---------------===//
//
// Part of the ONNX importer (lib/Import/Onnx/Importer.h): ONNX's own quantized
// ops: integer constants and types, QuantizeLinear, DequantizeLinear and
// com.microsoft::MatMulNBits.
//
//===----------------------------------------------------------------------===//
#include "lib/Import/Onnx/Importer.h"

namespace lowbit::onnximport {

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
  Value bias;
  if (hasInput(node, 5)) {
    if (failed(lookup(node, 5, bias)))
      return failure();
    auto bt = tensorType(bias);
    if (bt.getRank() != 1 || bt.getDimSize(0) != n ||
        !bt.getElementType().isF32())
      return invalid("bias must be f32 [N]");
  }

  // Unpack to one i8 container per value, [N, K], and the scale and zero
  // tables per group of g = gcd(block_size, K) values: every group lies in
  // one block and takes its scale and zero, so K below or not a multiple of
  // block_size (a partial last block) needs no special case; g = block_size
  // when it divides K.
  int64_t group = std::gcd(block, k), groups = k / group;
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
  std::vector<float> scaleTab(n * groups), zeroTab(n * groups);
  const float *scales = reinterpret_cast<const float *>(sT->bytes());
  for (int64_t r = 0; r < n; ++r)
    for (int64_t i = 0; i < groups; ++i) {
      int64_t blk = i * group / block;
      scaleTab[r * groups + i] = scales[r * nBlocks + blk];
      unsigned zp = 1u << (bits - 1);
      if (zps)
        zp = (zps[r * zpRow + blk * bits / 8] >> (blk * bits % 8)) & mask;
      zeroTab[r * groups + i] = float(zp);
    }
  std::string base = bT->name;
  size_t qSize = qBuf->bytes.size();
  Value q = makeResourceConstant(
      RankedTensorType::get({n, k}, builder.getI8Type()), std::move(qBuf), 0,
      qSize, base + "_q", loc);
  Type f32 = builder.getF32Type();
  Value scale =
      makeFloatConstant({n, groups}, scaleTab, f32, loc, base + "_scale");
  Value zero =
      makeFloatConstant({n, groups}, zeroTab, f32, loc, base + "_zero");
  Value w = lb::DequantizeWeightOp::create(
      builder, loc, RankedTensorType::get({n, k}, f32), q, scale, zero,
      builder.getI64IntegerAttr(bits), builder.getI64IntegerAttr(group),
      builder.getStringAttr("integer"));
  SmallVector<int64_t> outShape(aType.getShape());
  outShape.back() = n;
  Value y = nn::LinearOp::create(builder, loc,
                                 RankedTensorType::get(outShape, f32), a, w,
                                 bias);
  define(node, 0, y);
  return success();
}

} // namespace lowbit::onnximport
