//===- lowbit-run.cpp - import, compile and run a model on the CPU --------===//
//
// Exit codes: 0 success; 1 error (bad input, I/O, malformed model);
// 2 outputs differ from the expected --test-data outputs; 3 the model uses an
// ONNX op, attribute or type that lowbit does not support.
//
//===----------------------------------------------------------------------===//
#include "lowbit/Compiler.h"
#include "lowbit/Prepare.h"
#include "lowbit/Recipes.h"

#include "lib/Import/Onnx/OnnxModel.h"
#include "lib/Support/NpyIO.h"
#include "tools/ToolSupport.h"

#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <cmath>
#include <cstring>
#include <optional>

using namespace llvm;
using namespace lowbit;

namespace {

enum ExitCode { kOk = 0, kError = 1, kMismatch = 2, kUnsupported = 3 };

cl::opt<std::string> modelPath(cl::Positional, cl::desc("<model.onnx|.mlir>"));
cl::list<std::string>
    inputShapes("input-shape",
                cl::desc("Static shape for an ONNX graph input, NAME=DIMS "
                         "(for example x=1x3x64x64); repeatable"),
                cl::value_desc("name=dims"));
cl::opt<std::string> maxMemory(
    "max-memory",
    cl::desc("Refuse a model with a tensor larger than this (8G, 512M, "
             "bytes; default: this machine's memory)"),
    cl::value_desc("size"));
cl::opt<std::string> inputsPath(
    "inputs", cl::desc("Input values: .npz with one entry per graph input "
                       "(by name), or .npy for a single-input model"),
    cl::value_desc("file"));
cl::opt<std::string>
    outputsPath("outputs",
                cl::desc("Write the outputs, named after the graph outputs, "
                         "to this .npz file"),
                cl::value_desc("file"));
cl::opt<std::string> testDataDir(
    "test-data",
    cl::desc("ONNX test-data directory: read input_N.pb, run, compare with "
             "output_N.pb"),
    cl::value_desc("dir"));
cl::opt<double> relTol("rtol", cl::desc("Relative tolerance for --test-data"),
                     cl::init(1e-3));
cl::opt<double> absTol("atol", cl::desc("Absolute tolerance for --test-data"),
                     cl::init(1e-5));
cl::opt<unsigned> repeat("repeat",
                         cl::desc("Run this many times and report the "
                                  "fastest (for timing)"),
                         cl::init(1));
cl::opt<bool> report("report",
                     cl::desc("Print the times of import, calibrate, quantize "
                              "(recipe and --pipeline), compile and run"));
cl::opt<std::string> recipe(
    "recipe",
    cl::desc("Quantize with a named recipe before --pipeline (see "
             "--list-recipes)"),
    cl::value_desc("name"));
cl::list<std::string> calibrateFiles(
    "calibrate",
    cl::desc("Calibrate on these .npz files before --recipe / --pipeline: "
             "one entry per graph input, shaped like the input (one sample), "
             "[S, ...input shape] (S samples) or with S times the input's "
             "first dimension (S batches concatenated); comma-separated or "
             "repeated"),
    cl::value_desc("file.npz"), cl::CommaSeparated);
cl::opt<std::string> statsOut(
    "stats-out",
    cl::desc("Write the calibration statistics sidecar (.npz) here"),
    cl::value_desc("file"));
cl::opt<std::string> statsIn(
    "stats-in",
    cl::desc("Calibration statistics sidecar (.npz) written earlier by "
             "--stats-out, for a calibrated --recipe"),
    cl::value_desc("file"));
cl::opt<std::string> calibrateOps(
    "calibrate-ops",
    cl::desc("Layer kinds tapped by --calibrate: linear, conv2d, matmul"),
    cl::init("linear,conv2d"));
cl::opt<bool> listRecipes("list-recipes",
                          cl::desc("Print the quantization recipes and exit"));
cl::opt<bool> importOnly(
    "import-only",
    cl::desc("Import (and run --pipeline), print the report line, and stop"));
cl::opt<bool> listOps("list-ops",
                      cl::desc("Print the supported ONNX op types and exit"));
cl::opt<std::string> pipeline(
    "pipeline",
    cl::desc("Textual pass pipeline (anchored on builtin.module) to run after "
             "import, e.g. 'func.func(quantize-weights{bits=4 group-size=128})'"),
    cl::value_desc("passes"));
cl::opt<unsigned> optLevel("O", cl::desc("JIT optimisation level (0-3)"),
                           cl::init(3));
cl::opt<Int8Kernel> int8Kernel(
    "int8-kernel",
    cl::desc("How quantized layers run (int8 products bit-identical; "
             "weight-only layers within f32 rounding)"),
    cl::init(Int8Kernel::Auto),
    cl::values(clEnumValN(Int8Kernel::Auto, "auto",
                          "avx512-vnni if this CPU has it, else portable"),
               clEnumValN(Int8Kernel::Avx512Vnni, "avx512-vnni",
                          "vpdpbusd kernel on packed weights"),
               clEnumValN(Int8Kernel::Portable, "portable",
                          "the same kernel in plain vector arithmetic"),
               clEnumValN(Int8Kernel::Reference, "reference",
                          "the generic linalg lowering of every "
                          "quantized layer")));

int fail(int code, const Twine &message) {
  return failWithOneLine(code, message);
}


std::string shapeString(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? "x" : "") + std::to_string(shape[i]);
  return s + "]";
}

/// A progress bar on stderr, redrawn per sample.
void printProgress(size_t done, size_t total) {
  const int width = 30;
  int filled = total ? static_cast<int>(width * done / total) : width;
  errs() << "\rcalibrate [" << std::string(filled, '#')
         << std::string(width - filled, '.') << "] " << done << "/" << total;
  if (done == total)
    errs() << "\n";
}

bool onnxTypeMatches(int32_t onnxType, ElementType type) {
  switch (type) {
  case ElementType::F32:
    return onnxType == onnx::kFloat;
  case ElementType::F64:
    return onnxType == onnx::kDouble;
  case ElementType::F16:
    return onnxType == onnx::kFloat16;
  case ElementType::BF16:
    return onnxType == onnx::kBfloat16;
  case ElementType::I64:
    return onnxType == onnx::kInt64;
  case ElementType::I32:
    return onnxType == onnx::kInt32;
  case ElementType::I8:
    return onnxType == onnx::kInt8;
  case ElementType::Bool:
    return onnxType == onnx::kBool;
  case ElementType::UI8:
    return onnxType == onnx::kUint8;
  case ElementType::I16:
    return onnxType == onnx::kInt16;
  case ElementType::UI16:
    return onnxType == onnx::kUint16;
  case ElementType::I4:
    return onnxType == onnx::kInt4;
  case ElementType::UI4:
    return onnxType == onnx::kUint4;
  case ElementType::I2:
    return onnxType == onnx::kInt2;
  case ElementType::UI2:
    return onnxType == onnx::kUint2;
  }
  return false;
}

double elementAsDouble(const char *data, ElementType type, int64_t i) {
  switch (type) {
  case ElementType::F32:
    return reinterpret_cast<const float *>(data)[i];
  case ElementType::F64:
    return reinterpret_cast<const double *>(data)[i];
  case ElementType::I64:
    return static_cast<double>(reinterpret_cast<const int64_t *>(data)[i]);
  case ElementType::I32:
    return reinterpret_cast<const int32_t *>(data)[i];
  case ElementType::I8:
  case ElementType::I4:
  case ElementType::I2:
    return reinterpret_cast<const int8_t *>(data)[i];
  case ElementType::UI8:
  case ElementType::UI4:
  case ElementType::UI2:
    return reinterpret_cast<const uint8_t *>(data)[i];
  case ElementType::I16:
    return reinterpret_cast<const int16_t *>(data)[i];
  case ElementType::UI16:
    return reinterpret_cast<const uint16_t *>(data)[i];
  case ElementType::Bool:
    return data[i] != 0;
  case ElementType::F16:
  case ElementType::BF16: {
    uint16_t bits = reinterpret_cast<const uint16_t *>(data)[i];
    if (type == ElementType::BF16) {
      uint32_t w = static_cast<uint32_t>(bits) << 16;
      float f;
      std::memcpy(&f, &w, 4);
      return f;
    }
    int exp = (bits >> 10) & 0x1f, mant = bits & 0x3ff;
    double sign = (bits & 0x8000) ? -1.0 : 1.0;
    if (exp == 0)
      return sign * std::ldexp(mant, -24);
    if (exp == 31)
      return mant ? NAN : sign * INFINITY;
    return sign * std::ldexp(mant + 1024, exp - 25);
  }
  }
  return 0;
}

/// Compares like numpy.allclose; on mismatch describes the worst element.
bool compareOutput(const TensorSpec &spec, const char *got,
                   const char *expected, std::string &message) {
  int64_t n = spec.numElements(), bad = 0, worst = -1;
  double worstExcess = -1;
  for (int64_t i = 0; i < n; ++i) {
    double a = elementAsDouble(got, spec.type, i);
    double e = elementAsDouble(expected, spec.type, i);
    if (std::isnan(a) && std::isnan(e))
      continue;
    if (a == e)
      continue;
    double excess = std::fabs(a - e) - (absTol + relTol * std::fabs(e));
    if (std::isnan(excess) || excess > 0) {
      ++bad;
      if (std::isnan(excess) || excess > worstExcess) {
        worstExcess = std::isnan(excess) ? INFINITY : excess;
        worst = i;
      }
    }
  }
  if (!bad)
    return true;
  // Multi-index of the worst element, for a readable message.
  std::vector<int64_t> index(spec.shape.size());
  int64_t rest = worst;
  for (size_t d = spec.shape.size(); d-- > 0;) {
    index[d] = rest % spec.shape[d];
    rest /= spec.shape[d];
  }
  std::string idx;
  for (size_t d = 0; d < index.size(); ++d)
    idx += (d ? "," : "") + std::to_string(index[d]);
  double a = elementAsDouble(got, spec.type, worst);
  double e = elementAsDouble(expected, spec.type, worst);
  message = "output '" + spec.name + "': " + std::to_string(bad) + " of " +
            std::to_string(n) + " elements differ (rtol=" +
            llvm::formatv("{0}", relTol.getValue()).str() +
            ", atol=" + llvm::formatv("{0}", absTol.getValue()).str() +
            "); worst at [" + idx + "]: got " +
            llvm::formatv("{0:g}", a).str() + ", expected " +
            llvm::formatv("{0:g}", e).str();
  return false;
}

/// The value range of the sub-byte types, which travel one value per byte.
bool subByteRange(ElementType type, int &lo, int &hi) {
  switch (type) {
  case ElementType::I4:
    return lo = -8, hi = 7, true;
  case ElementType::UI4:
    return lo = 0, hi = 15, true;
  case ElementType::I2:
    return lo = -2, hi = 1, true;
  case ElementType::UI2:
    return lo = 0, hi = 3, true;
  default:
    return false;
  }
}

/// Checks that one-byte containers of a sub-byte `spec` hold values of its
/// range (a .npz/.npy int4 input as int8 holding 9 is an error, not a wrap).
bool checkSubByteRange(const TensorSpec &spec, const std::vector<char> &data,
                       std::string &error) {
  int lo, hi;
  if (!subByteRange(spec.type, lo, hi))
    return true;
  for (size_t i = 0; i < data.size(); ++i) {
    int v = elementAsDouble(data.data(), spec.type, i);
    if (v < lo || v > hi) {
      error = "input '" + spec.name + "' holds " + std::to_string(v) +
              " at flat index " + std::to_string(i) + ", outside the range " +
              std::to_string(lo) + ".." + std::to_string(hi) +
              " of its ONNX type (one value per " + numpyDtype(spec.type) +
              " byte)";
      return false;
    }
  }
  return true;
}

/// A test-data tensor's bytes in the runtime's layout: packed INT4/UINT4/
/// INT2/UINT2 values are unpacked to one byte each.
std::vector<char> runtimeBytes(const onnx::Tensor &t) {
  if (onnx::subByteBits(t.dataType))
    return onnx::unpackSubByte(t);
  return std::vector<char>(t.bytes(), t.bytes() + t.size);
}

/// Reads DIR/<prefix>_N.pb for N = 0, 1, ... as long as they exist.
bool readTensorFiles(const std::string &dir, const std::string &prefix,
                     std::vector<onnx::Tensor> &out, std::string &error) {
  for (size_t i = 0;; ++i) {
    std::string path = dir + "/" + prefix + "_" + std::to_string(i) + ".pb";
    if (!sys::fs::exists(path))
      return true;
    out.emplace_back();
    if (!onnx::readTensorFile(path, out.back(), error))
      return false;
  }
}

} // namespace

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  // libLLVM registers a hidden -threads option of its own; lowbit-run's
  // --threads takes its place (a second registration would abort).
  auto &registered = cl::getRegisteredOptions();
  if (auto it = registered.find("threads"); it != registered.end())
    it->second->removeArgument();
  static cl::opt<int> threads(
      "threads",
      cl::desc("Threads that run the parallel loops of large ops (0: one per "
               "hardware thread); results do not depend on it"),
      cl::init(1));
  // --help lists lowbit-run's options; LLVM's stay behind --help-hidden.
  static cl::OptionCategory toolCategory("lowbit-run options");
  cl::Option *const ownOptions[] = {
      &modelPath,    std::addressof(inputShapes), &inputsPath,
      &outputsPath,  &testDataDir,  &relTol,     &absTol,
      &repeat,       &report,       &recipe,     std::addressof(calibrateFiles),
      &statsOut,     &statsIn,      &calibrateOps, &listRecipes,
      &importOnly,   &listOps,      &pipeline,   &optLevel,
      &int8Kernel,   &threads,    &maxMemory};
  for (cl::Option *option : ownOptions)
    option->addCategory(toolCategory);
  hideForeignOptions({&toolCategory});
  cl::ParseCommandLineOptions(
      argc, argv,
      "lowbit-run: import an ONNX (or lowbit MLIR) model, compile it for the "
      "CPU and run it\n");
  if (listOps) {
    for (const std::string &op : getSupportedOnnxOps())
      outs() << op << "\n";
    return kOk;
  }
  if (listRecipes) {
    for (const Recipe &r : getRecipes())
      outs() << r.name << "\t" << r.description << "\n";
    return kOk;
  }
  // An option given with an empty value is a mistake, not "use the default".
  for (cl::opt<std::string> *option :
       {&maxMemory, &inputsPath, &outputsPath, &testDataDir, &recipe,
        &statsOut, &statsIn, &calibrateOps, &pipeline})
    if (option->getNumOccurrences() && option->getValue().empty())
      return fail(kError, "--" + option->ArgStr + " is empty");
  if (repeat < 1)
    return fail(kError, "--repeat must be at least 1");
  if (optLevel > 3)
    return fail(kError, "-O must be 0..3");
  if (threads < 0 || threads > 1024)
    return fail(kError, "--threads must be 0 (one per hardware thread) or "
                        "1..1024, got " + Twine(threads.getValue()));
  if (!inputsPath.empty() && !testDataDir.empty())
    return fail(kError, "--inputs and --test-data are mutually exclusive");
  if (modelPath.empty())
    return fail(kError, "no model given (usage: lowbit-run MODEL.onnx ...)");

  PrepareOptions prepare;
  for (const std::string &flag : inputShapes) {
    std::string err = parseInputShapeFlag(flag, prepare.import);
    if (!err.empty())
      return fail(kError, err);
  }
  if (maxMemory.getNumOccurrences()) {
    std::string err = parseMaxMemoryFlag(maxMemory, prepare.import);
    if (!err.empty())
      return fail(kError, err);
  }
  prepare.recipe = recipe;
  prepare.calibrateFiles = calibrateFiles;
  prepare.calibrateOps = calibrateOps;
  prepare.statsIn = statsIn;
  prepare.statsOut = statsOut;
  prepare.pipeline = pipeline;
  prepare.progress = printProgress;

  // Import or parse, calibrate and quantize, then compile.
  PrepareTimings timings;
  prepare.timings = &timings;
  Expected<Module> module = prepareModel(modelPath, prepare);
  if (!module) {
    Error err = module.takeError();
    int code = isUnsupported(err) ? kUnsupported : kError;
    return fail(code, toString(std::move(err)));
  }
  size_t opCount = 0;
  module->getOperation()->walk([&](mlir::Operation *) { ++opCount; });

  // Calibrating (and quantizing) without anything to run: done.
  if (!calibrateFiles.empty() && inputsPath.empty() && testDataDir.empty() &&
      !report)
    return kOk;

  // import (alone), then calibrate and quantize where they ran.
  auto printPrepareTimes = [&] {
    outs() << formatv("import: {0} ops, {1:f1} ms\n", opCount,
                      timings.importMs);
    if (!calibrateFiles.empty())
      outs() << formatv("calibrate: {0:f1} ms\n", timings.calibrateMs);
    if (!recipe.empty() || !pipeline.empty())
      outs() << formatv("quantize: {0:f1} ms\n", timings.quantizeMs);
  };
  if (importOnly) {
    printPrepareTimes();
    return kOk;
  }

  auto start = std::chrono::steady_clock::now();
  CpuCompileOptions compileOptions;
  compileOptions.optLevel = optLevel;
  compileOptions.numThreads = static_cast<unsigned>(threads.getValue());
  compileOptions.int8Kernel = int8Kernel;
  auto exe = module->compileForCpu(compileOptions);
  if (!exe)
    return fail(kError, toString(exe.takeError()));
  double compileMs = millisecondsSince(start);
  const auto &inSpecs = (*exe)->inputs();
  const auto &outSpecs = (*exe)->outputs();

  // Inputs.
  std::vector<std::vector<char>> inputData(inSpecs.size());
  std::vector<onnx::Tensor> expectedOutputs;
  std::string error;
  if (!testDataDir.empty()) {
    std::vector<onnx::Tensor> tensors;
    if (!sys::fs::is_directory(testDataDir))
      return fail(kError, "--test-data: '" + testDataDir +
                              "' is not a directory");
    if (!readTensorFiles(testDataDir, "input", tensors, error) ||
        !readTensorFiles(testDataDir, "output", expectedOutputs, error))
      return fail(kError, error);
    if (tensors.size() != inSpecs.size())
      return fail(kError, "--test-data has " + Twine(tensors.size()) +
                              " inputs, the model takes " +
                              Twine(inSpecs.size()));
    for (size_t i = 0; i < tensors.size(); ++i) {
      const TensorSpec &spec = inSpecs[i];
      if (!onnxTypeMatches(tensors[i].dataType, spec.type) ||
          tensors[i].dims != spec.shape)
        return fail(kError, "input '" + spec.name + "' expects " +
                                numpyDtype(spec.type) + " " +
                                shapeString(spec.shape) + ", test data has " +
                                onnx::dataTypeName(tensors[i].dataType) + " " +
                                shapeString(tensors[i].dims));
      inputData[i] = runtimeBytes(tensors[i]);
    }
  } else if (!inSpecs.empty()) {
    if (inputsPath.empty())
      return fail(kError, "the model takes " + Twine(inSpecs.size()) +
                              " input(s) (first: '" + inSpecs[0].name +
                              "'); give them with --inputs FILE.npz");
    if (!readInputFeeds(inputsPath, inSpecs, inputData, error))
      return fail(kError, error);
    for (size_t i = 0; i < inSpecs.size(); ++i)
      if (!checkSubByteRange(inSpecs[i], inputData[i], error))
        return fail(kError, error);
  }

  // Run.
  std::vector<std::vector<char>> outputData(outSpecs.size());
  std::vector<const void *> inPtrs;
  std::vector<void *> outPtrs;
  for (auto &d : inputData)
    inPtrs.push_back(d.data());
  for (size_t i = 0; i < outSpecs.size(); ++i) {
    outputData[i].assign(outSpecs[i].byteSize(), 0);
    outPtrs.push_back(outputData[i].data());
  }
  double bestRunMs = INFINITY;
  for (unsigned r = 0; r < repeat; ++r) {
    start = std::chrono::steady_clock::now();
    if (Error err = (*exe)->run(inPtrs, outPtrs))
      return fail(kError, toString(std::move(err)));
    bestRunMs = std::min(bestRunMs, millisecondsSince(start));
  }

  if (report) {
    printPrepareTimes();
    outs() << formatv("compile: {0:f1} ms\n", compileMs);
    outs() << formatv("run: {0:f3} ms (min of {1})\n", bestRunMs,
                      repeat.getValue());
  }

  if (!outputsPath.empty()) {
    std::vector<NpyArray> arrays;
    for (size_t i = 0; i < outSpecs.size(); ++i) {
      NpyArray a;
      a.name = outSpecs[i].name;
      a.dtype = numpyDtype(outSpecs[i].type);
      a.shape = outSpecs[i].shape;
      a.data = std::move(outputData[i]);
      arrays.push_back(std::move(a));
    }
    if (!writeNpz(outputsPath, arrays, error))
      return fail(kError, error);
    // The comparison below reads the outputs again: take them back.
    for (size_t i = 0; i < outSpecs.size(); ++i)
      outputData[i] = std::move(arrays[i].data);
  }

  if (!testDataDir.empty()) {
    if (expectedOutputs.size() != outSpecs.size())
      return fail(kError, "--test-data has " + Twine(expectedOutputs.size()) +
                              " outputs, the model produces " +
                              Twine(outSpecs.size()));
    for (size_t i = 0; i < outSpecs.size(); ++i) {
      const onnx::Tensor &e = expectedOutputs[i];
      if (!onnxTypeMatches(e.dataType, outSpecs[i].type) ||
          e.dims != outSpecs[i].shape)
        return fail(kMismatch, "output '" + outSpecs[i].name + "' is " +
                                   numpyDtype(outSpecs[i].type) + " " +
                                   shapeString(outSpecs[i].shape) +
                                   ", expected " +
                                   onnx::dataTypeName(e.dataType) + " " +
                                   shapeString(e.dims));
      std::string message;
      std::vector<char> expected = runtimeBytes(e);
      if (!compareOutput(outSpecs[i], outputData[i].data(), expected.data(),
                         message))
        return fail(kMismatch, message);
    }
    if (report)
      outs() << "test-data: " << outSpecs.size() << " output(s) match\n";
  }
  return kOk;
}
