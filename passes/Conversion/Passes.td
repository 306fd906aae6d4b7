//===- Passes.td - lowbit conversion passes ----------------*- tablegen -*-===//
#ifndef LOWBIT_CONVERSION_PASSES
#define LOWBIT_CONVERSION_PASSES

include "mlir/Pass/PassBase.td"

def ConvertNNToLinalgPass : Pass<"convert-nn-to-linalg", "::mlir::func::FuncOp"> {
  let summary = "Lower nn ops to linalg, tensor and tosa for the CPU path";
  let description = [{
    Rewrites every `nn` op into upstream ops that the CPU pipeline lowers
    further: `nn.linear`, `nn.matmul` and `nn.conv2d` become linalg
    contractions and convolutions (bias folded into the accumulator's initial
    value); `nn.layer_norm` and `nn.softmax` become tosa reductions and
    element-wise ops. An nn op left unconverted is an error.
  }];
  let dependentDialects = [
    "::mlir::linalg::LinalgDialect", "::mlir::tensor::TensorDialect",
    "::mlir::tosa::TosaDialect", "::mlir::arith::ArithDialect"
  ];
}

def ExpandStridedCopiesPass : Pass<"lowbit-expand-strided-copies", "::mlir::func::FuncOp"> {
  let summary = "Turn memref.copy between non-contiguous buffers into linalg.copy";
  let description = [{
    The LLVM lowering turns a `memref.copy` between two identity-layout
    buffers into `llvm.memcpy`, but any other copy into a call to the
    `memrefCopy` runtime helper. lowbit's CPU path runs without that helper
    library, so this pass rewrites such copies into loops: a static copy
    whose rows (innermost dimension, at least half a 512-bit vector long)
    are contiguous on both sides into loops over the outer dimensions with
    vector transfers along each row (full vectors, then one masked tail);
    any other into `linalg.copy`, which `convert-linalg-to-loops` turns
    into element loops.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::vector::VectorDialect",
                           "::mlir::arith::ArithDialect"];
}

def ConvertLowBitToLinalgPass : Pass<"convert-lowbit-to-linalg", "::mlir::func::FuncOp"> {
  let summary = "Lower lowbit ops to linalg, tensor, arith and math on tensors";
  let description = [{
    Rewrites every `lowbit` op into `linalg.generic` ops on tensors with the
    exact integer semantics of the dialect (the numerics and bit order of
    LowBitDialect.td, bit for bit the same as lib/Numerics):

    * `!lowbit.packed<D0x...xK x E, layout>` becomes
      `tensor<D0x...x ROW_BYTES x i8>` and a tensor of `!quant` (or `uiB`)
      elements a tensor of their signless storage integer type (function
      signatures included);
    * `lowbit.packed_constant` becomes an `arith.constant` of its bytes;
      `lowbit.pack` / `lowbit.unpack` become generics that shift and mask
      the bit fields of each layout (int2_crumbs, int4_nibbles,
      int6_planes, int8_bytes, bit_planes; unpacked values are sign-extended
      for signed storage);
    * `lowbit.dequantize_weight` reads its scale / zero tables through
      `k floordiv group_size` maps;
    * `lowbit.quantize_dynamic` is a per-row absmax reduction followed by
      `clamp(math.roundeven(x / scale))` with the division in f32, and
      `lowbit.dequantize_dynamic` is `float(q) * scale`;
    * `lowbit.qlinear` accumulates `x_q * (w_q - zero)` per group in i32 in
      one generic over (m, n, g, kk), then sums
      `(float(acc) * x_scale) * w_scale` over the groups in f32 in
      increasing group order and adds the bias;
    * `lowbit.quantize` / `lowbit.dequantize` with per-tensor, per-axis or
      sub-channel `!quant.uniform` types clamp to the storage range of the
      type.

    An op the pass cannot lower (a non-uniform quant type, dynamically
    shaped tensors) makes the pass fail with an error at that op.
  }];
  let dependentDialects = [
    "::mlir::linalg::LinalgDialect", "::mlir::tensor::TensorDialect",
    "::mlir::arith::ArithDialect", "::mlir::math::MathDialect"
  ];
}

def ConvertQLinearToDotKernelPass : Pass<"convert-qlinear-to-dot-kernel", "::mlir::func::FuncOp"> {
  let summary = "Run lowbit.qlinear with constant weights as a register-blocked int8 dot-product kernel";
  let description = [{
    Replaces every `lowbit.qlinear` whose weight is a compile-time constant
    (at most 8-bit weights and activations; groups a multiple of 4 wide, or
    one group) by a register-blocked kernel of scf
    loops and vector ops: weights repacked at compile time into 16-column x
    4-k blocks of int8 (unsigned containers shifted by -128), activations
    shifted to unsigned bytes as they are read (x xor 0x80), and per 32-bit lane
    the sum of four u8 x s8 products, written as a `vector.multi_reduction`
    that any CPU runs and that `convert-i8-dot-to-vnni` turns into AVX-512
    VNNI's `vpdpbusd`. The scale and zero tables may be run-time values
    (the CPU runner passes large constants as arguments): they are
    transposed to group-major, column-padded tables once per call. The
    column sums that undo the shift and the zero-point term are exact i32
    arithmetic and the dequantization runs in the
    reference's order, so the result is bit for bit that of
    `convert-lowbit-to-linalg`'s lowering. Any other qlinear is left to that
    lowering (or, with `require-kernel`, is an error naming the reason).
  }];
  let options = [
    Option<"rowsPerTile", "rows-per-tile", "int64_t", /*default=*/"4",
           "rows of the register tile (1..8); the tile is 32 columns wide">,
    Option<"requireKernel", "require-kernel", "bool", /*default=*/"false",
           "fail on a qlinear the kernel cannot take instead of leaving it">,
    Option<"numThreads", "num-threads", "int64_t", /*default=*/"1",
           "above 1: the column blocks of large products become an "
           "scf.forall (run as async tasks by lowbit-cpu-async-parallel)">,
    Option<"minParallelWork", "min-parallel-work", "int64_t",
           /*default=*/"262144",
           "products with fewer multiply-adds (M x N x K) stay sequential">,
  ];
  let dependentDialects = [
    "::mlir::linalg::LinalgDialect", "::mlir::tensor::TensorDialect",
    "::mlir::arith::ArithDialect", "::mlir::scf::SCFDialect",
    "::mlir::vector::VectorDialect"
  ];
}

def ConvertLinearToGemmKernelPass : Pass<"convert-linear-to-gemm-kernel", "::mlir::func::FuncOp"> {
  let summary = "Run f32 nn.linear with a constant weight as a packed, register-blocked GEMM kernel";
  let description = [{
    Replaces every f32 `nn.linear` whose weight is a compile-time constant by
    a register-blocked kernel of scf loops and vector ops, on the weight
    packed at compile time into panels of 32 columns
    (`packed[nb, k, j] = w[32 nb + j, k]`, N padded with zeros) held in a
    dense_resource constant. Per panel and tile of `rows-per-tile` rows the
    kernel keeps rows x 32 accumulators in registers, starting from the bias;
    each k step loads the panel's row k once and adds the broadcast
    `x[m, k]` times it with one `vector.fma` per vector, in increasing k.
    When all rows fit one tile (a decode step), a tile covers up to four
    consecutive panels, so that more accumulator chains and weight streams
    run at once.
    A weight from `lowbit.dequantize_weight` of a constant integer part
    keeps that part (one byte per value, same panels) and is dequantized in
    registers group by group by the reference's formula; constant scale and
    zero tables are transposed to [groups, N] at compile time.
    Any other nn.linear is left to `convert-nn-to-linalg` (or,
    with `require-kernel`, is an error naming the reason).
  }];
  let options = [
    Option<"rowsPerTile", "rows-per-tile", "int64_t", /*default=*/"8",
           "rows of the register tile (1..12); the tile is 32 columns wide "
           "(up to 128 when all rows fit one tile)">,
    Option<"quantizedWeights", "quantized-weights", "bool", /*default=*/"true",
           "also take weights from lowbit.dequantize_weight (false: leave "
           "them to the reference lowering)">,
    Option<"requireKernel", "require-kernel", "bool", /*default=*/"false",
           "fail on an nn.linear the kernel cannot take instead of leaving it">,
    Option<"numThreads", "num-threads", "int64_t", /*default=*/"1",
           "above 1: the panels of large products become an scf.forall "
           "(run as async tasks by lowbit-cpu-async-parallel)">,
    Option<"minParallelWork", "min-parallel-work", "int64_t",
           /*default=*/"262144",
           "products with fewer multiply-adds (M x N x K) stay sequential">,
  ];
  let dependentDialects = [
    "::mlir::tensor::TensorDialect", "::mlir::arith::ArithDialect",
    "::mlir::scf::SCFDialect", "::mlir::vector::VectorDialect"
  ];
}

def ConvertConvToDirectKernelPass : Pass<"convert-conv-to-direct-kernel", "::mlir::func::FuncOp"> {
  let summary = "Run f32 stride-1 nn.conv2d with a constant filter as a direct, register-blocked convolution (no im2col)";
  let description = [{
    Replaces every f32 `nn.conv2d` with groups = 1, strides and dilations 1
    and a compile-time constant filter by a direct convolution of scf loops
    and vector ops: the filter transposed at compile time to
    `[C * KH * KW, F]` in a dense_resource constant, the input zero-padded
    once (only if the op pads), and per image, output row and tile of
    `filters-per-tile` filters x 32 output columns (the row's last tile 16
    or 32 wide, masked at its end) accumulators that start from the bias and
    take one `vector.fma` per filter and vector at each (c, kh, kw) step, in
    the order of `linalg.conv_2d_nchw_fchw`'s loops. No im2col buffer. A
    weight-only filter (a reshaped `lowbit.dequantize_weight` of a constant
    integer part) is dequantized once per call into that layout by the
    reference's formula.
    Any other nn.conv2d is left to `convert-nn-to-linalg` (or, with
    `require-kernel`, is an error naming the reason).
  }];
  let options = [
    Option<"filtersPerTile", "filters-per-tile", "int64_t", /*default=*/"8",
           "filters of the register tile (1..12); the tile is 32 output "
           "columns wide">,
    Option<"quantizedWeights", "quantized-weights", "bool", /*default=*/"true",
           "also take filters from lowbit.dequantize_weight, dequantized "
           "with the model (false: leave them to the reference lowering)">,
    Option<"requireKernel", "require-kernel", "bool", /*default=*/"false",
           "fail on an nn.conv2d the kernel cannot take instead of leaving it">,
    Option<"numThreads", "num-threads", "int64_t", /*default=*/"1",
           "above 1: the output rows of large convolutions become an "
           "scf.forall (run as async tasks by lowbit-cpu-async-parallel)">,
    Option<"minParallelWork", "min-parallel-work", "int64_t",
           /*default=*/"262144",
           "convolutions with fewer multiply-adds stay sequential">,
  ];
  let dependentDialects = [
    "::mlir::tensor::TensorDialect", "::mlir::arith::ArithDialect",
    "::mlir::scf::SCFDialect", "::mlir::vector::VectorDialect"
  ];
}

def ConvertQConvToDirectKernelPass : Pass<"convert-qconv-to-direct-kernel", "::mlir::func::FuncOp"> {
  let summary = "Run quantized stride-1 convolutions (im2col + lowbit.qlinear + transpose) as a direct int8 kernel";
  let description = [{
    Recognises the form lower-to-lowbit gives a quantized convolution (an
    int8 im2col gather, a `lowbit.qlinear` on the patches, a reshape and a
    transpose to NCHW) for stride 1 and dilation 1 (the gather's map is
    rebuilt and compared), one weight group per filter, symmetric signed
    weights of at most 8 bits, at most 8-bit activations with a per-tensor
    scale, and a compile-time constant weight. It is replaced by a direct
    convolution with no im2col that writes NCHW: the padded int8 input
    interleaved once (four channels per pixel, shifted to unsigned bytes),
    the weights packed at compile time as one i32 of four bytes per
    (c4, kh, kw) and filter with their column sums, and per output row and
    tile of `filters-per-tile` filters x 32 columns the four-byte u8 x s8 dot
    products of `convert-qlinear-to-dot-kernel` (which
    `convert-i8-dot-to-vnni` turns into vpdpbusd), then the reference's
    dequantization in its order: bit for bit the reference's result.
    Anything else is left as it is.
  }];
  let options = [
    Option<"filtersPerTile", "filters-per-tile", "int64_t", /*default=*/"8",
           "filters of the register tile (1..8); the tile is 32 output "
           "columns wide">,
    Option<"numThreads", "num-threads", "int64_t", /*default=*/"1",
           "above 1: the output rows of large convolutions become an "
           "scf.forall (run as async tasks by lowbit-cpu-async-parallel)">,
    Option<"minParallelWork", "min-parallel-work", "int64_t",
           /*default=*/"262144",
           "convolutions with fewer multiply-adds stay sequential">,
  ];
  let dependentDialects = [
    "::mlir::linalg::LinalgDialect", "::mlir::tensor::TensorDialect",
    "::mlir::arith::ArithDialect", "::mlir::scf::SCFDialect",
    "::mlir::vector::VectorDialect"
  ];
}

def ConvertDepthwiseConvToKernelPass : Pass<"convert-depthwise-conv-to-kernel", "::mlir::func::FuncOp"> {
  let summary = "Run f32 depthwise nn.conv2d as vector code along the output rows";
  let description = [{
    Replaces every f32 depthwise `nn.conv2d` (groups = C = F) with a
    horizontal stride and dilations of 1 (any vertical stride) by vector
    code (the filter, tiny, is read tap by tap and may be a run-time value,
    such as a dequantized weight-only filter): per image, channel and
    output row, tiles of up to 64 output columns (the row's last tile masked)
    whose accumulators start from the bias and take one `vector.fma` of the
    broadcast tap and the input row segment per tap, taps in (kh, kw) order.
    The input is zero-padded once (only if the op pads). Any other
    nn.conv2d is left to `convert-nn-to-linalg` (or, with `require-kernel`,
    is an error naming the reason).
  }];
  let options = [
    Option<"requireKernel", "require-kernel", "bool", /*default=*/"false",
           "fail on an nn.conv2d the kernel cannot take instead of leaving it">,
    Option<"numThreads", "num-threads", "int64_t", /*default=*/"1",
           "above 1: the channels of large convolutions become an "
           "scf.forall (run as async tasks by lowbit-cpu-async-parallel)">,
    Option<"minParallelWork", "min-parallel-work", "int64_t",
           /*default=*/"262144",
           "convolutions with fewer multiply-adds stay sequential">,
  ];
  let dependentDialects = [
    "::mlir::tensor::TensorDialect", "::mlir::arith::ArithDialect",
    "::mlir::scf::SCFDialect", "::mlir::vector::VectorDialect"
  ];
}

def ConvertI8DotToVnniPass : Pass<"convert-i8-dot-to-vnni", "::mlir::func::FuncOp"> {
  let summary = "Turn four-wide u8 x s8 dot products into AVX-512 VNNI vpdpbusd";
  let description = [{
    Rewrites `vector.multi_reduction <add>` of a `vector<16x4xi32>` that is
    `shape_cast(muli(extui(a), extsi(b)))` of two `vector<64xi8>`, with a
    `vector<16xi32>` accumulator, into `llvm.call_intrinsic
    "llvm.x86.avx512.vpdpbusd.512"`, which computes exactly that (with i32
    wrap-around). Runs after bufferization: the buffer deallocation passes
    reject the intrinsic call, whose memory effects they cannot see. Any
    other reduction is left alone. Needs a CPU with AVX-512 VNNI.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

#endif // LOWBIT_CONVERSION_PASSES
