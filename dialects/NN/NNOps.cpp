//===- NNOps.cpp - nn dialect ops and verifiers ---------------------------===//
#include "dialects/NN/NNDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"

using namespace mlir;
using namespace lowbit::nn;

#include "dialects/NN/NNOpsDialect.cpp.inc"

void NNDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "dialects/NN/NNOps.cpp.inc"
      >();
}

#define GET_OP_CLASSES
#include "dialects/NN/NNOps.cpp.inc"

static LogicalResult expectShape(Operation *op, StringRef what,
                                 ArrayRef<int64_t> got,
                                 ArrayRef<int64_t> expected) {
  if (got == expected)
    return success();
  auto d = op->emitOpError() << what << " has shape [";
  llvm::interleave(got, d, "x");
  d << "], expected [";
  llvm::interleave(expected, d, "x");
  return d << "]";
}

LogicalResult LinearOp::verify() {
  auto x = getInput().getType(), w = getWeight().getType();
  auto y = getResult().getType();
  if (w.getRank() != 2)
    return emitOpError("weight must have rank 2 ([N, K]), got rank ")
           << w.getRank();
  if (x.getRank() < 1)
    return emitOpError("input must have rank >= 1");
  int64_t n = w.getDimSize(0), k = w.getDimSize(1);
  if (x.getShape().back() != k)
    return emitOpError("input reduction dimension ")
           << x.getShape().back() << " does not match weight K = " << k;
  if (auto b = getBias()) {
    if (failed(expectShape(*this, "bias", b.getType().getShape(), {n})))
      return failure();
  }
  SmallVector<int64_t> expected(x.getShape());
  expected.back() = n;
  return expectShape(*this, "result", y.getShape(), expected);
}

LogicalResult MatMulOp::verify() {
  auto a = getLhs().getType(), b = getRhs().getType();
  if (a.getRank() < 2 || b.getRank() < 2)
    return emitOpError("operands must have rank >= 2, got ")
           << a.getRank() << " and " << b.getRank();
  int64_t m = a.getDimSize(a.getRank() - 2), k = a.getShape().back();
  int64_t kb = b.getDimSize(b.getRank() - 2), n = b.getShape().back();
  if (k != kb)
    return emitOpError("reduction dimensions differ: ") << k << " vs " << kb;
  auto ba = a.getShape().drop_back(2), bb = b.getShape().drop_back(2);
  size_t rank = std::max(ba.size(), bb.size());
  SmallVector<int64_t> expected(rank, 1);
  for (size_t i = 0; i < rank; ++i) {
    int64_t da = i < rank - ba.size() ? 1 : ba[i - (rank - ba.size())];
    int64_t db = i < rank - bb.size() ? 1 : bb[i - (rank - bb.size())];
    if (da != db && da != 1 && db != 1)
      return emitOpError("batch dimensions do not broadcast: ")
             << da << " vs " << db;
    expected[i] = std::max(da, db);
  }
  expected.push_back(m);
  expected.push_back(n);
  return expectShape(*this, "result", getResult().getType().getShape(),
                     expected);
}

LogicalResult Conv2DOp::verify() {
  auto x = getInput().getType(), f = getFilter().getType();
  if (x.getRank() != 4 || f.getRank() != 4)
    return emitOpError("input and filter must have rank 4 (NCHW, FCHW)");
  if (getStrides().size() != 2 || getDilations().size() != 2 ||
      getPads().size() != 4)
    return emitOpError("expects 2 strides, 2 dilations and 4 pads");
  for (int64_t s : getStrides())
    if (s < 1)
      return emitOpError("strides must be >= 1");
  for (int64_t d : getDilations())
    if (d < 1)
      return emitOpError("dilations must be >= 1");
  for (int64_t p : getPads())
    if (p < 0)
      return emitOpError("pads must be >= 0");
  int64_t g = getGroups();
  int64_t c = x.getDimSize(1), fo = f.getDimSize(0);
  if (g < 1 || c % g != 0 || fo % g != 0)
    return emitOpError("groups = ")
           << g << " must divide input channels " << c
           << " and output channels " << fo;
  if (f.getDimSize(1) * g != c)
    return emitOpError("filter has ")
           << f.getDimSize(1) << " input channels per group, expected "
           << c / g;
  if (auto b = getBias())
    if (failed(expectShape(*this, "bias", b.getType().getShape(), {fo})))
      return failure();
  SmallVector<int64_t> expected = {x.getDimSize(0), fo};
  for (int i = 0; i < 2; ++i) {
    int64_t in = x.getDimSize(2 + i) + getPads()[i] + getPads()[2 + i];
    int64_t span = getDilations()[i] * (f.getDimSize(2 + i) - 1) + 1;
    if (in < span)
      return emitOpError("kernel does not fit the padded input");
    expected.push_back((in - span) / getStrides()[i] + 1);
  }
  return expectShape(*this, "result", getResult().getType().getShape(),
                     expected);
}

/// A normalisation's result: the input type, or with `out_bits` (2..8) i8
/// of the input's shape.
static LogicalResult verifyNormResult(Operation *op, RankedTensorType x,
                                      RankedTensorType y,
                                      std::optional<uint64_t> outBits) {
  if (!outBits) {
    if (y != x)
      return op->emitOpError("result type must equal the input type");
    return success();
  }
  int64_t bits = static_cast<int64_t>(*outBits);
  if (bits < 2 || bits > 8)
    return op->emitOpError("out_bits must be 2..8, got ") << bits;
  if (!y.getElementType().isSignlessInteger(8) ||
      y.getShape() != x.getShape())
    return op->emitOpError("with out_bits the result must be i8 of the "
                           "input's shape");
  return success();
}

LogicalResult LayerNormOp::verify() {
  auto x = getInput().getType();
  int64_t axis = getAxis();
  if (axis < 0 || axis >= x.getRank())
    return emitOpError("axis ") << axis << " out of range for rank "
                                << x.getRank();
  auto norm = x.getShape().drop_front(axis);
  if (failed(expectShape(*this, "scale", getScale().getType().getShape(),
                         norm)))
    return failure();
  if (auto b = getBias())
    if (failed(expectShape(*this, "bias", b.getType().getShape(), norm)))
      return failure();
  return verifyNormResult(*this, x, getResult().getType(), getOutBits());
}

LogicalResult SoftmaxOp::verify() {
  int64_t rank = getInput().getType().getRank(), axis = getAxis();
  if (axis < 0 || axis >= rank)
    return emitOpError("axis ") << axis << " out of range for rank " << rank;
  return success();
}

LogicalResult RMSNormOp::verify() {
  auto x = getInput().getType();
  int64_t axis = getAxis();
  if (axis < 0 || axis >= x.getRank())
    return emitOpError("axis ") << axis << " out of range for rank "
                                << x.getRank();
  if (failed(expectShape(*this, "scale", getScale().getType().getShape(),
                         x.getShape().drop_front(axis))))
    return failure();
  if (getScale().getType().getElementType() != x.getElementType())
    return emitOpError("scale element type differs from the input's");
  if (getEpsilon().isNegative())
    return emitOpError("epsilon must be >= 0");
  return verifyNormResult(*this, x, getResult().getType(), getOutBits());
}

LogicalResult GeluOp::verify() {
  if (getApproximate() != "none" && getApproximate() != "tanh")
    return emitOpError("approximate must be \"none\" or \"tanh\", got \"")
           << getApproximate() << "\"";
  return success();
}

LogicalResult AttentionOp::verify() {
  auto q = getQuery().getType(), k = getKey().getType(),
       v = getValue().getType();
  if (q.getRank() != 4 || k.getRank() != 4 || v.getRank() != 4)
    return emitOpError("query, key and value must have rank 4 "
                       "([B, H, S, D]), got ")
           << q.getRank() << ", " << k.getRank() << " and " << v.getRank();
  Type elem = q.getElementType();
  if (k.getElementType() != elem || v.getElementType() != elem)
    return emitOpError("query, key and value element types differ");
  int64_t b = q.getDimSize(0), hq = q.getDimSize(1), s = q.getDimSize(2),
          d = q.getDimSize(3);
  int64_t hkv = k.getDimSize(1), t = k.getDimSize(2);
  if (failed(expectShape(*this, "key", k.getShape(), {b, hkv, t, d})))
    return failure();
  if (hkv < 1 || hq % hkv != 0)
    return emitOpError("query heads ")
           << hq << " are not a multiple of key/value heads " << hkv;
  int64_t dv = v.getDimSize(3);
  if (failed(expectShape(*this, "value", v.getShape(), {b, hkv, t, dv})))
    return failure();
  if (Value mask = getMask()) {
    auto m = cast<RankedTensorType>(mask.getType());
    SmallVector<int64_t> full = {b, hq, s, t};
    if (m.getRank() != 4 || m.getElementType() != elem)
      return emitOpError("mask must be a rank-4 tensor of the query's "
                         "element type");
    for (int i = 0; i < 4; ++i)
      if (m.getDimSize(i) != 1 && m.getDimSize(i) != full[i]) {
        auto diag = emitOpError("mask of shape [");
        llvm::interleave(m.getShape(), diag, "x");
        diag << "] does not broadcast to [";
        llvm::interleave(full, diag, "x");
        return diag << "]";
      }
  }
  return expectShape(*this, "result", getResult().getType().getShape(),
                     {b, hq, s, dv});
}
