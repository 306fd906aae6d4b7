//===- WeightUtils.cpp - helpers shared by the quantization passes --------===//
#include "passes/Quantization/WeightUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/Support/GlobPattern.h"

using namespace mlir;

std::string lowbit::getLayerName(Operation *op) {
  Location loc = op->getLoc();
  if (auto fused = dyn_cast<FusedLoc>(loc))
    for (Location inner : fused.getLocations())
      if (isa<NameLoc>(inner)) {
        loc = inner;
        break;
      }
  if (auto name = dyn_cast<NameLoc>(loc))
    return name.getName().str();
  std::string fallback = op->getName().getStringRef().str();
  if (auto file = dyn_cast<FileLineColLoc>(loc))
    fallback += "@" + std::to_string(file.getLine());
  return fallback;
}

std::optional<lowbit::FloatValues> lowbit::readFloatConstant(Value value) {
  auto constant = value.getDefiningOp<arith::ConstantOp>();
  if (!constant)
    return std::nullopt;
  auto type = dyn_cast<RankedTensorType>(constant.getType());
  if (!type || !type.getElementType().isF32())
    return std::nullopt;
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(constant.getValue())) {
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob)
      return std::nullopt;
    ArrayRef<char> data = blob->getData();
    if (data.size() != static_cast<size_t>(type.getNumElements()) * 4)
      return std::nullopt;
    FloatValues view;
    view.data = reinterpret_cast<const float *>(data.data());
    view.size = static_cast<size_t>(type.getNumElements());
    return view;
  }
  if (auto dense = dyn_cast<DenseElementsAttr>(constant.getValue())) {
    auto values = dense.getValues<float>();
    FloatValues copy;
    copy.storage.assign(values.begin(), values.end());
    copy.data = copy.storage.data();
    copy.size = copy.storage.size();
    return copy;
  }
  return std::nullopt;
}

Value lowbit::createResourceConstant(OpBuilder &builder, Location loc,
                                     RankedTensorType type, const void *data,
                                     size_t bytes, StringRef name) {
  std::string blobName = name.str();
  for (char &c : blobName)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.')
      c = '_';
  size_t align = std::max<size_t>(1, (type.getElementTypeBitWidth() + 7) / 8);
  auto blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(
      ArrayRef<char>(static_cast<const char *>(data), bytes), align);
  auto attr = DenseResourceElementsAttr::get(type, blobName, std::move(blob));
  return arith::ConstantOp::create(builder, loc, attr);
}

std::string lowbit::globError(StringRef pattern) {
  auto glob = llvm::GlobPattern::create(pattern);
  if (glob)
    return "";
  return "'" + pattern.str() + "' is not a valid glob (" +
         llvm::toString(glob.takeError()) + ")";
}

bool lowbit::matchesGlob(StringRef pattern, StringRef name) {
  auto glob = llvm::GlobPattern::create(pattern);
  if (!glob) {
    llvm::consumeError(glob.takeError());
    return pattern == name;
  }
  return glob->match(name);
}
