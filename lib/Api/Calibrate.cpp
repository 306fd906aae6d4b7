//===- Calibrate.cpp - lowbit::Module::calibrate --------------------------===//
#include "lowbit/Compiler.h"

#include "lib/Calibration/Statistics.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"

#include <map>

using namespace lowbit;

namespace {

llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(
      std::make_error_code(std::errc::invalid_argument), message.str());
}

/// One observed output of the instrumented function and the taps it feeds.
struct Tap {
  std::vector<std::string> names;
  unsigned output = 0;
  int64_t channelAxis = 0;
  bool hessian = false;
};

/// The conv geometry insert-observers put on a tap (kConvPatchesAttr).
llvm::Error parseConvGeometry(mlir::DictionaryAttr dict, llvm::StringRef name,
                              calibration::ConvGeometry &g) {
  auto ints = [&](const char *key, int64_t *out, size_t n) -> bool {
    auto a = dict.getAs<mlir::DenseI64ArrayAttr>(key);
    if (!a || a.size() != static_cast<int64_t>(n))
      return false;
    std::copy(a.asArrayRef().begin(), a.asArrayRef().end(), out);
    return true;
  };
  auto groups = dict.getAs<mlir::IntegerAttr>("groups");
  if (!ints("kernel", g.kernel, 2) || !ints("strides", g.strides, 2) ||
      !ints("pads", g.pads, 4) || !ints("dilations", g.dilations, 2) ||
      !groups)
    return makeError("calibration: tap '" + name + "': " +
                     calibration::kConvPatchesAttr +
                     " needs kernel [2], strides [2], pads [4], dilations "
                     "[2] and groups");
  g.groups = groups.getInt();
  return llvm::Error::success();
}

} // namespace

llvm::Expected<std::vector<NamedArray>>
Module::calibrate(const std::vector<std::vector<const void *>> &samples,
                  const CalibrationOptions &options) const {
  if (samples.empty())
    return makeError("calibration needs at least one sample");
  std::vector<TensorSpec> inputSpecs, outputSpecs;
  if (llvm::Error err =
          getEntrySignature(getOperation(), inputSpecs, outputSpecs))
    return std::move(err);
  for (size_t i = 0; i < samples.size(); ++i)
    if (samples[i].size() != inputSpecs.size())
      return makeError("calibration sample " + llvm::Twine(i) + " has " +
                       llvm::Twine(samples[i].size()) +
                       " inputs, the model takes " +
                       llvm::Twine(inputSpecs.size()));

  // The instrumented copy: taps on the layer inputs, then as results.
  mlir::OwningOpRef<mlir::ModuleOp> copy(getOperation().clone());
  // Conv taps that ask for the patch Hessian, by tap name.
  std::map<std::string, calibration::ConvGeometry> convTaps;
  std::string diagnostics;
  {
    mlir::ScopedDiagnosticHandler handler(
        getContext(), [&](mlir::Diagnostic &diag) {
          if (diag.getSeverity() == mlir::DiagnosticSeverity::Error)
            diagnostics += (diagnostics.empty() ? "" : "; ") + diag.str();
          return mlir::success();
        });
    // Taps first, then (after reading the conv geometry off the taps, which
    // observers-to-results erases) the taps as results.
    std::string pipelines[2] = {"func.func(insert-observers{ops=" +
                                    options.ops + " hessians=" +
                                    (options.hessians ? "true" : "false") +
                                    "})",
                                "observers-to-results"};
    for (int step = 0; step < 2; ++step) {
      if (step == 1) {
        llvm::Error bad = llvm::Error::success();
        copy->walk([&](mlir::Operation *op) {
          auto dict = op->getAttrOfType<mlir::DictionaryAttr>(
              calibration::kConvPatchesAttr);
          auto name = op->getAttrOfType<mlir::StringAttr>("name");
          if (!dict || !name || op->getName().getStringRef() != "lowbit.observe")
            return;
          calibration::ConvGeometry g;
          if (llvm::Error err = parseConvGeometry(dict, name.getValue(), g))
            bad = llvm::joinErrors(std::move(bad), std::move(err));
          else
            convTaps[name.str()] = g;
        });
        if (bad)
          return std::move(bad);
      }
      mlir::PassManager pm(getContext());
      std::string parseErrors;
      llvm::raw_string_ostream os(parseErrors);
      if (failed(mlir::parsePassPipeline(pipelines[step], pm, os)))
        return makeError("calibration: " + parseErrors);
      if (failed(pm.run(*copy)))
        return makeError("calibration: " +
                         (diagnostics.empty()
                              ? std::string("instrumentation failed")
                              : diagnostics));
    }
  }
  std::vector<Tap> taps;
  copy->walk([&](mlir::func::FuncOp func) {
    if (func.isPrivate() || func.isExternal())
      return;
    for (unsigned i = 0; i < func.getNumResults(); ++i) {
      auto names =
          func.getResultAttrOfType<mlir::ArrayAttr>(i, "lowbit.observe");
      if (!names)
        continue;
      Tap tap;
      for (mlir::Attribute name : names)
        tap.names.push_back(llvm::cast<mlir::StringAttr>(name).str());
      tap.output = i;
      if (auto axis = func.getResultAttrOfType<mlir::IntegerAttr>(
              i, "lowbit.channel_axis"))
        tap.channelAxis = axis.getInt();
      if (auto h = func.getResultAttrOfType<mlir::BoolAttr>(i, "lowbit.hessian"))
        tap.hessian = h.getValue();
      taps.push_back(tap);
    }
  });
  if (taps.empty())
    return makeError("calibration: the model has no layer to observe (no " +
                     options.ops + " op with an f32 input)");

  CpuCompileOptions compileOptions;
  compileOptions.optLevel = options.optLevel;
  auto exe = CpuExecutable::compile(*copy, compileOptions);
  if (!exe)
    return exe.takeError();
  const std::vector<TensorSpec> &outs = (*exe)->outputs();
  std::vector<std::vector<char>> buffers(outs.size());
  std::vector<void *> outPtrs;
  for (size_t i = 0; i < outs.size(); ++i) {
    buffers[i].assign(outs[i].byteSize(), 0);
    outPtrs.push_back(buffers[i].data());
  }
  calibration::Statistics stats;
  // Patch Hessians per conv tap name: two convs reading one value share its
  // result (and its per-channel statistics) but not their geometry.
  calibration::Statistics convStats;
  for (size_t s = 0; s < samples.size(); ++s) {
    if (llvm::Error err = (*exe)->run(samples[s], outPtrs))
      return std::move(err);
    for (const Tap &tap : taps) {
      const TensorSpec &spec = outs[tap.output];
      if (spec.type != ElementType::F32)
        return makeError("calibration: tap '" + tap.names[0] +
                         "' is not f32");
      std::string error;
      if (!calibration::accumulate(
              stats[tap.names[0]],
              reinterpret_cast<const float *>(buffers[tap.output].data()),
              spec.shape, tap.channelAxis, tap.hessian, error))
        return makeError("calibration: tap '" + tap.names[0] + "', sample " +
                         llvm::Twine(s) + ": " + error);
      for (const std::string &name : tap.names) {
        auto conv = convTaps.find(name);
        if (conv == convTaps.end())
          continue;
        if (!calibration::accumulateConvHessian(
                convStats[name],
                reinterpret_cast<const float *>(buffers[tap.output].data()),
                spec.shape, conv->second, error))
          return makeError("calibration: conv tap '" + name + "', sample " +
                           llvm::Twine(s) + ": " + error);
      }
    }
    if (options.progress)
      options.progress(s + 1, samples.size());
  }
  // Taps of one value have the same statistics.
  for (const Tap &tap : taps)
    for (size_t i = 1; i < tap.names.size(); ++i)
      stats[tap.names[i]] = stats[tap.names[0]];
  for (auto &[name, conv] : convStats)
    calibration::takeConvHessian(stats[name], std::move(conv));
  if (!options.statsPath.empty()) {
    std::string error;
    if (!calibration::writeStatistics(options.statsPath, stats, error))
      return llvm::createStringError(std::make_error_code(std::errc::io_error),
                                     error);
  }
  std::vector<NamedArray> result;
  for (NpyArray &a : calibration::toArrays(stats))
    result.push_back({std::move(a.name), std::move(a.dtype),
                      std::move(a.shape), std::move(a.data)});
  return result;
}
