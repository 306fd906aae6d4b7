//===- CpuSignature.cpp - the CPU calling convention's tensor specs -------===//
#include "CpuLowering.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinTypes.h"

using namespace mlir;
using namespace lowbit;
using namespace lowbit::detail;

size_t lowbit::elementSize(ElementType type) {
  switch (type) {
  case ElementType::F64:
  case ElementType::I64:
    return 8;
  case ElementType::F32:
  case ElementType::I32:
    return 4;
  case ElementType::F16:
  case ElementType::BF16:
  case ElementType::I16:
  case ElementType::UI16:
    return 2;
  case ElementType::I8:
  case ElementType::Bool:
  case ElementType::UI8:
  case ElementType::I4:
  case ElementType::UI4:
  case ElementType::I2:
  case ElementType::UI2:
    return 1;
  }
  return 0;
}

const char *lowbit::numpyDtype(ElementType type) {
  switch (type) {
  case ElementType::F32:
    return "f4";
  case ElementType::F64:
    return "f8";
  case ElementType::F16:
    return "f2";
  case ElementType::BF16:
    return "bf16";
  case ElementType::I64:
    return "i8";
  case ElementType::I32:
    return "i4";
  case ElementType::I8:
  case ElementType::I4:
  case ElementType::I2:
    return "i1";
  case ElementType::Bool:
    return "b1";
  case ElementType::UI8:
  case ElementType::UI4:
  case ElementType::UI2:
    return "u1";
  case ElementType::I16:
    return "i2";
  case ElementType::UI16:
    return "u2";
  }
  return "?";
}

int64_t TensorSpec::numElements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

llvm::Error lowbit::detail::makeError(const Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

FailureOr<ElementType> lowbit::detail::toElementType(Type type) {
  if (type.isF32())
    return ElementType::F32;
  if (type.isF64())
    return ElementType::F64;
  if (type.isF16())
    return ElementType::F16;
  if (type.isBF16())
    return ElementType::BF16;
  if (type.isInteger(64))
    return ElementType::I64;
  if (type.isInteger(32))
    return ElementType::I32;
  if (type.isInteger(16))
    return ElementType::I16;
  if (type.isInteger(8))
    return ElementType::I8;
  if (type.isInteger(1))
    return ElementType::Bool;
  return failure();
}

namespace {
/// The exchanged type of an i8/i16 container that holds ONNX data type
/// `onnxType` (TensorProto.DataType: UINT8, INT16, UINT16, INT4, ...).
FailureOr<ElementType> refineByOnnxType(ElementType container,
                                        int64_t onnxType) {
  ElementType byte[] = {ElementType::UI8, ElementType::I8, ElementType::UI4,
                        ElementType::I4,  ElementType::UI2, ElementType::I2};
  int64_t byteOnnx[] = {2, 3, 21, 22, 25, 26};
  for (size_t i = 0; i < std::size(byte); ++i)
    if (onnxType == byteOnnx[i] && container == ElementType::I8)
      return byte[i];
  if (container == ElementType::I16 && (onnxType == 4 || onnxType == 5))
    return onnxType == 4 ? ElementType::UI16 : ElementType::I16;
  return failure();
}
} // namespace

FailureOr<TensorSpec> lowbit::detail::specFor(Type type, StringRef name,
                                              std::string &error,
                                              IntegerAttr onnxType) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  if (!tensor || !tensor.hasStaticShape()) {
    error = "'" + name.str() + "' must be a statically shaped tensor";
    return failure();
  }
  auto elem = toElementType(tensor.getElementType());
  if (failed(elem)) {
    llvm::raw_string_ostream os(error);
    os << "'" << name << "' has element type " << tensor.getElementType()
       << ", which the CPU runner cannot exchange";
    return failure();
  }
  TensorSpec spec;
  spec.name = name.str();
  spec.type = *elem;
  // The importer marks integer I/O that the signless MLIR type does not tell
  // apart (uint8 in i8, int4 in i8, ...) with its ONNX data type.
  if (onnxType) {
    auto refined = refineByOnnxType(*elem, onnxType.getInt());
    if (failed(refined)) {
      llvm::raw_string_ostream os(error);
      os << "'" << name << "' is marked onnx.elem_type = " << onnxType.getInt()
         << ", which does not fit its element type " << tensor.getElementType();
      return failure();
    }
    spec.type = *refined;
  }
  spec.shape.assign(tensor.getShape().begin(), tensor.getShape().end());
  return spec;
}

llvm::Expected<func::FuncOp> lowbit::detail::findEntryFunction(ModuleOp module) {
  SmallVector<func::FuncOp> funcs;
  for (auto f : module.getOps<func::FuncOp>())
    if (!f.isExternal() && f.isPublic())
      funcs.push_back(f);
  if (funcs.size() != 1)
    return makeError("the module must hold exactly one public function, it "
                     "holds " +
                     Twine(funcs.size()));
  return funcs.front();
}

llvm::Error lowbit::getEntrySignature(ModuleOp module,
                                      std::vector<TensorSpec> &inputs,
                                      std::vector<TensorSpec> &outputs) {
  auto entry = findEntryFunction(module);
  if (!entry)
    return entry.takeError();
  func::FuncOp func = *entry;
  inputs.clear();
  outputs.clear();
  std::string error;
  FunctionType ftype = func.getFunctionType();
  for (unsigned i = 0; i < ftype.getNumInputs(); ++i) {
    auto nameAttr = func.getArgAttrOfType<StringAttr>(i, "onnx.name");
    std::string name = nameAttr ? nameAttr.str() : "arg" + std::to_string(i);
    auto spec = specFor(ftype.getInput(i), name, error,
                        func.getArgAttrOfType<IntegerAttr>(i, "onnx.elem_type"));
    if (failed(spec))
      return makeError("input " + error);
    inputs.push_back(*spec);
  }
  for (unsigned i = 0; i < ftype.getNumResults(); ++i) {
    auto nameAttr = func.getResultAttrOfType<StringAttr>(i, "onnx.name");
    std::string name =
        nameAttr ? nameAttr.str() : "result" + std::to_string(i);
    auto spec =
        specFor(ftype.getResult(i), name, error,
                func.getResultAttrOfType<IntegerAttr>(i, "onnx.elem_type"));
    if (failed(spec))
      return makeError("output " + error);
    outputs.push_back(*spec);
  }
  return llvm::Error::success();
}
