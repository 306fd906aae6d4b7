// Problems the CUDA kernels do not take are diagnosed on the op; bad options
// are named. Nothing else in a module is touched.
// RUN: not lowbit-cuda-emit --from-mlir=%s 2>&1 | FileCheck %s
// RUN: not lowbit-cuda-emit --from-mlir=%s --arch=sm_75 2>&1 | FileCheck %s --check-prefix=ARCH
// RUN: not lowbit-cuda-emit --from-mlir=%s --tuning=%t.missing 2>&1 | FileCheck %s --check-prefix=TABLE
// RUN: lowbit-cuda-emit --from-mlir=%S/Inputs/no-qlinear.mlir | FileCheck %s --check-prefix=NONE

// CHECK: error: 'lowbit.qlinear' op has no CUDA kernel: unpack kernel needs K to be a multiple of 32, got K=48
// ARCH: error: --arch must be sm_80, sm_86, sm_90a or all, got 'sm_75'
// TABLE: error: cannot read tuning table {{.*}}.missing
// NONE: // 0 lowbit.qlinear op(s), sm_80
// NONE-NOT: __global__
func.func @odd_k(%x: tensor<2x48xi8>, %xs: tensor<2x1xf32>, %w: !lowbit.packed<8x48xi4, int4_nibbles>, %ws: tensor<8x1xf32>) -> tensor<2x8xf32> {
  %0 = lowbit.qlinear %x, %xs, %w, %ws {a_bits = 8 : i64, w_bits = 4 : i64, group_size = 48 : i64} : (tensor<2x48xi8>, tensor<2x1xf32>, !lowbit.packed<8x48xi4, int4_nibbles>, tensor<8x1xf32>) -> tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
}
