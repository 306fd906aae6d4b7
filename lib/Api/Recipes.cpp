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

/// A recipe whose function passes read the calibration sidecar (at
/// kRecipeStatsPlaceholder).
Recipe calibrated(std::string name, const std::string &description,
                  const std::string &passes) {
  return {std::move(name), description + " (needs calibration data)",
          "func.func(" + passes + "), canonicalize", /*needsCalibration=*/true};
}

/// GPTQ / decoupleQ weights from the calibrated layer Hessians, weight-only.
Recipe hessianBased(const char *name, const char *method, int weightBits,
                    int group) {
  return calibrated(
      name,
      std::string(method) + " W" + std::to_string(weightBits) +
          " in groups of " + std::to_string(group) +
          " from calibrated layer Hessians, float activations",
      std::string("quantize-weights{method=") + method +
          " bits=" + std::to_string(weightBits) +
          " group-size=" + std::to_string(group) +
          " indivisible=per-channel hessians=" + kRecipeStatsPlaceholder +
          "}, lower-to-lowbit");
}

/// RTN weights per channel and static per-tensor activations whose scales
/// come from the calibrated max |x|.
Recipe rtnStatic(const char *name, int weightBits, int act) {
  return calibrated(
      name,
      "round-to-nearest W" + std::to_string(weightBits) +
          " per output channel, static per-tensor A" + std::to_string(act) +
          " from calibrated max |x|",
      "quantize-weights{method=rtn bits=" + std::to_string(weightBits) +
          " group-size=0}, quantize-activations{bits=" + std::to_string(act) +
          " mode=static stats=" + kRecipeStatsPlaceholder +
          "}, lower-to-lowbit");
}

/// SmoothQuant (alpha 0.5) + RTN W`bits` (per channel at 8 bits, groups of
/// 128 below) + dynamic per-token A`bits`.
Recipe smoothQuant(const char *name, int bits) {
  int group = bits == 8 ? 0 : 128;
  return calibrated(
      name,
      "SmoothQuant alpha=0.5 from calibrated max |x|, RTN W" +
          std::to_string(bits) + " " +
          (group ? "in groups of 128" : std::string("per output channel")) +
          ", dynamic per-token A" + std::to_string(bits),
      std::string("smooth{alpha=0.5 stats=") + kRecipeStatsPlaceholder +
          "}, quantize-weights{method=rtn bits=" + std::to_string(bits) +
          " group-size=" + std::to_string(group) +
          (group ? " indivisible=per-channel" : "") +
          "}, quantize-activations{bits=" + std::to_string(bits) +
          "}, lower-to-lowbit");
}

/// SmoothQuant+: alpha per layer group by the calibrated Hessian loss of the
/// W4 g128 RTN weights, then those weights; float activations.
Recipe smoothQuantPlusW4() {
  return calibrated(
      "smoothquant+-w4a16-g128",
      "SmoothQuant+ (alpha per layer group from 0, 0.25, .., 1 by the "
      "calibrated Hessian loss), RTN W4 in groups of 128, float activations",
      std::string("smooth{search=true bits=4 group-size=128 "
                  "alphas=0,0.25,0.5,0.75,1 stats=") +
          kRecipeStatsPlaceholder +
          "}, quantize-weights{method=rtn bits=4 group-size=128 "
          "indivisible=per-channel}, lower-to-lowbit");
}

/// FlexQ W6 (RTN, groups of 128 along K) with dynamic per-token A6 on the
/// layers the sensitivity pass ranks lowest and A8 on the top `budget` of
/// them, measured on the calibration samples (docs/flexq.md).
Recipe flexqMixed() {
  return calibrated(
      "flexq-w6a8-mixed",
      "FlexQ: RTN W6 in groups of 128, A8 on the 25% of linear and conv "
      "layers with the largest measured A6 output error, A6 elsewhere "
      "(dynamic: per token for linears, per tensor for convs)",
      std::string("sensitivity{weight-bits=6 group-size=128 budget=0.25 "
                  "stats=") +
          kRecipeStatsPlaceholder +
          "}, quantize-weights{method=rtn bits=6 group-size=128 "
          "indivisible=per-channel}, quantize-activations{bits=6}, "
          "lower-to-lowbit");
}

/// MergeQuant W4A4 (docs/mergequant.md): norms fused, static per-channel A4
/// steps (clipping searched per channel) migrated into the norms' gamma and
/// the consuming weights, RTN W4 in groups of 128 (per channel where 128
/// does not divide K), the other linears' inputs dynamic per-token A4.
Recipe mergeQuantW4A4() {
  return calibrated(
      "mergequant-w4a4",
      "MergeQuant: static per-channel A4 steps (clip-searched) migrated into "
      "the rms_norm/layer_norm gamma and the weights, RTN W4 in groups of "
      "128, dynamic per-token A4 on the linears not fed by a norm",
      std::string("fuse-layer-norm, fuse-rms-norm, migrate-quant-steps{bits=4 "
                  "clip-search=true stats=") +
          kRecipeStatsPlaceholder +
          "}, quantize-weights{method=rtn bits=4 group-size=128 "
          "indivisible=per-channel}, quantize-activations{bits=4}, "
          "lower-to-lowbit");
}

/// QuEST W4A4 (docs/quest.md): block-128 Hadamard rotation folded into the
/// weights with an online fast Walsh-Hadamard transform, Gaussian-MSE W4
/// scales per channel, and per-token A4 clipped at the Gaussian-MSE multiple
/// of each token's rms (`gaussianActs`) or at its max |x|.
Recipe quest(const char *name, bool gaussianActs) {
  std::string passes =
      std::string("hadamard-rotate{block=128}, quantize-weights{method="
                  "gaussian-mse bits=4 group-size=0}, quantize-activations{"
                  "bits=4") +
      (gaussianActs ? " scale=gaussian-mse" : "") + "}, lower-to-lowbit";
  std::string description =
      std::string("QuEST: Hadamard rotation (block 128), Gaussian-MSE W4 per "
                  "output channel, dynamic per-token A4 ") +
      (gaussianActs ? "clipped at the Gaussian-MSE multiple of the token rms"
                    : "at max |x| (the better PTQ variant, docs/quest.md)");
  return {name, description, "func.func(" + passes + "), canonicalize"};
}

} // namespace

llvm::Expected<std::string> lowbit::instantiateRecipe(const Recipe &recipe,
                                                      llvm::StringRef statsPath) {
  if (!recipe.needsCalibration) {
    if (!statsPath.empty())
      return llvm::createStringError(
          std::make_error_code(std::errc::invalid_argument),
          "recipe '" + recipe.name + "' takes no calibration data");
    return recipe.pipeline;
  }
  if (statsPath.empty())
    return llvm::createStringError(
        std::make_error_code(std::errc::invalid_argument),
        "recipe '" + recipe.name +
            "' needs calibration data (lowbit-run --calibrate FILE.npz, or "
            "lowbit.quantize(..., calibration=[{input: array}, ...]))");
  if (statsPath.find_first_of(" ,{}") != llvm::StringRef::npos)
    return llvm::createStringError(
        std::make_error_code(std::errc::invalid_argument),
        "statistics path '" + statsPath.str() +
            "' cannot go into a pass option (no spaces, commas or braces)");
  std::string pipeline = recipe.pipeline;
  std::string placeholder = kRecipeStatsPlaceholder;
  for (size_t at = pipeline.find(placeholder); at != std::string::npos;
       at = pipeline.find(placeholder, at + statsPath.size()))
    pipeline.replace(at, placeholder.size(), statsPath.str());
  return pipeline;
}

const std::vector<Recipe> &lowbit::getRecipes() {
  static const std::vector<Recipe> recipes = {
      rtn("rtn-w8a8", 8, 0, 8),          rtn("rtn-w6a8", 6, 128, 8),
      rtn("rtn-w6a6", 6, 128, 6),        rtn("rtn-w4a8-g128", 4, 128, 8),
      rtn("rtn-w8a16", 8, 0, 0),         rtn("rtn-w4a16-g128", 4, 128, 0),
      rtn("rtn-w2a16-g64", 2, 64, 0),
      hessianBased("gptq-w4a16-g128", "gptq", 4, 128),
      hessianBased("decoupleq-w2a16-g64", "decoupleq", 2, 64),
      rtnStatic("rtn-w8a8-static", 8, 8),
      smoothQuant("smoothquant-w8a8", 8),
      smoothQuant("smoothquant-w6a6", 6),
      smoothQuantPlusW4(),
      rtn("flexq-w6a6", 6, 128, 6),
      flexqMixed(),
      rtnStatic("rtn-w4a4-static", 4, 4),
      rtn("rtn-w4a4-g128", 4, 128, 4),
      quest("quest-w4a4", /*gaussianActs=*/true),
      quest("quest-w4a4-absmax", /*gaussianActs=*/false),
      mergeQuantW4A4(),
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
