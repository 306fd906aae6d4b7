//===- Recipes.h - named quantization recipes -------------------*- C++ -*-===//
//
// A recipe is a documented pass pipeline with a name, e.g. "rtn-w4a16-g128".
// Today's recipes are the round-to-nearest family (no calibration); the
// paper recipes (flexq-*, smoothquant*, mergequant-*, quest-*, gptq-*,
// decoupleq-*) join them with the calibrate pass.
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
};

/// All recipes, in a stable order.
const std::vector<Recipe> &getRecipes();

/// The recipe called `name`, or an error listing the known names.
llvm::Expected<Recipe> getRecipe(llvm::StringRef name);

} // namespace lowbit

#endif // LOWBIT_RECIPES_H
