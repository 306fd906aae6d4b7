//===- CpuExecutable.cpp - lower to LLVM and run with ExecutionEngine -----===//
#include "BufferPool.h"
#include "CpuLowering.h"
#include "lowbit/Dialects.h"

#include <cstdlib>

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

#include <cstdlib>
#include <mutex>
#include <thread>

using namespace mlir;
using namespace lowbit;
using namespace lowbit::detail;

namespace {

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

CpuExecutable::~CpuExecutable() {
  // The engine (and its code) goes first, then this executable's hold on
  // the buffer pool.
  engine.reset();
  if (holdsPool)
    lowbit_jit_pool_release();
}

llvm::Expected<std::unique_ptr<CpuExecutable>>
CpuExecutable::compile(ModuleOp module, const CpuCompileOptions &options) {
  static std::once_flag initTargets;
  std::call_once(initTargets, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
  });
  // Errors emitted while lowering reach the caller as text.
  LoweringDiagnostics collected(module.getContext());
  const std::string &diagnostics = collected.text;

  unsigned numThreads = resolveThreads(options.numThreads);
  const llvm::StringMap<void *> *runtimeSymbols = nullptr;
  if (numThreads > 1) {
    auto symbols = asyncRuntimeSymbols();
    if (!symbols)
      return symbols.takeError();
    runtimeSymbols = &*symbols;
  }
  if (options.int8Kernel == Int8Kernel::Avx512Vnni && !hostHasAvx512Vnni())
    return makeError("the AVX-512 VNNI int8 kernel was asked for, but this "
                     "CPU has no AVX-512 VNNI");
  auto lowered = lowerModuleForCpu(module, options, numThreads,
                                   options.int8Kernel, diagnostics);
  if (!lowered)
    return lowered.takeError();

  auto exe = std::unique_ptr<CpuExecutable>(new CpuExecutable());
  exe->entryName = "_mlir_ciface_" + lowered->entrySymbol;
  exe->inputSpecs = std::move(lowered->inputs);
  exe->outputSpecs = std::move(lowered->outputs);
  exe->weights = std::move(lowered->weights);

  ExecutionEngineOptions engineOptions;
  auto transformer = makeOptimizingTransformer(options.optLevel, 0, nullptr);
  engineOptions.transformer = transformer;
  engineOptions.jitCodeGenOptLevel =
      static_cast<llvm::CodeGenOptLevel>(std::min(options.optLevel, 3u));
  // MLIR turns both JIT listeners on by default: the perf one writes a
  // jit-*.dump folder per compile under ~/.debug/jit (thousands of them after
  // a test run) and warns when it cannot create it; the GDB one registers
  // every object with the debugger interface. Neither is wanted outside a
  // profiling or debugging session, which opts in with LOWBIT_JIT_PROFILE=1.
  bool profiling = std::getenv("LOWBIT_JIT_PROFILE") != nullptr;
  engineOptions.enablePerfNotificationListener = profiling;
  engineOptions.enableGDBNotificationListener = profiling;
  auto engine = ExecutionEngine::create(*lowered->module, engineOptions);
  if (!engine)
    return makeError("JIT compilation failed: " +
                     llvm::toString(engine.takeError()) +
                     (diagnostics.empty() ? "" : ": " + diagnostics));
  exe->engine = std::move(*engine);
  // The compiled code allocates from lowbit's buffer pool (and, with
  // threads, calls MLIR's async runtime).
  exe->engine->registerSymbols([&](llvm::orc::MangleAndInterner interner) {
    llvm::orc::SymbolMap map;
    auto add = [&](llvm::StringRef name, void *address) {
      map[interner(name)] = {llvm::orc::ExecutorAddr::fromPtr(address),
                             llvm::JITSymbolFlags::Exported};
    };
    add("_mlir_memref_to_llvm_alloc",
        reinterpret_cast<void *>(&lowbit_jit_pool_alloc));
    add("_mlir_memref_to_llvm_aligned_alloc",
        reinterpret_cast<void *>(&lowbit_jit_pool_aligned_alloc));
    add("_mlir_memref_to_llvm_free",
        reinterpret_cast<void *>(&lowbit_jit_pool_free));
    if (runtimeSymbols)
      for (const auto &entry : *runtimeSymbols)
        add(entry.getKey(), entry.getValue());
    return map;
  });
  lowbit_jit_pool_acquire();
  exe->holdsPool = true;
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
