func.func @float_only(%a: tensor<2x4xf32>, %b: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %0 = arith.addf %a, %b : tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}
