//===- lowbit.cpp - the lowbit driver --------------------------------------===//
//
//   lowbit compile MODEL.onnx [--recipe R] [--calibrate D.npz] -o OUT
//   lowbit run OUT.so --inputs X.npz [--outputs Y.npz]
//   lowbit quantize MODEL.onnx --recipe R [--calibrate D.npz] -o OUT.mlir
//   lowbit report MODEL.onnx --recipe R --inputs EVAL.npz [--calibrate D.npz]
//   lowbit inspect MODEL.onnx | OUT.so | OUT.json
//   lowbit recipes
//   lowbit --version
//
// Exit codes: 0 success; 1 error (bad flag, input or file); 3 the model uses
// an ONNX op, attribute or type that lowbit does not support.
//
//===----------------------------------------------------------------------===//
#include "lowbit/Artefact.h"
#include "lowbit/Prepare.h"
#include "lowbit/Recipes.h"
#include "lowbit/Report.h"
#include "lowbit/Session.h"

#include "lib/Support/NpyIO.h"
#include "tools/ToolSupport.h"

#include "llvm/Config/llvm-config.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Process.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <cmath>

using namespace llvm;
using namespace lowbit;

namespace {

enum ExitCode { kOk = 0, kError = 1, kUnsupported = 3 };

cl::OptionCategory modelCat("Model and quantization options");
cl::OptionCategory codegenCat("Code generation options");
cl::OptionCategory runCat("Run options");

cl::SubCommand compileCmd("compile",
                          "Compile a model into a shared library (.so + .h + "
                          ".json) that runs without lowbit");
cl::SubCommand quantizeCmd("quantize",
                           "Quantize a model and write it as MLIR");
cl::SubCommand runCmd("run", "Run a compiled artefact on .npz inputs");
cl::SubCommand inspectCmd("inspect", "Show the inputs, outputs, ops and "
                                     "per-layer bits of a model or artefact");
cl::SubCommand recipesCmd("recipes", "List the quantization recipes");
cl::SubCommand reportCmd("report",
                         "Compare a recipe with the float model on your "
                         "inputs: output errors, per-layer input errors and "
                         "storage");

// compile / quantize
cl::opt<std::string> modelPath(cl::Positional, cl::desc("<model.onnx|.mlir>"),
                               cl::sub(compileCmd), cl::sub(quantizeCmd),
                               cl::sub(reportCmd), cl::cat(modelCat));
cl::opt<std::string> outPath("o", cl::desc("Output (compile: artefact name, "
                                           "writes NAME.so/.h/.json)"),
                             cl::value_desc("path"), cl::sub(compileCmd),
                             cl::sub(quantizeCmd), cl::cat(modelCat));
cl::opt<std::string> recipe("recipe",
                            cl::desc("Quantization recipe (see `lowbit "
                                     "recipes`); compile without it: float"),
                            cl::sub(compileCmd), cl::sub(quantizeCmd),
                            cl::sub(reportCmd), cl::cat(modelCat));
cl::list<std::string> calibrateFiles(
    "calibrate", cl::desc("Calibration samples (.npz, one array per input)"),
    cl::value_desc("file.npz"), cl::sub(compileCmd), cl::sub(quantizeCmd),
    cl::sub(reportCmd), cl::cat(modelCat));
cl::list<std::string> inputShapes(
    "input-shape", cl::desc("Fix an input's dynamic dims, e.g. x=1x3x64x64"),
    cl::value_desc("name=dims"), cl::sub(compileCmd),
    cl::sub(quantizeCmd), cl::sub(inspectCmd), cl::sub(reportCmd),
    cl::cat(modelCat));
cl::opt<std::string> maxMemory(
    "max-memory",
    cl::desc("Refuse a model with a tensor larger than this (8G, 512M; "
             "default: this machine's memory)"),
    cl::value_desc("size"), cl::sub(compileCmd), cl::sub(quantizeCmd),
    cl::sub(inspectCmd), cl::sub(reportCmd), cl::cat(modelCat));
cl::opt<unsigned> optLevel("O", cl::desc("Optimisation level (0-3)"),
                           cl::init(3), cl::Prefix, cl::sub(compileCmd),
                           cl::cat(codegenCat));
cl::opt<std::string> targetCpu(
    "target-cpu",
    cl::desc("CPU to compile for: host, or an LLVM CPU name (x86-64-v3, "
             "skylake-avx512, ...)"),
    cl::init("host"), cl::sub(compileCmd), cl::cat(codegenCat));
cl::opt<Int8Kernel> int8Kernel(
    "int8-kernel", cl::desc("How quantized layers run"),
    cl::init(Int8Kernel::Auto),
    cl::values(clEnumValN(Int8Kernel::Auto, "auto",
                          "avx512-vnni if the target has it, else portable"),
               clEnumValN(Int8Kernel::Avx512Vnni, "avx512-vnni", "vpdpbusd"),
               clEnumValN(Int8Kernel::Portable, "portable",
                          "plain vector arithmetic"),
               clEnumValN(Int8Kernel::Reference, "reference",
                          "the generic lowering")),
    cl::sub(compileCmd), cl::cat(codegenCat));
cl::opt<std::string> ccPath("cc",
                            cl::desc("C compiler that links the artefact "
                                     "(default: $CC, else cc)"),
                            cl::sub(compileCmd), cl::cat(codegenCat));

// run / inspect
cl::opt<std::string> artefactPath(cl::Positional, cl::desc("<artefact.so>"),
                                  cl::sub(runCmd), cl::cat(runCat));
cl::opt<std::string> inspectPath(cl::Positional,
                                 cl::desc("<model.onnx|.mlir|artefact.so|"
                                          "artefact.json>"),
                                 cl::sub(inspectCmd), cl::cat(runCat));
cl::opt<std::string> inputsPath("inputs",
                                cl::desc("Inputs (.npz by input name, or .npy "
                                         "for one input)"),
                                cl::value_desc("file"), cl::sub(runCmd),
                                cl::sub(reportCmd), cl::cat(runCat));
cl::opt<std::string> outputsPath("outputs",
                                 cl::desc("Write the outputs to this .npz"),
                                 cl::value_desc("file.npz"), cl::sub(runCmd),
                                 cl::cat(runCat));
cl::opt<std::string> jsonPath("json",
                              cl::desc("Also write the report as JSON here"),
                              cl::value_desc("file.json"), cl::sub(reportCmd),
                              cl::cat(runCat));
cl::opt<unsigned> repeat("repeat", cl::desc("Run N times, report the best"),
                         cl::init(1), cl::sub(runCmd), cl::cat(runCat));
cl::opt<bool> report("report", cl::desc("Print the time of each step"),
                     cl::sub(compileCmd), cl::sub(runCmd), cl::cat(runCat));
cl::opt<cl::boolOrDefault>
    progress("progress",
             cl::desc("Print each step and calibration progress on stderr "
                      "(default: when stderr is a terminal)"),
             cl::sub(compileCmd), cl::sub(quantizeCmd), cl::sub(reportCmd),
             cl::cat(modelCat));

int fail(int code, const Twine &message) {
  return failWithOneLine(code, message);
}

int failWith(Error err) {
  int code = isUnsupported(err) ? kUnsupported : kError;
  return fail(code, toString(std::move(err)));
}


std::string shapeString(const int64_t *shape, int64_t rank) {
  std::string s = "[";
  for (int64_t i = 0; i < rank; ++i)
    s += (i ? "x" : "") + std::to_string(shape[i]);
  return s + "]";
}

bool showProgress() {
  if (progress == cl::BOU_UNSET)
    return sys::Process::StandardErrIsDisplayed();
  return progress == cl::BOU_TRUE;
}

/// A progress bar line ("task [###...] done/total unit"): redrawn on a
/// terminal, one line per tenth otherwise.
void printBar(StringRef task, size_t done, size_t total, StringRef unit) {
  bool tty = sys::Process::StandardErrIsDisplayed();
  if (!tty && done != total && done % std::max<size_t>(1, total / 10) != 0)
    return;
  const int width = 30;
  int filled = total ? static_cast<int>(width * done / total) : width;
  errs() << (tty ? "\r" : "") << task << " [" << std::string(filled, '#')
         << std::string(width - filled, '.') << "] " << done << "/" << total
         << unit;
  if (!tty || done == total)
    errs() << "\n";
}

/// Per calibration sample.
void printProgress(size_t done, size_t total) {
  printBar("calibrate", done, total, "");
}

/// Per layer of a long pass (quantize-weights).
void printPassProgress(const std::string &task, size_t done, size_t total) {
  printBar(task, done, total, " layers");
}

void printStep(StringRef step, StringRef detail) {
  errs() << "lowbit: " << step << " " << detail << "\n";
}

Expected<PrepareOptions> prepareOptions() {
  PrepareOptions options;
  for (const std::string &flag : inputShapes) {
    std::string err = parseInputShapeFlag(flag, options.import);
    if (!err.empty())
      return createStringError(inconvertibleErrorCode(), err);
  }
  if (maxMemory.getNumOccurrences()) {
    std::string err = parseMaxMemoryFlag(maxMemory, options.import);
    if (!err.empty())
      return createStringError(inconvertibleErrorCode(), err);
  }
  options.recipe = recipe;
  options.calibrateFiles = calibrateFiles;
  if (showProgress()) {
    options.progress = printProgress;
    options.passProgress = printPassProgress;
    options.onStep = printStep;
  }
  return options;
}

Expected<Module> prepare(PrepareTimings *timings = nullptr) {
  Expected<PrepareOptions> options = prepareOptions();
  if (!options)
    return options.takeError();
  options->timings = timings;
  return prepareModel(modelPath, *options);
}

int compileMain() {
  if (outPath.empty())
    return fail(kError, "compile: no output given (-o NAME)");
  if (optLevel > 3)
    return fail(kError, "-O must be 0..3");
  PrepareTimings timings;
  Expected<Module> module = prepare(&timings);
  if (!module)
    return failWith(module.takeError());
  ArtefactOptions options;
  options.compile.optLevel = optLevel;
  options.compile.int8Kernel = int8Kernel;
  options.targetCpu = targetCpu;
  options.cc = ccPath;
  options.metadata = {{"source", modelPath}, {"recipe", recipe}};
  if (showProgress())
    printStep("compile", "for CPU '" + targetCpu + "' into " + outPath);
  auto start = std::chrono::steady_clock::now();
  auto files = writeCpuArtefact(module->getOperation(), outPath, options);
  if (!files)
    return failWith(files.takeError());
  if (report) {
    outs() << formatv("import: {0:f1} ms\n", timings.importMs);
    if (!calibrateFiles.empty())
      outs() << formatv("calibrate: {0:f1} ms\n", timings.calibrateMs);
    if (!recipe.empty())
      outs() << formatv("quantize: {0:f1} ms\n", timings.quantizeMs);
    outs() << formatv("compile: {0:f1} ms\n", millisecondsSince(start));
  }
  outs() << "wrote " << files->library << ", " << files->header << ", "
         << files->manifest << "\n";
  return kOk;
}

int quantizeMain() {
  if (outPath.empty())
    return fail(kError, "quantize: no output given (-o OUT.mlir)");
  if (recipe.empty())
    return fail(kError, "quantize: no --recipe given (see `lowbit recipes`)");
  Expected<Module> module = prepare();
  if (!module)
    return failWith(module.takeError());
  if (Error err = module->writeFile(outPath))
    return failWith(std::move(err));
  outs() << "wrote " << outPath << "\n";
  return kOk;
}

std::string shapeText(const std::vector<int64_t> &shape) {
  return shapeString(shape.data(), static_cast<int64_t>(shape.size()));
}

int reportMain() {
  if (modelPath.empty())
    return fail(kError, "report: no model given (lowbit report MODEL.onnx "
                        "--recipe R --inputs EVAL.npz)");
  Expected<PrepareOptions> options = prepareOptions();
  if (!options)
    return failWith(options.takeError());
  auto result = accuracyReport(modelPath, *options, inputsPath);
  if (!result)
    return failWith(result.takeError());
  const AccuracyReport &r = *result;
  outs() << "model: " << r.model << "\nrecipe: " << r.recipe
         << "\ninputs: " << r.inputs << "\n";
  outs() << formatv("quantized layers: {2}, their weights {0:f2} MB as f32, "
                    "{1:f2} MB stored\n\n",
                    r.totalF32Bytes / 1e6, r.totalStoredBytes / 1e6,
                    r.layers.size());
  outs() << formatv("{0,-24} {1,-16} {2,12} {3,12} {4,10} {5,7}\n", "output",
                    "shape", "max |q - f|", "rel. error", "cosine", "top-1");
  for (const OutputAccuracy &o : r.outputs)
    outs() << formatv("{0,-24} {1,-16} {2,12:e2} {3,12:e2} {4,10:f6} {5,7}\n",
                      o.name, shapeText(o.shape), o.maxAbsError,
                      o.relativeError, o.cosine,
                      o.top1Agreement ? formatv("{0:f3}", *o.top1Agreement).str()
                                      : std::string("-"));
  outs() << formatv("\n{0,-40} {1,-34} {2,12} {3,12}\n", "layer", "storage",
                    "stored B", "input error");
  for (const LayerAccuracy &l : r.layers)
    outs() << formatv("{0,-40} {1,-34} {2,12} {3,12}\n", l.layer, l.storage,
                      l.storedBytes,
                      l.inputRelativeError
                          ? formatv("{0:e2}", *l.inputRelativeError).str()
                          : std::string("-"));
  // Through a temporary file renamed into place: never half a report.
  if (!jsonPath.empty())
    if (Error err = writeToOutput(jsonPath, [&](raw_ostream &os) {
          os << formatv("{0:2}", toJson(r)) << "\n";
          return Error::success();
        }))
      return fail(kError, "--json: " + toString(std::move(err)));
  return kOk;
}

int runMain() {
  if (artefactPath.empty())
    return fail(kError, "run: no artefact given (lowbit run NAME.so ...)");
  if (repeat < 1)
    return fail(kError, "--repeat must be at least 1");
  auto start = std::chrono::steady_clock::now();
  std::string error;
  auto session = Session::load(artefactPath, error);
  if (!session)
    return fail(kError, error);
  double loadMs = millisecondsSince(start);
  const std::vector<lowbit_tensor_info> &ins = session->inputs();
  const std::vector<lowbit_tensor_info> &outs_ = session->outputs();
  std::vector<NpyArray> arrays;
  if (!ins.empty()) {
    if (inputsPath.empty())
      return fail(kError, "the artefact takes " + Twine(ins.size()) +
                              " input(s) (first: '" + ins[0].name +
                              "'); give them with --inputs FILE.npz");
    if (StringRef(inputsPath).ends_with(".npy")) {
      arrays.emplace_back();
      if (!readNpy(inputsPath, arrays.back(), error))
        return fail(kError, error);
      if (ins.size() != 1)
        return fail(kError, "a .npy file can feed a single-input artefact "
                            "only; this one takes " +
                                Twine(ins.size()));
      arrays.back().name = ins[0].name;
    } else if (!readNpz(inputsPath, arrays, error)) {
      return fail(kError, error);
    }
  }
  std::vector<const void *> inPtrs;
  for (const lowbit_tensor_info &info : ins) {
    auto it = llvm::find_if(
        arrays, [&](const NpyArray &a) { return a.name == info.name; });
    if (it == arrays.end())
      return fail(kError, "input '" + Twine(info.name) + "' is missing from " +
                              inputsPath);
    std::vector<int64_t> want(info.shape, info.shape + info.rank);
    if (it->dtype != info.dtype || it->shape != want)
      return fail(kError, "input '" + Twine(info.name) + "' expects " +
                              info.dtype + " " +
                              shapeString(info.shape, info.rank) + ", " +
                              inputsPath + " has " + it->dtype + " " +
                              shapeString(it->shape.data(), it->shape.size()));
    inPtrs.push_back(it->data.data());
  }
  std::vector<NpyArray> results(outs_.size());
  std::vector<void *> outPtrs;
  for (size_t i = 0; i < outs_.size(); ++i) {
    results[i].name = outs_[i].name;
    results[i].dtype = outs_[i].dtype;
    results[i].shape.assign(outs_[i].shape, outs_[i].shape + outs_[i].rank);
    results[i].data.assign(outs_[i].bytes, 0);
    outPtrs.push_back(results[i].data.data());
  }
  double best = INFINITY;
  for (unsigned r = 0; r < repeat; ++r) {
    start = std::chrono::steady_clock::now();
    if (!session->run(inPtrs, outPtrs, error))
      return fail(kError, error);
    best = std::min(best, millisecondsSince(start));
  }
  if (report)
    outs() << formatv("load: {0:f2} ms\nrun: {1:f3} ms (min of {2})\n", loadMs,
                      best, repeat.getValue());
  if (!outputsPath.empty() && !writeNpz(outputsPath, results, error))
    return fail(kError, error);
  return kOk;
}

void printTensors(const char *kind, const json::Array *tensors) {
  if (!tensors)
    return;
  for (const json::Value &t : *tensors) {
    const json::Object *o = t.getAsObject();
    if (!o)
      continue;
    std::string shape = "[";
    if (const json::Array *dims = o->getArray("shape"))
      for (size_t i = 0; i < dims->size(); ++i)
        shape += (i ? "x" : "") +
                 std::to_string((*dims)[i].getAsInteger().value_or(-1));
    outs() << kind << " '" << o->getString("name").value_or("") << "' "
           << o->getString("dtype").value_or("") << " " << shape << "]\n";
  }
}

/// Prints a manifest or a module description (same keys).
void printDescription(const json::Object &d) {
  printTensors("input", d.getArray("inputs"));
  printTensors("output", d.getArray("outputs"));
  if (const json::Object *target = d.getObject("target")) {
    outs() << "target: " << target->getString("cpu").value_or("") << " ("
           << target->getString("triple").value_or("") << "), needs";
    if (const json::Array *f = target->getArray("required_features"))
      for (const json::Value &v : *f)
        outs() << " " << v.getAsString().value_or("");
    outs() << "\n";
  }
  for (const char *key : {"lowbit_version", "git", "int8_kernel"})
    if (auto v = d.getString(key))
      outs() << key << ": " << *v << "\n";
  if (const json::Object *ops = d.getObject("ops")) {
    std::vector<std::pair<std::string, int64_t>> sorted;
    for (const auto &[name, count] : *ops)
      sorted.emplace_back(name.str(), count.getAsInteger().value_or(0));
    llvm::sort(sorted);
    outs() << "ops:";
    for (const auto &[name, count] : sorted)
      outs() << " " << name << "=" << count;
    outs() << "\n";
  }
  if (const json::Array *layers = d.getArray("quantized_layers"))
    for (const json::Value &l : *layers)
      if (const json::Object *o = l.getAsObject()) {
        outs() << "layer " << o->getString("op").value_or("") << " '"
               << o->getString("name").value_or("") << "'";
        for (const char *k : {"w_bits", "a_bits", "bits", "group_size"})
          if (auto v = o->getInteger(k))
            outs() << " " << k << "=" << *v;
        outs() << "\n";
      }
}

int inspectMain() {
  if (inspectPath.empty())
    return fail(kError, "inspect: no file given");
  StringRef path = inspectPath;
  std::string text, error;
  if (path.ends_with(".so")) {
    if (!Session::readManifest(inspectPath, text, error))
      return fail(kError, error);
  } else if (path.ends_with(".json")) {
    auto buffer = MemoryBuffer::getFile(path);
    if (!buffer)
      return fail(kError, "cannot read '" + path +
                              "': " + buffer.getError().message());
    text = (*buffer)->getBuffer().str();
  } else {
    modelPath = inspectPath;
    Expected<Module> module = prepare();
    if (!module)
      return failWith(module.takeError());
    json::Object d = describeModule(module->getOperation());
    auto toJson = [](const std::vector<TensorSpec> &specs) {
      json::Array a;
      for (const TensorSpec &s : specs)
        a.push_back(json::Object{{"name", s.name},
                                 {"dtype", numpyDtype(s.type)},
                                 {"shape", json::Array(s.shape)}});
      return a;
    };
    auto ins = module->inputs();
    auto outs_ = module->outputs();
    if (!ins || !outs_)
      return failWith(ins ? outs_.takeError() : ins.takeError());
    d["inputs"] = toJson(*ins);
    d["outputs"] = toJson(*outs_);
    printDescription(d);
    return kOk;
  }
  auto parsed = json::parse(text);
  if (!parsed || !parsed->getAsObject() ||
      parsed->getAsObject()->getString("format") != "lowbit-artefact")
    return fail(kError, "'" + path + "' is not a lowbit artefact manifest" +
                            (parsed ? "" : ": " + toString(parsed.takeError())));
  printDescription(*parsed->getAsObject());
  return kOk;
}

void printVersion(raw_ostream &os) {
  os << "lowbit " << getLowbitVersion() << " (git " << getLowbitGitHash()
     << ")\nLLVM/MLIR " << LLVM_VERSION_STRING << "\ntargets: CPU ("
     << sys::getProcessTriple() << ", host CPU " << sys::getHostCPUName()
     << "); GPU kernels: CUDA C++ emission only (lowbit-cuda-emit)\n";
}

} // namespace

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  cl::SetVersionPrinter(printVersion);
  const cl::OptionCategory *mine[] = {&modelCat, &codegenCat, &runCat};
  for (cl::SubCommand *sub :
       {&cl::SubCommand::getTopLevel(), &compileCmd, &quantizeCmd, &runCmd,
        &inspectCmd, &recipesCmd, &reportCmd})
    hideForeignOptions(mine, *sub);
  cl::ParseCommandLineOptions(
      argc, argv,
      "lowbit: quantize ONNX models and compile them for the CPU\n\n"
      "  lowbit compile model.onnx --recipe rtn-w8a8 -o out/model\n"
      "  lowbit run out/model.so --inputs x.npz --outputs y.npz\n\n"
      "`lowbit SUBCOMMAND --help` lists a subcommand's options;\n"
      "--help-hidden adds LLVM's own.\n");
  // An option given with an empty value is a mistake, not "use the default".
  for (cl::opt<std::string> *option :
       {&outPath, &recipe, &maxMemory, &targetCpu, &ccPath, &inputsPath,
        &outputsPath, &jsonPath})
    if (option->getNumOccurrences() && option->getValue().empty())
      return fail(kError, "--" + option->ArgStr + " is empty");
  if (compileCmd)
    return compileMain();
  if (quantizeCmd)
    return quantizeMain();
  if (runCmd)
    return runMain();
  if (inspectCmd)
    return inspectMain();
  if (reportCmd)
    return reportMain();
  if (recipesCmd) {
    for (const Recipe &r : getRecipes())
      outs() << r.name << "\t" << r.description << "\n";
    return kOk;
  }
  return fail(kError, "no subcommand given (compile, quantize, run, report, "
                      "inspect, recipes; see lowbit --help)");
}
