//===- KernelLoops.h - loop nests shared by the CPU kernel passes -*- C++ -*-===//
//
// The kernel passes (convert-{linear-to-gemm,conv-to-direct,
// depthwise-conv-to,qconv-to-direct,qlinear-to-dot}-kernel) build their loop
// nests on tensors from the same pieces: an scf.for carrying the output
// tensor, an scf.forall whose iterations each write their own slice of it,
// and (the convolutions) the register tiles of an output row. One
// definition each, here, with the preconditions the f32 convolution
// kernels share.
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_PASSES_CONVERSION_KERNELLOOPS_H
#define LOWBIT_PASSES_CONVERSION_KERNELLOOPS_H

#include "dialects/NN/NNDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/Pass/Pass.h"

#include <string>

namespace lowbit::kernels {

mlir::Value indexConst(mlir::OpBuilder &b, mlir::Location loc, int64_t v);

/// `a + c` (`a` itself when c is 0).
mlir::Value addIndex(mlir::OpBuilder &b, mlir::Location loc, mlir::Value a,
                     int64_t c);

/// scf.for over [lo, hi) by `step` carrying one value: `body(iv, carried)`
/// builds the next value at `b`'s insertion point inside the loop.
mlir::Value
forLoop(mlir::OpBuilder &b, mlir::Location loc, mlir::Value lo, mlir::Value hi,
        int64_t step, mlir::Value init,
        llvm::function_ref<mlir::Value(mlir::Value, mlir::Value)> body);
mlir::Value
forLoop(mlir::OpBuilder &b, mlir::Location loc, int64_t lo, int64_t hi,
        int64_t step, mlir::Value init,
        llvm::function_ref<mlir::Value(mlir::Value, mlir::Value)> body);

/// scf.forall of `count` iterations over the tensor `shared`: iteration i
/// extracts the slice at `offsets(i)` of static `sizes` (unit strides),
/// `body(i, slice)` computes its new value, and that is inserted back in
/// parallel. The iterations must write disjoint slices.
mlir::Value forallSlices(
    mlir::OpBuilder &b, mlir::Location loc, int64_t count, mlir::Value shared,
    llvm::function_ref<llvm::SmallVector<mlir::OpFoldResult>(mlir::Value)>
        offsets,
    llvm::ArrayRef<int64_t> sizes,
    llvm::function_ref<mlir::Value(mlir::Value, mlir::Value)> body);

/// Every output row of an NCHW convolution result `y` [N, F, OH, OW]:
/// images in order, then rows in order, or, with `parallel`, the rows of
/// an image as the iterations of an scf.forall each writing its own
/// [1, F, 1, OW] slice. `row(n, oh, y, yn, yRow)` builds one row, written
/// into `y` at image `yn` and row `yRow` (n and oh, or 0 and 0 in a slice).
mlir::Value forEachOutputRow(
    mlir::OpBuilder &b, mlir::Location loc, mlir::Value y, bool parallel,
    llvm::function_ref<mlir::Value(mlir::Value, mlir::Value, mlir::Value,
                                   mlir::Value, mlir::Value)>
        row);

/// The register tiles of one output row of a convolution with `filters`
/// filters and `width` output columns: filters in tiles of `filtersPerTile`
/// then one tile of the rest; in each, columns in tiles of
/// `lanes * maxVectors` (in bounds), then one tile of the rest, of as many
/// vectors as it needs and masked unless it fills them. `tile(f0, filters,
/// ow0, vectors, masked, y)` builds one tile and returns the new `y`.
mlir::Value forEachRowTile(
    mlir::OpBuilder &b, mlir::Location loc, int64_t filters,
    int64_t filtersPerTile, int64_t width, int64_t lanes, int64_t maxVectors,
    mlir::Value y,
    llvm::function_ref<mlir::Value(mlir::Value, int64_t, mlir::Value, int64_t,
                                   bool, mlir::Value)>
        tile);

/// The threads options every kernel pass has: emits "`pass`: num-threads
/// must be positive and min-parallel-work not negative" on `op` and returns
/// failure when they are out of range.
mlir::LogicalResult checkThreadOptions(mlir::Operation *op,
                                       llvm::StringRef pass,
                                       int64_t numThreads,
                                       int64_t minParallelWork);

/// Why an f32 convolution kernel cannot take `op` on its types and pads
/// alone (empty when it can): static NCHW shapes, f32 input, filter,
/// result and bias, no negative pads.
std::string whyNotStaticF32Conv(nn::Conv2DOp op);

} // namespace lowbit::kernels

#endif // LOWBIT_PASSES_CONVERSION_KERNELLOOPS_H
