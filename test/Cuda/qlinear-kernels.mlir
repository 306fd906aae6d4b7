// The CUDA kernel lowbit picks for each lowbit.qlinear (path and tiles from
// the tuning table or the heuristic), and the CUDA C++ emitted for it.
// RUN: lowbit-cuda-emit --from-mlir=%s --arch=sm_80 | FileCheck %s
// RUN: lowbit-cuda-emit --from-mlir=%s --arch=sm_90a | FileCheck %s --check-prefix=H100
// A tuning table entry overrides the heuristic for its (gpu, bits, M, N, K):
// RUN: echo "My_GPU 4 8 1 64 256 bitserial 1 2 1 1 1" > %t.table
// RUN: lowbit-cuda-emit --from-mlir=%s --arch=sm_80 --gpu-name="My GPU" --tuning=%t.table | FileCheck %s --check-prefix=TABLE

// Decode (M = 1, memory-bound): unpack path, decode tiles, f32 output of qlinear.
// CHECK: M=1 N=64 K=256 G=128 W4A8 -> lowbit_qgemm_unpack_w4a8_s_t1x4x1x2_st2_f32 (weights int4_nibbles)
// TABLE: M=1 N=64 K=256 G=128 W4A8 -> lowbit_qgemm_bitserial_w4a8_s_t1x2x1x1_st1_f32 (weights int4_nibbles, repacked to bit_planes)
func.func @decode(%x: tensor<1x256xi8>, %xs: tensor<1x1xf32>, %w: !lowbit.packed<64x256xi4, int4_nibbles>, %ws: tensor<64x2xf32>) -> tensor<1x64xf32> {
  %0 = lowbit.qlinear %x, %xs, %w, %ws {a_bits = 8 : i64, w_bits = 4 : i64, group_size = 128 : i64} : (tensor<1x256xi8>, tensor<1x1xf32>, !lowbit.packed<64x256xi4, int4_nibbles>, tensor<64x2xf32>) -> tensor<1x64xf32>
  return %0 : tensor<1x64xf32>
}

// Prefill W2A8 from bit planes: bit-serial on sm_80; on sm_90a the int8
// tensor cores (unpack), the weight repacked to crumbs.
// CHECK: M=64 N=32 K=512 G=128 W2A8 -> lowbit_qgemm_bitserial_w2a8_s_t2x2x2x2_st1_f32 (weights bit_planes)
// H100: M=64 N=32 K=512 G=128 W2A8 -> lowbit_qgemm_unpack_w2a8_s_t2x2x2x2_st1_f32 (weights bit_planes, repacked to int2_crumbs)
func.func @prefill(%x: tensor<64x512xi8>, %xs: tensor<64x1xf32>, %w: !lowbit.packed<32x512xi2, bit_planes>, %ws: tensor<32x4xf32>) -> tensor<64x32xf32> {
  %0 = lowbit.qlinear %x, %xs, %w, %ws {a_bits = 8 : i64, w_bits = 2 : i64, group_size = 128 : i64} : (tensor<64x512xi8>, tensor<64x1xf32>, !lowbit.packed<32x512xi2, bit_planes>, tensor<32x4xf32>) -> tensor<64x32xf32>
  return %0 : tensor<64x32xf32>
}

// Unsigned INT6 weights with zero points and a bias: unpack (bit-serial needs
// signed weights); group 32 allows only one stage.
// CHECK: M=3 N=16 K=64 G=32 W6A6 -> lowbit_qgemm_unpack_w6a6_u_t1x4x1x2_st1_f32_bias (weights int6_planes)
func.func @zero_bias(%x: tensor<3x64xi8>, %xs: tensor<3x1xf32>, %w: !lowbit.packed<16x64xui6, int6_planes>, %ws: tensor<16x2xf32>, %wz: tensor<16x2xf32>, %b: tensor<16xf32>) -> tensor<3x16xf32> {
  %0 = lowbit.qlinear %x, %xs, %w, %ws zero %wz bias %b {a_bits = 6 : i64, w_bits = 6 : i64, group_size = 32 : i64} : (tensor<3x64xi8>, tensor<3x1xf32>, !lowbit.packed<16x64xui6, int6_planes>, tensor<16x2xf32>, tensor<16x2xf32>, tensor<16xf32>) -> tensor<3x16xf32>
  return %0 : tensor<3x16xf32>
}

// i8 containers (not packed): read as int8_bytes.
// CHECK: M=2 N=8 K=32 G=32 W8A8 -> lowbit_qgemm_unpack_w8a8_s_t1x4x1x2_st1_f32 (weights int8_bytes)
func.func @containers(%x: tensor<2x32xi8>, %xs: tensor<2x1xf32>, %w: tensor<8x32xi8>, %ws: tensor<8x1xf32>) -> tensor<2x8xf32> {
  %0 = lowbit.qlinear %x, %xs, %w, %ws {a_bits = 8 : i64, w_bits = 8 : i64, group_size = 32 : i64} : (tensor<2x32xi8>, tensor<2x1xf32>, tensor<8x32xi8>, tensor<8x1xf32>) -> tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
}

// CHECK: // 4 lowbit.qlinear op(s), sm_80
// The emitted CUDA C++: the shared device code, then one entry per kernel
// and the activation plane kernel of the bit-serial path.
// CHECK: namespace lbk {
// CHECK: mma.sync.aligned.m8n8k128.row.col.s32.b1.b1.s32.and.popc
// CHECK-DAG: extern "C" __global__ void __launch_bounds__(128) lowbit_qgemm_unpack_w4a8_s_t1x4x1x2_st2_f32(lbk::GemmParams p)
// CHECK-DAG: extern "C" __global__ void __launch_bounds__(256) lowbit_xplanes_a8(
// CHECK-DAG: lbk::gemm_bitserial_warp<1, 8, 2, 2, 2, 1, false, false>(p, row0, col0);
// CHECK-DAG: lbk::gemm_unpack_s8_warp<1, lbk::kInt6, false, 1, 2, 1, false, true>(p, row0, col0);
// H100: // 4 lowbit.qlinear op(s), sm_90a
// H100-NOT: lowbit_xplanes_a8(
