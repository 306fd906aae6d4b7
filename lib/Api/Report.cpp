//===- Report.cpp - what a recipe costs on the user's data -----------------===//
#include "lowbit/Report.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"

#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cmath>
#include <map>

using namespace llvm;
using namespace lowbit;

namespace {

Error makeError(const Twine &message) {
  return createStringError(inconvertibleErrorCode(), message);
}

/// Taps on the inputs of linear and conv layers (no Hessians: only the
/// values are compared), before the recipe rewrites the layers.
constexpr const char *kTaps = "func.func(insert-observers{hessians=false})";
constexpr const char *kTapsToResults = "observers-to-results";

/// A prepared module, compiled and run on the evaluation inputs: outputs in
/// the entry function's result order, with the layers each tap result
/// observes (empty for model outputs that are no tap).
struct Run {
  std::vector<TensorSpec> specs;
  std::vector<std::vector<char>> outputs;
  std::vector<std::vector<std::string>> observed;
};

Expected<Run> runOn(const Module &module, StringRef inputsPath) {
  Run run;
  auto inSpecs = module.inputs();
  if (!inSpecs)
    return inSpecs.takeError();
  std::vector<std::vector<char>> inputs;
  std::string error;
  if (!readInputFeeds(inputsPath.str(), *inSpecs, inputs, error))
    return makeError("--inputs: " + error);
  module.getOperation()->walk([&](mlir::func::FuncOp func) {
    if (func.isPrivate() || func.isExternal())
      return;
    run.observed.assign(func.getNumResults(), {});
    for (unsigned i = 0; i < func.getNumResults(); ++i)
      if (auto names =
              func.getResultAttrOfType<mlir::ArrayAttr>(i, "lowbit.observe"))
        for (mlir::Attribute name : names)
          run.observed[i].push_back(cast<mlir::StringAttr>(name).str());
  });
  auto exe = module.compileForCpu();
  if (!exe)
    return exe.takeError();
  run.specs = (*exe)->outputs();
  if (run.observed.size() != run.specs.size())
    return makeError("internal error: the compiled model has " +
                     Twine(run.specs.size()) + " outputs, its entry " +
                     Twine(run.observed.size()));
  std::vector<const void *> in;
  for (const std::vector<char> &d : inputs)
    in.push_back(d.data());
  std::vector<void *> out;
  run.outputs.resize(run.specs.size());
  for (size_t i = 0; i < run.specs.size(); ++i) {
    run.outputs[i].assign(run.specs[i].byteSize(), 0);
    out.push_back(run.outputs[i].data());
  }
  if (Error err = (*exe)->run(in, out))
    return std::move(err);
  return std::move(run);
}

/// The values of an output as doubles (f32 outputs; others are not
/// compared).
std::vector<double> asDoubles(const TensorSpec &spec,
                              const std::vector<char> &data) {
  std::vector<double> v(spec.numElements());
  const float *f = reinterpret_cast<const float *>(data.data());
  for (size_t i = 0; i < v.size(); ++i)
    v[i] = f[i];
  return v;
}

OutputAccuracy compare(const TensorSpec &spec, const std::vector<double> &f,
                       const std::vector<double> &q) {
  OutputAccuracy o;
  o.name = spec.name;
  o.shape = spec.shape;
  double dot = 0, ff = 0, qq = 0, dd = 0;
  for (size_t i = 0; i < f.size(); ++i) {
    double d = q[i] - f[i];
    o.maxAbsError = std::max(o.maxAbsError, std::fabs(d));
    dot += q[i] * f[i];
    ff += f[i] * f[i];
    qq += q[i] * q[i];
    dd += d * d;
  }
  o.relativeError = ff > 0 ? std::sqrt(dd / ff) : (dd == 0 ? 0 : INFINITY);
  o.cosine = ff > 0 && qq > 0 ? dot / std::sqrt(ff * qq) : (dd == 0 ? 1 : 0);
  if (spec.shape.size() >= 2 && spec.shape.back() > 0) {
    int64_t width = spec.shape.back(), rows = f.size() / width, agree = 0;
    for (int64_t r = 0; r < rows; ++r) {
      auto argmax = [&](const std::vector<double> &v) {
        return std::max_element(v.begin() + r * width,
                                v.begin() + (r + 1) * width) -
               v.begin();
      };
      agree += argmax(f) == argmax(q);
    }
    o.top1Agreement = rows ? static_cast<double>(agree) / rows : 1.0;
  }
  return o;
}

Error readWeightReport(StringRef path, AccuracyReport &report) {
  auto buffer = MemoryBuffer::getFile(path);
  if (!buffer)
    return makeError("cannot read the weight memory report: " +
                     buffer.getError().message());
  auto json = json::parse((*buffer)->getBuffer());
  if (!json)
    return json.takeError();
  const json::Object *root = json->getAsObject();
  const json::Array *layers = root ? root->getArray("layers") : nullptr;
  if (!layers)
    return makeError("internal error: the weight memory report has no layers");
  for (const json::Value &v : *layers) {
    const json::Object *l = v.getAsObject();
    if (!l)
      continue;
    LayerAccuracy row;
    row.layer = l->getString("layer").value_or("").str();
    row.storage = l->getString("storage").value_or("").str();
    row.f32Bytes = l->getInteger("f32_bytes").value_or(0);
    row.storedBytes = l->getInteger("stored_bytes").value_or(0);
    report.layers.push_back(row);
  }
  report.totalF32Bytes = root->getInteger("total_f32_bytes").value_or(0);
  report.totalStoredBytes = root->getInteger("total_stored_bytes").value_or(0);
  return Error::success();
}

} // namespace

Expected<AccuracyReport> lowbit::accuracyReport(StringRef modelPath,
                                                const PrepareOptions &options,
                                                StringRef inputsPath) {
  if (options.recipe.empty())
    return makeError("report: no --recipe given (see `lowbit recipes`)");
  if (inputsPath.empty())
    return makeError("report: no evaluation inputs given (--inputs EVAL.npz)");
  AccuracyReport report;
  report.model = modelPath.str();
  report.recipe = options.recipe;
  report.inputs = inputsPath.str();

  PrepareOptions floatOptions;
  floatOptions.import = options.import;
  floatOptions.beforeRecipe = kTaps;
  floatOptions.pipeline = kTapsToResults;
  auto floatModule = prepareModel(modelPath, floatOptions);
  if (!floatModule)
    return floatModule.takeError();
  auto floatRun = runOn(*floatModule, inputsPath);
  if (!floatRun)
    return floatRun.takeError();

  SmallString<128> weightsJson;
  if (std::error_code ec = sys::fs::createTemporaryFile("lowbit-weights",
                                                        "json", weightsJson))
    return makeError("cannot create a temporary file: " + ec.message());
  scope_exit removeJson([&] { sys::fs::remove(weightsJson); });
  PrepareOptions quantOptions = options;
  if (!quantOptions.beforeRecipe.empty())
    quantOptions.beforeRecipe += ",";
  quantOptions.beforeRecipe += kTaps;
  quantOptions.pipeline += std::string(quantOptions.pipeline.empty() ? "" : ",") +
                           "weight-memory-report{output=" +
                           weightsJson.str().str() + " print=false}," +
                           kTapsToResults;
  auto quantModule = prepareModel(modelPath, quantOptions);
  if (!quantModule)
    return quantModule.takeError();
  if (Error err = readWeightReport(weightsJson, report))
    return std::move(err);
  auto quantRun = runOn(*quantModule, inputsPath);
  if (!quantRun)
    return quantRun.takeError();

  // Taps by the first layer each observes (a value read by several layers
  // has one tap listing them all); model outputs by name.
  std::map<std::string, size_t> floatTaps, quantTaps;
  for (size_t i = 0; i < floatRun->observed.size(); ++i)
    for (const std::string &layer : floatRun->observed[i])
      floatTaps[layer] = i;
  for (size_t i = 0; i < quantRun->observed.size(); ++i)
    for (const std::string &layer : quantRun->observed[i])
      quantTaps[layer] = i;
  for (LayerAccuracy &row : report.layers) {
    auto f = floatTaps.find(row.layer), q = quantTaps.find(row.layer);
    if (f == floatTaps.end() || q == quantTaps.end())
      continue;
    const TensorSpec &fs = floatRun->specs[f->second];
    const TensorSpec &qs = quantRun->specs[q->second];
    if (fs.type != ElementType::F32 || fs.shape != qs.shape ||
        qs.type != ElementType::F32)
      continue;
    row.inputRelativeError =
        compare(fs, asDoubles(fs, floatRun->outputs[f->second]),
                asDoubles(qs, quantRun->outputs[q->second]))
            .relativeError;
  }
  for (size_t i = 0; i < floatRun->specs.size(); ++i) {
    const TensorSpec &fs = floatRun->specs[i];
    if (StringRef(fs.name).starts_with("observe:") ||
        fs.type != ElementType::F32)
      continue;
    auto q = llvm::find_if(quantRun->specs, [&](const TensorSpec &s) {
      return s.name == fs.name;
    });
    if (q == quantRun->specs.end() || q->shape != fs.shape)
      return makeError("internal error: output '" + fs.name +
                       "' is missing from the quantized model or changed "
                       "shape");
    size_t qi = q - quantRun->specs.begin();
    report.outputs.push_back(compare(fs, asDoubles(fs, floatRun->outputs[i]),
                                     asDoubles(*q, quantRun->outputs[qi])));
  }
  return std::move(report);
}

json::Value lowbit::toJson(const AccuracyReport &report) {
  auto finite = [](double v) -> json::Value {
    return std::isfinite(v) ? json::Value(v) : json::Value(nullptr);
  };
  json::Array outputs, layers;
  for (const OutputAccuracy &o : report.outputs) {
    json::Object row{{"name", o.name},
                     {"shape", json::Array(o.shape)},
                     {"max_abs_error", finite(o.maxAbsError)},
                     {"relative_error", finite(o.relativeError)},
                     {"cosine", finite(o.cosine)}};
    if (o.top1Agreement)
      row["top1_agreement"] = *o.top1Agreement;
    outputs.push_back(std::move(row));
  }
  for (const LayerAccuracy &l : report.layers) {
    json::Object row{{"layer", l.layer},
                     {"storage", l.storage},
                     {"f32_bytes", l.f32Bytes},
                     {"stored_bytes", l.storedBytes}};
    row["input_relative_error"] =
        l.inputRelativeError ? finite(*l.inputRelativeError)
                             : json::Value(nullptr);
    layers.push_back(std::move(row));
  }
  return json::Object{{"model", report.model},
                      {"recipe", report.recipe},
                      {"inputs", report.inputs},
                      {"outputs", std::move(outputs)},
                      {"layers", std::move(layers)},
                      {"total_f32_bytes", report.totalF32Bytes},
                      {"total_stored_bytes", report.totalStoredBytes}};
}
