//===- CpuTiling.cpp - tiling helpers of the CPU vectorisation passes -----===//
#include "CpuTiling.h"

#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Interfaces/TilingInterface.h"

using namespace mlir;

int64_t lowbit::detail::largestDivisorAtMost(int64_t bound, int64_t want) {
  for (int64_t t = std::min(bound, want); t > 1; --t)
    if (bound % t == 0)
      return t;
  return 1;
}

LogicalResult lowbit::detail::tileAndVectorizeTiles(
    RewriterBase &rewriter, linalg::LinalgOp op, ArrayRef<int64_t> sizes,
    bool createNamedContraction) {
  scf::SCFTilingOptions options;
  options.setTileSizes(getAsIndexOpFoldResult(op->getContext(), sizes));
  rewriter.setInsertionPoint(op);
  FailureOr<scf::SCFTilingResult> tiled = scf::tileUsingSCF(
      rewriter, cast<TilingInterface>(op.getOperation()), options);
  if (failed(tiled))
    return failure();
  rewriter.replaceOp(op, tiled->replacements);
  for (Operation *tiledOp : tiled->tiledOps) {
    rewriter.setInsertionPoint(tiledOp);
    FailureOr<linalg::VectorizationResult> vectorized =
        linalg::vectorize(rewriter, tiledOp, /*inputVectorSizes=*/{},
                          /*inputScalableVecDims=*/{},
                          /*vectorizeNDExtract=*/false,
                          /*flatten1DDepthwiseConv=*/false,
                          /*assumeDynamicDimsMatchVecSizes=*/false,
                          createNamedContraction);
    if (succeeded(vectorized))
      rewriter.replaceOp(tiledOp, vectorized->replacements);
  }
  return success();
}
