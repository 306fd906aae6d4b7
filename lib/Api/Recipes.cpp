//===- Recipes.cpp - named quantization recipes ---------------------------===//
#include "lowbit/Recipes.h"

#include "llvm/ADT/STLExtras.h"

using namespace lowbit;

namespace {

/// RTN weights (symmetric, `group` 0 = per channel) and, if `act` is non-zero,
/// dynamic `act`-bit activations, lowered to packed weights / integer kernels.
Recipe rtn(const char *name, int weightBits, int group, int act) {
  std::string passes = "quantize-weights{method=rtn bits=" +
                       std::to_string(weightBits) +
                       " group-size=" + std::to_string(group) +
                       " indivisible=per-channel}";
  if (act)
    passes += ", quantize-activations{bits=" + std::to_string(act) + "}";
  passes += ", lower-to-lowbit";
  std::string description =
      "round-to-nearest W" + std::to_string(weightBits) + " " +
      (group ? "in groups of " + std::to_string(group)
             : std::string("per output channel")) +
      (act ? ", dynamic per-token A" + std::to_string(act)
           : std::string(", float activations"));
  return {name, description, "func.func(" + passes + "), canonicalize"};
}

} // namespace

const std::vector<Recipe> &lowbit::getRecipes() {
  static const std::vector<Recipe> recipes = {
      rtn("rtn-w8a8", 8, 0, 8),          rtn("rtn-w6a8", 6, 128, 8),
      rtn("rtn-w6a6", 6, 128, 6),        rtn("rtn-w4a8-g128", 4, 128, 8),
      rtn("rtn-w8a16", 8, 0, 0),         rtn("rtn-w4a16-g128", 4, 128, 0),
      rtn("rtn-w2a16-g64", 2, 64, 0),
  };
  return recipes;
}

llvm::Expected<Recipe> lowbit::getRecipe(llvm::StringRef name) {
  for (const Recipe &r : getRecipes())
    if (r.name == name)
      return r;
  std::string known;
  for (const Recipe &r : getRecipes())
    known += (known.empty() ? "" : ", ") + r.name;
  return llvm::createStringError(
      std::make_error_code(std::errc::invalid_argument),
      "unknown recipe '" + name.str() + "' (known: " + known + ")");
}
