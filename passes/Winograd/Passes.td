//===- Passes.td - lowbit Winograd passes ------------------*- tablegen -*-===//
#ifndef LOWBIT_WINOGRAD_PASSES
#define LOWBIT_WINOGRAD_PASSES

include "mlir/Pass/PassBase.td"

def WinogradPass : Pass<"winograd", "::mlir::func::FuncOp"> {
  let summary = "Rewrite 3x3 and 5x5 stride-1 nn.conv2d into Winograd F(m, r)";
  let description = [{
    Each `nn.conv2d` with stride 1, dilation 1, groups 1, a square r x r
    filter with r = 3 or 5 and a constant f32 filter becomes

        V = lowbit.winograd_input_transform(pad(x))      [n, n, tiles, C]
        U = constant G g Gᵀ (folded at compile time)      [n, n, C, F]
        M = linalg.batch_matmul(V, U)                     [n*n, tiles, F]
        y = lowbit.winograd_output_transform(M)           [N, F, th*m, tw*m]

    followed by a slice to the convolution's output size (the last row and
    column of tiles are padded with zeros) and the bias. n = m + r - 1.
    The transforms are the exact rational Toom-Cook matrices of
    lib/Numerics/Winograd.h on the chosen finite points plus infinity.

    `points` picks them: `standard` (0, ±1, ±2, ...), `nova` (NOVA's
    published sets, r = 3 only), `ours` (lowbit's searched sets), or an
    explicit list of the n - 1 distinct finite points as integers or
    fractions, e.g. `points=0,1,-1,2,-2` or `points=0,1,-1,2,-2,1/2,-1/2`.
    `precision=f16` emulates an fp16 implementation: inputs, transformed
    inputs, the transformed filter, the products and the outputs are
    rounded to f16 (arithmetic stays f32).

    Left alone: strides or dilations other than 1, grouped or depthwise
    convolutions, other filter sizes, non-constant filters, and layers whose
    name does not match `only`. A bad option (m < 1, an unknown point set, a
    list that does not parse, has repeated points, or the wrong number of
    points for a layer; a point set with no entry for F(m, r)) is an error
    naming the option.
  }];
  let options = [
    Option<"m", "m", "int64_t", "4",
           "output tile size m of F(m, r) (n = m + r - 1 points)">,
    Option<"points", "points", "std::string", "\"standard\"",
           "standard | nova | ours | explicit list of n - 1 finite points "
           "(\"0,1,-1,1/2,-1/2\")">,
    Option<"precision", "precision", "std::string", "\"f32\"",
           "f32 | f16 (round the transformed values to f16)">,
    Option<"balanced", "balanced", "bool", "true",
           "balance the transforms with per-point diagonal scaling">,
    Option<"only", "only", "std::string", "\"\"",
           "rewrite only layers whose name matches this glob">,
  ];
  let dependentDialects = ["::lowbit::lb::LowBitDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::tosa::TosaDialect"];
}

#endif // LOWBIT_WINOGRAD_PASSES
