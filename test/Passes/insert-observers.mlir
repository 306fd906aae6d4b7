// insert-observers: a lowbit.observe tap named after the layer on the f32
// input of every nn.linear (channels = last dim, with the Hessian request)
// and nn.conv2d (channels = dim 1); nn.matmul only when ops= lists it (both
// operands, the right one named <layer>.rhs). observers-to-results turns the
// taps into extra results of the entry function (one result per value).

// RUN: split-file %s %t
// RUN: lowbit-opt %t/default.mlir --insert-observers | FileCheck %s --check-prefix=DEF
// Idempotent: a value with a tap of that name gets no second one.
// RUN: lowbit-opt %t/default.mlir --insert-observers -mlir-print-debuginfo | lowbit-opt --insert-observers | FileCheck %s --check-prefix=DEF
// RUN: lowbit-opt %t/default.mlir "--insert-observers=ops=linear,matmul hessians=false" | FileCheck %s --check-prefix=MM
// RUN: lowbit-opt %t/default.mlir "--pass-pipeline=builtin.module(func.func(insert-observers),observers-to-results)" | FileCheck %s --check-prefix=RES
// RUN: lowbit-opt %t/shared.mlir "--pass-pipeline=builtin.module(func.func(insert-observers),observers-to-results)" | FileCheck %s --check-prefix=SHR
// A tap left in an ordinary compilation is erased by the CPU lowering.
// RUN: lowbit-opt %t/default.mlir --insert-observers --lowbit-cpu-lowering | FileCheck %s --check-prefix=CPU

// Diagnostics.
// RUN: lowbit-opt %t/badops.mlir --insert-observers=ops=linear,softmax -verify-diagnostics
// RUN: lowbit-opt %t/verify.mlir -verify-diagnostics -split-input-file
// RUN: lowbit-opt %t/private.mlir --observers-to-results -verify-diagnostics
// RUN: lowbit-opt %t/nested.mlir --observers-to-results -verify-diagnostics

//--- default.mlir
// DEF-LABEL: func.func @main
// DEF-SAME: (%[[X:.*]]: tensor<2x3x8xf32>, %[[W:.*]]: tensor<4x8xf32>, %[[I:.*]]: tensor<1x2x5x5xf32>, %[[F:.*]]: tensor<3x2x3x3xf32>, %[[R:.*]]: tensor<2x4x6xf32>, %[[H:.*]]: tensor<2x8xf16>, %[[WH:.*]]: tensor<4x8xf16>)
// DEF: lowbit.observe %[[X]] {channel_axis = 2 : i64, hessian, name = "fc1"} : tensor<2x3x8xf32>
// DEF-NEXT: %[[Y:.*]] = nn.linear %[[X]], %[[W]]
// DEF-NEXT: lowbit.observe %[[I]] {channel_axis = 1 : i64, lowbit.conv_patches = {{{.*}}}, name = "conv"} : tensor<1x2x5x5xf32>
// DEF-NEXT: nn.conv2d %[[I]], %[[F]]
// The matmul (not in the default ops) and the f16 linear are left alone.
// DEF-NOT: lowbit.observe
// DEF: nn.matmul
// DEF-NOT: lowbit.observe
// DEF: nn.linear %[[H]], %[[WH]]
// DEF-NOT: lowbit.observe

// MM-LABEL: func.func @main
// MM: lowbit.observe %{{.*}} {channel_axis = 2 : i64, name = "fc1"} : tensor<2x3x8xf32>
// MM-NOT: name = "conv"
// MM: lowbit.observe %[[Y:.*]] {channel_axis = 2 : i64, name = "mm"} : tensor<2x3x4xf32>
// MM-NEXT: lowbit.observe %{{.*}} {channel_axis = 1 : i64, name = "mm.rhs"} : tensor<2x4x6xf32>
// MM-NEXT: nn.matmul %[[Y]],

// RES-LABEL: func.func @main
// RES-SAME: -> (tensor<2x3x4xf32>, tensor<1x3x3x3xf32>, tensor<2x3x6xf32>, tensor<2x4xf16>,
// RES-SAME: tensor<2x3x8xf32> {lowbit.channel_axis = 2 : i64, lowbit.hessian = true, lowbit.observe = ["fc1"], onnx.name = "observe:fc1"},
// RES-SAME: tensor<1x2x5x5xf32> {lowbit.channel_axis = 1 : i64, lowbit.hessian = false, lowbit.observe = ["conv"], onnx.name = "observe:conv"})
// RES-NOT: lowbit.observe
// RES: return %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %arg0, %arg2 :
func.func @main(%x: tensor<2x3x8xf32>, %w: tensor<4x8xf32>, %img: tensor<1x2x5x5xf32>, %f: tensor<3x2x3x3xf32>, %r: tensor<2x4x6xf32>, %h: tensor<2x8xf16>, %wh: tensor<4x8xf16>) -> (tensor<2x3x4xf32>, tensor<1x3x3x3xf32>, tensor<2x3x6xf32>, tensor<2x4xf16>) {
  %y = nn.linear %x, %w : (tensor<2x3x8xf32>, tensor<4x8xf32>) -> tensor<2x3x4xf32> loc("fc1")
  %c = nn.conv2d %img, %f {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x5x5xf32>, tensor<3x2x3x3xf32>) -> tensor<1x3x3x3xf32> loc("conv")
  %m = nn.matmul %y, %r : (tensor<2x3x4xf32>, tensor<2x4x6xf32>) -> tensor<2x3x6xf32> loc("mm")
  %z = nn.linear %h, %wh : (tensor<2x8xf16>, tensor<4x8xf16>) -> tensor<2x4xf16> loc("half")
  return %y, %c, %m, %z : tensor<2x3x4xf32>, tensor<1x3x3x3xf32>, tensor<2x3x6xf32>, tensor<2x4xf16>
}
// CPU-NOT: lowbit.observe
// CPU: llvm.func @main

//--- shared.mlir
// Three layers reading one value (q/k/v) and a tap of a value that is also a
// model output: each value is returned once, with every tap name listed.
// SHR-LABEL: func.func @shared
// SHR-SAME: -> (tensor<5x8xf32> {lowbit.channel_axis = 1 : i64, lowbit.hessian = true, lowbit.observe = ["out"], onnx.name = "y"},
// SHR-SAME: tensor<5x8xf32>, tensor<5x8xf32>,
// SHR-SAME: tensor<5x8xf32> {lowbit.channel_axis = 1 : i64, lowbit.hessian = true, lowbit.observe = ["q", "k", "v"], onnx.name = "observe:q"})
// SHR: return %[[Y:.*]], %{{.*}}, %{{.*}}, %arg0 :
func.func @shared(%x: tensor<5x8xf32>, %w: tensor<8x8xf32>) -> (tensor<5x8xf32> {onnx.name = "y"}, tensor<5x8xf32>, tensor<5x8xf32>) {
  %q = nn.linear %x, %w : (tensor<5x8xf32>, tensor<8x8xf32>) -> tensor<5x8xf32> loc("q")
  %k = nn.linear %x, %w : (tensor<5x8xf32>, tensor<8x8xf32>) -> tensor<5x8xf32> loc("k")
  %v = nn.linear %x, %w : (tensor<5x8xf32>, tensor<8x8xf32>) -> tensor<5x8xf32> loc("v")
  %o = nn.linear %q, %w : (tensor<5x8xf32>, tensor<8x8xf32>) -> tensor<5x8xf32> loc("out")
  return %q, %k, %v : tensor<5x8xf32>, tensor<5x8xf32>, tensor<5x8xf32>
}

//--- badops.mlir
// expected-error @+1 {{insert-observers: unknown layer kind 'softmax' in ops= (expected linear, conv2d, matmul)}}
func.func @f(%x: tensor<2x8xf32>, %w: tensor<4x8xf32>) -> tensor<2x4xf32> {
  %y = nn.linear %x, %w : (tensor<2x8xf32>, tensor<4x8xf32>) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

//--- verify.mlir
func.func @axis(%x: tensor<2x8xf32>) {
  // expected-error @+1 {{'lowbit.observe' op channel_axis 2 is out of range for a rank-2 input}}
  lowbit.observe %x {name = "a", channel_axis = 2 : i64} : tensor<2x8xf32>
  return
}

// -----

func.func @hessian(%x: tensor<2x8xf32>) {
  // expected-error @+1 {{'lowbit.observe' op hessian needs the channels in the last dimension}}
  lowbit.observe %x {name = "a", channel_axis = 0 : i64, hessian} : tensor<2x8xf32>
  return
}

// -----

func.func @name(%x: tensor<2x8xf32>) {
  // expected-error @+1 {{'lowbit.observe' op needs a non-empty name}}
  lowbit.observe %x {name = "", channel_axis = 1 : i64} : tensor<2x8xf32>
  return
}

//--- private.mlir
func.func private @helper(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  // expected-error @+1 {{tap 'a' is in the private function @helper}}
  lowbit.observe %x {name = "a", channel_axis = 1 : i64} : tensor<2x8xf32>
  return %x : tensor<2x8xf32>
}

//--- nested.mlir
func.func @main(%x: tensor<2x8xf32>, %c: i1) -> tensor<2x8xf32> {
  scf.if %c {
    // expected-error @+1 {{tap 'a' is nested inside scf.if}}
    lowbit.observe %x {name = "a", channel_axis = 1 : i64} : tensor<2x8xf32>
  }
  return %x : tensor<2x8xf32>
}
