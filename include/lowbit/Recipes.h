//===- Recipes.h - named quantization recipes -------------------*- C++ -*-===//
//
// A recipe is a documented pass pipeline with a name, e.g. "rtn-w4a16-g128".
// The round-to-nearest family needs no data; calibrated recipes (gptq-*,
// decoupleq-*, *-static) read a calibration sidecar (Module::calibrate,
// `lowbit-run --calibrate`), whose path replaces "@STATS@" in the pipeline.
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_RECIPES_H
#define LOWBIT_RECIPES_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace lowbit {

struct Recipe {
  std::string name;
  std::string description;
  /// Textual pass pipeline anchored on builtin.module.
  std::string pipeline;
  /// The pipeline reads calibration statistics: "@STATS@" in `pipeline`
  /// stands for the sidecar's path (see instantiateRecipe).
  bool needsCalibration = false;
};

/// The placeholder for the statistics sidecar in calibrated recipes.
inline constexpr const char *kRecipeStatsPlaceholder = "@STATS@";

/// `recipe.pipeline` with the placeholder replaced by `statsPath`. Fails,
/// naming the recipe, if it needs calibration and `statsPath` is empty, or
/// takes none and `statsPath` is given.
llvm::Expected<std::string> instantiateRecipe(const Recipe &recipe,
                                              llvm::StringRef statsPath);

/// All recipes, in a stable order.
const std::vector<Recipe> &getRecipes();

/// The recipe called `name`, or an error listing the known names.
llvm::Expected<Recipe> getRecipe(llvm::StringRef name);

} // namespace lowbit

#endif // LOWBIT_RECIPES_H
