//===- Winograd.cpp - nn.conv2d -> Winograd F(m, r) -----------------------===//
//
// 2D: Y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A, summed over input channels, so for each
// of the n x n transformed positions the products are one matrix product
// [tiles, C] x [C, F]: a linalg.batch_matmul over the n*n positions. The data
// transforms are lowbit ops (lowered by convert-lowbit-to-linalg); the filter
// transform is folded here, in double precision, into a constant.
//
//===----------------------------------------------------------------------===//
#include "passes/Winograd/Passes.h"

#include "dialects/NN/NNDialect.h"
#include "lib/Numerics/Winograd.h"
#include "lib/Support/TosaBuilders.h"
#include "passes/Quantization/WeightUtils.h"

#include "llvm/ADT/APFloat.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Debug.h"

#include <map>
#include <numeric>

#define DEBUG_TYPE "winograd"

namespace lowbit {
#define GEN_PASS_DEF_WINOGRADPASS
#include "passes/Winograd/Passes.h.inc"
} // namespace lowbit

using namespace mlir;
using namespace lowbit;
namespace wg = lowbit::numerics::winograd;

namespace {

/// Parses "p" or "p/q" (integers, q > 0) into a reduced rational.
bool parseRational(StringRef text, wg::Rational &out) {
  text = text.trim();
  auto [numText, denText] = text.split('/');
  int64_t num = 0, den = 1;
  if (numText.trim().getAsInteger(10, num))
    return false;
  if (text.contains('/') && (denText.trim().getAsInteger(10, den) || den <= 0))
    return false;
  int64_t g = std::gcd(num < 0 ? -num : num, den);
  out.num = g ? num / g : 0;
  out.den = g ? den / g : 1;
  return true;
}

/// The `points` option: a named set or an explicit list of finite points.
struct PointChoice {
  bool named = true;
  wg::PointSet set = wg::PointSet::Standard;
  std::vector<wg::Rational> list;
};

LogicalResult parsePoints(StringRef text, PointChoice &out,
                          std::string &error) {
  text = text.trim();
  if (text == "standard" || text == "nova" || text == "ours") {
    out.named = true;
    out.set = text == "standard" ? wg::PointSet::Standard
              : text == "nova"   ? wg::PointSet::Nova
                                 : wg::PointSet::Ours;
    return success();
  }
  out.named = false;
  SmallVector<StringRef> items;
  text.split(items, ',', -1, /*KeepEmpty=*/true);
  for (StringRef item : items) {
    wg::Rational p;
    if (!parseRational(item, p)) {
      error = "option 'points': '" + text.str() +
              "' is neither standard, nova, ours nor a list of points "
              "(integers or p/q, comma separated): cannot parse '" +
              item.trim().str() + "'";
      return failure();
    }
    for (const wg::Rational &q : out.list)
      if (q.num == p.num && q.den == p.den) {
        error = "option 'points': point " + item.trim().str() +
                " is repeated in '" + text.str() + "'";
        return failure();
      }
    out.list.push_back(p);
  }
  return success();
}

std::string pointSetName(wg::PointSet set) {
  switch (set) {
  case wg::PointSet::Standard:
    return "standard";
  case wg::PointSet::Nova:
    return "nova";
  case wg::PointSet::Ours:
    return "ours";
  }
  return "?";
}

/// Rounds to the nearest f16 value (ties to even), returned as a double.
double roundToHalf(double v) {
  llvm::APFloat f(v);
  bool lost = false;
  f.convert(llvm::APFloat::IEEEhalf(), llvm::APFloat::rmNearestTiesToEven,
            &lost);
  f.convert(llvm::APFloat::IEEEdouble(), llvm::APFloat::rmNearestTiesToEven,
            &lost);
  return f.convertToDouble();
}

struct WinogradPass : lowbit::impl::WinogradPassBase<WinogradPass> {
  using WinogradPassBase::WinogradPassBase;
  void runOnOperation() override;

private:
  /// Transforms for F(m, r), built once per r.
  FailureOr<const wg::Transforms *> transformsFor(Operation *op, int64_t r);
  LogicalResult rewrite(nn::Conv2DOp op, const wg::Transforms &t,
                        const FloatValues &filter);

  PointChoice choice;
  std::map<int64_t, wg::Transforms> cache;
};

/// Why `op` is left alone ("" when it is rewritten).
std::string whyLeftAlone(nn::Conv2DOp op) {
  if (llvm::any_of(op.getStrides(), [](int64_t s) { return s != 1; }))
    return "stride != 1";
  if (llvm::any_of(op.getDilations(), [](int64_t d) { return d != 1; }))
    return "dilation != 1";
  if (op.getGroups() != 1)
    return "groups != 1";
  auto x = op.getInput().getType(), f = op.getFilter().getType();
  if (!x.hasStaticShape() || !f.hasStaticShape() ||
      !op.getType().hasStaticShape())
    return "dynamic shape";
  if (!x.getElementType().isF32() || !f.getElementType().isF32())
    return "not f32";
  int64_t kh = f.getDimSize(2), kw = f.getDimSize(3);
  if (kh != kw || (kh != 3 && kh != 5))
    return "filter is not 3x3 or 5x5";
  if (op.getBias() && !op.getBias().getType().getElementType().isF32())
    return "bias is not f32";
  return "";
}

FailureOr<const wg::Transforms *>
WinogradPass::transformsFor(Operation *op, int64_t r) {
  auto it = cache.find(r);
  if (it != cache.end())
    return &it->second;
  std::string error;
  std::vector<wg::Rational> finite;
  const int64_t m = this->m.getValue(), n = m + r - 1;
  if (choice.named) {
    if (!wg::getShippedPoints(choice.set, m, r, finite, error))
      return op->emitError("winograd: option 'points': point set '")
             << pointSetName(choice.set) << "' has no points for F(" << m
             << ", " << r << "): " << error;
  } else {
    if (static_cast<int64_t>(choice.list.size()) != n - 1)
      return op->emitError("winograd: option 'points': F(")
             << m << ", " << r << ") needs n - 1 = " << n - 1
             << " finite points, the list has " << choice.list.size();
    finite = choice.list;
  }
  wg::Transforms t;
  if (!wg::buildTransforms(m, r, finite, balanced, t, error))
    return op->emitError("winograd: cannot build the F(")
           << m << ", " << r << ") transforms from option 'points': "
           << error;
  return &cache.emplace(r, std::move(t)).first->second;
}

LogicalResult WinogradPass::rewrite(nn::Conv2DOp op, const wg::Transforms &t,
                                    const FloatValues &filter) {
  OpBuilder b(op);
  MLIRContext *ctx = op.getContext();
  Location loc = op.getLoc();
  Type f32 = b.getF32Type();
  const int64_t mm = t.m, r = t.r, n = t.n;
  auto xType = op.getInput().getType();
  auto fType = op.getFilter().getType();
  auto yType = op.getType();
  const int64_t batch = xType.getDimSize(0), c = xType.getDimSize(1);
  const int64_t f = fType.getDimSize(0);
  const int64_t oh = yType.getDimSize(2), ow = yType.getDimSize(3);
  const int64_t th = (oh + mm - 1) / mm, tw = (ow + mm - 1) / mm;
  const int64_t tiles = batch * th * tw;
  const bool half = precision == "f16";

  // Pad: the convolution's own pads, plus zeros below / right so that the
  // last row and column of tiles are whole.
  ArrayRef<int64_t> pads = op.getPads();
  int64_t paddedH = xType.getDimSize(2) + pads[0] + pads[2];
  int64_t paddedW = xType.getDimSize(3) + pads[1] + pads[3];
  SmallVector<int64_t> allPads = {pads[0], pads[1],
                                  pads[2] + th * mm + r - 1 - paddedH,
                                  pads[3] + tw * mm + r - 1 - paddedW};
  Value x = buildNchwZeroPad(b, loc, op.getInput(), allPads);

  auto rationals = [](const std::vector<wg::Rational> &v, bool num) {
    SmallVector<int64_t> out;
    for (const wg::Rational &q : v)
      out.push_back(num ? q.num : q.den);
    return out;
  };
  StringAttr precisionAttr = b.getStringAttr(half ? "f16" : "f32");

  auto vType = RankedTensorType::get({n, n, tiles, c}, f32);
  Value v = lb::WinogradInputTransformOp::create(
      b, loc, vType, x, b.getI64IntegerAttr(mm), b.getI64IntegerAttr(r),
      b.getDenseI64ArrayAttr(rationals(t.btExact, true)),
      b.getDenseI64ArrayAttr(rationals(t.btExact, false)),
      b.getDenseF64ArrayAttr(t.bt), precisionAttr);

  // U[ξ, ν, c, f] = Σ_k Σ_l G[ξ, k] g[f, c, k, l] G[ν, l], in double.
  std::vector<float> u(static_cast<size_t>(n * n * c * f));
  std::vector<double> gg(static_cast<size_t>(n * r)); // (G g)[ξ, l]
  for (int64_t fi = 0; fi < f; ++fi)
    for (int64_t ci = 0; ci < c; ++ci) {
      const float *g = filter.data + (fi * c + ci) * r * r;
      for (int64_t xi = 0; xi < n; ++xi)
        for (int64_t l = 0; l < r; ++l) {
          double s = 0;
          for (int64_t k = 0; k < r; ++k)
            s += t.g[xi * r + k] * static_cast<double>(g[k * r + l]);
          gg[xi * r + l] = s;
        }
      for (int64_t xi = 0; xi < n; ++xi)
        for (int64_t nu = 0; nu < n; ++nu) {
          double s = 0;
          for (int64_t l = 0; l < r; ++l)
            s += gg[xi * r + l] * t.g[nu * r + l];
          if (half)
            s = roundToHalf(s);
          u[((xi * n + nu) * c + ci) * f + fi] = static_cast<float>(s);
        }
    }
  auto uType = RankedTensorType::get({n, n, c, f}, f32);
  Value uConst =
      createResourceConstant(b, loc, uType, u.data(), u.size() * sizeof(float),
                             getLayerName(op) + "_winograd_filter");

  // The n*n position-wise products [tiles, C] x [C, F]. Their rows are
  // padded with zero rows to a multiple of kProductRows: the CPU pipeline's
  // register tile has 4 rows, shrunk to a divisor of the row count, so 49
  // tiles (28x28 at m = 4) or 25 (m = 6) would run 1-row tiles at a third
  // of the speed. The zero rows cost a copy of V and <= 3 rows of products.
  constexpr int64_t kProductRows = 4;
  const int64_t rows = (tiles + kProductRows - 1) / kProductRows * kProductRows;
  SmallVector<ReassociationIndices> collapse = {{0, 1}, {2}, {3}};
  Value v3 = tensor::CollapseShapeOp::create(
      b, loc, RankedTensorType::get({n * n, tiles, c}, f32), v, collapse);
  Value u3 = tensor::CollapseShapeOp::create(
      b, loc, RankedTensorType::get({n * n, c, f}, f32), uConst, collapse);
  Value zero = arith::ConstantOp::create(b, loc, b.getZeroAttr(f32));
  if (rows != tiles)
    v3 = tensor::PadOp::create(
        b, loc, RankedTensorType::get({n * n, rows, c}, f32), v3,
        SmallVector<OpFoldResult>(3, b.getIndexAttr(0)),
        SmallVector<OpFoldResult>{b.getIndexAttr(0),
                                  b.getIndexAttr(rows - tiles),
                                  b.getIndexAttr(0)},
        zero);
  auto prodType = RankedTensorType::get({n * n, rows, f}, f32);
  Value init = linalg::FillOp::create(
                   b, loc, zero,
                   tensor::EmptyOp::create(b, loc, prodType.getShape(), f32)
                       .getResult())
                   .getResult(0);
  Value prod = linalg::BatchMatmulOp::create(b, loc, TypeRange{prodType},
                                             ValueRange{v3, u3},
                                             ValueRange{init})
                   .getResult(0);
  if (rows != tiles)
    prod = tensor::ExtractSliceOp::create(
        b, loc, RankedTensorType::get({n * n, tiles, f}, f32), prod,
        SmallVector<OpFoldResult>(3, b.getIndexAttr(0)),
        SmallVector<OpFoldResult>{b.getIndexAttr(n * n),
                                  b.getIndexAttr(tiles), b.getIndexAttr(f)},
        SmallVector<OpFoldResult>(3, b.getIndexAttr(1)));
  Value m4 = tensor::ExpandShapeOp::create(
      b, loc, RankedTensorType::get({n, n, tiles, f}, f32), prod, collapse);

  auto tiledType = RankedTensorType::get({batch, f, th * mm, tw * mm}, f32);
  Value y = lb::WinogradOutputTransformOp::create(
      b, loc, tiledType, m4, b.getI64IntegerAttr(mm), b.getI64IntegerAttr(r),
      b.getDenseI64ArrayAttr(rationals(t.atExact, true)),
      b.getDenseI64ArrayAttr(rationals(t.atExact, false)),
      b.getDenseF64ArrayAttr(t.at), precisionAttr);
  if (th * mm != oh || tw * mm != ow) {
    SmallVector<OpFoldResult> offsets(4, b.getIndexAttr(0));
    SmallVector<OpFoldResult> sizes = {b.getIndexAttr(batch), b.getIndexAttr(f),
                                       b.getIndexAttr(oh), b.getIndexAttr(ow)};
    SmallVector<OpFoldResult> strides(4, b.getIndexAttr(1));
    y = tensor::ExtractSliceOp::create(b, loc, yType, y, offsets, sizes,
                                       strides);
  }
  if (Value bias = op.getBias())
    y = tosa::AddOp::create(b, loc, yType, y,
                            buildTosaReshape(b, loc, bias, {1, f, 1, 1}));
  (void)ctx;
  op.replaceAllUsesWith(y);
  op.erase();
  return success();
}

void WinogradPass::runOnOperation() {
  func::FuncOp func = getOperation();
  const int64_t m = this->m.getValue();
  const std::string precision = this->precision.getValue();
  // Options first: a bad option fails even a function with no convolution.
  if (m < 1 || m > 16) {
    func.emitError("winograd: option 'm' must be in 1..16, got ") << m;
    return signalPassFailure();
  }
  if (precision != "f32" && precision != "f16") {
    func.emitError("winograd: option 'precision' must be f32 or f16, got '")
        << precision << "'";
    return signalPassFailure();
  }
  std::string error;
  choice = PointChoice();
  cache.clear();
  if (failed(parsePoints(points, choice, error))) {
    func.emitError("winograd: ") << error;
    return signalPassFailure();
  }

  SmallVector<nn::Conv2DOp> convs;
  func.walk([&](nn::Conv2DOp op) { convs.push_back(op); });
  for (nn::Conv2DOp op : convs) {
    std::string name = getLayerName(op);
    if (!only.empty() && !matchesGlob(only, name))
      continue;
    std::string why = whyLeftAlone(op);
    std::optional<FloatValues> filter;
    if (why.empty() && !(filter = readFloatConstant(op.getFilter())))
      why = "filter is not a constant";
    if (!why.empty()) {
      LLVM_DEBUG(llvm::dbgs() << "winograd: leaving " << name << " alone: "
                              << why << "\n");
      continue;
    }
    int64_t r = op.getFilter().getType().getDimSize(2);
    FailureOr<const wg::Transforms *> t = transformsFor(op, r);
    if (failed(t) || failed(rewrite(op, **t, *filter)))
      return signalPassFailure();
  }
}

} // namespace
