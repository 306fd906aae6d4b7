//===- Prepare.h - import, calibrate and quantize in one call ---*- C++ -*-===//
//
// What the command-line tools do before compiling: import an .onnx (or parse
// an .mlir) model, calibrate it on .npz samples, apply a named recipe and
// any extra passes.
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_PREPARE_H
#define LOWBIT_PREPARE_H

#include "lowbit/Compiler.h"

#include <functional>
#include <string>
#include <vector>

namespace lowbit {

/// Where prepareModel's time went (milliseconds).
struct PrepareTimings {
  double importMs = 0, calibrateMs = 0, quantizeMs = 0;
};

struct PrepareOptions {
  /// Fixes dynamic input dimensions (.onnx only).
  ImportOptions import;
  /// A recipe of getRecipes(), or empty for none.
  std::string recipe;
  /// .npz calibration files: per input, an array of the input's shape (one
  /// sample), with a leading sample dimension, or a multiple of a leading
  /// batch dimension.
  std::vector<std::string> calibrateFiles;
  /// Layer kinds whose inputs calibration taps.
  std::string calibrateOps = "linear,conv2d";
  /// Where to keep the calibration statistics (else a temporary file).
  std::string statsOut;
  /// Statistics of an earlier calibration, instead of calibrateFiles.
  std::string statsIn;
  /// Passes before the recipe, after calibration (a textual pipeline; the
  /// accuracy report puts its taps here).
  std::string beforeRecipe;
  /// Extra passes after the recipe (a textual pipeline).
  std::string pipeline;
  /// Called after each calibration sample with (done, total).
  std::function<void(size_t, size_t)> progress;
  /// Called by the recipe's long passes (quantize-weights: after each
  /// layer) with (task, done, total), e.g. ("quantize-weights gptq", 3, 36).
  std::function<void(const std::string &task, size_t, size_t)> passProgress;
  /// Called when a step starts ("import", "calibrate", "quantize") with a
  /// one-line detail (file, sample count, pipeline); for progress output.
  std::function<void(llvm::StringRef step, llvm::StringRef detail)> onStep;
  /// Filled with the time of each step when not null.
  PrepareTimings *timings = nullptr;
};

/// Imports or parses `modelPath` and applies `options`. Errors name the
/// flag or file at fault ("--calibrate: input 'x' is missing from a.npz");
/// an unsupported ONNX construct keeps isUnsupported().
llvm::Expected<Module> prepareModel(llvm::StringRef modelPath,
                                    const PrepareOptions &options);

/// Reads the inputs of a model with inputs `specs` from `path`: an .npz
/// with one entry per input (by name), or an .npy for a single-input model;
/// one buffer per spec, in order, each of the spec's dtype and shape. False
/// with `error` naming the input and the file otherwise.
bool readInputFeeds(const std::string &path,
                    const std::vector<TensorSpec> &specs,
                    std::vector<std::vector<char>> &data, std::string &error);

} // namespace lowbit

#endif // LOWBIT_PREPARE_H
