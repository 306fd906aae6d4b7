//===- CpuLowering.cpp - the CPU pipeline and the lowering it drives ------===//
#include "CpuLowering.h"
#include "lowbit/Dialects.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "llvm/ExecutionEngine/Orc/Mangling.h"
#include "llvm/Support/DynamicLibrary.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/TargetParser/Host.h"

#include <mutex>
#include <thread>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

using namespace mlir;
using namespace lowbit;
using namespace lowbit::detail;

unsigned lowbit::detail::resolveThreads(unsigned numThreads) {
  if (numThreads != 0)
    return numThreads;
  return std::max(1u, std::thread::hardware_concurrency());
}

bool lowbit::hostHasAvx512Vnni() {
  llvm::StringMap<bool> features = llvm::sys::getHostCPUFeatures();
  return features.lookup("avx512f") && features.lookup("avx512bw") &&
         features.lookup("avx512vnni");
}

Int8Kernel lowbit::resolveInt8Kernel(Int8Kernel kernel) {
  if (kernel != Int8Kernel::Auto)
    return kernel;
  return hostHasAvx512Vnni() ? Int8Kernel::Avx512Vnni : Int8Kernel::Portable;
}

std::string lowbit::getCpuKernelPipeline(unsigned numThreads,
                                         Int8Kernel int8Kernel) {
  numThreads = resolveThreads(numThreads);
  std::string threads = "num-threads=" + std::to_string(numThreads);
  // f32 nn.linear with a constant weight: the packed GEMM kernel; f32
  // stride-1 nn.conv2d with a constant filter: the direct convolution;
  // depthwise ones: vector code along the output rows.
  // lowbit.qlinear with constant weights: the int8 dot-product kernel
  // (bit-identical to the generic lowering that follows for the rest); on
  // AVX-512 VNNI its dot products become vpdpbusd after bufferization.
  // --int8-kernel=reference: every quantized layer (qlinear and weight-only)
  // runs convert-lowbit-to-linalg's reference lowering.
  bool reference = resolveInt8Kernel(int8Kernel) == Int8Kernel::Reference;
  std::string passes = "convert-linear-to-gemm-kernel{" + threads +
                       (reference ? " quantized-weights=false" : "") +
                       "}, convert-conv-to-direct-kernel{" + threads +
                       (reference ? " quantized-weights=false" : "") +
                       "}, convert-depthwise-conv-to-kernel{" + threads + "}";
  if (!reference)
    passes += ", convert-qconv-to-direct-kernel{" + threads +
              "}, convert-qlinear-to-dot-kernel{" + threads + "}";
  return "func.func(" + passes + ")";
}

std::string lowbit::getCpuLoweringPipeline(unsigned numThreads,
                                           Int8Kernel int8Kernel) {
  return getCpuKernelPipeline(numThreads, int8Kernel) + "," +
         getCpuCodegenPipeline(numThreads, int8Kernel);
}

std::string lowbit::getCpuCodegenPipeline(unsigned numThreads,
                                          Int8Kernel int8Kernel) {
  numThreads = resolveThreads(numThreads);
  std::string vnni;
  if (resolveInt8Kernel(int8Kernel) == Int8Kernel::Avx512Vnni)
    vnni = "convert-i8-dot-to-vnni, ";
  // Threads: lowbit-cpu-tile-vectorize puts the parallel loops of large ops
  // into scf.forall; on buffers they become scf.parallel and then async
  // tasks on MLIR's async runtime (coroutines lowered by the JIT's LLVM
  // pipeline). With one thread none of this is in the pipeline.
  std::string tileVectorize = "lowbit-cpu-tile-vectorize";
  std::string async;
  if (numThreads > 1) {
    tileVectorize += "{num-threads=" + std::to_string(numThreads) + "}";
    async = "func.func(scf-forall-to-parallel),"
            "lowbit-cpu-async-parallel{num-threads=" +
            std::to_string(numThreads) +
            "},"
            "async-to-async-runtime, async-runtime-ref-counting,"
            "async-runtime-ref-counting-opt, arith-expand,"
            "convert-async-to-llvm,";
  }
  // nn -> linalg/tosa, tosa -> linalg, fuse element-wise chains, bufferize
  // with results turned into caller-provided out-params, then loops -> LLVM.
  return "func.func("
         "convert-nn-to-linalg, convert-lowbit-to-linalg, "
         "tosa-to-linalg-named, "
         "tosa-to-linalg, tosa-to-arith, tosa-to-tensor),"
         "canonicalize, cse,"
         // Contractions get register tiles; element-wise ops vector tiles.
         "func.func(lowbit-cpu-fuse-elementwise, " +
         tileVectorize + ", lowbit-cpu-vectorize-elementwise" +
         "),"
         "canonicalize, cse,"
         "one-shot-bufferize{bufferize-function-boundaries "
         "function-boundary-type-conversion=identity-layout-map},"
         "buffer-results-to-out-params{hoist-static-allocs=true "
         "modify-public-functions=true},"
         "buffer-deallocation-pipeline,"
         "func.func(" + vnni + "lowbit-cpu-hoist-transfers, canonicalize,"
         " lowbit-expand-strided-copies, convert-vector-to-scf{full-unroll=true},"
         " convert-linalg-to-loops)," +
         async +
         "expand-strided-metadata, lower-affine, convert-scf-to-cf,"
         // erf/exp/tanh/log as polynomials (vector code, no libm call).
         "func.func(lowbit-cpu-approximate-math),"
         "convert-math-to-funcs, convert-math-to-llvm, convert-math-to-libm,"
         // bf16 arithmetic in f32 and bf16 <-> f32 as integer ops: LLVM's
         // own lowering calls __truncsfbf2, which the JIT does not have.
         "func.func(arith-emulate-unsupported-floats{source-types=bf16 "
         "target-type=f32}), arith-expand{include-bf16=true},"
         "convert-vector-to-llvm{vector-contract-lowering=outerproduct "
         "vector-transpose-lowering=shuffle1d},"
         // Buffers come from lowbit's pool (ArtefactRuntime/BufferPool.c):
         // reused across runs instead of fresh pages every run.
         "finalize-memref-to-llvm{use-generic-functions=true},"
         "convert-arith-to-llvm,"
         "convert-index-to-llvm, convert-func-to-llvm, convert-cf-to-llvm,"
         "convert-ub-to-llvm, reconcile-unrealized-casts";
}

namespace {
struct CpuLoweringOptions : PassPipelineOptions<CpuLoweringOptions> {
  Option<unsigned> threads{
      *this, "threads",
      llvm::cl::desc("threads for the parallel loops (0: one per hardware "
                     "thread); above 1 the code calls MLIR's async runtime"),
      llvm::cl::init(1)};
  Option<Int8Kernel> int8Kernel{
      *this, "int8-kernel",
      llvm::cl::desc("how quantized layers run"),
      llvm::cl::init(Int8Kernel::Auto),
      llvm::cl::values(
          clEnumValN(Int8Kernel::Auto, "auto",
                     "avx512-vnni if the host has it, else portable"),
          clEnumValN(Int8Kernel::Avx512Vnni, "avx512-vnni", "vpdpbusd kernel"),
          clEnumValN(Int8Kernel::Portable, "portable",
                     "the same kernel in plain vector arithmetic"),
          clEnumValN(Int8Kernel::Reference, "reference",
                     "the generic linalg lowering of every quantized "
                     "layer"))};
};
} // namespace

void lowbit::registerCpuLoweringPipeline() {
  static PassPipelineRegistration<CpuLoweringOptions> pipeline(
      "lowbit-cpu-lowering",
      "Lower a lowbit module (nn/tosa/linalg on tensors) to the LLVM dialect",
      [](OpPassManager &pm, const CpuLoweringOptions &options) {
        if (failed(parsePassPipeline(
                getCpuLoweringPipeline(options.threads, options.int8Kernel),
                pm)))
          llvm::report_fatal_error("invalid built-in CPU pipeline");
      });
}

static mlir::MLIRContext *registerEverything(mlir::MLIRContext *ctx) {
  registerAllPasses();
  DialectRegistry registry;
  registerAllDialects(registry);
  ctx->appendDialectRegistry(registry);
  return ctx;
}

LoweringDiagnostics::LoweringDiagnostics(MLIRContext *ctx)
    : handler(registerEverything(ctx), [this](Diagnostic &diag) {
        if (diag.getSeverity() == DiagnosticSeverity::Error) {
          if (!text.empty())
            text += "; ";
          text += diag.str();
        }
        return success();
      }) {}

llvm::Expected<LoweredCpuModule>
lowbit::detail::lowerModuleForCpu(ModuleOp module,
                                  const CpuCompileOptions &options,
                                  unsigned numThreads, Int8Kernel int8Kernel,
                                  const std::string &diagnostics) {
  MLIRContext *ctx = module.getContext();
  LoweredCpuModule result;
  result.module = OwningOpRef<ModuleOp>(module.clone());
  ModuleOp copy = *result.module;
  auto entryOrError = findEntryFunction(copy);
  if (!entryOrError)
    return entryOrError.takeError();
  func::FuncOp func = *entryOrError;
  result.entrySymbol = func.getName().str();
  if (llvm::Error err =
          getEntrySignature(copy, result.inputs, result.outputs))
    return std::move(err);
  std::string error;
  // The kernels that pack constant weights at compile time run first, so
  // that their packed weights are externalized below like any other.
  auto runStage = [&](const std::string &pipeline) -> llvm::Error {
    PassManager pm(ctx);
    if (failed(parsePassPipeline(pipeline, pm)))
      return makeError("invalid CPU lowering pipeline");
    if (failed(pm.run(copy)))
      return makeError("lowering to LLVM failed: " +
                       (diagnostics.empty() ? std::string("unknown reason")
                                            : diagnostics));
    return llvm::Error::success();
  };
  if (llvm::Error err = runStage(getCpuKernelPipeline(numThreads, int8Kernel)))
    return std::move(err);
  // Large resource constants become trailing arguments that point into their
  // blobs: the weights are neither copied nor compiled into object code.
  // Constants nothing reads any more (a weight the kernel stage replaced by
  // its packed form, the [K, N] original of a transposed MatMul weight) are
  // dropped here: externalized, they would be embedded in artefacts and
  // passed to the JIT for nothing (a Llama layer's artefact was 2.6x its
  // weights).
  SmallVector<arith::ConstantOp> externalize, dead;
  func.walk([&](arith::ConstantOp op) {
    if (op->use_empty()) {
      dead.push_back(op);
      return;
    }
    auto attr = dyn_cast<DenseResourceElementsAttr>(op.getValue());
    if (!attr)
      return;
    AsmResourceBlob *blob = attr.getRawHandle().getBlob();
    if (blob && blob->getData().size() >= options.externalizeThresholdBytes &&
        succeeded(toElementType(attr.getType().getElementType())))
      externalize.push_back(op);
  });
  for (arith::ConstantOp op : dead)
    op.erase();
  Block &entry = func.getBody().front();
  for (arith::ConstantOp op : externalize) {
    auto attr = cast<DenseResourceElementsAttr>(op.getValue());
    auto type = cast<RankedTensorType>(attr.getType());
    unsigned index = func.getNumArguments();
    if (failed(func.insertArgument(index, type, {}, op.getLoc())))
      return makeError("cannot add a weight argument");
    op.getResult().replaceAllUsesWith(entry.getArgument(index));
    auto spec = specFor(type, attr.getRawHandle().getKey(), error);
    result.weights.emplace_back(attr.getRawHandle().getBlob()->getData().data(),
                              *spec);
    op.erase();
  }
  // Each result needs its own buffer: a value returned twice (or an argument
  // returned as is) would make buffer-results-to-out-params alias two
  // out-params. Copy such results into fresh tensors.
  {
    auto ret = cast<func::ReturnOp>(entry.getTerminator());
    ret->getContext()->getOrLoadDialect<bufferization::BufferizationDialect>();
    OpBuilder rb(ret);
    llvm::SmallPtrSet<Value, 8> seen;
    for (OpOperand &operand : ret->getOpOperands()) {
      Value v = operand.get();
      if (seen.insert(v).second && !isa<BlockArgument>(v))
        continue;
      // bufferization.alloc_tensor with a copy is a fresh buffer by
      // definition; tensor.empty + linalg.copy was not: CSE merged the empty
      // tensor with the producer's and the copy bufferized onto itself.
      auto type = cast<RankedTensorType>(v.getType());
      operand.set(bufferization::AllocTensorOp::create(
          rb, ret.getLoc(), type, /*dynamicSizes=*/ValueRange{}, v));
    }
  }

  // Nothing may write into caller inputs or weights: bufferization copies
  // instead where an op would update one in place.
  OpBuilder b(ctx);
  for (unsigned i = 0; i < func.getNumArguments(); ++i)
    func.setArgAttr(i, "bufferization.writable", b.getBoolAttr(false));
  func->setAttr("llvm.emit_c_interface", b.getUnitAttr());

  if (llvm::Error err = runStage(getCpuCodegenPipeline(numThreads, int8Kernel)))
    return std::move(err);

  // The calling convention below passes results as out-params; a lowered
  // entry that still returns values would leave the caller's buffers unset.
  auto lowered = copy.lookupSymbol<LLVM::LLVMFuncOp>(result.entrySymbol);
  if (!lowered || !isa<LLVM::LLVMVoidType>(
                      lowered.getFunctionType().getReturnType()))
    return makeError("internal error: the lowered entry function does not "
                     "take its results as out-params");
  return std::move(result);
}
