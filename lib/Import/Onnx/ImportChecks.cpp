//===- ImportChecks.cpp - what the converters may assume about a graph ----===//
//
// Structural checks that run before any node is converted (names unique,
// every node with an output, no value defined twice) and the size check that
// runs after each one (no tensor the machine could not hold), so that the
// converters never meet a graph or a shape their arithmetic was not written
// for. Each check names the value, node or limit it is about.
//
//===----------------------------------------------------------------------===//
#include "lib/Import/Onnx/Importer.h"

#include "llvm/ADT/StringSet.h"

#include <unistd.h>

namespace lowbit::onnximport {

namespace {

std::string nodeName(const ox::Node &node) {
  return "node '" + (node.name.empty() ? std::string("<unnamed>") : node.name) +
         "' (" + node.opType + ")";
}

} // namespace

std::string checkGraphStructure(const ox::Graph &graph) {
  llvm::StringSet<> initializers, inputs, outputs;
  for (const ox::Tensor &t : graph.initializers)
    if (!initializers.insert(t.name).second)
      return "initializer '" + t.name + "' is defined twice";
  for (const ox::ValueInfo &in : graph.inputs) {
    if (in.name.empty())
      return "a graph input has an empty name";
    if (!inputs.insert(in.name).second)
      return "graph input '" + in.name + "' is listed twice";
  }
  for (const ox::ValueInfo &out : graph.outputs) {
    if (out.name.empty())
      return "a graph output has an empty name";
    if (!outputs.insert(out.name).second)
      return "graph output '" + out.name + "' is listed twice";
  }
  // Every value has one definition: a graph input, an initializer or one
  // node output (ONNX graphs are in SSA form).
  llvm::StringMap<const ox::Node *> producers;
  for (const ox::Node &node : graph.nodes) {
    if (node.outputs.empty() || node.outputs[0].empty())
      return nodeName(node) + " has no output";
    for (const std::string &name : node.outputs) {
      if (name.empty())
        continue; // an omitted optional output
      if (inputs.contains(name) || initializers.contains(name))
        return nodeName(node) + " defines '" + name +
               "', which is already a graph " +
               (inputs.contains(name) ? "input" : "initializer");
      auto [it, inserted] = producers.try_emplace(name, &node);
      if (!inserted)
        return nodeName(node) + " defines '" + name +
               "', which " + nodeName(*it->second) + " defines too";
    }
  }
  return "";
}

uint64_t defaultMaxMemoryBytes() {
  long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page <= 0)
    return uint64_t(1) << 40;
  return static_cast<uint64_t>(pages) * static_cast<uint64_t>(page);
}

/// Bytes of a static tensor type, or nullopt when it has a dynamic or
/// negative dimension or its size does not fit 64 bits.
static std::optional<uint64_t> tensorBytes(RankedTensorType type) {
  uint64_t n = 1;
  for (int64_t d : type.getShape()) {
    if (d < 0 || __builtin_mul_overflow(n, static_cast<uint64_t>(d), &n))
      return std::nullopt;
  }
  Type elem = type.getElementType();
  uint64_t bits = 32;
  if (elem.isIntOrFloat())
    bits = elem.getIntOrFloatBitWidth();
  else if (auto q = dyn_cast<quant::QuantizedType>(elem))
    bits = q.getStorageTypeIntegralWidth();
  uint64_t bytes;
  if (__builtin_mul_overflow(n, (bits + 7) / 8, &bytes))
    return std::nullopt;
  return bytes;
}

LogicalResult Importer::checkTensorSize(ArrayRef<int64_t> shape, Type elem,
                                        StringRef what) {
  SmallVector<int64_t> dims(shape);
  for (int64_t &d : dims)
    if (d == ShapedType::kDynamic)
      d = -1;
  std::optional<uint64_t> bytes;
  for (int64_t d : dims)
    if (d < 0)
      return invalid(what + " has shape " + shapeString(dims) +
                     ", with a negative dimension");
  if (llvm::all_of(dims, [](int64_t d) { return d <= ox::kMaxElements; }))
    bytes = tensorBytes(RankedTensorType::get(shape, elem));
  if (!bytes || *bytes > maxMemoryBytes)
    return invalid(what + " " + shapeString(dims) + " needs " +
                   (bytes ? llvm::formatv("{0:F1} GiB", *bytes / 1073741824.0)
                                .str()
                          : std::string("more than 2^64 bytes")) +
                   ", more than the memory limit of " +
                   llvm::formatv("{0:F1} GiB", maxMemoryBytes / 1073741824.0)
                       .str() +
                   " (--max-memory)");
  return success();
}

LogicalResult Importer::checkNewTensors(Block *block, Operation *lastBefore) {
  auto begin = lastBefore ? std::next(Block::iterator(lastBefore))
                          : block->begin();
  for (Operation &op : llvm::make_range(begin, block->end()))
    for (Value result : op.getResults())
      if (auto type = dyn_cast<RankedTensorType>(result.getType()))
        if (failed(checkTensorSize(type.getShape(), type.getElementType(),
                                   "a tensor it computes")))
          return failure();
  return success();
}

/// The input types and sizes an op's converter may meet (see importNode);
/// `movedType` is the tracked integer type an element-moving op carries
/// from its input to its result (kUndefined: none).
LogicalResult Importer::checkNodeInputs(const ox::Node &node,
                                        int32_t &movedType) {
  movedType = ox::kUndefined;
  // Integers whose container does not tell their ONNX type (uint8 in i8,
  // int4 in i8, int16/uint16 in i16) are read only by the ops that look
  // their type up; any other op would take uint8 bits for int8.
  // So are QuantizeLinear's results (a quant type over i8).
  static const llvm::StringSet<> readsTrackedInts = {
      "QuantizeLinear", "DequantizeLinear", "MatMulInteger", "ConvInteger",
      "QLinearConv", "QLinearMatMul", "Identity", "Cast", "CastLike",
      "Gather"};
  // Ops that only move elements carry a tracked integer type (the uint8
  // output of a QLinearConv reshaped before a QLinearMatMul) to their
  // result; quant-typed values still go through DequantizeLinear first.
  static const llvm::StringSet<> movesTrackedInts = {
      "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Transpose"};
  if (movesTrackedInts.contains(node.opType) && hasInput(node, 0)) {
    auto found = values.find(node.inputs[0]);
    if (found != values.end() && found->second &&
        !isa<quant::QuantizedType>(tensorType(found->second).getElementType()))
      movedType = intTypes.lookup(found->second);
  }
  if (!readsTrackedInts.contains(node.opType))
    for (size_t i = movedType != ox::kUndefined ? 1 : 0;
         i < node.inputs.size(); ++i) {
      auto found = hasInput(node, i) ? values.find(node.inputs[i])
                                     : values.end();
      if (found == values.end() || !found->second)
        continue;
      auto tracked = intTypes.find(found->second);
      int32_t type = tracked != intTypes.end()
                         ? tracked->second
                         : isa<quant::QuantizedType>(
                               tensorType(found->second).getElementType())
                             ? onnxIntType(found->second)
                             : int32_t(ox::kUndefined);
      if (type != ox::kUndefined)
        return unsupported("input '" + node.inputs[i] + "' is " +
                           ox::dataTypeName(type) +
                           ", which lowbit reads only in QuantizeLinear, "
                           "DequantizeLinear, MatMulInteger, ConvInteger, "
                           "QLinearConv, QLinearMatMul, Cast, CastLike, "
                           "Identity and Gather (its data)");
    }
  // TOSA rejects zero-element tensors; only constants (empty Resize roi,
  // folded shape values) and ops that never emit TOSA for them may see empty
  // inputs.
  static const llvm::StringSet<> emptyOk = {"Shape", "Size", "Trilu",
                                            "Concat"};
  for (size_t i = 0; i < node.inputs.size(); ++i) {
    if (!hasInput(node, i))
      continue;
    auto found = values.find(node.inputs[i]);
    if (found != values.end() && found->second &&
        tensorType(found->second).getNumElements() == 0 &&
        !constantOf(node, i) && !emptyOk.contains(node.opType) &&
        !(node.opType == "CastLike" && i == 1) &&
        !StringRef(node.opType).starts_with("Reduce"))
      return unsupported("zero-element tensors (input '" + node.inputs[i] +
                         "' is " +
                         shapeString(tensorType(found->second).getShape()) +
                         ")");
  }
  return success();
}

} // namespace lowbit::onnximport
