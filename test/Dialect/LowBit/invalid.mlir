// Verifier errors of the lowbit dialect: the !lowbit.packed type (layout vs
// element width, last-dimension multiple, unknown layout keyword, non-quant
// element, rank and shape rules) and the quantize/dequantize/pack/unpack ops
// (shape mismatch, storage width, expressed type, per-axis scales).

// RUN: lowbit-opt %s -split-input-file -verify-diagnostics

// expected-error @+1 {{a 4-bit element does not fit layout int6_planes}}
func.func private @narrow_for_planes(!lowbit.packed<4x8x!quant.uniform<i4:f32, 0.5>, int6_planes>)

// -----

// expected-error @+1 {{a 2-bit element does not fit layout int4_nibbles}}
func.func private @narrow_for_nibbles(!lowbit.packed<4x8x!quant.uniform<i2:f32, 0.5>, int4_nibbles>)

// -----

// expected-error @+1 {{a 8-bit element does not fit layout int6_planes}}
func.func private @wide_for_planes(!lowbit.packed<4x8xi8, int6_planes>)

// -----

// expected-error @+1 {{bit_planes holds 1..8-bit values, got 16}}
func.func private @wide_bit_planes(!lowbit.packed<4x8xi16, bit_planes>)

// -----

// expected-error @+1 {{last dimension 7 must be a multiple of 2 for layout int4_nibbles}}
func.func private @odd_nibbles(!lowbit.packed<4x7xi4, int4_nibbles>)

// -----

// expected-error @+1 {{last dimension 6 must be a multiple of 4 for layout int6_planes}}
func.func private @planes_multiple(!lowbit.packed<2x6x!quant.uniform<i6:f32, 0.5>, int6_planes>)

// -----

// expected-error @+1 {{last dimension 12 must be a multiple of 8 for layout bit_planes}}
func.func private @bit_planes_multiple(!lowbit.packed<12xi3, bit_planes>)

// -----

// expected-error @+1 {{unknown packed layout 'int5_planes'; expected int2_crumbs, int4_nibbles, int6_planes, int8_bytes or bit_planes}}
func.func private @unknown_layout(!lowbit.packed<4x8x!quant.uniform<i4:f32, 0.5>, int5_planes>)

// -----

// expected-error @+1 {{packed element type must be a !quant.uniform type, a signless (two's complement) or an unsigned integer, got 'f32'}}
func.func private @float_element(!lowbit.packed<4x8xf32, int8_bytes>)

// -----

// expected-error @+1 {{packed tensors must have rank >= 1}}
func.func private @rank0(!lowbit.packed<i4, int4_nibbles>)

// -----

// expected-error @+1 {{packed tensors need static positive dimensions}}
func.func private @zero_dim(!lowbit.packed<0x8xi4, int4_nibbles>)

// -----

// expected-error @+1 {{expected static shape}}
func.func private @dynamic_dim(!lowbit.packed<?x8xi4, int4_nibbles>)

// -----

func.func @quantize_shape(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{'lowbit.quantize' op float and quantized shapes differ}}
  %q = lowbit.quantize %x : tensor<4x8xf32> -> tensor<4x16x!quant.uniform<i4:f32, 0.5>>
  return
}

// -----

func.func @quantize_not_quant(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{'lowbit.quantize' op expects a !quant.uniform element type, got 'i4'}}
  %q = lowbit.quantize %x : tensor<4x8xf32> -> tensor<4x8xi4>
  return
}

// -----

func.func @quantize_wide(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{'lowbit.quantize' op storage width must be 2..8 bits, got 16}}
  %q = lowbit.quantize %x : tensor<4x8xf32> -> tensor<4x8x!quant.uniform<i16:f32, 0.5>>
  return
}

// -----

func.func @dequantize_one_bit(%q: tensor<4x8x!quant.uniform<i1:f32, 0.5>>) {
  // expected-error @+1 {{'lowbit.dequantize' op storage width must be 2..8 bits, got 1}}
  %x = lowbit.dequantize %q : tensor<4x8x!quant.uniform<i1:f32, 0.5>> -> tensor<4x8xf32>
  return
}

// -----

func.func @quantize_expressed(%x: tensor<4x8xf16>) {
  // expected-error @+1 {{'lowbit.quantize' op quantized type expresses 'f32' but the float side is 'f16'}}
  %q = lowbit.quantize %x : tensor<4x8xf16> -> tensor<4x8x!quant.uniform<i4:f32, 0.5>>
  return
}

// -----

func.func @dequantize_expressed(%q: tensor<4x8x!quant.uniform<i4:f32, 0.5>>) {
  // expected-error @+1 {{'lowbit.dequantize' op quantized type expresses 'f32' but the float side is 'bf16'}}
  %x = lowbit.dequantize %q : tensor<4x8x!quant.uniform<i4:f32, 0.5>> -> tensor<4x8xbf16>
  return
}

// -----

func.func @per_axis_count(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{'lowbit.quantize' op per-axis type has 2 scales for dimension 0 of size 4}}
  %q = lowbit.quantize %x : tensor<4x8xf32> -> tensor<4x8x!quant.uniform<i4:f32:0, {0.5, 0.25}>>
  return
}

// -----

func.func @per_axis_dim(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{'lowbit.quantize' op quantized dimension 2 out of range for rank 2}}
  %q = lowbit.quantize %x : tensor<4x8xf32> -> tensor<4x8x!quant.uniform<i4:f32:2, {0.5, 0.25}>>
  return
}

// -----

func.func @quantize_int_input(%x: tensor<4x8xi32>) {
  // expected-error @+1 {{'lowbit.quantize' op operand #0 must be ranked tensor of floating-point values}}
  %q = lowbit.quantize %x : tensor<4x8xi32> -> tensor<4x8x!quant.uniform<i4:f32, 0.5>>
  return
}

// -----

func.func @pack_shape(%x: tensor<4x8x!quant.uniform<i4:f32, 0.5>>) {
  // expected-error @+1 {{'lowbit.pack' op packed and unpacked shapes differ}}
  %p = lowbit.pack %x : tensor<4x8x!quant.uniform<i4:f32, 0.5>> -> !lowbit.packed<4x16x!quant.uniform<i4:f32, 0.5>, int4_nibbles>
  return
}

// -----

func.func @pack_element(%x: tensor<4x8x!quant.uniform<i4:f32, 0.5>>) {
  // expected-error @+1 {{'lowbit.pack' op element types differ: '!quant.uniform<i4:f32, 5.000000e-01>' vs '!quant.uniform<i4:f32, 2.500000e-01>'}}
  %p = lowbit.pack %x : tensor<4x8x!quant.uniform<i4:f32, 0.5>> -> !lowbit.packed<4x8x!quant.uniform<i4:f32, 0.25>, int4_nibbles>
  return
}

// -----

func.func @unpack_shape(%p: !lowbit.packed<4x8xi4, int4_nibbles>) {
  // expected-error @+1 {{'lowbit.unpack' op packed and unpacked shapes differ}}
  %x = lowbit.unpack %p : !lowbit.packed<4x8xi4, int4_nibbles> -> tensor<8x4xi4>
  return
}

// -----

func.func @unpack_element(%p: !lowbit.packed<4x8xi4, int4_nibbles>) {
  // expected-error @+1 {{'lowbit.unpack' op element types differ: 'i3' vs 'i4'}}
  %x = lowbit.unpack %p : !lowbit.packed<4x8xi4, int4_nibbles> -> tensor<4x8xi3>
  return
}

// -----

// Sub-channel scales must tile the tensor: [2, 256] with {1:128} needs 2x2.
func.func @sub_channel_scale_count(%x: tensor<2x256xf32>) {
  // expected-error @+1 {{'lowbit.quantize' op sub-channel scales have 3 entries along dimension 0, expected 2}}
  %q = lowbit.quantize %x : tensor<2x256xf32> -> tensor<2x256x!quant.uniform<i4:f32:{1:128}, {{2.0,3.0,4.0},{4.0,5.0,6.0},{1.0,1.0,1.0}}>>
  return
}

// -----

func.func @sub_channel_block_divides(%x: tensor<2x256xf32>) {
  // expected-error @+1 {{'lowbit.quantize' op block size 100 does not divide dimension 1 of size 256}}
  %q = lowbit.quantize %x : tensor<2x256xf32> -> tensor<2x256x!quant.uniform<i4:f32:{1:100}, {{2.0,3.0},{4.0,5.0}}>>
  return
}

// -----

// expected-error @+1 {{per-axis type has 2 scales for dimension 0 of size 3}}
func.func @packed_per_axis_count(%p: !lowbit.packed<3x8x!quant.uniform<i8:f32:0, {0.1, 0.2}>, int8_bytes>) {
  return
}

// -----

// Only signless (two's complement) and unsigned integers, or quant types, are
// packed storage elements.
// expected-error @+1 {{packed element type must be a !quant.uniform type, a signless (two's complement) or an unsigned integer, got 'si4'}}
func.func @packed_signed_integer(%p: !lowbit.packed<4x8xsi4, int4_nibbles>) {
  return
}
