// Embeds lowbit: imports an ONNX model, compiles it for the CPU, runs it on
// inputs filled with a fixed pattern ((7i mod 17)/8 - 1), and prints each output's shape and sum.
//   embed MODEL.onnx [NAME=DIMS ...]
#include "lowbit/Compiler.h"

#include "llvm/Support/raw_ostream.h"

#include <vector>

int main(int argc, char **argv) {
  if (argc < 2) {
    llvm::errs() << "usage: embed MODEL.onnx [NAME=DIMS ...]\n";
    return 1;
  }
  lowbit::ImportOptions options;
  for (int i = 2; i < argc; ++i) {
    std::string error = lowbit::parseInputShapeFlag(argv[i], options);
    if (!error.empty()) {
      llvm::errs() << "error: " << error << "\n";
      return 1;
    }
  }
  auto module = lowbit::Module::importOnnx(argv[1], options);
  if (!module) {
    llvm::errs() << "error: " << llvm::toString(module.takeError()) << "\n";
    return 1;
  }
  auto exe = module->compileForCpu();
  if (!exe) {
    llvm::errs() << "error: " << llvm::toString(exe.takeError()) << "\n";
    return 1;
  }
  std::vector<std::vector<float>> inputs, outputs;
  std::vector<const void *> in;
  std::vector<void *> out;
  for (const lowbit::TensorSpec &spec : (*exe)->inputs()) {
    if (spec.type != lowbit::ElementType::F32) {
      llvm::errs() << "error: this example feeds float32 inputs only\n";
      return 1;
    }
    std::vector<float> data(spec.numElements());
    for (size_t i = 0; i < data.size(); ++i)
      data[i] = static_cast<float>((i * 7) % 17) / 8.0f - 1.0f;
    inputs.push_back(std::move(data));
    in.push_back(inputs.back().data());
  }
  for (const lowbit::TensorSpec &spec : (*exe)->outputs()) {
    outputs.emplace_back(spec.byteSize() / sizeof(float) + 1);
    out.push_back(outputs.back().data());
  }
  if (llvm::Error err = (*exe)->run(in, out)) {
    llvm::errs() << "error: " << llvm::toString(std::move(err)) << "\n";
    return 1;
  }
  for (size_t i = 0; i < outputs.size(); ++i) {
    const lowbit::TensorSpec &spec = (*exe)->outputs()[i];
    double sum = 0;
    for (int64_t j = 0; j < spec.numElements(); ++j)
      sum += outputs[i][j];
    llvm::outs() << spec.name << ": [";
    for (size_t d = 0; d < spec.shape.size(); ++d)
      llvm::outs() << (d ? "x" : "") << spec.shape[d];
    llvm::outs() << "] sum=" << llvm::format("%.6f", sum) << "\n";
  }
  return 0;
}
