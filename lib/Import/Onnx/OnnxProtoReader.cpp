//===- OnnxProtoReader.cpp - protobuf ModelProto -> plain structs ---------===//
//
// The only translation unit that sees protobuf. It is compiled with RTTI and
// exceptions as protobuf expects, and exchanges nothing but the plain structs
// of OnnxModel.h with the rest of lowbit.
//
//===----------------------------------------------------------------------===//
#include "lib/Import/Onnx/OnnxModel.h"

#include "onnx.pb.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/message_lite.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>

#include <cstdlib>
#include <cstring>
#include <optional>
#include <fcntl.h>
#include <map>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace lowbit::onnx {
namespace {

std::string dimsString(const std::vector<int64_t> &dims) {
  std::string out = "[";
  for (size_t i = 0; i < dims.size(); ++i)
    out += (i ? "x" : "") + std::to_string(dims[i]);
  return out + "]";
}

struct StringBuffer final : Buffer {
  std::string bytes;
  const char *data() const override { return bytes.data(); }
  size_t size() const override { return bytes.size(); }
};

struct MappedFile final : Buffer {
  void *base = nullptr;
  size_t length = 0;
  ~MappedFile() override {
    if (base && length)
      munmap(base, length);
  }
  const char *data() const override { return static_cast<const char *>(base); }
  size_t size() const override { return length; }
  void releasePages(size_t offset, size_t size) const override {
    // Whole pages inside the range only; a read-only private file mapping
    // refaults dropped pages from the file.
    size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    size_t begin = (offset + page - 1) / page * page;
    size_t end = std::min(length, offset + size) / page * page;
    if (base && end > begin)
      madvise(static_cast<char *>(base) + begin, end - begin, MADV_DONTNEED);
  }
};

class Reader {
public:
  explicit Reader(std::string baseDir) : baseDir(std::move(baseDir)) {}

  bool convertModel(::onnx::ModelProto &proto, Model &model) {
    model.irVersion = proto.ir_version();
    model.producerName = proto.producer_name();
    for (const auto &opset : proto.opset_import()) {
      std::string domain = opset.domain();
      if (domain == "ai.onnx")
        domain.clear();
      model.opsets[domain] = opset.version();
    }
    if (!proto.has_graph())
      return fail("the model has no graph");
    return convertGraph(*proto.mutable_graph(), model.graph);
  }

  bool convertTensor(::onnx::TensorProto &proto, Tensor &tensor) {
    tensor.name = proto.name();
    tensor.dataType = proto.data_type();
    if (static_cast<size_t>(proto.dims_size()) > kMaxRank)
      return fail("tensor '" + tensor.name + "' has rank " +
                  std::to_string(proto.dims_size()) + "; lowbit reads ranks " +
                  "up to " + std::to_string(kMaxRank));
    tensor.dims.assign(proto.dims().begin(), proto.dims().end());
    for (int64_t d : tensor.dims)
      if (d < 0)
        return fail("tensor '" + tensor.name + "' has a negative dimension");
    if (checkedElementCount(tensor.dims) < 0)
      return fail("tensor '" + tensor.name + "' declares more than 2^48 " +
                  "elements (dims " + dimsString(tensor.dims) + ")");
    if (proto.data_location() == ::onnx::TensorProto::EXTERNAL)
      return convertExternal(proto, tensor);
    if (proto.has_raw_data()) {
      auto buffer = std::make_shared<StringBuffer>();
      buffer->bytes.swap(*proto.mutable_raw_data());
      tensor.size = buffer->bytes.size();
      tensor.buffer = std::move(buffer);
      return checkSize(tensor);
    }
    auto buffer = std::make_shared<StringBuffer>();
    std::string &out = buffer->bytes;
    auto appendAs = [&](auto values, auto tag) {
      using T = decltype(tag);
      for (auto v : values) {
        T t = static_cast<T>(v);
        out.append(reinterpret_cast<const char *>(&t), sizeof(T));
      }
    };
    switch (tensor.dataType) {
    case kFloat:
      appendAs(proto.float_data(), float());
      break;
    case kDouble:
      appendAs(proto.double_data(), double());
      break;
    case kInt64:
      appendAs(proto.int64_data(), int64_t());
      break;
    case kInt32:
      appendAs(proto.int32_data(), int32_t());
      break;
    case kInt16:
      appendAs(proto.int32_data(), int16_t());
      break;
    case kUint16:
    case kFloat16:
    case kBfloat16:
      appendAs(proto.int32_data(), uint16_t());
      break;
    case kInt8:
      appendAs(proto.int32_data(), int8_t());
      break;
    case kUint8:
    case kBool:
      appendAs(proto.int32_data(), uint8_t());
      break;
    case kUint32:
      appendAs(proto.uint64_data(), uint32_t());
      break;
    case kUint64:
      appendAs(proto.uint64_data(), uint64_t());
      break;
    case kInt4:
    case kUint4:
    case kInt2:
    case kUint2:
      // Two 4-bit (four 2-bit) values per int32_data entry's low byte, as
      // ONNX packs them.
      appendAs(proto.int32_data(), uint8_t());
      break;
    default:
      if (tensor.numElements() == 0)
        break;
      return fail("tensor '" + tensor.name + "' has data type " +
                  dataTypeName(tensor.dataType) + ", which lowbit cannot read");
    }
    tensor.size = out.size();
    tensor.buffer = std::move(buffer);
    return checkSize(tensor);
  }

  std::string error;

private:
  bool fail(const std::string &message) {
    error = message;
    return false;
  }

  bool checkSize(const Tensor &tensor) {
    int64_t n = tensor.numElements();
    size_t expected;
    if (unsigned bits = subByteBits(tensor.dataType))
      expected = static_cast<size_t>((n * bits + 7) / 8);
    else if (size_t elem = dataTypeSize(tensor.dataType))
      expected = static_cast<size_t>(n) * elem;
    else
      return true;
    if (tensor.size != expected)
      return fail("tensor '" + tensor.name + "' holds " +
                  std::to_string(tensor.size) + " bytes, expected " +
                  std::to_string(expected) + " for its shape and type (" +
                  dataTypeName(tensor.dataType) + ")");
    return true;
  }

  bool convertExternal(const ::onnx::TensorProto &proto, Tensor &tensor) {
    std::string location;
    std::optional<uint64_t> offset, length;
    for (const auto &entry : proto.external_data()) {
      if (entry.key() == "location") {
        location = entry.value();
      } else if (entry.key() == "offset" || entry.key() == "length") {
        std::optional<uint64_t> value = parseCount(entry.value());
        if (!value)
          return fail("tensor '" + tensor.name + "' has external data " +
                      entry.key() + " '" + entry.value() +
                      "', which is not a byte count");
        (entry.key() == "offset" ? offset : length) = value;
      }
    }
    if (location.empty())
      return fail("tensor '" + tensor.name +
                  "' uses external data without a location");
    if (baseDir.empty())
      return fail("tensor '" + tensor.name +
                  "' uses external data, but the model was not read from a "
                  "file, so '" + location + "' cannot be resolved");
    if (location.find("..") != std::string::npos || location[0] == '/')
      return fail("tensor '" + tensor.name + "' names external data '" +
                  location + "' outside the model's directory");
    std::shared_ptr<MappedFile> file;
    if (!mapFile(tensor.name, location, file))
      return false;
    uint64_t size = file->length, begin = offset.value_or(0);
    if (begin > size || (length && *length > size - begin))
      return fail("tensor '" + tensor.name + "' reads " +
                  (length ? std::to_string(*length) : std::string("the")) +
                  " bytes from offset " + std::to_string(begin) + " of '" +
                  location + "', which has only " + std::to_string(size));
    tensor.buffer = file;
    tensor.offset = static_cast<size_t>(begin);
    tensor.size = static_cast<size_t>(length.value_or(size - begin));
    return checkSize(tensor);
  }

  /// A decimal byte count that fits uint64 (digits only); none otherwise.
  static std::optional<uint64_t> parseCount(const std::string &text) {
    if (text.empty() || text.size() > 20)
      return std::nullopt;
    uint64_t value = 0;
    for (char c : text) {
      if (c < '0' || c > '9' ||
          __builtin_mul_overflow(value, uint64_t(10), &value) ||
          __builtin_add_overflow(value, uint64_t(c - '0'), &value))
        return std::nullopt;
    }
    return value;
  }

  /// The canonical directory of the model, resolved once.
  bool canonicalBaseDir(std::string &out) {
    if (canonicalBase.empty()) {
      char *resolved = ::realpath(baseDir.c_str(), nullptr);
      if (!resolved)
        return fail("cannot resolve the model's directory '" + baseDir +
                    "': " + std::strerror(errno));
      canonicalBase = resolved;
      std::free(resolved);
    }
    out = canonicalBase;
    return true;
  }

  /// Maps the external data file `location` of tensor `name`. The file must
  /// be a regular file that lies, after every symlink is resolved, inside
  /// the model's directory (as onnx's checker requires): a symlink in the
  /// model folder must not turn /etc/passwd into weights.
  bool mapFile(const std::string &name, const std::string &location,
               std::shared_ptr<MappedFile> &out) {
    std::string base;
    if (!canonicalBaseDir(base))
      return false;
    std::string joined = baseDir + "/" + location;
    char *resolved = ::realpath(joined.c_str(), nullptr);
    if (!resolved)
      return fail("cannot open external data file '" + joined +
                  "' of tensor '" + name + "': " + std::strerror(errno));
    std::string path = resolved;
    std::free(resolved);
    if (path.compare(0, base.size() + 1, base + "/") != 0)
      return fail("tensor '" + name + "' names external data '" + location +
                  "', which resolves (through a symlink) to '" + path +
                  "', outside the model's directory '" + base + "'");
    auto it = mapped.find(path);
    if (it != mapped.end()) {
      out = it->second;
      return true;
    }
    // O_NONBLOCK: a FIFO must not block the open; it is refused below.
    int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
      return fail("cannot open external data file '" + path +
                  "': " + std::strerror(errno));
    struct stat st;
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      return fail("external data '" + location + "' of tensor '" + name +
                  "' is not a regular file");
    }
    auto file = std::make_shared<MappedFile>();
    if (st.st_size > 0) {
      file->length = static_cast<size_t>(st.st_size);
      file->base = ::mmap(nullptr, file->length, PROT_READ, MAP_PRIVATE, fd, 0);
      if (file->base == MAP_FAILED) {
        file->base = nullptr;
        ::close(fd);
        return fail("cannot map external data file '" + path + "'");
      }
    }
    ::close(fd);
    mapped[path] = file;
    out = file;
    return true;
  }

  bool convertValueInfo(const ::onnx::ValueInfoProto &proto, ValueInfo &info) {
    info.name = proto.name();
    if (!proto.type().has_tensor_type())
      return true;
    const auto &tt = proto.type().tensor_type();
    info.isTensor = true;
    info.elemType = tt.elem_type();
    if (!tt.has_shape())
      return true;
    info.hasShape = true;
    if (static_cast<size_t>(tt.shape().dim_size()) > kMaxRank)
      return fail("value '" + info.name + "' is declared with rank " +
                  std::to_string(tt.shape().dim_size()) +
                  "; lowbit reads ranks up to " + std::to_string(kMaxRank));
    for (const auto &dim : tt.shape().dim()) {
      if (dim.has_dim_value() && dim.dim_value() > kMaxElements)
        return fail("value '" + info.name + "' is declared with dimension " +
                    std::to_string(dim.dim_value()) + ", above 2^48");
      if (dim.has_dim_value() && dim.dim_value() >= 0) {
        info.dims.push_back(dim.dim_value());
        info.dimParams.emplace_back();
      } else {
        info.dims.push_back(-1);
        info.dimParams.push_back(dim.dim_param());
      }
    }
    return true;
  }

  bool convertAttribute(::onnx::AttributeProto &proto, Attribute &attr) {
    attr.name = proto.name();
    switch (proto.type()) {
    case ::onnx::AttributeProto::FLOAT:
      attr.kind = Attribute::kFloat;
      attr.f = proto.f();
      break;
    case ::onnx::AttributeProto::INT:
      attr.kind = Attribute::kInt;
      attr.i = proto.i();
      break;
    case ::onnx::AttributeProto::STRING:
      attr.kind = Attribute::kString;
      attr.s = proto.s();
      break;
    case ::onnx::AttributeProto::TENSOR:
      attr.kind = Attribute::kTensor;
      attr.tensor = std::make_shared<Tensor>();
      return convertTensor(*proto.mutable_t(), *attr.tensor);
    case ::onnx::AttributeProto::GRAPH:
      attr.kind = Attribute::kGraph;
      attr.graph = std::make_shared<Graph>();
      return convertGraph(*proto.mutable_g(), *attr.graph);
    case ::onnx::AttributeProto::FLOATS:
      attr.kind = Attribute::kFloats;
      attr.floats.assign(proto.floats().begin(), proto.floats().end());
      break;
    case ::onnx::AttributeProto::INTS:
      attr.kind = Attribute::kInts;
      attr.ints.assign(proto.ints().begin(), proto.ints().end());
      break;
    case ::onnx::AttributeProto::STRINGS:
      attr.kind = Attribute::kStrings;
      attr.strings.assign(proto.strings().begin(), proto.strings().end());
      break;
    default:
      attr.kind = Attribute::kUnknown;
      break;
    }
    return true;
  }

  bool convertGraph(::onnx::GraphProto &proto, Graph &graph) {
    graph.name = proto.name();
    graph.initializers.resize(proto.initializer_size());
    for (int i = 0; i < proto.initializer_size(); ++i)
      if (!convertTensor(*proto.mutable_initializer(i), graph.initializers[i]))
        return false;
    if (proto.sparse_initializer_size() > 0)
      return fail("sparse initializers are not supported (first: '" +
                  proto.sparse_initializer(0).values().name() + "')");
    auto convertInfos = [&](const auto &protos, std::vector<ValueInfo> &out) {
      out.resize(protos.size());
      for (int i = 0; i < protos.size(); ++i)
        if (!convertValueInfo(protos[i], out[i]))
          return false;
      return true;
    };
    if (!convertInfos(proto.input(), graph.inputs) ||
        !convertInfos(proto.output(), graph.outputs) ||
        !convertInfos(proto.value_info(), graph.valueInfos))
      return false;
    graph.nodes.resize(proto.node_size());
    for (int i = 0; i < proto.node_size(); ++i) {
      ::onnx::NodeProto &np = *proto.mutable_node(i);
      Node &node = graph.nodes[i];
      node.name = np.name();
      node.opType = np.op_type();
      node.domain = np.domain() == "ai.onnx" ? std::string() : np.domain();
      node.inputs.assign(np.input().begin(), np.input().end());
      node.outputs.assign(np.output().begin(), np.output().end());
      node.attributes.resize(np.attribute_size());
      for (int a = 0; a < np.attribute_size(); ++a)
        if (!convertAttribute(*np.mutable_attribute(a), node.attributes[a]))
          return false;
    }
    return true;
  }

  std::string baseDir;
  std::string canonicalBase;
  std::map<std::string, std::shared_ptr<MappedFile>> mapped;
};

std::string directoryOf(const std::string &path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? std::string(".") : path.substr(0, slash);
}

bool parseFromFile(const std::string &path, google::protobuf::MessageLite &msg,
                   std::string &error) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused
  // below with everything else that is not a regular file.
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    error = "cannot open '" + path + "': " + std::strerror(errno);
    return false;
  }
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    error = "'" + path + "' is not a regular file";
    return false;
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  bool ok;
  {
    // Streaming keeps peak memory near the size of the parsed message.
    google::protobuf::io::FileInputStream stream(fd);
    google::protobuf::io::CodedInputStream coded(&stream);
    coded.SetTotalBytesLimit(INT32_MAX);
    ok = msg.ParseFromCodedStream(&coded) && coded.ConsumedEntireMessage();
  }
  ::close(fd);
  if (!ok)
    error = "'" + path + "' is not a valid " + msg.GetTypeName() +
            " (protobuf parse failed: the file is truncated or not ONNX)";
  return ok;
}

} // namespace

int64_t checkedElementCount(const std::vector<int64_t> &dims) {
  int64_t n = 1;
  for (int64_t d : dims)
    if (d < 0 || d > kMaxElements)
      return -1;
  for (int64_t d : dims)
    if (__builtin_mul_overflow(n, d, &n) || n > kMaxElements)
      return -1;
  return n;
}

std::string dataTypeName(int32_t type) {
  static const char *names[] = {
      "UNDEFINED", "FLOAT",      "UINT8",    "INT8",         "UINT16",
      "INT16",     "INT32",      "INT64",    "STRING",       "BOOL",
      "FLOAT16",   "DOUBLE",     "UINT32",   "UINT64",       "COMPLEX64",
      "COMPLEX128", "BFLOAT16",  "FLOAT8E4M3FN", "FLOAT8E4M3FNUZ",
      "FLOAT8E5M2", "FLOAT8E5M2FNUZ", "UINT4", "INT4", "FLOAT4E2M1",
      "FLOAT8E8M0", "UINT2",     "INT2",     "FLOAT6E2M3",   "FLOAT6E3M2"};
  if (type >= 0 && type < static_cast<int32_t>(sizeof(names) / sizeof(*names)))
    return names[type];
  return "type " + std::to_string(type);
}

size_t dataTypeSize(int32_t type) {
  switch (type) {
  case kFloat:
  case kInt32:
  case kUint32:
    return 4;
  case kUint8:
  case kInt8:
  case kBool:
    return 1;
  case kUint16:
  case kInt16:
  case kFloat16:
  case kBfloat16:
    return 2;
  case kInt64:
  case kDouble:
  case kUint64:
    return 8;
  default:
    return 0;
  }
}

unsigned subByteBits(int32_t type) {
  switch (type) {
  case kInt4:
  case kUint4:
    return 4;
  case kInt2:
  case kUint2:
    return 2;
  default:
    return 0;
  }
}

std::vector<char> unpackSubByte(const Tensor &tensor) {
  unsigned bits = subByteBits(tensor.dataType);
  bool isSigned = tensor.dataType == kInt4 || tensor.dataType == kInt2;
  int64_t n = tensor.numElements();
  std::vector<char> out(bits ? n : 0);
  const auto *src = reinterpret_cast<const uint8_t *>(tensor.bytes());
  unsigned perByte = bits ? 8 / bits : 1, mask = (1u << bits) - 1;
  for (int64_t i = 0; i < static_cast<int64_t>(out.size()); ++i) {
    int v = (src[i / perByte] >> (bits * (i % perByte))) & mask;
    if (isSigned && v >= int(1u << (bits - 1)))
      v -= int(1u << bits);
    out[i] = static_cast<char>(v);
  }
  return out;
}

bool readModelFile(const std::string &path, Model &model, std::string &error) {
  ::onnx::ModelProto proto;
  if (!parseFromFile(path, proto, error))
    return false;
  Reader reader(directoryOf(path));
  if (!reader.convertModel(proto, model)) {
    error = reader.error;
    return false;
  }
  return true;
}

bool readModelBytes(const void *data, size_t size, const std::string &baseDir,
                    Model &model, std::string &error) {
  ::onnx::ModelProto proto;
  if (size > static_cast<size_t>(INT32_MAX) ||
      !proto.ParseFromArray(data, static_cast<int>(size))) {
    error = "the buffer is not a valid ONNX ModelProto (protobuf parse failed)";
    return false;
  }
  Reader reader(baseDir);
  if (!reader.convertModel(proto, model)) {
    error = reader.error;
    return false;
  }
  return true;
}

bool readTensorFile(const std::string &path, Tensor &tensor,
                    std::string &error) {
  ::onnx::TensorProto proto;
  if (!parseFromFile(path, proto, error))
    return false;
  Reader reader(directoryOf(path));
  if (!reader.convertTensor(proto, tensor)) {
    error = reader.error;
    return false;
  }
  return true;
}

} // namespace lowbit::onnx
