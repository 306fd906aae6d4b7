//===- ImportTensorOps.cpp - reshapes, norms, gather ----------------------===//
//
// Part of the ONNX importer (lib/Import/Onnx/Importer.h): Clip, Reshape,
// Transpose, Flatten, (Un)Squeeze, Concat, Softmax, the norms,
// Resize, Gather and Constant.
//
//===----------------------------------------------------------------------===//
#include "lib/Import/Onnx/Importer.h"

namespace lowbit::onnximport {

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
    if (__builtin_mul_overflow(known, d, &known) || known > ox::kMaxElements)
      return invalid("cannot reshape " + shapeString(tx.getShape()) + " to " +
                     shapeString(shape) + " (more than 2^48 elements)");
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
  // The output's size bounds every table the converters below build.
  SmallVector<int64_t> resizedShape;
  for (int64_t d = 0; d < tx.getRank(); ++d) {
    double size = sizes.empty() ? std::floor(tx.getDimSize(d) * scales[d])
                                : static_cast<double>(sizes[d]);
    if (!(scales[d] > 0) || !std::isfinite(size) || size < 0 ||
        size > static_cast<double>(ox::kMaxElements))
      return invalid("Resize to " +
                     (sizes.empty() ? "scale " + llvm::formatv("{0}", scales[d]).str()
                                    : "size " + std::to_string(sizes[d])) +
                     " on axis " + Twine(d) + " is out of range");
    resizedShape.push_back(static_cast<int64_t>(size));
  }
  if (failed(checkTensorSize(resizedShape, tx.getElementType(),
                             "its output")))
    return failure();
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
  // The table may be a quantized integer type held in a container (a uint8
  // embedding of onnxruntime's quantize_dynamic): gathered as it is, its
  // ONNX type carried to the result for the DequantizeLinear after it.
  int32_t dataType = ox::kUndefined;
  if (failed(quantOperand(node, 0, data, dataType)) ||
      failed(lookup(node, 1, indices)))
    return failure();
  auto td = tensorType(data), ti = tensorType(indices);
  if (intTypes.count(indices))
    return unsupported("Gather indices of type " +
                       ox::dataTypeName(intTypes.lookup(indices)));
  if (!isa<IntegerType>(ti.getElementType()) ||
      ti.getElementType().isInteger(1))
    return invalid("Gather indices must be int32 or int64");
  int64_t axis = attrInt(node, "axis", 0);
  if (td.getRank() < 1 || failed(normalizeAxis(axis, td.getRank(), "axis")))
    return failure();
  int64_t axisSize = td.getDimSize(axis);
  // Indices known now must lie in [-size, size); indices known only at run
  // time are clamped into range below, so that a bad one never reads outside
  // the table.
  std::vector<int64_t> known;
  if (constantOf(node, 1) && succeeded(constantInts(node, 1, known)))
    for (int64_t i : known)
      if (i < -axisSize || i >= axisSize)
        return invalid("index " + Twine(i) + " is out of range for axis " +
                       Twine(axis) + " of size " + Twine(axisSize));
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
        Value last = arith::ConstantIndexOp::create(b, l, axisSize - 1);
        idx = arith::MaxSIOp::create(
            b, l, zero, arith::MinSIOp::create(b, l, idx, last));
        SmallVector<Value> coords;
        for (int64_t d = 0; d < axis; ++d)
          coords.push_back(linalg::IndexOp::create(b, l, d));
        coords.push_back(idx);
        for (int64_t d = axis + ir; d < rank; ++d)
          coords.push_back(linalg::IndexOp::create(b, l, d));
        Value v = tensor::ExtractOp::create(b, l, data, coords);
        linalg::YieldOp::create(b, l, v);
      });
  if (isTrackedIntType(dataType))
    intTypes[generic.getResult(0)] = dataType;
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

} // namespace lowbit::onnximport
