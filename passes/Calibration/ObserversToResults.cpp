//===- ObserversToResults.cpp - taps become results of the entry ----------===//
#include "passes/Calibration/Passes.h"

#include "llvm/ADT/StringSet.h"

namespace lowbit {
#define GEN_PASS_DEF_OBSERVERSTORESULTSPASS
#include "passes/Calibration/Passes.h.inc"
} // namespace lowbit

using namespace mlir;
using namespace lowbit;

namespace {

struct ObserversToResultsPass
    : lowbit::impl::ObserversToResultsPassBase<ObserversToResultsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<lb::ObserveOp> taps;
    bool ok = true;
    module.walk([&](lb::ObserveOp op) {
      auto func = dyn_cast<func::FuncOp>(op->getParentOp());
      if (!func) {
        op.emitOpError("observers-to-results: tap '")
            << op.getName() << "' is nested inside "
            << op->getParentOp()->getName()
            << "; only taps at function level can become results";
        ok = false;
        return;
      }
      if (func.isPrivate()) {
        op.emitOpError("observers-to-results: tap '")
            << op.getName() << "' is in the private function @"
            << func.getSymName() << "; only the public entry has results "
            << "the caller sees";
        ok = false;
        return;
      }
      taps.push_back(op);
    });
    if (!ok)
      return signalPassFailure();
    llvm::StringSet<> names;
    for (lb::ObserveOp op : taps)
      if (!names.insert(op.getName()).second) {
        op.emitOpError("observers-to-results: two taps are named '")
            << op.getName() << "'";
        return signalPassFailure();
      }
    Builder b(&getContext());
    for (lb::ObserveOp op : taps) {
      auto func = cast<func::FuncOp>(op->getParentOp());
      auto ret = dyn_cast<func::ReturnOp>(func.getBody().back().getTerminator());
      if (!func.getBody().hasOneBlock() || !ret) {
        op.emitOpError("observers-to-results: @")
            << func.getSymName() << " must have one block ending in "
            << "func.return";
        return signalPassFailure();
      }
      // A value is returned once (bufferization turns each result into its
      // own out-param): taps of a value already returned join that result.
      std::optional<unsigned> existing;
      for (auto [i, v] : llvm::enumerate(ret.getOperands()))
        if (v == op.getInput())
          existing = i;
      if (existing) {
        unsigned i = *existing;
        auto names = func.getResultAttrOfType<ArrayAttr>(i, "lowbit.observe");
        auto axis =
            func.getResultAttrOfType<IntegerAttr>(i, "lowbit.channel_axis");
        if (names && axis && axis.getInt() != op.getChannelAxis()) {
          op.emitOpError("observers-to-results: tap '")
              << op.getName() << "' observes the same value as '"
              << cast<StringAttr>(names[0]).getValue()
              << "' along another channel axis";
          return signalPassFailure();
        }
        SmallVector<Attribute> list;
        if (names)
          list.append(names.begin(), names.end());
        list.push_back(op.getNameAttr());
        func.setResultAttr(i, "lowbit.observe", b.getArrayAttr(list));
        func.setResultAttr(i, "lowbit.channel_axis", op.getChannelAxisAttr());
        auto hessian = func.getResultAttrOfType<BoolAttr>(i, "lowbit.hessian");
        func.setResultAttr(
            i, "lowbit.hessian",
            b.getBoolAttr(op.getHessian() || (hessian && hessian.getValue())));
        op.erase();
        continue;
      }
      unsigned index = func.getNumResults();
      SmallVector<NamedAttribute> attrs = {
          b.getNamedAttr("onnx.name",
                         b.getStringAttr("observe:" + op.getName())),
          b.getNamedAttr("lowbit.observe",
                         b.getArrayAttr({op.getNameAttr()})),
          b.getNamedAttr("lowbit.channel_axis", op.getChannelAxisAttr()),
          b.getNamedAttr("lowbit.hessian", b.getBoolAttr(op.getHessian()))};
      if (failed(func.insertResult(index, op.getInput().getType(),
                                   b.getDictionaryAttr(attrs))))
        return signalPassFailure();
      ret.getOperandsMutable().append(op.getInput());
      op.erase();
    }
  }
};

} // namespace
