//===- WeightMemoryReport.cpp - weight bytes per layer, before/after ------===//
#include "passes/Quantization/Passes.h"
#include "passes/Quantization/WeightUtils.h"

#include "dialects/NN/NNDialect.h"

#include "mlir/Dialect/Quant/IR/QuantTypes.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

namespace lowbit {
#define GEN_PASS_DEF_WEIGHTMEMORYREPORTPASS
#include "passes/Quantization/Passes.h.inc"
} // namespace lowbit

using namespace mlir;
using namespace lowbit;

namespace {

struct LayerBytes {
  std::string name;
  std::string shape;
  std::string storage;
  int64_t floatBytes = 0;
  int64_t storedBytes = 0;
  int64_t weightBits = 32; ///< 32 = f32
  int64_t actBits = 32;    ///< width the layer's input is quantized to; 32 = f32
};

/// Width `input` was quantized to in front of an nn layer: the bits of a
/// dequantize_dynamic pair, or the bits the storage range of a static
/// `!quant.uniform` dequantize spans (i8<-7:7> is 4 bits); 32 when the input
/// is plain float.
int64_t inputBits(Value input) {
  if (auto dq = input.getDefiningOp<lb::DequantizeDynamicOp>())
    return dq.getBits();
  if (auto dq = input.getDefiningOp<lb::DequantizeOp>())
    if (auto qt = dyn_cast<quant::QuantizedType>(
            cast<ShapedType>(dq.getInput().getType()).getElementType()))
      return llvm::Log2_64_Ceil(uint64_t(qt.getStorageTypeMax() -
                                         qt.getStorageTypeMin() + 1));
  return 32;
}

int64_t tensorBytes(Value v) {
  auto t = dyn_cast<RankedTensorType>(v.getType());
  if (!t)
    return 0;
  return t.getNumElements() * ((t.getElementTypeBitWidth() + 7) / 8);
}

/// Bytes and description of a weight operand: a float constant, or a
/// dequantize_weight of an integer part (packed or i8 containers) + tables.
/// Returns false for weights that are not model constants.
bool describeWeight(Value weight, LayerBytes &out) {
  // Look through the reshape that restores a conv filter's shape.
  if (auto reshape = weight.getDefiningOp<tosa::ReshapeOp>())
    weight = reshape.getInput1();
  auto type = cast<RankedTensorType>(weight.getType());
  out.shape = llvm::formatv("{0:$[x]}", llvm::make_range(type.getShape().begin(),
                                                        type.getShape().end()))
                  .str();
  out.floatBytes = type.getNumElements() * 4;
  if (auto dq = weight.getDefiningOp<lb::DequantizeWeightOp>()) {
    int64_t tables = tensorBytes(dq.getScale()) +
                     (dq.getZero() ? tensorBytes(dq.getZero()) : 0);
    std::string group = dq.getGroupSize() == type.getShape().back()
                            ? "per-channel"
                            : "g" + std::to_string(dq.getGroupSize());
    out.weightBits = dq.getBits();
    if (auto packed = dyn_cast<lb::PackedType>(dq.getQ().getType())) {
      out.storedBytes = packed.getStorageBytes() + tables;
      out.storage = llvm::formatv("int{0} {1} {2}", dq.getBits(),
                                  lb::stringifyLayoutKind(packed.getLayout()),
                                  group)
                        .str();
    } else {
      out.storedBytes = tensorBytes(dq.getQ()) + tables;
      out.storage =
          llvm::formatv("int{0} in i8 containers {1}", dq.getBits(), group)
              .str();
    }
    return true;
  }
  if (!matchPattern(weight, m_Constant()))
    return false;
  out.storedBytes = tensorBytes(weight);
  out.storage = "f32";
  return true;
}

struct WeightMemoryReportPass
    : lowbit::impl::WeightMemoryReportPassBase<WeightMemoryReportPass> {
  using WeightMemoryReportPassBase::WeightMemoryReportPassBase;

  void runOnOperation() override {
    std::vector<LayerBytes> layers;
    getOperation().walk([&](Operation *op) {
      LayerBytes l;
      l.name = getLayerName(op);
      if (auto lin = dyn_cast<nn::LinearOp>(op)) {
        l.actBits = inputBits(lin.getInput());
        if (describeWeight(lin.getWeight(), l))
          layers.push_back(l);
      } else if (auto conv = dyn_cast<nn::Conv2DOp>(op)) {
        l.actBits = inputBits(conv.getInput());
        if (describeWeight(conv.getFilter(), l))
          layers.push_back(l);
      } else if (auto q = dyn_cast<lb::QLinearOp>(op)) {
        int64_t n = q.getWScale().getType().getDimSize(0);
        int64_t k = q.getXQ().getType().getDimSize(1);
        int64_t tables = tensorBytes(q.getWScale()) +
                         (q.getWZero() ? tensorBytes(q.getWZero()) : 0);
        l.shape = llvm::formatv("{0}x{1}", n, k).str();
        l.floatBytes = n * k * 4;
        l.weightBits = q.getWBits();
        l.actBits = q.getABits();
        std::string group = q.getGroupSize() == k
                                ? "per-channel"
                                : "g" + std::to_string(q.getGroupSize());
        if (auto packed = dyn_cast<lb::PackedType>(q.getWQ().getType())) {
          l.storedBytes = packed.getStorageBytes() + tables;
          l.storage = llvm::formatv("W{0}A{1} {2} {3}", q.getWBits(),
                                    q.getABits(),
                                    lb::stringifyLayoutKind(packed.getLayout()),
                                    group)
                          .str();
        } else {
          l.storedBytes = tensorBytes(q.getWQ()) + tables;
          l.storage = llvm::formatv("W{0}A{1} i8 containers {2}", q.getWBits(),
                                    q.getABits(), group)
                          .str();
        }
        layers.push_back(l);
      }
    });

    int64_t totalFloat = 0, totalStored = 0;
    llvm::raw_ostream &os = print ? llvm::outs() : llvm::nulls();
    os << llvm::formatv("{0,-40} {1,-16} {2,-36} {3,12} {4,12} {5,7}\n",
                        "layer", "shape", "storage", "f32 bytes",
                        "stored bytes", "ratio");
    llvm::json::Array jsonLayers;
    for (const LayerBytes &l : layers) {
      totalFloat += l.floatBytes;
      totalStored += l.storedBytes;
      double ratio = l.storedBytes ? double(l.floatBytes) / l.storedBytes : 0;
      os << llvm::formatv("{0,-40} {1,-16} {2,-36} {3,12} {4,12} {5,7:f2}\n",
                          l.name, l.shape, l.storage, l.floatBytes,
                          l.storedBytes, ratio);
      jsonLayers.push_back(llvm::json::Object{{"layer", l.name},
                                              {"shape", l.shape},
                                              {"storage", l.storage},
                                              {"f32_bytes", l.floatBytes},
                                              {"stored_bytes", l.storedBytes},
                                              {"weight_bits", l.weightBits},
                                              {"act_bits", l.actBits}});
    }
    double ratio = totalStored ? double(totalFloat) / totalStored : 0;
    os << llvm::formatv("{0,-40} {1,-16} {2,-36} {3,12} {4,12} {5,7:f2}\n",
                        "total", "", "", totalFloat, totalStored, ratio);
    if (output.empty())
      return;
    llvm::json::Object report{{"layers", std::move(jsonLayers)},
                              {"total_f32_bytes", totalFloat},
                              {"total_stored_bytes", totalStored}};
    if (llvm::Error err = llvm::writeToOutput(output, [&](llvm::raw_ostream &f) {
          f << llvm::formatv("{0:2}", llvm::json::Value(std::move(report)))
            << "\n";
          return llvm::Error::success();
        })) {
      getOperation().emitError("weight-memory-report: cannot write '")
          << output << "': " << llvm::toString(std::move(err));
      signalPassFailure();
    }
  }
};

} // namespace
