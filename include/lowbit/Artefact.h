//===- Artefact.h - ahead-of-time compiled artefacts ------------*- C++ -*-===//
//
// Writing: writeCpuArtefact lowers a module like the JIT does, emits native
// code for a named CPU, and links it with the weights and a small C runtime
// into a shared library that exports the C ABI of lowbit_artefact.h:
//
//   NAME.so    code + weights + the C ABI; needs only the C library
//   NAME.h     the C ABI and the model's inputs/outputs
//   NAME.json  the manifest (I/O, target CPU and features, recipe, layers)
//
// Loading: lowbit/Session.h (C++, header-only, dlopen) or lowbit.load in
// Python; neither compiles anything.
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_ARTEFACT_WRITER_H
#define LOWBIT_ARTEFACT_WRITER_H

#include "lowbit/Runtime.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"

#include <string>
#include <utility>
#include <vector>

namespace lowbit {

struct ArtefactOptions {
  /// Optimisation level and int8 kernel as for the JIT (Auto resolves for
  /// the target CPU). Artefacts run on one thread: numThreads must be 1.
  CpuCompileOptions compile;
  /// "host" (this machine's CPU and features) or an LLVM CPU name such as
  /// "x86-64-v3", "skylake-avx512", "icelake-server".
  std::string targetCpu = "host";
  /// The C compiler that assembles and links the library; empty: $CC, else
  /// `cc` on PATH.
  std::string cc;
  /// Extra facts recorded in the manifest ("recipe", "source", ...).
  std::vector<std::pair<std::string, std::string>> metadata;
};

/// The three files of the artefact named `base` ("out/model" or
/// "out/model.so": out/model.so, out/model.h, out/model.json).
struct ArtefactFiles {
  std::string library, header, manifest;
};
ArtefactFiles getArtefactFiles(llvm::StringRef base);

/// Compiles `module` (one public function, static shapes) into the artefact
/// `base`. The files appear complete or not at all (written beside the
/// target and renamed). Errors name the step and carry its diagnostics.
llvm::Expected<ArtefactFiles> writeCpuArtefact(mlir::ModuleOp module,
                                               llvm::StringRef base,
                                               const ArtefactOptions &options);

/// {"ops": {op name: count}, "quantized_layers": [{"op", "name" (the ONNX
/// node), "w_bits", "a_bits", "bits", "group_size" where present}]}: what
/// the manifest and `lowbit inspect` report of a module.
llvm::json::Object describeModule(mlir::ModuleOp module);

/// The lowbit version ("0.1.0", also in pyproject.toml) and the git commit it was built from
/// ("unknown" outside a git checkout).
const char *getLowbitVersion();
const char *getLowbitGitHash();

} // namespace lowbit

#endif // LOWBIT_ARTEFACT_WRITER_H
