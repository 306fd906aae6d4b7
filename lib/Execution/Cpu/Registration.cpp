//===- Registration.cpp - lowbit + upstream dialects and passes -----------===//
#include "lowbit/Dialects.h"
#include "lowbit/Runtime.h"

#include "dialects/LowBit/LowBitDialect.h"
#include "dialects/NN/NNDialect.h"
#include "passes/Calibration/Passes.h"
#include "passes/Conversion/Passes.h"
#include "passes/Fusion/Passes.h"
#include "passes/Quantization/Passes.h"
#include "passes/Sensitivity/Passes.h"
#include "passes/Winograd/Passes.h"

#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"

#include <mutex>

void lowbit::registerAllDialects(mlir::DialectRegistry &registry) {
  registry.insert<lowbit::nn::NNDialect, lowbit::lb::LowBitDialect>();
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  mlir::registerAllToLLVMIRTranslations(registry);
}

void lowbit::registerAllPasses() {
  static std::once_flag once;
  std::call_once(once, [] {
    mlir::registerAllPasses();
    lowbit::registerLowbitConversionPasses();
    lowbit::registerLowbitQuantizationPasses();
    lowbit::registerFusionPassesAndPipeline();
    lowbit::registerLowbitWinogradPasses();
    lowbit::registerLowbitCalibrationPasses();
    lowbit::registerLowbitSensitivityPasses();
    lowbit::registerCpuVectorizationPasses();
    lowbit::registerCpuParallelPasses();
    lowbit::registerCpuMathPasses();
    lowbit::registerCpuElementwisePasses();
    lowbit::registerCpuLoweringPipeline();
  });
}
