//===- OnnxModel.h - an ONNX model as plain C++ structs ---------*- C++ -*-===//
//
// The boundary between protobuf and MLIR: OnnxProtoReader.cpp is the only
// translation unit that includes protobuf headers; it fills these structs,
// and everything MLIR-side reads only them.
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_IMPORT_ONNX_ONNXMODEL_H
#define LOWBIT_IMPORT_ONNX_ONNXMODEL_H

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace lowbit::onnx {

/// ONNX TensorProto.DataType values.
enum DataType : int32_t {
  kUndefined = 0,
  kFloat = 1,
  kUint8 = 2,
  kInt8 = 3,
  kUint16 = 4,
  kInt16 = 5,
  kInt32 = 6,
  kInt64 = 7,
  kString = 8,
  kBool = 9,
  kFloat16 = 10,
  kDouble = 11,
  kUint32 = 12,
  kUint64 = 13,
  kBfloat16 = 16,
  kUint4 = 21,
  kInt4 = 22,
  kUint2 = 25,
  kInt2 = 26,
};

/// Limits the reader enforces on every tensor and value it reads, so that no
/// later stage meets a rank or element count its arithmetic cannot hold.
/// Ranks beyond 32 occur in no real model (numpy allowed 32 until 2.0).
constexpr size_t kMaxRank = 32;
/// 2^48 elements (256 TiB of bytes): far above any machine, and small enough
/// that a byte count (x 8) or a product of two padded sizes stays in int64.
constexpr int64_t kMaxElements = int64_t(1) << 48;

/// The element count of `dims` when every dim is >= 0 and the product is at
/// most kMaxElements; -1 otherwise (never overflows).
int64_t checkedElementCount(const std::vector<int64_t> &dims);

/// Name of an ONNX data type ("FLOAT", "INT4", "type 17" for unknown ones).
std::string dataTypeName(int32_t type);
/// Bytes per element of a fixed-width type, 0 for sub-byte/unknown types.
size_t dataTypeSize(int32_t type);
/// Bits per element of a packed sub-byte integer type (4 for INT4/UINT4, 2 for
/// INT2/UINT2), 0 for every other type.
unsigned subByteBits(int32_t type);

/// Immutable bytes that stay alive as long as any holder: either a string
/// moved out of the protobuf message or a memory-mapped external-data file.
struct Buffer {
  virtual ~Buffer() = default;
  virtual const char *data() const = 0;
  virtual size_t size() const = 0;
  /// Hints that bytes [offset, offset + size) are not needed for a while
  /// (a memory-mapped file drops those pages; they reload on next access).
  virtual void releasePages(size_t offset, size_t size) const {
    (void)offset;
    (void)size;
  }
};

struct Tensor {
  std::string name;
  int32_t dataType = kUndefined;
  std::vector<int64_t> dims;
  /// Raw little-endian element data; `offset`/`size` select the bytes of this
  /// tensor inside `buffer`. Typed proto fields (float_data, int64_data, ...)
  /// are converted to raw bytes by the reader.
  std::shared_ptr<Buffer> buffer;
  size_t offset = 0;
  size_t size = 0;

  const char *bytes() const { return buffer ? buffer->data() + offset : nullptr; }
  int64_t numElements() const {
    int64_t n = 1;
    for (int64_t d : dims)
      n *= d;
    return n;
  }
};

struct Graph;

struct Attribute {
  enum Kind { kUnknown, kFloat, kInt, kString, kTensor, kGraph, kFloats, kInts, kStrings };
  std::string name;
  Kind kind = kUnknown;
  float f = 0;
  int64_t i = 0;
  std::string s;
  std::vector<float> floats;
  std::vector<int64_t> ints;
  std::vector<std::string> strings;
  std::shared_ptr<Tensor> tensor;
  std::shared_ptr<Graph> graph;
};

struct Node {
  std::string name;
  std::string opType;
  std::string domain;
  std::vector<std::string> inputs; ///< "" marks an omitted optional input.
  std::vector<std::string> outputs;
  std::vector<Attribute> attributes;

  const Attribute *findAttribute(const std::string &attrName) const {
    for (const Attribute &a : attributes)
      if (a.name == attrName)
        return &a;
    return nullptr;
  }
};

/// A graph input/output/value_info. Dims < 0 are dynamic; `dimParams` holds
/// the symbolic name of each dynamic dimension ("" when anonymous).
struct ValueInfo {
  std::string name;
  /// False for sequence, map, optional and sparse types.
  bool isTensor = false;
  int32_t elemType = kUndefined;
  bool hasShape = false;
  std::vector<int64_t> dims;
  std::vector<std::string> dimParams;
};

struct Graph {
  std::string name;
  std::vector<Node> nodes;
  std::vector<Tensor> initializers;
  std::vector<ValueInfo> inputs;
  std::vector<ValueInfo> outputs;
  std::vector<ValueInfo> valueInfos;
};

struct Model {
  int64_t irVersion = 0;
  std::string producerName;
  std::map<std::string, int64_t> opsets; ///< domain ("" = ai.onnx) -> version
  Graph graph;
};

/// The values of a packed INT4/UINT4/INT2/UINT2 tensor, one byte each
/// (sign-extended for INT4/INT2). ONNX packs the first value of every byte
/// into its lowest bits.
std::vector<char> unpackSubByte(const Tensor &tensor);

/// Reads an .onnx file. External data is resolved relative to the file's
/// directory and memory-mapped. On failure returns false and sets `error` to
/// a one-line reason.
bool readModelFile(const std::string &path, Model &model, std::string &error);

/// Parses a serialized ModelProto held in memory; `baseDir` resolves external
/// data ("" means external data is an error).
bool readModelBytes(const void *data, size_t size, const std::string &baseDir,
                    Model &model, std::string &error);

/// Reads a serialized TensorProto (the input_N.pb / output_N.pb files of the
/// ONNX backend test data).
bool readTensorFile(const std::string &path, Tensor &tensor, std::string &error);

} // namespace lowbit::onnx

#endif // LOWBIT_IMPORT_ONNX_ONNXMODEL_H
