//===- Match.h - matchers for the decomposed graphs the fusions find -*- C++ -*-===//
//
// The importer turns ONNX element-wise ops into tosa ops or into
// linalg.generic ops with one arith/math op in their body (Div, Pow, Sqrt,
// Reciprocal, ReduceMean, ...). The fusion passes match the exported
// decompositions of RMSNorm, LayerNorm, GELU and SiLU on that IR; these
// helpers see both forms of an element-wise op as one `Elementwise` view.
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_PASSES_FUSION_MATCH_H
#define LOWBIT_PASSES_FUSION_MATCH_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/Value.h"
#include "llvm/ADT/SmallVector.h"

#include <optional>

namespace lowbit::fusion {

enum class Kind {
  Add, Sub, Mul, Div, Pow, Erf, Tanh, Sigmoid, Sqrt, Rsqrt, Reciprocal, Neg
};

/// One operand of an element-wise op: a tensor (possibly a splat constant,
/// then `constant` holds its value too) or a scalar constant written inside
/// a linalg.generic body (then `tensor` is null).
struct Operand {
  mlir::Value tensor;
  std::optional<double> constant;
};

/// An element-wise op: a tosa op or a linalg.generic (all loops parallel,
/// identity output map) whose body computes one arith/math op of its inputs
/// and body constants. `x / c` with c = 1 in the body is a Reciprocal.
struct Elementwise {
  Kind kind;
  mlir::Operation *op;
  llvm::SmallVector<Operand, 2> operands;
};

/// A statically shaped tensor of f16, bf16 or f32: what nn ops accept.
bool isNNFloatTensor(mlir::Type t);

/// `v` with tosa.reshape ops looked through.
mlir::Value lookThroughReshape(mlir::Value v);

/// The value of a float constant whose elements are all equal (dense
/// arith.constant or tosa.const), looked through reshapes.
std::optional<double> splatValue(mlir::Value v);

/// True for a constant (arith.constant / tosa.const) looked through reshapes.
bool isConstant(mlir::Value v);

/// `c` is within a relative 1e-4 of `expected`.
bool near(std::optional<double> c, double expected);

std::optional<Elementwise> asElementwise(mlir::Value v);

/// `v` when it is an element-wise op of kind `k`.
std::optional<Elementwise> asKind(mlir::Value v, Kind k);

/// The factors of a product tree rooted at `v`: nested Mul ops whose results
/// have no other use are flattened (the root's own uses do not matter).
llvm::SmallVector<Operand, 4> productFactors(mlir::Value v);

/// `v` is x * x or x ^ 2.
bool isSquareOf(mlir::Value v, mlir::Value x);

/// When `v` is ReduceMean(x, axes = [-1], keepdims = 1) as imported (a sum
/// over the last dimension, a division by its size or a product with its
/// inverse, a reshape keeping the dimension), returns x.
mlir::Value meanOverLastAxis(mlir::Value v);

/// When `v` is sqrt(mean(square(x)) + epsilon) over the last axis (or its
/// centred form with x = d), returns x and sets `epsilon`.
mlir::Value rootMeanSquare(mlir::Value v, double &epsilon);

/// When `v` is 1 / rootMeanSquare(x) (Reciprocal of Sqrt, Rsqrt, or a
/// division of 1 by the Sqrt), returns x and sets `epsilon`.
mlir::Value inverseRootMeanSquare(mlir::Value v, double &epsilon);

/// When `v` is x / rootMeanSquare(x) or x * inverseRootMeanSquare(x),
/// returns x and sets `epsilon`.
mlir::Value normalizedByRms(mlir::Value v, double &epsilon);

/// `v` (looked through reshapes) has N elements laid out along the last
/// dimension only, N the last dimension of `like`: shape [N] or [1, .., N].
bool isLastAxisVector(mlir::Value v, mlir::Value like);

/// That vector as a value of shape [N] (a tosa.reshape when needed).
mlir::Value buildLastAxisVector(mlir::OpBuilder &b, mlir::Location loc,
                                mlir::Value v);

/// Applies one fusion pass's patterns greedily, without folding or constant
/// CSE: a fusion changes only the ops it fuses.
mlir::LogicalResult applyFusionPatterns(mlir::Operation *root,
                                        mlir::RewritePatternSet &&patterns);

} // namespace lowbit::fusion

#endif // LOWBIT_PASSES_FUSION_MATCH_H
