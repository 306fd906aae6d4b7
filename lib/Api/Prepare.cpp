//===- Prepare.cpp - import, calibrate and quantize in one call -----------===//
#include "lowbit/Prepare.h"
#include "lowbit/Recipes.h"

#include "lib/Support/NpyIO.h"
#include "lib/Support/Progress.h"

#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"

#include <cstdio>

#include <chrono>
#include <optional>

using namespace llvm;
using namespace lowbit;

namespace {

Error makeError(const Twine &message) {
  return createStringError(inconvertibleErrorCode(), message);
}

std::string shapeString(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? "x" : "") + std::to_string(shape[i]);
  return s + "]";
}

/// Splits the calibration file `path` into samples of `specs` (see
/// --calibrate), appending pointers into `storage` to `samples`.
bool readCalibrationSamples(const std::string &path,
                            const std::vector<TensorSpec> &specs,
                            std::vector<std::vector<NpyArray>> &storage,
                            std::vector<std::vector<const void *>> &samples,
                            std::string &error) {
  storage.emplace_back();
  std::vector<NpyArray> &arrays = storage.back();
  if (!readNpz(path, arrays, error))
    return false;
  int64_t count = -1;
  std::vector<const NpyArray *> perInput;
  for (const TensorSpec &spec : specs) {
    auto it = llvm::find_if(
        arrays, [&](const NpyArray &a) { return a.name == spec.name; });
    if (it == arrays.end()) {
      error = "--calibrate: input '" + spec.name + "' is missing from " + path;
      return false;
    }
    int64_t n = -1;
    const std::vector<int64_t> &s = it->shape;
    if (s == spec.shape)
      n = 1;
    else if (s.size() == spec.shape.size() + 1 &&
             std::equal(spec.shape.begin(), spec.shape.end(), s.begin() + 1))
      n = s[0];
    else if (!s.empty() && s.size() == spec.shape.size() &&
             spec.shape[0] > 0 && s[0] % spec.shape[0] == 0 &&
             std::equal(spec.shape.begin() + 1, spec.shape.end(),
                        s.begin() + 1))
      n = s[0] / spec.shape[0];
    if (n < 0 || it->dtype != numpyDtype(spec.type)) {
      error = "--calibrate: input '" + spec.name + "' expects " +
              numpyDtype(spec.type) + " " + shapeString(spec.shape) +
              " (or a leading sample dimension), " + path + " has " +
              it->dtype + " " + shapeString(s);
      return false;
    }
    if (count >= 0 && n != count) {
      error = "--calibrate: " + path + " holds " + std::to_string(count) +
              " samples of one input and " + std::to_string(n) + " of '" +
              spec.name + "'";
      return false;
    }
    count = n;
    perInput.push_back(&*it);
  }
  if (specs.empty())
    count = 1;
  for (int64_t i = 0; i < count; ++i) {
    std::vector<const void *> sample;
    for (size_t j = 0; j < specs.size(); ++j)
      sample.push_back(perInput[j]->data.data() + i * specs[j].byteSize());
    samples.push_back(std::move(sample));
  }
  return true;
}

/// Whether `path` holds MLIR (text by extension, bytecode by its magic
/// number, whatever the name) rather than ONNX.
bool isMlirFile(StringRef path) {
  if (path.ends_with(".mlir") || path.ends_with(".mlirbc"))
    return true;
  char magic[4] = {};
  std::FILE *f = std::fopen(path.str().c_str(), "rb");
  if (!f)
    return false;
  size_t n = std::fread(magic, 1, sizeof magic, f);
  std::fclose(f);
  return n == 4 && StringRef(magic, 4) == StringRef("ML\xefR", 4);
}

} // namespace

Expected<Module> lowbit::prepareModel(StringRef modelPath,
                                      const PrepareOptions &prepare) {
  std::optional<Recipe> chosenRecipe;
  if (!prepare.recipe.empty()) {
    auto r = getRecipe(prepare.recipe);
    if (!r)
      return makeError("--recipe: " + toString(r.takeError()));
    chosenRecipe = *r;
  }
  if (!prepare.statsIn.empty() && !prepare.calibrateFiles.empty())
    return makeError("--stats-in and --calibrate are mutually exclusive");
  if (!prepare.statsOut.empty() && prepare.calibrateFiles.empty())
    return makeError("--stats-out needs --calibrate");
  if (!prepare.statsIn.empty() && !sys::fs::exists(prepare.statsIn))
    return makeError("--stats-in: '" + prepare.statsIn + "' does not exist");
  if (modelPath.empty())
    return makeError("no model given");
  if (!sys::fs::exists(modelPath))
    return makeError("model file '" + modelPath + "' does not exist");

  PrepareTimings local;
  PrepareTimings &timings = prepare.timings ? *prepare.timings : local;
  auto step = [&](StringRef name, const Twine &detail) {
    if (prepare.onStep)
      prepare.onStep(name, detail.str());
  };
  using Clock = std::chrono::steady_clock;
  auto msSince = [](Clock::time_point start) {
    return std::chrono::duration<double, std::milli>(Clock::now() - start)
        .count();
  };

  // A FIFO, device or folder would block or fail deep in a reader: refuse
  // anything but a regular file here, with its name.
  llvm::sys::fs::file_status st;
  if (std::error_code ec = llvm::sys::fs::status(modelPath, st))
    return makeError("cannot open '" + modelPath + "': " + ec.message());
  if (st.type() != llvm::sys::fs::file_type::regular_file)
    return makeError("'" + modelPath + "' is not a regular file");
  // Import or parse.
  step("import", modelPath);
  auto start = Clock::now();
  Expected<Module> module =
      isMlirFile(modelPath)
          ? (prepare.import.inputShapes.empty()
                 ? Module::parseMlirFile(modelPath)
                 : Expected<Module>(makeError(
                       "--input-shape applies to .onnx models only")))
          : Module::importOnnx(modelPath, prepare.import);
  if (!module)
    return module.takeError();
  timings.importMs = msSince(start);
  if (chosenRecipe)
    if (std::string op = module->quantizedOp(); !op.empty())
      return makeError("--recipe: '" + modelPath +
                       "' is already quantized (it holds " + op +
                       "); apply a recipe to the float model");
  // Calibration, before any pass changes the layers.
  std::string statsPath = prepare.statsIn;
  SmallString<128> tempStats;
  scope_exit removeTempStats([&] {
    if (!tempStats.empty())
      sys::fs::remove(tempStats);
  });
  if (!prepare.calibrateFiles.empty()) {
    auto specs = module->inputs();
    if (!specs)
      return specs.takeError();
    start = Clock::now();
    std::vector<std::vector<NpyArray>> storage;
    std::vector<std::vector<const void *>> samples;
    std::string error;
    for (const std::string &file : prepare.calibrateFiles)
      if (!readCalibrationSamples(file, *specs, storage, samples, error))
        return makeError(error);
    step("calibrate", Twine(samples.size()) + " sample(s)");
    CalibrationOptions options;
    options.ops = prepare.calibrateOps;
    options.progress = prepare.progress;
    if (prepare.statsOut.empty()) {
      if (std::error_code ec =
              sys::fs::createTemporaryFile("lowbit-stats", "npz", tempStats))
        return makeError("cannot create a temporary file: " + ec.message());
      options.statsPath = tempStats.str().str();
    } else {
      options.statsPath = prepare.statsOut;
    }
    auto stats = module->calibrate(samples, options);
    if (!stats)
      return stats.takeError();
    statsPath = options.statsPath;
    timings.calibrateMs = msSince(start);
  }
  std::string recipePipeline;
  if (chosenRecipe) {
    auto p = instantiateRecipe(*chosenRecipe,
                               chosenRecipe->needsCalibration ||
                                       !prepare.statsIn.empty()
                                   ? statsPath
                                   : "");
    if (!p)
      return makeError("--recipe: " + toString(p.takeError()));
    recipePipeline = *p;
  } else if (!prepare.statsIn.empty()) {
    return makeError("--stats-in applies to a calibrated --recipe only");
  }
  start = Clock::now();
  std::optional<progress::ScopedSink> sink;
  if (prepare.passProgress)
    sink.emplace(prepare.passProgress);
  const std::pair<std::string, std::string> stages[] = {
      {prepare.beforeRecipe, "passes " + prepare.beforeRecipe},
      {recipePipeline, "recipe " + prepare.recipe},
      {prepare.pipeline, "passes " + prepare.pipeline}};
  for (const auto &[passes, detail] : stages)
    if (!passes.empty()) {
      step("quantize", detail);
      if (Error err = module->runPipeline(passes))
        return std::move(err);
    }
  timings.quantizeMs = msSince(start);
  return module;
}

bool lowbit::readInputFeeds(const std::string &path,
                            const std::vector<TensorSpec> &specs,
                            std::vector<std::vector<char>> &data,
                            std::string &error) {
  std::vector<NpyArray> arrays;
  if (StringRef(path).ends_with(".npy")) {
    arrays.emplace_back();
    if (!readNpy(path, arrays.back(), error))
      return false;
    if (specs.size() != 1) {
      error = "a .npy file can feed a single-input model only; this one "
              "takes " +
              std::to_string(specs.size()) + " inputs";
      return false;
    }
    arrays.back().name = specs[0].name;
  } else if (!readNpz(path, arrays, error)) {
    return false;
  }
  data.assign(specs.size(), {});
  for (size_t i = 0; i < specs.size(); ++i) {
    const TensorSpec &spec = specs[i];
    auto it = llvm::find_if(
        arrays, [&](const NpyArray &a) { return a.name == spec.name; });
    if (it == arrays.end()) {
      error = "input '" + spec.name + "' is missing from " + path;
      return false;
    }
    if (it->dtype != numpyDtype(spec.type) || it->shape != spec.shape) {
      error = "input '" + spec.name + "' expects " + numpyDtype(spec.type) +
              " " + shapeString(spec.shape) + ", " + path + " has " +
              it->dtype + " " + shapeString(it->shape);
      return false;
    }
    data[i] = std::move(it->data);
  }
  return true;
}
