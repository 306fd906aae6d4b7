//===- OnnxImportFuzzer.cpp - libFuzzer target for the ONNX importer -----===//
//
// Feeds arbitrary bytes to lowbit::importOnnxBytes as a serialized
// ModelProto and verifies whatever module comes out. Rejecting an input with
// an error is the expected outcome for most inputs; a crash, a sanitizer
// report, a hang or a runaway allocation is a bug. Run it with
// scripts/fuzz.sh (docs/hardening.md).
//
//===----------------------------------------------------------------------===//

#include "lowbit/Import.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"

#include "llvm/Support/raw_ostream.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>

namespace {

mlir::MLIRContext &getContext() {
  // One context for the whole run: creating one per input would spend most
  // of the time loading dialects. Threading off keeps a crash's stack in the
  // fuzzing thread and the run deterministic.
  static mlir::MLIRContext context(mlir::MLIRContext::Threading::DISABLED);
  return context;
}

// LOWBIT_FUZZ_VERBOSE=1 prints each input's diagnostics and import status:
// for triaging a reproducer, or for checking that the seeds import.
bool isVerbose() {
  static const bool verbose = std::getenv("LOWBIT_FUZZ_VERBOSE") != nullptr;
  return verbose;
}

const char *statusName(lowbit::ImportStatus status) {
  switch (status) {
  case lowbit::ImportStatus::Ok:
    return "ok";
  case lowbit::ImportStatus::Error:
    return "error";
  case lowbit::ImportStatus::Unsupported:
    return "unsupported";
  }
  return "?";
}

} // namespace

/// Tensors above 64 MiB are refused at import (--max-memory): the model
/// may be valid, but building its tables and constants would take the
/// instrumented target past libFuzzer's -timeout and -rss_limit_mb, and
/// what the fuzzer looks for is a crash at any size, not a large model.
static const lowbit::ImportOptions &options() {
  static lowbit::ImportOptions o = [] {
    lowbit::ImportOptions opts;
    opts.maxMemoryBytes = uint64_t(64) << 20;
    return opts;
  }();
  return o;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mlir::MLIRContext &context = getContext();
  // Diagnostics are the expected answer to bad input; printing them would
  // drown libFuzzer's output and slow every execution down.
  mlir::ScopedDiagnosticHandler quiet(&context, [](mlir::Diagnostic &diag) {
    if (isVerbose())
      llvm::errs() << diag << "\n";
    return mlir::success();
  });
  llvm::StringRef bytes(reinterpret_cast<const char *>(data), size);
  lowbit::ImportStatus status = lowbit::ImportStatus::Ok;
  mlir::OwningOpRef<mlir::ModuleOp> module =
      lowbit::importOnnxBytes(bytes, &context, options(), &status);
  bool verified = module && succeeded(mlir::verify(*module));
  if (isVerbose())
    llvm::errs() << "lowbit-onnx-import-fuzzer: import " << statusName(status)
                 << (module ? (verified ? ", module verifies\n"
                                        : ", module does NOT verify\n")
                            : "\n");
  return 0;
}
