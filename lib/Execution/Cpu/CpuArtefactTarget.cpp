//===- CpuArtefactTarget.cpp - native code for an artefact ----------------===//
#include "CpuArtefactTarget.h"
#include "CpuLowering.h"

#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/SubtargetFeature.h"

#include <mutex>

using namespace lowbit;
using namespace lowbit::detail;

/// Features the generated code may use that the artefact checks at load
/// with __builtin_cpu_supports (GCC and Clang spell them as LLVM does).
/// Features the generated code may use that the artefact checks at load
/// with __builtin_cpu_supports (GCC 12 and Clang 14 spell them as LLVM
/// does; names only one of them knows, like vaes or amx-*, would break the
/// link with the other).
static const char *const kCheckedFeatures[] = {
    "sse3",       "ssse3",       "sse4.1",          "sse4.2",
    "popcnt",     "avx",         "avx2",            "fma",
    "bmi",        "bmi2",        "f16c",            "avx512f",
    "avx512bw",   "avx512dq",    "avx512vl",        "avx512cd",
    "avx512vnni", "avx512vbmi",  "avx512vbmi2",     "avx512bf16",
    "avx512fp16", "avx512ifma",  "avx512bitalg",    "avx512vpopcntdq",
    "avx512vp2intersect",        "gfni",            "vpclmulqdq",
    "avxvnni"};

llvm::Expected<ArtefactTarget>
lowbit::detail::makeArtefactTarget(llvm::StringRef cpu) {
  static std::once_flag initTargets;
  std::call_once(initTargets, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
  });
  ArtefactTarget target;
  target.triple = llvm::sys::getProcessTriple();
  llvm::Triple triple(target.triple);
  std::string error;
  const llvm::Target *llvmTarget =
      llvm::TargetRegistry::lookupTarget(triple, error);
  if (!llvmTarget)
    return makeError("no code generator for " + target.triple + ": " + error);

  llvm::SubtargetFeatures features;
  if (cpu.empty() || cpu == "host") {
    target.cpu = llvm::sys::getHostCPUName().str();
    for (const auto &feature : llvm::sys::getHostCPUFeatures())
      features.AddFeature(feature.getKey(), feature.getValue());
  } else {
    target.cpu = cpu.str();
    std::unique_ptr<llvm::MCSubtargetInfo> probe(
        llvmTarget->createMCSubtargetInfo(triple, "", ""));
    if (!probe || !probe->isCPUStringValid(target.cpu))
      return makeError("--target-cpu: '" + target.cpu +
                       "' is not a CPU that LLVM knows for " + target.triple +
                       " (try host, x86-64-v2, x86-64-v3, x86-64-v4, "
                       "skylake-avx512, icelake-server, znver4)");
  }
  std::string featureString = features.getString();
  llvm::TargetOptions targetOptions;
  target.machine.reset(llvmTarget->createTargetMachine(
      triple, target.cpu, featureString, targetOptions, llvm::Reloc::PIC_,
      std::nullopt, llvm::CodeGenOptLevel::Aggressive));
  if (!target.machine)
    return makeError("cannot create a target machine for CPU '" + target.cpu +
                     "'");
  const llvm::MCSubtargetInfo *info = target.machine->getMCSubtargetInfo();
  if (triple.isX86())
    for (const char *name : kCheckedFeatures)
      if (info->checkFeatures(std::string("+") + name))
        target.requiredFeatures.push_back(name);
  target.hasAvx512Vnni = triple.isX86() &&
                         info->checkFeatures("+avx512f,+avx512bw,+avx512vnni");
  return std::move(target);
}

llvm::Error lowbit::detail::emitObjectFile(mlir::ModuleOp module,
                                           ArtefactTarget &target,
                                           unsigned optLevel,
                                           llvm::StringRef path) {
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule =
      mlir::translateModuleToLLVMIR(module, llvmContext, "lowbit_artefact");
  if (!llvmModule)
    return makeError("translating the lowered module to LLVM IR failed");
  mlir::ExecutionEngine::setupTargetTripleAndDataLayout(llvmModule.get(),
                                                        target.machine.get());
  // The same IR optimisation as the JIT (CpuExecutable), so that both run
  // the same code.
  auto optimize = mlir::makeOptimizingTransformer(optLevel, 0, nullptr);
  if (llvm::Error err = optimize(llvmModule.get()))
    return makeError("optimising the LLVM IR failed: " +
                     llvm::toString(std::move(err)));
  target.machine->setOptLevel(
      static_cast<llvm::CodeGenOptLevel>(std::min(optLevel, 3u)));

  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec, llvm::sys::fs::OF_None);
  if (ec)
    return makeError("cannot write " + path + ": " + ec.message());
  llvm::legacy::PassManager codegen;
  if (target.machine->addPassesToEmitFile(codegen, os, nullptr,
                                          llvm::CodeGenFileType::ObjectFile))
    return makeError("the target machine cannot emit object files");
  codegen.run(*llvmModule);
  os.close();
  if (os.has_error())
    return makeError("writing " + path + " failed: " + os.error().message());
  return llvm::Error::success();
}
