//===- lowbit-opt.cpp - run passes on .mlir or .onnx input ----------------===//
//
// MlirOptMain with every upstream and lowbit dialect and pass. An input file
// ending in .onnx is imported first (with --input-shape for dynamic dims), so
// `lowbit-opt model.onnx --canonicalize` works like on MLIR text.
//
//===----------------------------------------------------------------------===//
#include "lowbit/Dialects.h"
#include "lowbit/Import.h"
#include "tools/ToolSupport.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OperationSupport.h"

#include <limits>
#include "mlir/Support/FileUtilities.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

static llvm::cl::OptionCategory importCategory("ONNX input options");
static llvm::cl::list<std::string>
    inputShapes("input-shape",
                llvm::cl::desc("Static shape for an ONNX graph input, "
                               "NAME=DIMS (for example x=1x3x64x64)"),
                llvm::cl::value_desc("name=dims"),
                llvm::cl::cat(importCategory));

static llvm::cl::opt<std::string>
    maxMemory("max-memory",
              llvm::cl::desc("Refuse a model with a tensor larger than this "
                             "(8G, 512M; default: this machine's memory)"),
              llvm::cl::value_desc("size"), llvm::cl::cat(importCategory));

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  mlir::DialectRegistry registry;
  lowbit::registerAllDialects(registry);
  lowbit::registerAllPasses();
  // The options registered so far are LLVM's own (~260 code generator
  // flags): behind --help-hidden. MLIR's, registered next, stay listed.
  lowbit::hideForeignOptions({&importCategory});
  auto [inputFilename, outputFilename] = mlir::registerAndParseCLIOptions(
      argc, argv, "lowbit optimizer driver (MLIR or ONNX input)", registry);
  mlir::MlirOptMainConfig config = mlir::MlirOptMainConfig::createFromCLOptions();

  std::string errorMessage;
  std::unique_ptr<llvm::MemoryBuffer> buffer;
  if (llvm::StringRef(inputFilename).ends_with(".onnx")) {
    lowbit::ImportOptions options;
    for (const std::string &flag : inputShapes) {
      std::string err = lowbit::parseInputShapeFlag(flag, options);
      if (!err.empty()) {
        llvm::errs() << "error: " << err << "\n";
        return 1;
      }
    }
    if (maxMemory.getNumOccurrences()) {
      std::string err = lowbit::parseMaxMemoryFlag(maxMemory, options);
      if (!err.empty()) {
        llvm::errs() << "error: " << err << "\n";
        return 1;
      }
    }
    mlir::MLIRContext context(registry);
    context.getDiagEngine().registerHandler([](mlir::Diagnostic &diag) {
      llvm::errs() << "error: " << diag.str() << "\n";
    });
    auto module = lowbit::importOnnxFile(inputFilename, &context, options);
    if (!module)
      return 1;
    std::string text;
    llvm::raw_string_ostream os(text);
    // The text is only a hand-over to MlirOptMain: print it whole, whatever
    // elision flags the user gave for the final output.
    mlir::OpPrintingFlags flags;
    flags.elideLargeElementsAttrs(std::numeric_limits<int64_t>::max());
    flags.elideLargeResourceString(std::numeric_limits<int64_t>::max());
    // Locations carry the ONNX node names that passes use as layer names.
    flags.enableDebugInfo(true, /*prettyForm=*/false);
    module->print(os, flags);
    buffer = llvm::MemoryBuffer::getMemBufferCopy(text, inputFilename);
  } else {
    buffer = mlir::openInputFile(inputFilename, &errorMessage);
    if (!buffer) {
      llvm::errs() << "error: " << errorMessage << "\n";
      return 1;
    }
  }
  auto output = mlir::openOutputFile(outputFilename, &errorMessage);
  if (!output) {
    llvm::errs() << "error: " << errorMessage << "\n";
    return 1;
  }
  if (failed(mlir::MlirOptMain(output->os(), std::move(buffer), registry,
                               config)))
    return 1;
  output->keep();
  return 0;
}
