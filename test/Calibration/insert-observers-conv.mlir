// insert-observers on nn.conv2d: the tap carries the conv's geometry
// (lowbit.conv_patches = kernel, strides, pads, dilations, groups) so that
// calibration accumulates the im2col patch Hessian per filter group; dense,
// strided/dilated and depthwise convs all get it. With hessians=false, for a
// patch length K = C/groups * KH * KW above 4096 (a warning), and for f16
// inputs, the request is left out. observers-to-results does not carry the
// attribute into the result attributes (the driver reads it off the taps).

// RUN: split-file %s %t
// RUN: lowbit-opt %t/convs.mlir --insert-observers | FileCheck %s --check-prefix=TAP
// RUN: lowbit-opt %t/convs.mlir --insert-observers=hessians=false | FileCheck %s --check-prefix=NOH
// RUN: lowbit-opt %t/convs.mlir "--pass-pipeline=builtin.module(func.func(insert-observers),observers-to-results)" | FileCheck %s --check-prefix=RES
// RUN: lowbit-opt %t/big.mlir --insert-observers -verify-diagnostics | FileCheck %s --check-prefix=BIG

//--- convs.mlir
// TAP-LABEL: func.func @convs
// TAP: lowbit.observe %arg0 {channel_axis = 1 : i64, lowbit.conv_patches = {dilations = array<i64: 2, 1>, groups = 1 : i64, kernel = array<i64: 3, 2>, pads = array<i64: 1, 0, 2, 1>, strides = array<i64: 2, 2>}, name = "dense"} : tensor<1x4x9x8xf32>
// TAP-NEXT: nn.conv2d %arg0, %arg1
// TAP: lowbit.observe %arg0 {channel_axis = 1 : i64, lowbit.conv_patches = {dilations = array<i64: 1, 1>, groups = 4 : i64, kernel = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>}, name = "depthwise"} : tensor<1x4x9x8xf32>
// TAP-NEXT: nn.conv2d %arg0, %arg2
// The f16 conv is left alone.
// TAP-NOT: lowbit.observe
// TAP: nn.conv2d %arg3, %arg4
// TAP-NOT: lowbit.observe

// NOH-LABEL: func.func @convs
// NOH: lowbit.observe %arg0 {channel_axis = 1 : i64, name = "dense"}
// NOH: lowbit.observe %arg0 {channel_axis = 1 : i64, name = "depthwise"}
// NOH-NOT: conv_patches

// RES-LABEL: func.func @convs
// RES-SAME: tensor<1x4x9x8xf32> {lowbit.channel_axis = 1 : i64, lowbit.hessian = false, lowbit.observe = ["dense", "depthwise"], onnx.name = "observe:dense"})
// RES-NOT: conv_patches
func.func @convs(%x: tensor<1x4x9x8xf32>, %f: tensor<3x4x3x2xf32>, %d: tensor<4x1x3x3xf32>, %h: tensor<1x2x5x5xf16>, %fh: tensor<2x2x1x1xf16>) -> (tensor<1x3x4x4xf32>, tensor<1x4x9x8xf32>, tensor<1x2x5x5xf16>) {
  %a = nn.conv2d %x, %f {strides = array<i64: 2, 2>, pads = array<i64: 1, 0, 2, 1>, dilations = array<i64: 2, 1>, groups = 1 : i64} : (tensor<1x4x9x8xf32>, tensor<3x4x3x2xf32>) -> tensor<1x3x4x4xf32> loc("dense")
  %b = nn.conv2d %x, %d {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 4 : i64} : (tensor<1x4x9x8xf32>, tensor<4x1x3x3xf32>) -> tensor<1x4x9x8xf32> loc("depthwise")
  %c = nn.conv2d %h, %fh {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x5x5xf16>, tensor<2x2x1x1xf16>) -> tensor<1x2x5x5xf16> loc("half")
  return %a, %b, %c : tensor<1x3x4x4xf32>, tensor<1x4x9x8xf32>, tensor<1x2x5x5xf16>
}

//--- big.mlir
// K = 4097 * 1 * 1 is above the cap: a plain tap (statistics, no Hessian).
// BIG-LABEL: func.func @big
// BIG: lowbit.observe %arg0 {channel_axis = 1 : i64, name = "nn.conv2d@{{[0-9]+}}"}
func.func @big(%x: tensor<1x4097x1x1xf32>, %f: tensor<2x4097x1x1xf32>) -> tensor<1x2x1x1xf32> {
  // expected-warning @+1 {{': patch length K = 4097 is above 4096; no Hessian is collected for it}}
  %a = nn.conv2d %x, %f {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x4097x1x1xf32>, tensor<2x4097x1x1xf32>) -> tensor<1x2x1x1xf32>
  return %a : tensor<1x2x1x1xf32>
}
