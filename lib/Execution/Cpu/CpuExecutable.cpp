//===- CpuExecutable.cpp - lower to LLVM and run with ExecutionEngine -----===//
#include "lowbit/Runtime.h"
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

size_t lowbit::elementSize(ElementType type) {
  switch (type) {
  case ElementType::F64:
  case ElementType::I64:
    return 8;
  case ElementType::F32:
  case ElementType::I32:
    return 4;
  case ElementType::F16:
  case ElementType::BF16:
  case ElementType::I16:
  case ElementType::UI16:
    return 2;
  case ElementType::I8:
  case ElementType::Bool:
  case ElementType::UI8:
  case ElementType::I4:
  case ElementType::UI4:
  case ElementType::I2:
  case ElementType::UI2:
    return 1;
  }
  return 0;
}

const char *lowbit::numpyDtype(ElementType type) {
  switch (type) {
  case ElementType::F32:
    return "f4";
  case ElementType::F64:
    return "f8";
  case ElementType::F16:
    return "f2";
  case ElementType::BF16:
    return "bf16";
  case ElementType::I64:
    return "i8";
  case ElementType::I32:
    return "i4";
  case ElementType::I8:
  case ElementType::I4:
  case ElementType::I2:
    return "i1";
  case ElementType::Bool:
    return "b1";
  case ElementType::UI8:
  case ElementType::UI4:
  case ElementType::UI2:
    return "u1";
  case ElementType::I16:
    return "i2";
  case ElementType::UI16:
    return "u2";
  }
  return "?";
}

int64_t TensorSpec::numElements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

/// `numThreads`, with 0 resolved to one per hardware thread.
static unsigned resolveThreads(unsigned numThreads) {
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

std::string lowbit::getCpuLoweringPipeline(unsigned numThreads,
                                           Int8Kernel int8Kernel) {
  numThreads = resolveThreads(numThreads);
  // lowbit.qlinear with constant weights: the int8 dot-product kernel
  // (bit-identical to the generic lowering that follows for the rest); on
  // AVX-512 VNNI its dot products become vpdpbusd after bufferization.
  std::string qlinear, vnni;
  Int8Kernel kernel = resolveInt8Kernel(int8Kernel);
  if (kernel != Int8Kernel::Reference)
    qlinear = "convert-qlinear-to-dot-kernel{num-threads=" +
              std::to_string(numThreads) + "}, ";
  if (kernel == Int8Kernel::Avx512Vnni)
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
  return "func.func(" + qlinear +
         "convert-nn-to-linalg, convert-lowbit-to-linalg, "
         "tosa-to-linalg-named, "
         "tosa-to-linalg, tosa-to-arith, tosa-to-tensor),"
         "canonicalize, cse,"
         "func.func(lowbit-cpu-fuse-elementwise, " +
         tileVectorize +
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
         "convert-math-to-funcs, convert-math-to-llvm, convert-math-to-libm,"
         // bf16 arithmetic in f32 and bf16 <-> f32 as integer ops: LLVM's
         // own lowering calls __truncsfbf2, which the JIT does not have.
         "func.func(arith-emulate-unsupported-floats{source-types=bf16 "
         "target-type=f32}), arith-expand{include-bf16=true},"
         "convert-vector-to-llvm{vector-contract-lowering=outerproduct "
         "vector-transpose-lowering=shuffle1d},"
         "finalize-memref-to-llvm, convert-arith-to-llvm,"
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
      llvm::cl::desc("how lowbit.qlinear's int8 products run"),
      llvm::cl::init(Int8Kernel::Auto),
      llvm::cl::values(
          clEnumValN(Int8Kernel::Auto, "auto",
                     "avx512-vnni if the host has it, else portable"),
          clEnumValN(Int8Kernel::Avx512Vnni, "avx512-vnni", "vpdpbusd kernel"),
          clEnumValN(Int8Kernel::Portable, "portable",
                     "the same kernel in plain vector arithmetic"),
          clEnumValN(Int8Kernel::Reference, "reference",
                     "the generic linalg lowering"))};
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

namespace {

FailureOr<ElementType> toElementType(Type type) {
  if (type.isF32())
    return ElementType::F32;
  if (type.isF64())
    return ElementType::F64;
  if (type.isF16())
    return ElementType::F16;
  if (type.isBF16())
    return ElementType::BF16;
  if (type.isInteger(64))
    return ElementType::I64;
  if (type.isInteger(32))
    return ElementType::I32;
  if (type.isInteger(16))
    return ElementType::I16;
  if (type.isInteger(8))
    return ElementType::I8;
  if (type.isInteger(1))
    return ElementType::Bool;
  return failure();
}

/// The exchanged type of an i8/i16 container that holds ONNX data type
/// `onnxType` (TensorProto.DataType: UINT8, INT16, UINT16, INT4, ...).
FailureOr<ElementType> refineByOnnxType(ElementType container,
                                        int64_t onnxType) {
  ElementType byte[] = {ElementType::UI8, ElementType::I8, ElementType::UI4,
                        ElementType::I4,  ElementType::UI2, ElementType::I2};
  int64_t byteOnnx[] = {2, 3, 21, 22, 25, 26};
  for (size_t i = 0; i < std::size(byte); ++i)
    if (onnxType == byteOnnx[i] && container == ElementType::I8)
      return byte[i];
  if (container == ElementType::I16 && (onnxType == 4 || onnxType == 5))
    return onnxType == 4 ? ElementType::UI16 : ElementType::I16;
  return failure();
}

llvm::Error makeError(const Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

FailureOr<TensorSpec> specFor(Type type, StringRef name, std::string &error,
                              IntegerAttr onnxType = {}) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  if (!tensor || !tensor.hasStaticShape()) {
    error = "'" + name.str() + "' must be a statically shaped tensor";
    return failure();
  }
  auto elem = toElementType(tensor.getElementType());
  if (failed(elem)) {
    llvm::raw_string_ostream os(error);
    os << "'" << name << "' has element type " << tensor.getElementType()
       << ", which the CPU runner cannot exchange";
    return failure();
  }
  TensorSpec spec;
  spec.name = name.str();
  spec.type = *elem;
  // The importer marks integer I/O that the signless MLIR type does not tell
  // apart (uint8 in i8, int4 in i8, ...) with its ONNX data type.
  if (onnxType) {
    auto refined = refineByOnnxType(*elem, onnxType.getInt());
    if (failed(refined)) {
      llvm::raw_string_ostream os(error);
      os << "'" << name << "' is marked onnx.elem_type = " << onnxType.getInt()
         << ", which does not fit its element type " << tensor.getElementType();
      return failure();
    }
    spec.type = *refined;
  }
  spec.shape.assign(tensor.getShape().begin(), tensor.getShape().end());
  return spec;
}

/// Strided memref descriptor as the C interface expects it:
/// {allocated, aligned, offset, sizes[rank], strides[rank]}.
std::vector<int64_t> makeDescriptor(const void *data,
                                    const std::vector<int64_t> &shape) {
  std::vector<int64_t> d(3 + 2 * shape.size());
  d[0] = reinterpret_cast<int64_t>(data);
  d[1] = reinterpret_cast<int64_t>(data);
  d[2] = 0;
  int64_t stride = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    d[3 + i] = shape[i];
    d[3 + shape.size() + i] = stride;
    stride *= shape[i];
  }
  return d;
}

} // namespace

/// The module's single public function with a body: the entry point.
static llvm::Expected<func::FuncOp> findEntryFunction(ModuleOp module) {
  SmallVector<func::FuncOp> funcs;
  for (auto f : module.getOps<func::FuncOp>())
    if (!f.isExternal() && f.isPublic())
      funcs.push_back(f);
  if (funcs.size() != 1)
    return makeError("the module must hold exactly one public function, it "
                     "holds " +
                     Twine(funcs.size()));
  return funcs.front();
}

llvm::Error lowbit::getEntrySignature(ModuleOp module,
                                      std::vector<TensorSpec> &inputs,
                                      std::vector<TensorSpec> &outputs) {
  auto entry = findEntryFunction(module);
  if (!entry)
    return entry.takeError();
  func::FuncOp func = *entry;
  inputs.clear();
  outputs.clear();
  std::string error;
  FunctionType ftype = func.getFunctionType();
  for (unsigned i = 0; i < ftype.getNumInputs(); ++i) {
    auto nameAttr = func.getArgAttrOfType<StringAttr>(i, "onnx.name");
    std::string name = nameAttr ? nameAttr.str() : "arg" + std::to_string(i);
    auto spec = specFor(ftype.getInput(i), name, error,
                        func.getArgAttrOfType<IntegerAttr>(i, "onnx.elem_type"));
    if (failed(spec))
      return makeError("input " + error);
    inputs.push_back(*spec);
  }
  for (unsigned i = 0; i < ftype.getNumResults(); ++i) {
    auto nameAttr = func.getResultAttrOfType<StringAttr>(i, "onnx.name");
    std::string name =
        nameAttr ? nameAttr.str() : "result" + std::to_string(i);
    auto spec =
        specFor(ftype.getResult(i), name, error,
                func.getResultAttrOfType<IntegerAttr>(i, "onnx.elem_type"));
    if (failed(spec))
      return makeError("output " + error);
    outputs.push_back(*spec);
  }
  return llvm::Error::success();
}

/// The symbols of MLIR's async runtime (libmlir_async_runtime.so, found next
/// to the MLIR libraries at configure time), loaded once per process. The
/// library is not given to ExecutionEngine as a shared library: each engine
/// would call the library's destroy hook when it is destroyed, which deletes
/// the process-wide runtime that other live executables still use.
static llvm::Expected<const llvm::StringMap<void *> &> asyncRuntimeSymbols() {
  static std::once_flag once;
  static llvm::StringMap<void *> symbols;
  static std::string error;
  std::call_once(once, [] {
    std::string path = LOWBIT_MLIR_ASYNC_RUNTIME;
    if (path.empty()) {
      error = "multi-threaded execution needs MLIR's async runtime "
              "(libmlir_async_runtime.so), which was not found next to the "
              "MLIR libraries when lowbit was configured";
      return;
    }
    std::string message;
    auto lib =
        llvm::sys::DynamicLibrary::getPermanentLibrary(path.c_str(), &message);
    if (!lib.isValid()) {
      error = "multi-threaded execution needs MLIR's async runtime: cannot "
              "load " +
              path + ": " + message;
      return;
    }
    auto init = reinterpret_cast<ExecutionEngine::LibraryInitFn>(
        lib.getAddressOfSymbol(ExecutionEngine::kLibraryInitFnName));
    if (!init) {
      error = path + " has no " + ExecutionEngine::kLibraryInitFnName;
      return;
    }
    init(symbols);
  });
  if (!error.empty())
    return makeError(error);
  return symbols;
}

/// The compiled code mallocs and frees its intermediate buffers on every
/// run. With glibc's defaults, blocks of a few MB are mmap'ed and unmapped
/// again (or the heap top is trimmed), so every run page-faults on fresh
/// zeroed pages: about 2.7 us per 4 KiB page on the 2-core benchmark VM,
/// 1000+ faults per run for a Winograd conv of 64 channels at 56x56 (12 ms
/// of a 1.7 ms computation). Keep freed memory in the process instead:
/// blocks up to 32 MiB (glibc's maximum) come from the heap, and the heap is
/// not trimmed below 1 GiB of free space.
static void keepFreedHeapMemory() {
#if defined(__GLIBC__)
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
}

CpuExecutable::~CpuExecutable() = default;

llvm::Expected<std::unique_ptr<CpuExecutable>>
CpuExecutable::compile(ModuleOp module, const CpuCompileOptions &options) {
  static std::once_flag initTargets;
  std::call_once(initTargets, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    keepFreedHeapMemory();
  });
  MLIRContext *ctx = module.getContext();
  registerAllPasses();
  DialectRegistry registry;
  registerAllDialects(registry);
  ctx->appendDialectRegistry(registry);

  // Collect diagnostics so that errors reach the caller as text.
  std::string diagnostics;
  ScopedDiagnosticHandler handler(ctx, [&](Diagnostic &diag) {
    if (diag.getSeverity() == DiagnosticSeverity::Error) {
      if (!diagnostics.empty())
        diagnostics += "; ";
      diagnostics += diag.str();
    }
    return success();
  });

  OwningOpRef<ModuleOp> copy(module.clone());
  auto entryOrError = findEntryFunction(*copy);
  if (!entryOrError)
    return entryOrError.takeError();
  func::FuncOp func = *entryOrError;

  auto exe = std::unique_ptr<CpuExecutable>(new CpuExecutable());
  std::string entrySymbol = func.getName().str();
  exe->entryName = "_mlir_ciface_" + entrySymbol;
  if (llvm::Error err =
          getEntrySignature(*copy, exe->inputSpecs, exe->outputSpecs))
    return std::move(err);
  std::string error;

  // Large resource constants become trailing arguments that point into their
  // blobs: the weights are neither copied nor compiled into object code.
  SmallVector<arith::ConstantOp> externalize;
  func.walk([&](arith::ConstantOp op) {
    auto attr = dyn_cast<DenseResourceElementsAttr>(op.getValue());
    if (!attr)
      return;
    AsmResourceBlob *blob = attr.getRawHandle().getBlob();
    if (blob && blob->getData().size() >= options.externalizeThresholdBytes &&
        succeeded(toElementType(attr.getType().getElementType())))
      externalize.push_back(op);
  });
  Block &entry = func.getBody().front();
  for (arith::ConstantOp op : externalize) {
    auto attr = cast<DenseResourceElementsAttr>(op.getValue());
    auto type = cast<RankedTensorType>(attr.getType());
    unsigned index = func.getNumArguments();
    if (failed(func.insertArgument(index, type, {}, op.getLoc())))
      return makeError("cannot add a weight argument");
    op.getResult().replaceAllUsesWith(entry.getArgument(index));
    auto spec = specFor(type, attr.getRawHandle().getKey(), error);
    exe->weights.emplace_back(attr.getRawHandle().getBlob()->getData().data(),
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

  unsigned numThreads = resolveThreads(options.numThreads);
  const llvm::StringMap<void *> *runtimeSymbols = nullptr;
  if (numThreads > 1) {
    auto symbols = asyncRuntimeSymbols();
    if (!symbols)
      return symbols.takeError();
    runtimeSymbols = &*symbols;
  }

  PassManager pm(ctx);
  if (options.int8Kernel == Int8Kernel::Avx512Vnni && !hostHasAvx512Vnni())
    return makeError("the AVX-512 VNNI int8 kernel was asked for, but this "
                     "CPU has no AVX-512 VNNI");
  if (failed(parsePassPipeline(
          getCpuLoweringPipeline(numThreads, options.int8Kernel), pm)))
    return makeError("invalid CPU lowering pipeline");
  if (failed(pm.run(*copy)))
    return makeError("lowering to LLVM failed: " +
                     (diagnostics.empty() ? std::string("unknown reason")
                                          : diagnostics));

  // The calling convention below passes results as out-params; a lowered
  // entry that still returns values would leave the caller's buffers unset.
  auto lowered = copy->lookupSymbol<LLVM::LLVMFuncOp>(entrySymbol);
  if (!lowered || !isa<LLVM::LLVMVoidType>(
                      lowered.getFunctionType().getReturnType()))
    return makeError("internal error: the lowered entry function does not "
                     "take its results as out-params");

  ExecutionEngineOptions engineOptions;
  auto transformer = makeOptimizingTransformer(options.optLevel, 0, nullptr);
  engineOptions.transformer = transformer;
  engineOptions.jitCodeGenOptLevel =
      static_cast<llvm::CodeGenOptLevel>(std::min(options.optLevel, 3u));
  auto engine = ExecutionEngine::create(*copy, engineOptions);
  if (!engine)
    return makeError("JIT compilation failed: " +
                     llvm::toString(engine.takeError()) +
                     (diagnostics.empty() ? "" : ": " + diagnostics));
  exe->engine = std::move(*engine);
  if (runtimeSymbols)
    exe->engine->registerSymbols([&](llvm::orc::MangleAndInterner interner) {
      llvm::orc::SymbolMap map;
      for (const auto &entry : *runtimeSymbols)
        map[interner(entry.getKey())] = {
            llvm::orc::ExecutorAddr::fromPtr(entry.getValue()),
            llvm::JITSymbolFlags::Exported};
      return map;
    });
  // The JIT generates machine code lazily, at the first lookup; do it here so
  // that compile() does all the compiling and run() only runs.
  auto entryFn = exe->engine->lookupPacked(exe->entryName);
  if (!entryFn)
    return makeError("JIT compilation failed: " +
                     llvm::toString(entryFn.takeError()));
  return std::move(exe);
}

llvm::Error CpuExecutable::run(ArrayRef<const void *> inputs,
                               ArrayRef<void *> outputs) {
  if (inputs.size() != inputSpecs.size())
    return makeError("expected " + Twine(inputSpecs.size()) +
                     " inputs, got " + Twine(inputs.size()));
  if (outputs.size() != outputSpecs.size())
    return makeError("expected " + Twine(outputSpecs.size()) +
                     " outputs, got " + Twine(outputs.size()));
  // Argument order after lowering: inputs, weights, then one out-param per
  // result.
  std::vector<std::vector<int64_t>> descriptors;
  descriptors.reserve(inputs.size() + weights.size() + outputs.size());
  for (size_t i = 0; i < inputs.size(); ++i)
    descriptors.push_back(makeDescriptor(inputs[i], inputSpecs[i].shape));
  for (const auto &[data, spec] : weights)
    descriptors.push_back(makeDescriptor(data, spec.shape));
  for (size_t i = 0; i < outputs.size(); ++i)
    descriptors.push_back(makeDescriptor(outputs[i], outputSpecs[i].shape));
  std::vector<void *> pointers(descriptors.size());
  std::vector<void *> args(descriptors.size());
  for (size_t i = 0; i < descriptors.size(); ++i) {
    pointers[i] = descriptors[i].data();
    args[i] = &pointers[i];
  }
  if (llvm::Error err = engine->invokePacked(entryName, args))
    return makeError("invoking the compiled function failed: " +
                     llvm::toString(std::move(err)));
  return llvm::Error::success();
}
