//===- ImportKnownInts.cpp - integer shape values -------------------------===//
//
// Part of the ONNX importer (lib/Import/Onnx/Importer.h): integer shape
// computations known at import time (shape arithmetic folded to constants),
// slice parameters and fills.
//
//===----------------------------------------------------------------------===//
#include "lib/Import/Onnx/Importer.h"

namespace lowbit::onnximport {

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

} // namespace lowbit::onnximport
