//===- ImportLinearConv.cpp - MatMul, Gemm, Conv, BatchNorm ---------------===//
//
// Part of the ONNX importer (lib/Import/Onnx/Importer.h): element-wise binary
// ops, MatMul, Gemm, Conv, ConvTranspose and BatchNormalization.
//
//===----------------------------------------------------------------------===//
#include "lib/Import/Onnx/Importer.h"

namespace lowbit::onnximport {

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
  // Bounds that keep every size below in int64 (dims are at most 2^48).
  constexpr int64_t kMaxWindow = int64_t(1) << 31;
  for (size_t i = 0; i < 2; ++i)
    if (i >= strides.size() || i >= dilations.size() || i >= kernel.size() ||
        strides[i] < 1 || strides[i] > kMaxWindow || dilations[i] < 1 ||
        dilations[i] > kMaxWindow || kernel[i] < 1 || kernel[i] > kMaxWindow)
      return invalid("kernel_shape, strides and dilations must be 2 values "
                     "in [1, 2^31], got kernel " + shapeString(kernel) +
                     ", strides " + shapeString(strides) + ", dilations " +
                     shapeString(dilations));
  std::string autoPad = attrString(node, "auto_pad", "NOTSET");
  std::vector<int64_t> explicitPads = attrInts(node, "pads");
  for (int64_t p : explicitPads)
    if (p < -kMaxWindow || p > kMaxWindow)
      return invalid("pads " + shapeString(explicitPads) +
                     " are outside [-2^31, 2^31]");
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
  if (std::optional<LogicalResult> r = importAs2d(
          node, {0, 1}, [&](const ox::Node &n) { return importConv(n); }))
    return *r;
  Location loc = nodeLoc(node);
  Value x, w, bias;
  if (failed(lookup(node, 0, x)) || failed(lookup(node, 1, w)))
    return failure();
  if (hasInput(node, 2) && failed(lookup(node, 2, bias)))
    return failure();
  auto tx = tensorType(x), tw = tensorType(w);
  if (tx.getRank() != 4 || tw.getRank() != 4)
    return unsupported("only 1-D and 2-D convolutions (rank-3 or rank-4 input "
                       "and filter) are supported, got input " +
                       shapeString(tx.getShape()));
  if (!isa<FloatType>(tx.getElementType()))
    return unsupported("integer Conv (use ConvInteger)");
  std::vector<int64_t> strides = windowAttr(node, "strides");
  std::vector<int64_t> dilations = windowAttr(node, "dilations");
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
  // The lowering materialises the padded input, which a large stride can
  // hide behind a small output.
  if (failed(checkTensorSize({tx.getDimSize(0), c,
                              tx.getDimSize(2) + std::max<int64_t>(0, pads[0]) +
                                  std::max<int64_t>(0, pads[2]),
                              tx.getDimSize(3) + std::max<int64_t>(0, pads[1]) +
                                  std::max<int64_t>(0, pads[3])},
                             tx.getElementType(), "its padded input")))
    return failure();
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
  constexpr int64_t kMaxWindow = int64_t(1) << 31;
  auto inRange = [&](ArrayRef<int64_t> vals, int64_t lo) {
    return llvm::all_of(vals, [&](int64_t v) {
      return v >= lo && v <= kMaxWindow;
    });
  };
  if (!inRange(strides, 1) || !inRange(dilations, 1) || !inRange(pads, 0) ||
      !inRange(outPad, 0) ||
      !inRange(twIn.getShape().drop_front(2), 1))
    return invalid("strides, dilations and the kernel must be in [1, 2^31], "
                   "pads and output_padding in [0, 2^31]");
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

} // namespace lowbit::onnximport
