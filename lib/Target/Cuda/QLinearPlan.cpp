//===- QLinearPlan.cpp - The CUDA kernel for a lowbit.qlinear op ----------===//

#include "lib/Target/Cuda/QLinearPlan.h"

#include "dialects/LowBit/LowBitDialect.h"

using namespace mlir;

namespace lowbit {
namespace cuda {

static bool isSignedElement(Type elem) {
  if (auto q = dyn_cast<quant::QuantizedType>(elem))
    return q.isSigned();
  if (auto i = dyn_cast<IntegerType>(elem))
    return !i.isUnsigned();
  return true;
}

LogicalResult planQLinear(Operation *operation, const std::string &gpu,
                          CudaArch arch, const TuningTable *table,
                          QLinearPlan &plan) {
  auto op = dyn_cast<lb::QLinearOp>(operation);
  if (!op)
    return operation->emitOpError("is not lowbit.qlinear");
  auto xType = op.getXQ().getType();
  auto yType = op.getResult().getType();
  if (xType.getRank() != 2 || yType.getRank() != 2 ||
      !xType.hasStaticShape() || !yType.hasStaticShape())
    return op.emitOpError("CUDA kernels need static 2-D x and result, got ")
           << xType << " -> " << yType;
  plan.m = xType.getDimSize(0);
  plan.k = xType.getDimSize(1);
  plan.n = yType.getDimSize(1);
  plan.groupSize = op.getGroupSize();
  const int aBits = int(op.getABits()), wBits = int(op.getWBits());
  bool wSigned = !op.getWZero();
  if (auto packed = dyn_cast<lb::PackedType>(op.getWQ().getType())) {
    plan.storedLayout = static_cast<numerics::PackLayout>(
        static_cast<int>(packed.getLayout()));
    wSigned = isSignedElement(packed.getElementType());
  } else {
    plan.storedLayout = numerics::PackLayout::Int8Bytes;
  }
  if (!wSigned && !op.getWZero())
    return op.emitOpError("unsigned weights without a zero table");
  KernelSpec spec = chooseSpec(gpu, arch, wBits, aBits, wSigned, plan.m,
                               plan.n, plan.k, plan.groupSize,
                               /*outF16=*/false, bool(op.getBias()), table);
  std::string error;
  if (!validateSpec(spec, error) ||
      !checkProblem(spec, plan.m, plan.n, plan.k, plan.groupSize, error))
    return op.emitOpError("has no CUDA kernel: ") << error;
  plan.spec = spec;
  return success();
}

} // namespace cuda
} // namespace lowbit
