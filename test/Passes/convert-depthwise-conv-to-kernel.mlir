// convert-depthwise-conv-to-kernel: an f32 depthwise nn.conv2d (groups = C =
// F) with a horizontal stride of 1 becomes vector code along the output
// rows: the input padded once, per image, channel and output row tiles of up
// to 64 columns (4 vectors; the row's last tile masked) whose accumulators
// start from the bias, one vector.fma per tap and vector with the tap
// broadcast. A vertical stride only changes the input row. With num-threads
// above 1 the channels are an scf.forall. A horizontal stride, a dense
// convolution or a channel multiplier is left to convert-nn-to-linalg.

// RUN: lowbit-opt %s --split-input-file \
// RUN:   --pass-pipeline='builtin.module(func.func(convert-depthwise-conv-to-kernel))' \
// RUN:   | FileCheck %s
// RUN: lowbit-opt %s --split-input-file \
// RUN:   --pass-pipeline='builtin.module(func.func(convert-depthwise-conv-to-kernel{num-threads=2 min-parallel-work=0}))' \
// RUN:   | FileCheck %s --check-prefix=PAR

// 3x3, pad 1, vertical stride 2: output 2 x 70 = one tile of 64 (in bounds)
// and one masked tile of 6 columns.
// CHECK-LABEL: func.func @depthwise
// CHECK: %[[X:.*]] = tensor.pad %arg0 low[0, 0, 1, 1] high[0, 0, 1, 1]
// CHECK: } : tensor<1x3x4x70xf32> to tensor<1x3x6x72xf32>
// CHECK: scf.for
// CHECK: scf.for %[[C:[a-z0-9_]+]] =
// CHECK: %[[B:.*]] = tensor.extract %{{.*}}[%[[C]]] : tensor<3xf32>
// CHECK: %[[BV:.*]] = vector.broadcast %[[B]] : f32 to vector<16xf32>
// CHECK: scf.for %[[OH:[a-z0-9_]+]] =
// CHECK: scf.for {{.*}} to %c64{{.*}} step %c64
// CHECK: %[[ROW:.*]] = arith.muli %[[OH]], %c2
// CHECK: %[[T:.*]] = tensor.extract %arg1[%[[C]], %{{.*}}, %{{.*}}, %{{.*}}] : tensor<3x1x3x3xf32>
// CHECK: %[[TV:.*]] = vector.broadcast %[[T]]
// CHECK: %[[IN:.*]] = vector.transfer_read %[[X]][%{{.*}}, %[[C]], %[[ROW]], %{{.*}}], %{{.*}} {in_bounds = [true]} : tensor<1x3x6x72xf32>, vector<16xf32>
// CHECK: vector.fma %[[TV]], %[[IN]], %[[BV]]
// CHECK-COUNT-35: vector.fma
// CHECK-COUNT-4: vector.transfer_write {{.*}} {in_bounds = [true]} : vector<16xf32>, tensor<1x3x2x70xf32>
// The masked tail: no in_bounds.
// CHECK: vector.transfer_read %[[X]]{{.*}} : tensor<1x3x6x72xf32>, vector<16xf32>
// CHECK: vector.transfer_write {{.*}} : vector<16xf32>, tensor<1x3x2x70xf32>
// CHECK-NOT: nn.conv2d
// PAR-LABEL: func.func @depthwise
// PAR: scf.forall (%{{.*}}) in (3) shared_outs
func.func @depthwise(%x: tensor<1x3x4x70xf32>, %w: tensor<3x1x3x3xf32>) -> tensor<1x3x2x70xf32> {
  %b = arith.constant dense<[1.0, 2.0, 3.0]> : tensor<3xf32>
  %y = nn.conv2d %x, %w, %b {strides = array<i64: 2, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 3 : i64} : (tensor<1x3x4x70xf32>, tensor<3x1x3x3xf32>, tensor<3xf32>) -> tensor<1x3x2x70xf32>
  return %y : tensor<1x3x2x70xf32>
}

// -----

// Left alone: a horizontal stride, a dense convolution, a channel
// multiplier of 2.
// CHECK-LABEL: func.func @left_alone
// CHECK-COUNT-3: nn.conv2d %
func.func @left_alone(%x: tensor<1x2x8x8xf32>) -> (tensor<1x2x3x3xf32>, tensor<1x2x6x6xf32>, tensor<1x4x6x6xf32>) {
  %dw = arith.constant dense<1.0> : tensor<2x1x3x3xf32>
  %w = arith.constant dense<1.0> : tensor<2x2x3x3xf32>
  %m = arith.constant dense<1.0> : tensor<4x1x3x3xf32>
  %s = nn.conv2d %x, %dw {strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 2 : i64} : (tensor<1x2x8x8xf32>, tensor<2x1x3x3xf32>) -> tensor<1x2x3x3xf32>
  %d = nn.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x8x8xf32>, tensor<2x2x3x3xf32>) -> tensor<1x2x6x6xf32>
  %g = nn.conv2d %x, %m {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 2 : i64} : (tensor<1x2x8x8xf32>, tensor<4x1x3x3xf32>) -> tensor<1x4x6x6xf32>
  return %s, %d, %g : tensor<1x2x3x3xf32>, tensor<1x2x6x6xf32>, tensor<1x4x6x6xf32>
}
