//===- InsertObservers.cpp - calibration taps on layer inputs -------------===//
#include "passes/Calibration/Passes.h"
#include "passes/Quantization/WeightUtils.h"

#include "dialects/NN/NNDialect.h"
#include "lib/Calibration/Statistics.h"

#include "llvm/ADT/StringExtras.h"

namespace lowbit {
#define GEN_PASS_DEF_INSERTOBSERVERSPASS
#include "passes/Calibration/Passes.h.inc"
} // namespace lowbit

using namespace mlir;
using namespace lowbit;

namespace {

struct InsertObserversPass
    : lowbit::impl::InsertObserversPassBase<InsertObserversPass> {
  using InsertObserversPassBase::InsertObserversPassBase;

  /// Adds a tap named `name` on `value` right before `user`, unless `value`
  /// is not f32 or already has a tap of that name. `conv` (a dictionary of
  /// the conv's geometry) asks for the im2col patch Hessian.
  void tap(Operation *user, Value value, const std::string &name,
           int64_t channelAxis, bool hessian,
           DictionaryAttr conv = nullptr) {
    auto type = dyn_cast<RankedTensorType>(value.getType());
    if (!type || !type.getElementType().isF32() || type.getRank() == 0)
      return;
    for (Operation *other : value.getUsers())
      if (auto observe = dyn_cast<lb::ObserveOp>(other))
        if (observe.getName() == name)
          return;
    OpBuilder b(user);
    auto observe = lb::ObserveOp::create(
        b, user->getLoc(), value, b.getStringAttr(name),
        b.getI64IntegerAttr(channelAxis),
        hessian ? b.getUnitAttr() : UnitAttr());
    if (conv)
      observe->setAttr(calibration::kConvPatchesAttr, conv);
  }

  /// The geometry of `conv` for its patch Hessian, or null (with a warning)
  /// when its patch length K = C/groups * KH * KW is above the cap.
  DictionaryAttr convGeometry(nn::Conv2DOp conv, const std::string &name) {
    auto filter = conv.getFilter().getType();
    int64_t k = filter.getDimSize(1) * filter.getDimSize(2) *
                filter.getDimSize(3);
    if (k > calibration::kMaxConvHessianSize) {
      conv.emitWarning("insert-observers: conv '")
          << name << "': patch length K = " << k << " is above "
          << calibration::kMaxConvHessianSize
          << "; no Hessian is collected for it";
      return nullptr;
    }
    Builder b(conv.getContext());
    return b.getDictionaryAttr(
        {b.getNamedAttr("kernel",
                        b.getDenseI64ArrayAttr({filter.getDimSize(2),
                                                filter.getDimSize(3)})),
         b.getNamedAttr("strides", conv.getStridesAttr()),
         b.getNamedAttr("pads", conv.getPadsAttr()),
         b.getNamedAttr("dilations", conv.getDilationsAttr()),
         b.getNamedAttr("groups", conv.getGroupsAttr())});
  }

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    bool linear = false, conv = false, matmul = false;
    SmallVector<StringRef> kinds;
    StringRef(ops).split(kinds, ',', -1, /*KeepEmpty=*/false);
    for (StringRef kind : kinds) {
      kind = kind.trim();
      if (kind == "linear")
        linear = true;
      else if (kind == "conv2d")
        conv = true;
      else if (kind == "matmul")
        matmul = true;
      else {
        func.emitError("insert-observers: unknown layer kind '")
            << kind << "' in ops= (expected linear, conv2d, matmul)";
        return signalPassFailure();
      }
    }
    SmallVector<Operation *> layers;
    func.walk([&](Operation *op) {
      if ((linear && isa<nn::LinearOp>(op)) ||
          (conv && isa<nn::Conv2DOp>(op)) || (matmul && isa<nn::MatMulOp>(op)))
        layers.push_back(op);
    });
    for (Operation *op : layers) {
      std::string name = getLayerName(op);
      if (auto l = dyn_cast<nn::LinearOp>(op)) {
        int64_t rank = l.getInput().getType().getRank();
        tap(op, l.getInput(), name, rank - 1, hessians);
      } else if (auto c = dyn_cast<nn::Conv2DOp>(op)) {
        tap(op, c.getInput(), name, 1, false,
            hessians ? convGeometry(c, name) : nullptr);
      } else if (auto m = dyn_cast<nn::MatMulOp>(op)) {
        int64_t lhsRank = m.getLhs().getType().getRank();
        int64_t rhsRank = m.getRhs().getType().getRank();
        tap(op, m.getLhs(), name, lhsRank - 1, false);
        if (rhsRank >= 2)
          tap(op, m.getRhs(), name + ".rhs", rhsRank - 2, false);
      }
    }
  }
};

} // namespace
