//===- Compiler.cpp - lowbit::Module, the embeddable API ------------------===//
#include "lowbit/Compiler.h"
#include "lowbit/Dialects.h"

#include "mlir/Bytecode/BytecodeWriter.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OperationSupport.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

using namespace lowbit;

struct Module::State {
  mlir::OwningOpRef<mlir::ModuleOp> module;
};

namespace {

/// Collects the error diagnostics emitted while it is alive, joined into one
/// line, so that they can travel inside an llvm::Error.
class DiagnosticCollector {
public:
  explicit DiagnosticCollector(mlir::MLIRContext *ctx)
      : handler(ctx, [this](mlir::Diagnostic &diag) {
          if (diag.getSeverity() != mlir::DiagnosticSeverity::Error)
            return mlir::success();
          if (!text.empty())
            text += "; ";
          if (auto loc = llvm::dyn_cast<mlir::FileLineColLoc>(diag.getLocation()))
            if (loc.getLine() > 0)
              text += (loc.getFilename().getValue() + ":" + llvm::Twine(loc.getLine()) +
                       ":" + llvm::Twine(loc.getColumn()) + ": ")
                          .str();
          text += diag.str();
          return mlir::success();
        }) {}

  llvm::Error takeError(std::errc code, llvm::StringRef fallback) {
    std::string message = text.empty() ? fallback.str() : text;
    for (char &c : message)
      if (c == '\n')
        c = ' ';
    return llvm::createStringError(std::make_error_code(code), message);
  }

private:
  std::string text;
  mlir::ScopedDiagnosticHandler handler;
};

std::unique_ptr<mlir::MLIRContext> makeContext() {
  mlir::DialectRegistry registry;
  registerAllDialects(registry);
  registerAllPasses();
  // Threads would only compete with the caller's own on small machines and
  // make diagnostics order nondeterministic; passes here are cheap.
  return std::make_unique<mlir::MLIRContext>(
      registry, mlir::MLIRContext::Threading::DISABLED);
}

} // namespace

bool lowbit::isUnsupported(llvm::Error &error) {
  bool unsupported = false;
  // Looking inside an llvm::Error consumes it; hand back an equal one.
  error = llvm::handleErrors(
      std::move(error), [&](const llvm::ErrorInfoBase &info) -> llvm::Error {
        std::error_code code = info.convertToErrorCode();
        unsupported = code == std::make_error_code(std::errc::not_supported);
        return llvm::createStringError(code, info.message());
      });
  return unsupported;
}

Module::Module(std::unique_ptr<mlir::MLIRContext> context,
               std::unique_ptr<State> state)
    : context(std::move(context)), state(std::move(state)) {}
Module::Module(Module &&) noexcept = default;
Module &Module::operator=(Module &&) noexcept = default;
Module::~Module() {
  // The module must go before the context that owns its types and blobs.
  if (state)
    state->module = nullptr;
}

mlir::ModuleOp Module::getOperation() const { return *state->module; }

llvm::Expected<Module> Module::importOnnx(llvm::StringRef path,
                                          const ImportOptions &options) {
  auto ctx = makeContext();
  DiagnosticCollector diagnostics(ctx.get());
  ImportStatus status;
  auto module = importOnnxFile(path, ctx.get(), options, &status);
  if (!module)
    return diagnostics.takeError(status == ImportStatus::Unsupported
                                     ? std::errc::not_supported
                                     : std::errc::invalid_argument,
                                 "import of " + path.str() + " failed");
  auto state = std::make_unique<State>();
  state->module = std::move(module);
  return Module(std::move(ctx), std::move(state));
}

llvm::Expected<Module> Module::importOnnxBytes(llvm::StringRef bytes,
                                               const ImportOptions &options) {
  auto ctx = makeContext();
  DiagnosticCollector diagnostics(ctx.get());
  ImportStatus status;
  auto module = lowbit::importOnnxBytes(bytes, ctx.get(), options, &status);
  if (!module)
    return diagnostics.takeError(status == ImportStatus::Unsupported
                                     ? std::errc::not_supported
                                     : std::errc::invalid_argument,
                                 "import of the ONNX bytes failed");
  auto state = std::make_unique<State>();
  state->module = std::move(module);
  return Module(std::move(ctx), std::move(state));
}

llvm::Expected<Module> Module::parseMlir(llvm::StringRef text,
                                         llvm::StringRef bufferName) {
  auto ctx = makeContext();
  DiagnosticCollector diagnostics(ctx.get());
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(
      llvm::MemoryBuffer::getMemBufferCopy(text, bufferName), llvm::SMLoc());
  auto module = mlir::parseSourceFile<mlir::ModuleOp>(sourceMgr, ctx.get());
  if (!module)
    return diagnostics.takeError(std::errc::invalid_argument,
                                 "cannot parse " + bufferName.str());
  auto state = std::make_unique<State>();
  state->module = std::move(module);
  return Module(std::move(ctx), std::move(state));
}

llvm::Expected<Module> Module::parseMlirFile(llvm::StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFile(path);
  if (!buffer)
    return llvm::createStringError(std::make_error_code(std::errc::io_error),
                                   "cannot read '" + path.str() +
                                       "': " + buffer.getError().message());
  return parseMlir((*buffer)->getBuffer(), path);
}

llvm::Error Module::runPipeline(llvm::StringRef pipeline) {
  DiagnosticCollector diagnostics(context.get());
  mlir::PassManager pm(context.get());
  std::string parseErrors;
  llvm::raw_string_ostream os(parseErrors);
  if (failed(mlir::parsePassPipeline(pipeline, pm, os)))
    return llvm::createStringError(
        std::make_error_code(std::errc::invalid_argument),
        "invalid pass pipeline '" + pipeline.str() + "': " + parseErrors);
  if (failed(pm.run(*state->module)))
    return diagnostics.takeError(std::errc::invalid_argument,
                                 "pass pipeline '" + pipeline.str() +
                                     "' failed");
  return llvm::Error::success();
}

std::string Module::toString(bool elideBlobs) const {
  std::string text;
  llvm::raw_string_ostream os(text);
  mlir::OpPrintingFlags flags;
  if (elideBlobs)
    flags.elideLargeResourceString(64);
  state->module->print(os, flags);
  return text;
}

llvm::Error Module::writeFile(llvm::StringRef path) const {
  // writeToOutput writes a temporary file and renames it into place, so a
  // failure never leaves a half-written file at `path`.
  bool bytecode = path.ends_with(".mlirbc");
  return llvm::writeToOutput(path, [&](llvm::raw_ostream &os) -> llvm::Error {
    if (!bytecode) {
      state->module->print(os);
      return llvm::Error::success();
    }
    if (failed(mlir::writeBytecodeToFile(*state->module, os)))
      return llvm::createStringError(
          std::make_error_code(std::errc::io_error),
          "cannot write the module as bytecode to '" + path.str() + "'");
    return llvm::Error::success();
  });
}

llvm::Expected<Module> Module::clone() const {
  // A module lives in its context with its blobs; a copy with its own
  // context goes through bytecode (blobs are copied as bytes, not printed).
  std::string bytes;
  llvm::raw_string_ostream os(bytes);
  if (failed(mlir::writeBytecodeToFile(*state->module, os)))
    return llvm::createStringError(std::make_error_code(std::errc::io_error),
                                   "cannot copy the module");
  return parseMlir(bytes, "<copy>");
}

std::string Module::quantizedOp() const {
  std::string found;
  state->module->walk([&](mlir::Operation *op) {
    if (op->getName().getDialectNamespace() == "lowbit" &&
        op->getName().getStringRef() != "lowbit.observe") {
      found = op->getName().getStringRef().str();
      return mlir::WalkResult::interrupt();
    }
    return mlir::WalkResult::advance();
  });
  return found;
}

llvm::Expected<std::vector<TensorSpec>> Module::inputs() const {
  std::vector<TensorSpec> in, out;
  if (llvm::Error err = getEntrySignature(*state->module, in, out))
    return std::move(err);
  return in;
}

llvm::Expected<std::vector<TensorSpec>> Module::outputs() const {
  std::vector<TensorSpec> in, out;
  if (llvm::Error err = getEntrySignature(*state->module, in, out))
    return std::move(err);
  return out;
}

llvm::Expected<std::unique_ptr<CpuExecutable>>
Module::compileForCpu(const CpuCompileOptions &options) const {
  return CpuExecutable::compile(*state->module, options);
}
