//===- Report.h - what a recipe costs on the user's data -------*- C++ -*-===//
//
// The accuracy report of `lowbit report` and lowbit.report(): the model is
// prepared twice with lowbit.observe taps on the inputs of its linear and
// conv layers (insert-observers, before any recipe), once float and once
// with the recipe (calibrated first when it needs data), both JIT-compiled
// and run on the same evaluation inputs. Per model output: the error of the
// quantized output against the float one; per quantized layer: its storage
// (weight-memory-report) and the relative error ||x_q - x|| / ||x|| of its
// input, the error the layers before it have accumulated by the time it
// runs.
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_REPORT_H
#define LOWBIT_REPORT_H

#include "lowbit/Prepare.h"

#include "llvm/Support/JSON.h"

#include <optional>
#include <string>
#include <vector>

namespace lowbit {

/// One model output, quantized against float.
struct OutputAccuracy {
  std::string name;
  std::vector<int64_t> shape;
  double maxAbsError = 0;   ///< max |q - f|
  double relativeError = 0; ///< ||q - f|| / ||f|| (L2 over all elements)
  double cosine = 1;        ///< <q, f> / (||q|| ||f||)
  /// For outputs of rank >= 2: the fraction of rows (all axes but the last)
  /// whose argmax over the last axis agrees; empty otherwise.
  std::optional<double> top1Agreement;
};

/// One layer of the recipe's weight memory report.
struct LayerAccuracy {
  std::string layer, storage;
  int64_t f32Bytes = 0, storedBytes = 0;
  /// ||x_q - x|| / ||x|| of the layer's input; empty when it has no tap.
  std::optional<double> inputRelativeError;
};

struct AccuracyReport {
  std::string model, recipe, inputs;
  std::vector<OutputAccuracy> outputs;
  std::vector<LayerAccuracy> layers;
  int64_t totalF32Bytes = 0, totalStoredBytes = 0;
};

/// Prepares `modelPath` float and with `options.recipe` (its calibration
/// files, input shapes and stats as `options` says; `options.recipe` must
/// be set) and runs both on `inputsPath` (.npz by input name, or .npy for a
/// single input). Errors name the flag or file at fault.
llvm::Expected<AccuracyReport> accuracyReport(llvm::StringRef modelPath,
                                              const PrepareOptions &options,
                                              llvm::StringRef inputsPath);

/// The report as JSON (the field names of the structs above in snake case).
llvm::json::Value toJson(const AccuracyReport &report);

} // namespace lowbit

#endif // LOWBIT_REPORT_H
