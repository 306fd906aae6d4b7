//===- Pipeline.cpp - the lowbit-fuse pipeline ----------------------------===//
#include "passes/Fusion/Passes.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"

using namespace mlir;

void lowbit::addFusionPasses(OpPassManager &pm) {
  // LayerNorm before RMSNorm: an RMSNorm of the centred input is a LayerNorm.
  OpPassManager &f = pm.nest<func::FuncOp>();
  f.addPass(createFoldBatchNormPass());
  f.addPass(createFuseLayerNormPass());
  f.addPass(createFuseRMSNormPass());
  f.addPass(createFuseGeluPass());
  f.addPass(createFuseSiluPass());
  f.addPass(createFuseHardSwishPass());
  f.addPass(createFuseAttentionPass());
}

void lowbit::registerFusionPassesAndPipeline() {
  registerLowbitFusionPasses();
  PassPipelineRegistration<>(
      "lowbit-fuse",
      "Every graph fusion: fold-batch-norm, fuse-layer-norm, fuse-rms-norm, "
      "fuse-gelu, fuse-silu, fuse-hard-swish, fuse-attention (on each "
      "func.func)",
      [](OpPassManager &pm) { addFusionPasses(pm); });
}
