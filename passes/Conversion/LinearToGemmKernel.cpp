//===- LinearToGemmKernel.cpp - nn.linear as a packed f32 GEMM kernel -----===//
//
// convert-nn-to-linalg lowers nn.linear (y[m, n] = bias[n] + sum_k x[m, k]
// w[n, k]) to a generic that lowbit-cpu-tile-vectorize tiles into 4x16x8
// vector.contracts. With the weight stored [N, K], every tile transposes a
// 16x8 block of it in registers (vpermt2ps), and four 16-lane accumulators
// cannot hide the FMA latency: about 40 GFLOP/s on one AVX-512 core, a
// quarter of what the core does.
//
// This pass replaces an nn.linear whose weight is a compile-time f32
// constant by a register-blocked kernel of scf loops and vector ops, on the
// weight packed here, at compile time, into panels of 32 columns:
//
//   packed[nb, k, j] = w[32 * nb + j, k]       (N padded to 32 with zeros)
//
// For each panel and each tile of `rows-per-tile` rows, the kernel keeps
// rows x 2 vectors of 16 f32 accumulators in registers; each k step loads
// the panel's two vectors of row k once and adds, per row, the broadcast
// x[m, k] times them (vector.fma). The accumulators start from the bias, and
// every output element is bias + x[m, 0] w[n, 0] + x[m, 1] w[n, 1] + ... in
// increasing k, one fused multiply-add per step. (The tiled generic sums in
// the same order but not always fused: MiniLM's outputs differ from it by
// at most 6e-6, well inside the f32 error bound test_gemm_kernel.py checks.)
//
// A weight-only quantized layer (the weight from lowbit.dequantize_weight of
// a constant integer part: rtn-w4a16, gptq, decoupleq, W8A16...) keeps its
// integer part, one byte per value in the same panel layout, and the kernel
// dequantizes it in registers group by group, with the reference's formula
// (float(q) * s, (float(q) - z) * s or float(q) * s + z) on the group's
// scales and zeros, read once per group: the weights are never written out
// as f32 (they were, in every call, with the generic lowering).
//
// The packed weight is a dense_resource constant, so the CPU runner passes it
// as an argument like any weight (it is not compiled into object code). With
// num-threads above 1, the panels of a large product are the iterations of
// an scf.forall (no sum is split, so the result does not depend on it).
//
//===----------------------------------------------------------------------===//

#include "passes/Conversion/Passes.h"

#include "dialects/NN/NNDialect.h"
#include "passes/Conversion/DequantizedWeights.h"
#include "passes/Conversion/KernelLoops.h"
#include "passes/Quantization/WeightUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinAttributes.h"

#include <algorithm>
#include <vector>

namespace lowbit {
#define GEN_PASS_DEF_CONVERTLINEARTOGEMMKERNELPASS
#include "passes/Conversion/Passes.h.inc"
} // namespace lowbit

using namespace mlir;
using namespace lowbit;

namespace {

/// Columns per vector (16 f32 in one 512-bit register), vectors per panel.
constexpr int64_t kLanes = 16, kVectorsPerPanel = 2;
constexpr int64_t kPanelCols = kLanes * kVectorsPerPanel;

/// The numbers of one nn.linear's kernel. A weight from
/// lowbit.dequantize_weight is kept as its integer part (one byte per value)
/// and dequantized in registers, group by group, by the reference's formula.
struct Plan {
  int64_t m = 0, n = 0, k = 0, paddedN = 0;
  /// Consecutive panels one register tile covers: 1, or up to 4 when all M
  /// rows fit one tile (decode), so that a tile has 8+ accumulator chains
  /// and streams 4 panels at once instead of waiting on one; always divides
  /// paddedN / 32.
  int64_t panelsPerTile = 1;
  bool quantized = false; ///< the weight is `dequantized` below
  /// The integer part is packed two values per byte: every value fits four
  /// bits (W4, W2 and below) and all rows fit one tile. A decode step is
  /// bound by weight bytes and gains from half of them (TinyLlama-sized
  /// layer: 10.6 -> 8.1 ms); a prefill is bound by arithmetic, and the
  /// nibbles' extra shifts cost more than the bytes save (MiniLM 1x128
  /// W4A16: 24 -> 29 ms), so its tiles keep one byte per value.
  bool nibbles = false;
  dequantized::Weight dequantized;
};

using kernels::indexConst;

/// Why the kernel cannot take `op` (empty when it can); fills `plan`.
std::string planFor(nn::LinearOp op, Plan &plan) {
  auto x = dyn_cast<RankedTensorType>(op.getInput().getType());
  auto w = dyn_cast<RankedTensorType>(op.getWeight().getType());
  auto y = dyn_cast<RankedTensorType>(op.getType());
  if (!x || !w || !y || !x.hasStaticShape() || !w.hasStaticShape() ||
      !y.hasStaticShape())
    return "its shapes are not static";
  if (!x.getElementType().isF32() || !w.getElementType().isF32() ||
      !y.getElementType().isF32())
    return "it is not f32";
  if (op.getBias() && !cast<ShapedType>(op.getBias().getType())
                           .getElementType()
                           .isF32())
    return "its bias is not f32";
  if (w.getRank() != 2 || x.getRank() < 1)
    return "its weight is not [N, K]";
  if (op.getWeight().getDefiningOp<lb::DequantizeWeightOp>()) {
    plan.quantized = true;
    std::string why = dequantized::read(op.getWeight(), plan.dequantized);
    if (!why.empty())
      return why;
  } else if (!op.getWeight().getDefiningOp<arith::ConstantOp>()) {
    return "the weight is not a compile-time constant";
  }
  plan.n = w.getDimSize(0);
  plan.k = w.getDimSize(1);
  if (plan.n == 0 || plan.k == 0 || x.getNumElements() == 0)
    return "it is empty";
  plan.m = x.getNumElements() / plan.k;
  plan.paddedN = (plan.n + kPanelCols - 1) / kPanelCols * kPanelCols;
  return "";
}

/// panelsPerTile for a product of m rows when tiles have rowsPerTile rows:
/// with every row in one tile, as many panels as 16 accumulators hold (at
/// most 4, dividing the panel count); else 1.
int64_t panelsPerTileFor(const Plan &p, int64_t rowsPerTile) {
  if (p.m >= rowsPerTile)
    return 1;
  int64_t panels = p.paddedN / kPanelCols;
  int64_t want = std::clamp<int64_t>(16 / (p.m * kVectorsPerPanel), 1, 4);
  while (panels % want != 0)
    --want;
  return want;
}

/// The integer part of a dequantize_weight weight as [paddedN / 32, K, 32]
/// i8 containers (zeros past N), or with `nibbles` as [paddedN / 32, K, 16]
/// bytes whose low nibble is column j and high nibble column j + 16 of the
/// panel; a dense_resource constant.
Value packIntegerPart(OpBuilder &b, Location loc, nn::LinearOp op,
                      const Plan &p) {
  const std::vector<int8_t> &q = p.dequantized.q;
  int64_t panels = p.paddedN / kPanelCols;
  int64_t rowBytes = p.nibbles ? kPanelCols / 2 : kPanelCols;
  std::vector<int8_t> packed(static_cast<size_t>(panels * p.k * rowBytes), 0);
  for (int64_t n = 0; n < p.n; ++n) {
    int64_t j = n % kPanelCols;
    uint8_t *out = reinterpret_cast<uint8_t *>(packed.data()) +
                   (n / kPanelCols) * p.k * rowBytes + j % rowBytes;
    for (int64_t k = 0; k < p.k; ++k) {
      auto v = static_cast<uint8_t>(q[n * p.k + k]);
      if (!p.nibbles)
        out[k * rowBytes] = v;
      else if (j < rowBytes)
        out[k * rowBytes] |= v & 0x0F;
      else
        out[k * rowBytes] |= static_cast<uint8_t>(v << 4);
    }
  }
  auto type = RankedTensorType::get({panels, p.k, rowBytes}, b.getI8Type());
  return createResourceConstant(b, loc, type, packed.data(), packed.size(),
                                getLayerName(op) + ".packed");
}

/// A [N, G] scale or zero table as [G, paddedN] (zeros past N): transposed
/// here when it is a constant, else computed with the model (the tables may
/// be run-time values).
Value groupMajor(OpBuilder &b, Location loc, Value table, const Plan &p,
                 StringRef suffix) {
  int64_t groups = p.dequantized.groups;
  if (std::optional<FloatValues> t = readFloatConstant(table);
      t && t->size == static_cast<size_t>(p.n * groups)) {
    std::vector<float> out(static_cast<size_t>(groups * p.paddedN), 0.0f);
    for (int64_t n = 0; n < p.n; ++n)
      for (int64_t g = 0; g < groups; ++g)
        out[g * p.paddedN + n] = t->data[n * groups + g];
    return createResourceConstant(
        b, loc, RankedTensorType::get({groups, p.paddedN}, b.getF32Type()),
        out.data(), out.size() * sizeof(float),
        getLayerName(p.dequantized.op) + suffix.str());
  }
  Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0));
  SmallVector<OpFoldResult> low = {b.getIndexAttr(0), b.getIndexAttr(0)};
  SmallVector<OpFoldResult> high = {b.getIndexAttr(p.paddedN - p.n),
                                    b.getIndexAttr(0)};
  Value padded = tensor::PadOp::create(
      b, loc, RankedTensorType::get({p.paddedN, groups}, b.getF32Type()),
      table, low, high, zero, /*nofold=*/false);
  Value init = tensor::EmptyOp::create(
      b, loc, ArrayRef<int64_t>{groups, p.paddedN}, b.getF32Type());
  return linalg::TransposeOp::create(b, loc, padded, init,
                                     ArrayRef<int64_t>{1, 0})
      .getResult()[0];
}

/// The weight packed into [paddedN / 32, K, 32] panels (zeros past N), as a
/// dense_resource constant; null if its values cannot be read.
Value packWeight(OpBuilder &b, Location loc, nn::LinearOp op, const Plan &p) {
  if (p.quantized)
    return packIntegerPart(b, loc, op, p);
  std::optional<FloatValues> w = readFloatConstant(op.getWeight());
  if (!w || w->size != static_cast<size_t>(p.n * p.k))
    return Value();
  int64_t panels = p.paddedN / kPanelCols;
  std::vector<float> packed(static_cast<size_t>(panels * p.k * kPanelCols),
                            0.0f);
  for (int64_t n = 0; n < p.n; ++n) {
    int64_t panel = n / kPanelCols, j = n % kPanelCols;
    const float *row = w->data + n * p.k;
    float *out = packed.data() + panel * p.k * kPanelCols + j;
    for (int64_t k = 0; k < p.k; ++k)
      out[k * kPanelCols] = row[k];
  }
  auto type = RankedTensorType::get({panels, p.k, kPanelCols}, b.getF32Type());
  return createResourceConstant(b, loc, type, packed.data(),
                                packed.size() * sizeof(float),
                                getLayerName(op) + ".packed");
}

/// The kernel's loops for one nn.linear.
class GemmBuilder {
public:
  GemmBuilder(OpBuilder &b, Location loc, const Plan &plan, int64_t rowsPerTile)
      : b(b), loc(loc), p(plan), rowsPerTile(rowsPerTile) {
    f32 = b.getF32Type();
    fvec = VectorType::get({kLanes}, f32);
  }

  /// y [M, N] = bias + x [M, K] . w^T from the packed panels.
  /// `scaleTable` / `zeroTable`: the dequantize_weight tables as
  /// [G, paddedN] (null for an f32 weight, or without zeros).
  Value build(Value x, Value packed, Value bias, Value scaleTable,
              Value zeroTable, bool parallel) {
    this->scaleTable = scaleTable;
    this->zeroTable = zeroTable;
    this->x = x;
    this->packed = packed;
    this->bias = bias;
    blockCols = p.panelsPerTile * kPanelCols;
    Value out =
        tensor::EmptyOp::create(b, loc, ArrayRef<int64_t>{p.m, p.paddedN}, f32);
    Value y = parallel ? parallelPanels(out) : serialPanels(out);
    if (p.paddedN == p.n)
      return y;
    SmallVector<OpFoldResult> offsets = {b.getIndexAttr(0), b.getIndexAttr(0)};
    SmallVector<OpFoldResult> sizes = {b.getIndexAttr(p.m),
                                       b.getIndexAttr(p.n)};
    SmallVector<OpFoldResult> strides = {b.getIndexAttr(1), b.getIndexAttr(1)};
    return tensor::ExtractSliceOp::create(b, loc, y, offsets, sizes, strides);
  }

private:
  Value add(Value a, int64_t c) { return kernels::addIndex(b, loc, a, c); }

  /// Every row of the panelsPerTile panels from column n0, written into y at
  /// column yCol0: tiles of rowsPerTile rows, then one tile of the rows
  /// left.
  Value panel(Value n0, Value y, Value yCol0) {
    int64_t mainRows = p.m / rowsPerTile * rowsPerTile;
    if (mainRows > 0)
      y = rowLoop(n0, 0, mainRows, rowsPerTile, y, yCol0);
    if (mainRows < p.m)
      y = rowLoop(n0, mainRows, p.m, p.m - mainRows, y, yCol0);
    return y;
  }

  Value serialPanels(Value out) {
    return kernels::forLoop(b, loc, 0, p.paddedN, blockCols, out,
                            [&](Value n0, Value y) { return panel(n0, y, n0); });
  }

  /// The panels (panelsPerTile at a time) as the iterations of an
  /// scf.forall, each writing its own [M, 32 * panelsPerTile] slice.
  Value parallelPanels(Value out) {
    Value n0;
    return kernels::forallSlices(
        b, loc, p.paddedN / blockCols, out,
        [&](Value iv) {
          n0 = arith::MulIOp::create(b, loc, iv,
                                     indexConst(b, loc, blockCols));
          return SmallVector<OpFoldResult>{b.getIndexAttr(0), n0};
        },
        {p.m, blockCols},
        [&](Value, Value slice) {
          return panel(n0, slice, indexConst(b, loc, 0));
        });
  }

  /// Rows [lo, hi) in steps of `rows`, for the panel at n0.
  Value rowLoop(Value n0, int64_t lo, int64_t hi, int64_t rows, Value y,
                Value yCol0) {
    return kernels::forLoop(b, loc, lo, hi, rows, y, [&](Value m0, Value acc) {
      return tile(n0, m0, rows, acc, yCol0);
    });
  }

  /// One register tile: `rows` rows x 32 * panelsPerTile columns, over the
  /// whole k range. Accumulator r * vectors + u holds row m0 + r, columns
  /// n0 + 16 u ... n0 + 16 u + 15.
  Value tile(Value n0, Value m0, int64_t rows, Value y, Value yCol0) {
    Value panelIndex =
        arith::DivUIOp::create(b, loc, n0, indexConst(b, loc, kPanelCols));
    int64_t vectors = p.panelsPerTile * kVectorsPerPanel;
    // The accumulators start from the bias (zero past N), as the generic's
    // output does.
    Value zero;
    if (!bias)
      zero = arith::ConstantOp::create(
          b, loc, DenseElementsAttr::get(fvec, b.getF32FloatAttr(0)));
    SmallVector<Value> start;
    for (int64_t u = 0; u < vectors; ++u)
      start.push_back(bias ? readBias(add(n0, u * kLanes)) : zero);
    SmallVector<Value> init;
    for (int64_t r = 0; r < rows; ++r)
      init.append(start.begin(), start.end());
    SmallVector<Value> accs =
        p.quantized ? quantizedSteps(panelIndex, n0, m0, rows, init)
                     : kSteps(indexConst(b, loc, 0), indexConst(b, loc, p.k),
                              m0, rows, init, [&](Value k) {
                                return readPanel(panelIndex, k, fvec);
                              });
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t u = 0; u < vectors; ++u)
        y = vector::TransferWriteOp::create(
                b, loc, accs[r * vectors + u], y,
                ValueRange{add(m0, r), add(yCol0, u * kLanes)},
                ArrayRef<bool>{true})
                .getResult();
    return y;
  }

  /// Row k of the tile's panels (from panelIndex), `perPanel` vectors each,
  /// of type `type` (f32 weights, i8 containers or nibble pairs).
  SmallVector<Value> readPanel(Value panelIndex, Value k, VectorType type,
                               int64_t perPanel = kVectorsPerPanel) {
    Value pad = arith::ConstantOp::create(
        b, loc, b.getZeroAttr(type.getElementType()));
    SmallVector<Value> vectors;
    for (int64_t j = 0; j < p.panelsPerTile; ++j) {
      Value panelJ = j == 0 ? panelIndex : add(panelIndex, j);
      for (int64_t v = 0; v < perPanel; ++v)
        vectors.push_back(vector::TransferReadOp::create(
            b, loc, type, packed,
            ValueRange{panelJ, k, indexConst(b, loc, v * kLanes)}, pad,
            ArrayRef<bool>{true}));
    }
    return vectors;
  }

  /// k in [lo, hi): per row, acc += broadcast(x[m, k]) * w[k] (one fused
  /// multiply-add per vector), with w[k] from `weightsAt`.
  SmallVector<Value>
  kSteps(Value lo, Value hi, Value m0, int64_t rows, ValueRange init,
         llvm::function_ref<SmallVector<Value>(Value)> weightsAt) {
    auto loop = scf::ForOp::create(
        b, loc, lo, hi, indexConst(b, loc, 1), init,
        [&](OpBuilder &nb, Location l, Value k, ValueRange accs) {
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPointToEnd(nb.getInsertionBlock());
          SmallVector<Value> weights = weightsAt(k);
          int64_t vectors = weights.size();
          SmallVector<Value> next;
          for (int64_t r = 0; r < rows; ++r) {
            Value a = vector::BroadcastOp::create(
                b, l, fvec,
                tensor::ExtractOp::create(b, l, x, ValueRange{add(m0, r), k}));
            for (int64_t u = 0; u < vectors; ++u)
              next.push_back(vector::FMAOp::create(
                  b, l, a, weights[u], accs[r * vectors + u]));
          }
          scf::YieldOp::create(b, l, next);
        });
    return SmallVector<Value>(loop.getResults());
  }

  /// The k steps of a dequantize_weight weight, group by group: the group's
  /// scales (and zeros) of the panel's columns are read once, and each
  /// container is dequantized in registers as the reference does: float(q)
  /// * s, (float(q) - z) * s, or float(q) * s + z (float offsets).
  SmallVector<Value> quantizedSteps(Value panelIndex, Value n0, Value m0,
                                    int64_t rows, ValueRange init) {
    const dequantized::Weight &dq = p.dequantized;
    auto bytes = VectorType::get({kLanes}, b.getI8Type());
    auto loop = scf::ForOp::create(
        b, loc, indexConst(b, loc, 0), indexConst(b, loc, dq.groups),
        indexConst(b, loc, 1), init,
        [&](OpBuilder &nb, Location l, Value g, ValueRange accs) {
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPointToEnd(nb.getInsertionBlock());
          int64_t vectors = p.panelsPerTile * kVectorsPerPanel;
          SmallVector<Value> scale, zero(vectors);
          for (int64_t u = 0; u < vectors; ++u) {
            scale.push_back(readTable(scaleTable, g, add(n0, u * kLanes)));
            if (zeroTable)
              zero[u] = readTable(zeroTable, g, add(n0, u * kLanes));
          }
          Value lo =
              arith::MulIOp::create(b, l, g, indexConst(b, l, dq.groupSize));
          SmallVector<Value> next = kSteps(
              lo, add(lo, dq.groupSize), m0, rows, accs, [&](Value k) {
                SmallVector<Value> weights;
                if (!p.nibbles) {
                  for (auto [u, q] :
                       llvm::enumerate(readPanel(panelIndex, k, bytes)))
                    weights.push_back(dequantized::dequantize(
                        b, loc, dq, q, scale[u], zero[u]));
                  return weights;
                }
                // One 16-byte vector per panel: columns 0-15 in the low
                // nibbles, 16-31 in the high ones.
                for (auto [j, pair] :
                     llvm::enumerate(readPanel(panelIndex, k, bytes, 1)))
                  for (int64_t v = 0; v < kVectorsPerPanel; ++v) {
                    Value wide = dequantized::unpackNibble(b, loc, dq, pair,
                                                           /*high=*/v == 1);
                    weights.push_back(dequantized::dequantizeWide(
                        b, loc, dq, wide, scale[j * kVectorsPerPanel + v],
                        zero[j * kVectorsPerPanel + v]));
                  }
                return weights;
              });
          scf::YieldOp::create(b, l, next);
        });
    return SmallVector<Value>(loop.getResults());
  }

  /// Sixteen values of a [G, paddedN] table at group g from column n.
  Value readTable(Value table, Value g, Value n) {
    Value pad = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0));
    return vector::TransferReadOp::create(b, loc, fvec, table,
                                          ValueRange{g, n}, pad,
                                          ArrayRef<bool>{true});
  }

  /// Sixteen bias values from column n, zero past N.
  Value readBias(Value n) {
    Value pad = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0));
    return vector::TransferReadOp::create(b, loc, fvec, bias, ValueRange{n},
                                          pad, ArrayRef<bool>{false});
  }

  OpBuilder &b;
  Location loc;
  const Plan &p;
  int64_t rowsPerTile, blockCols = kPanelCols;
  Type f32;
  VectorType fvec;
  Value x, packed, bias, scaleTable, zeroTable;
};

struct ConvertLinearToGemmKernelPass
    : lowbit::impl::ConvertLinearToGemmKernelPassBase<
          ConvertLinearToGemmKernelPass> {
  using Base::Base;

  void runOnOperation() override {
    if (failed(kernels::checkThreadOptions(getOperation(), getArgument(),
                                           numThreads, minParallelWork)))
      return signalPassFailure();
    if (rowsPerTile < 1 || rowsPerTile > 12) {
      getOperation().emitError("convert-linear-to-gemm-kernel: rows-per-tile "
                               "must be 1..12, got ")
          << static_cast<int64_t>(rowsPerTile);
      return signalPassFailure();
    }
    SmallVector<nn::LinearOp> ops;
    getOperation().walk([&](nn::LinearOp op) { ops.push_back(op); });
    for (nn::LinearOp op : ops) {
      Plan plan;
      std::string why = planFor(op, plan);
      if (why.empty() && plan.quantized && !quantizedWeights)
        why = "quantized-weights is off";
      plan.nibbles = why.empty() && plan.quantized && plan.m < rowsPerTile &&
                     dequantized::fitsNibbles(plan.dequantized);
      OpBuilder b(op);
      Location loc = op.getLoc();
      Value packed = why.empty() ? packWeight(b, loc, op, plan) : Value();
      if (why.empty() && !packed)
        why = "the weight's values cannot be read";
      if (!why.empty()) {
        // Left to convert-nn-to-linalg's generic lowering.
        if (requireKernel) {
          op.emitOpError("cannot use the f32 GEMM kernel: ") << why;
          return signalPassFailure();
        }
        continue;
      }
      // x as [M, K]: every leading dimension is a row.
      auto xType = cast<RankedTensorType>(op.getInput().getType());
      Value x = op.getInput();
      if (xType.getRank() != 2) {
        SmallVector<ReassociationIndices> rows(2);
        for (int64_t d = 0; d + 1 < xType.getRank(); ++d)
          rows[0].push_back(d);
        rows[1].push_back(xType.getRank() - 1);
        if (xType.getRank() == 1)
          x = tensor::ExpandShapeOp::create(
              b, loc, RankedTensorType::get({1, plan.k}, b.getF32Type()), x,
              ArrayRef<ReassociationIndices>{{0, 1}});
        else
          x = tensor::CollapseShapeOp::create(b, loc, x, rows);
      }
      plan.panelsPerTile = panelsPerTileFor(plan, rowsPerTile);
      bool parallel = numThreads > 1 &&
                      plan.m * plan.paddedN * plan.k >= minParallelWork &&
                      plan.paddedN > plan.panelsPerTile * kPanelCols;
      Value scaleTable, zeroTable;
      lb::DequantizeWeightOp dq = plan.dequantized.op;
      if (plan.quantized) {
        scaleTable = groupMajor(b, loc, dq.getScale(), plan, ".scales");
        if (plan.dequantized.hasZero)
          zeroTable = groupMajor(b, loc, dq.getZero(), plan, ".zeros");
      }
      GemmBuilder gemm(b, loc, plan, rowsPerTile);
      Value y = gemm.build(x, packed, op.getBias(), scaleTable, zeroTable,
                           parallel);
      // Back to the op's shape: [..., N].
      auto yType = cast<RankedTensorType>(op.getType());
      if (yType.getRank() != 2) {
        SmallVector<ReassociationIndices> rows(2);
        if (yType.getRank() == 1) {
          y = tensor::CollapseShapeOp::create(
              b, loc, y, ArrayRef<ReassociationIndices>{{0, 1}});
        } else {
          for (int64_t d = 0; d + 1 < yType.getRank(); ++d)
            rows[0].push_back(d);
          rows[1].push_back(yType.getRank() - 1);
          y = tensor::ExpandShapeOp::create(b, loc, yType, y, rows);
        }
      }
      op.getResult().replaceAllUsesWith(y);
      op.erase();
      if (plan.quantized && dq->use_empty())
        dq.erase();
    }
  }
};

} // namespace
