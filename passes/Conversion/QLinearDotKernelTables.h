//===- QLinearDotKernelTables.h - plan and tables of the int8 kernel -*- C++
//-*-===//
//
// What convert-qlinear-to-dot-kernel needs before it emits its loops: whether
// a lowbit.qlinear fits the kernel (its plan), the weights packed into
// 16-column x 4-k int8 blocks with their column sums, the group-major scale
// and zero tables, the column-padded activations and the per-group row sums
// (QLinearToDotKernel.cpp has the identity they serve).
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_PASSES_CONVERSION_QLINEARDOTKERNELTABLES_H
#define LOWBIT_PASSES_CONVERSION_QLINEARDOTKERNELTABLES_H

#include "dialects/LowBit/LowBitDialect.h"
#include "passes/Conversion/KernelLoops.h"

#include "mlir/IR/Builders.h"

#include <string>
#include <vector>

namespace lowbit::dotkernel {

/// Columns per vector (16 x i32 in one 512-bit register) and vectors per
/// column block; k values per 32-bit lane.
constexpr int64_t kLanes = 16, kVectorsPerBlock = 2, kKPerLane = 4;
constexpr int64_t kBlockCols = kLanes * kVectorsPerBlock;

/// The constant weight values of a qlinear and the numbers of the kernel.
struct Plan {
  int64_t m = 0, n = 0, k = 0, groupSize = 0, groups = 0;
  int64_t paddedN = 0, paddedK = 0;
  std::vector<int8_t> w; ///< [N, K] container values (sign/zero extended)
  bool unsignedWeights = false;
  bool hasZero = false;
};

/// Why the kernel cannot take `op` (empty when it can); fills `plan`.
std::string planFor(lb::QLinearOp op, Plan &plan);

/// The tables of the kernel, column-padded to paddedN and group-major.
struct Tables {
  mlir::Value packed; ///< [paddedN/16, paddedK/4, 64] i8 (compile time)
  mlir::Value
      colSums; ///< [G, paddedN] i32: 128 * sum_k w' per group (compile time)
  mlir::Value zeros;  ///< [G, paddedN] i32: z' (null without a zero point)
  mlir::Value scales; ///< [G, paddedN] f32
};

/// Every table of `op`'s kernel: the weights' at compile time, the scales'
/// and zeros' as ops that run with the model.
Tables buildTables(mlir::OpBuilder &b, mlir::Location loc, lb::QLinearOp op,
                   const Plan &p);

/// `acc` + the sum of four u8 x s8 products per 32-bit lane (`u`, `w`:
/// vector<64xi8>, `acc`: vector<16xi32>), in plain vector arithmetic: the
/// one form convert-i8-dot-to-vnni turns into vpdpbusd.
mlir::Value fourByteDot(mlir::OpBuilder &b, mlir::Location loc,
                        mlir::Value acc, mlir::Value u, mlir::Value w);

/// Offsets, sizes and strides of the [rows, cols] corner at (0, 0).
struct Corner {
  llvm::SmallVector<mlir::OpFoldResult> offsets, sizes, strides;
  Corner(mlir::OpBuilder &b, int64_t rows, int64_t cols)
      : offsets{b.getIndexAttr(0), b.getIndexAttr(0)},
        sizes{b.getIndexAttr(rows), b.getIndexAttr(cols)},
        strides{b.getIndexAttr(1), b.getIndexAttr(1)} {}
};

using kernels::indexConst;

/// x with its columns padded to a multiple of 4 with zeros (their weights
/// are 0), or x itself when K is one already: the kernel reads four bytes
/// of a row at a time.
mlir::Value padColumns(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
                       const Plan &p);

/// sum_k x[m, k] per group, [M, G] i32 (for the zero-point term).
mlir::Value rowSums(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
                    const Plan &p);

} // namespace lowbit::dotkernel

#endif // LOWBIT_PASSES_CONVERSION_QLINEARDOTKERNELTABLES_H
