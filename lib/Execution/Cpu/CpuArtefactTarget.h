//===- CpuArtefactTarget.h - native code for an artefact --------*- C++ -*-===//
//
// Private to lib/Execution/Cpu: the target machine of an ahead-of-time
// artefact and the object file emitted for it.
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_EXECUTION_CPU_CPUARTEFACTTARGET_H
#define LOWBIT_EXECUTION_CPU_CPUARTEFACTTARGET_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"
#include "llvm/Target/TargetMachine.h"

#include <memory>
#include <string>
#include <vector>

namespace lowbit::detail {

struct ArtefactTarget {
  std::unique_ptr<llvm::TargetMachine> machine;
  /// The CPU name ("host" resolved to this machine's, e.g. "icelake-server").
  std::string cpu;
  std::string triple;
  /// Instruction-set features of the target that the artefact checks for at
  /// load (names as both LLVM and __builtin_cpu_supports spell them).
  std::vector<std::string> requiredFeatures;
  /// Whether the target has AVX-512 F, BW and VNNI (the vpdpbusd kernel).
  bool hasAvx512Vnni = false;
};

/// The target machine for `cpu` ("host" or an LLVM CPU name of this
/// machine's architecture); an unknown name is an error that says so.
llvm::Expected<ArtefactTarget> makeArtefactTarget(llvm::StringRef cpu);

/// Translates `module` (LLVM dialect) to LLVM IR, optimises it as the JIT
/// does at `optLevel`, and writes a position-independent object file.
llvm::Error emitObjectFile(mlir::ModuleOp module, ArtefactTarget &target,
                           unsigned optLevel, llvm::StringRef path);

} // namespace lowbit::detail

#endif // LOWBIT_EXECUTION_CPU_CPUARTEFACTTARGET_H
