//===- CpuArtefact.cpp - write an ahead-of-time compiled artefact ---------===//
//
// The module is lowered like the JIT's (lowerModuleForCpu) and emitted as an
// object file for the target CPU. Beside it, in a scratch directory next to
// the output: the weights (one file, 64-byte aligned, pulled into the
// library by an assembler .incbin, so they are neither copied through LLVM
// nor parsed), the model's C tables with the C runtime of lowbit_artefact.h,
// and a version script that exports only that ABI. The system C compiler
// links them into NAME.so; NAME.h and NAME.json follow; each file is renamed
// into place complete.
//
//===----------------------------------------------------------------------===//
#include "CpuArtefactTarget.h"
#include "CpuLowering.h"
#include "lowbit/Artefact.h"
#include "lowbit/Dialects.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Location.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>
#include <map>

#include "ArtefactSources.inc"
#include "VersionInfo.inc"

using namespace mlir;
using namespace lowbit;
using namespace lowbit::detail;

const char *lowbit::getLowbitVersion() { return LOWBIT_VERSION_STRING; }
const char *lowbit::getLowbitGitHash() { return LOWBIT_GIT_HASH; }

ArtefactFiles lowbit::getArtefactFiles(llvm::StringRef base) {
  std::string stem = base.str();
  if (llvm::StringRef(stem).ends_with(".so"))
    stem.resize(stem.size() - 3);
  return {stem + ".so", stem + ".h", stem + ".json"};
}

/// The name a layer's location carries (the ONNX node name), or "".
static std::string locationName(Location loc) {
  if (auto name = dyn_cast<NameLoc>(loc))
    return name.getName().str();
  if (auto fused = dyn_cast<FusedLoc>(loc))
    for (Location inner : fused.getLocations())
      if (std::string name = locationName(inner); !name.empty())
        return name;
  return "";
}

llvm::json::Object lowbit::describeModule(ModuleOp module) {
  std::map<std::string, int64_t> histogram;
  llvm::json::Array layers;
  module.walk([&](Operation *op) {
    if (isa<ModuleOp>(op) || op->hasTrait<OpTrait::IsTerminator>() ||
        op->getName().getStringRef() == "func.func")
      return;
    ++histogram[op->getName().getStringRef().str()];
    llvm::json::Object layer;
    for (llvm::StringRef attr : {"w_bits", "a_bits", "bits", "group_size"})
      if (auto value = op->getAttrOfType<IntegerAttr>(attr))
        layer[attr] = value.getInt();
    if (!layer.empty()) {
      layer["op"] = op->getName().getStringRef().str();
      layer["name"] = locationName(op->getLoc());
      layers.push_back(std::move(layer));
    }
  });
  llvm::json::Object ops;
  for (const auto &[name, count] : histogram)
    ops[name] = count;
  return llvm::json::Object{{"ops", std::move(ops)},
                            {"quantized_layers", std::move(layers)}};
}

namespace {

constexpr uint64_t kWeightAlignment = 64;

/// `text` as the inside of a C string literal.
std::string cEscape(llvm::StringRef text) {
  std::string out;
  for (unsigned char c : text) {
    if (c == '\\' || c == '"')
      out += std::string("\\") + static_cast<char>(c);
    else if (c == '\n')
      out += "\\n";
    else if (c < 0x20 || c >= 0x7f)
      out += llvm::formatv("\\{0:o3}", static_cast<unsigned>(c)).str();
    else
      out += static_cast<char>(c);
  }
  return out;
}

llvm::json::Array tensorsJson(const std::vector<TensorSpec> &specs) {
  llvm::json::Array out;
  for (const TensorSpec &spec : specs) {
    llvm::json::Array shape;
    for (int64_t d : spec.shape)
      shape.push_back(d);
    out.push_back(llvm::json::Object{{"name", spec.name},
                                     {"dtype", numpyDtype(spec.type)},
                                     {"shape", std::move(shape)}});
  }
  return out;
}

/// The manifest: what a loader or `lowbit inspect` needs to know without
/// loading the library.
std::string manifestJson(ModuleOp source, const LoweredCpuModule &lowered,
                         const ArtefactTarget &target, Int8Kernel kernel,
                         uint64_t weightBytes, const ArtefactOptions &options) {
  llvm::json::Object description = describeModule(source);
  llvm::json::Array features;
  for (const std::string &f : target.requiredFeatures)
    features.push_back(f);
  llvm::json::Object metadata;
  for (const auto &[key, value] : options.metadata)
    metadata[key] = value;
  const char *kernelName = kernel == Int8Kernel::Avx512Vnni ? "avx512-vnni"
                           : kernel == Int8Kernel::Portable ? "portable"
                                                            : "reference";
  llvm::json::Object root{
      {"format", "lowbit-artefact"},
      {"abi_version", 1},
      {"lowbit_version", getLowbitVersion()},
      {"git", getLowbitGitHash()},
      {"llvm_version", LLVM_VERSION_STRING},
      {"target",
       llvm::json::Object{{"triple", target.triple},
                          {"cpu", target.cpu},
                          {"required_features", std::move(features)}}},
      {"int8_kernel", kernelName},
      {"opt_level", static_cast<int64_t>(options.compile.optLevel)},
      {"threads", 1},
      {"inputs", tensorsJson(lowered.inputs)},
      {"outputs", tensorsJson(lowered.outputs)},
      {"weights_bytes", static_cast<int64_t>(weightBytes)},
      {"ops", std::move(*description.get("ops"))},
      {"quantized_layers", std::move(*description.get("quantized_layers"))},
      {"metadata", std::move(metadata)},
  };
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::formatv("{0:2}", llvm::json::Value(std::move(root))) << "\n";
  return text;
}

void emitTensorTable(llvm::raw_ostream &os, llvm::StringRef table,
                     const std::vector<TensorSpec> &specs) {
  for (size_t i = 0; i < specs.size(); ++i) {
    os << "static const int64_t " << table << "_shape" << i << "_[] = {";
    for (int64_t d : specs[i].shape)
      os << d << ", ";
    os << "0};\n";
  }
  os << "static const lowbit_tensor_info " << table << "_["
     << std::max<size_t>(specs.size(), 1) << "] = {\n";
  for (size_t i = 0; i < specs.size(); ++i)
    os << "  {\"" << cEscape(specs[i].name) << "\", \""
       << numpyDtype(specs[i].type) << "\", " << specs[i].shape.size() << ", "
       << table << "_shape" << i << "_, " << specs[i].byteSize() << "},\n";
  if (specs.empty())
    os << "  {\"\", \"\", 0, 0, 0},\n";
  os << "};\n";
}

/// The model's C source: its tables, CPU check and entry call, then the
/// fixed runtime.
std::string modelSource(const LoweredCpuModule &lowered,
                        const ArtefactTarget &target,
                        const std::vector<uint64_t> &weightOffsets,
                        llvm::StringRef manifest) {
  std::string text;
  llvm::raw_string_ostream os(text);
  size_t numArgs =
      lowered.inputs.size() + lowered.weights.size() + lowered.outputs.size();
  os << "/* Generated by lowbit " << getLowbitVersion() << "; do not edit. */\n"
     << "#include <stdint.h>\n#include \"lowbit_artefact.h\"\n\n"
     << "#define LOWBIT_NUM_INPUTS_ " << lowered.inputs.size() << "\n"
     << "#define LOWBIT_NUM_OUTPUTS_ " << lowered.outputs.size() << "\n"
     << "#define LOWBIT_NUM_WEIGHTS_ " << lowered.weights.size() << "\n";
  emitTensorTable(os, "lowbit_inputs", lowered.inputs);
  emitTensorTable(os, "lowbit_outputs", lowered.outputs);
  size_t numWeights = std::max<size_t>(lowered.weights.size(), 1);
  std::string offsets, ranks, shapes;
  for (size_t i = 0; i < lowered.weights.size(); ++i) {
    const TensorSpec &spec = lowered.weights[i].second;
    os << "static const int64_t lowbit_weight_shape" << i << "_[] = {";
    for (int64_t d : spec.shape)
      os << d << ", ";
    os << "0};\n";
    offsets += std::to_string(weightOffsets[i]) + ", ";
    ranks += std::to_string(spec.shape.size()) + ", ";
    shapes += "lowbit_weight_shape" + std::to_string(i) + "_, ";
  }
  if (lowered.weights.empty())
    offsets = ranks = shapes = "0";
  os << "static const int64_t lowbit_weight_offsets_[" << numWeights
     << "] = {" << offsets << "};\n"
     << "static const int32_t lowbit_weight_ranks_[" << numWeights << "] = {"
     << ranks << "};\n"
     << "static const int64_t *const lowbit_weight_shapes_[" << numWeights
     << "] = {" << shapes << "};\n"
     << "extern const unsigned char lowbit_weights_blob_[];\n"
     << "static const char lowbit_manifest_[] = \"" << cEscape(manifest)
     << "\";\n"
     << "static const char lowbit_target_cpu_[] = \"" << cEscape(target.cpu)
     << "\";\n\n"
     << "static const char *lowbit_missing_cpu_feature_(void) {\n"
     << "#if defined(__x86_64__) || defined(__i386__)\n"
     << "  __builtin_cpu_init();\n";
  for (const std::string &f : target.requiredFeatures)
    os << "  if (!__builtin_cpu_supports(\"" << f << "\"))\n    return \"" << f
       << "\";\n";
  os << "#endif\n  return 0;\n}\n\n"
     << "void _mlir_ciface_" << lowered.entrySymbol << "(";
  for (size_t i = 0; i < numArgs; ++i)
    os << (i ? ", " : "") << "void *";
  if (!numArgs)
    os << "void";
  os << ");\nstatic void lowbit_call_(void **args) {\n  (void)args;\n"
     << "  _mlir_ciface_" << lowered.entrySymbol << "(";
  for (size_t i = 0; i < numArgs; ++i)
    os << (i ? ", " : "") << "args[" << i << "]";
  os << ");\n}\n\n" << kArtefactPoolSource << kArtefactRuntimeSource;
  return text;
}

/// The header users include: the ABI, then the model's I/O as comments and
/// macros.
std::string headerSource(const LoweredCpuModule &lowered) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << kArtefactHeaderSource << "\n/* This artefact:\n";
  auto list = [&](const char *kind, const std::vector<TensorSpec> &specs) {
    for (size_t i = 0; i < specs.size(); ++i) {
      os << " *   " << kind << " " << i << ": '" << specs[i].name << "' "
         << numpyDtype(specs[i].type) << " [";
      for (size_t d = 0; d < specs[i].shape.size(); ++d)
        os << (d ? "x" : "") << specs[i].shape[d];
      os << "], " << specs[i].byteSize() << " bytes\n";
    }
  };
  list("input", lowered.inputs);
  list("output", lowered.outputs);
  os << " */\n#define LOWBIT_MODEL_NUM_INPUTS " << lowered.inputs.size()
     << "\n#define LOWBIT_MODEL_NUM_OUTPUTS " << lowered.outputs.size() << "\n";
  return text;
}

llvm::Error writeFile(llvm::StringRef path, llvm::StringRef contents) {
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec, llvm::sys::fs::OF_None);
  if (ec)
    return makeError("cannot write " + path + ": " + ec.message());
  os << contents;
  os.close();
  if (os.has_error())
    return makeError("writing " + path + " failed: " + os.error().message());
  return llvm::Error::success();
}

/// The C compiler: `requested`, else $CC, else `cc` on PATH.
llvm::Expected<std::string> findCCompiler(llvm::StringRef requested) {
  std::string name = requested.str();
  if (name.empty())
    if (const char *env = std::getenv("CC"); env && *env)
      name = env;
  if (name.empty())
    name = "cc";
  if (llvm::sys::path::has_parent_path(name)) {
    if (!llvm::sys::fs::can_execute(name))
      return makeError("the C compiler '" + name + "' is not executable");
    return name;
  }
  auto found = llvm::sys::findProgramByName(name);
  if (!found)
    return makeError("no C compiler '" + name +
                     "' on PATH: artefacts are linked with the system C "
                     "compiler (install gcc or clang, or set CC)");
  return *found;
}

} // namespace

llvm::Expected<ArtefactFiles>
lowbit::writeCpuArtefact(ModuleOp module, llvm::StringRef base,
                         const ArtefactOptions &options) {
  ArtefactFiles files = getArtefactFiles(base);
  if (options.compile.numThreads != 1)
    return makeError("artefacts run on one thread for now (--threads=1); "
                     "multi-threaded execution is JIT-only");
  if (options.compile.optLevel > 3)
    return makeError("the optimisation level must be 0..3");
  auto cc = findCCompiler(options.cc);
  if (!cc)
    return cc.takeError();
  auto target = makeArtefactTarget(options.targetCpu);
  if (!target)
    return target.takeError();
  Int8Kernel kernel = options.compile.int8Kernel;
  if (kernel == Int8Kernel::Auto)
    kernel = target->hasAvx512Vnni ? Int8Kernel::Avx512Vnni
                                   : Int8Kernel::Portable;
  if (kernel == Int8Kernel::Avx512Vnni && !target->hasAvx512Vnni)
    return makeError("the AVX-512 VNNI int8 kernel was asked for, but the "
                     "target CPU '" +
                     target->cpu + "' has no AVX-512 VNNI");

  // Errors emitted while lowering reach the caller as text.
  LoweringDiagnostics collected(module.getContext());
  const std::string &diagnostics = collected.text;
  auto lowered =
      lowerModuleForCpu(module, options.compile, 1, kernel, diagnostics);
  if (!lowered)
    return lowered.takeError();

  // Scratch directory beside the output, so that the final renames stay on
  // one file system; removed whatever happens.
  llvm::SmallString<256> outDir(llvm::sys::path::parent_path(files.library));
  if (outDir.empty())
    outDir = ".";
  if (!llvm::sys::fs::is_directory(outDir))
    return makeError("the output directory '" + outDir + "' does not exist");
  llvm::SmallString<256> scratch;
  if (std::error_code ec = llvm::sys::fs::createUniqueDirectory(
          outDir + "/.lowbit-artefact", scratch))
    return makeError("cannot create a scratch directory in '" + outDir +
                     "': " + ec.message());
  llvm::scope_exit removeScratch(
      [&] { llvm::sys::fs::remove_directories(scratch); });
  auto inScratch = [&](llvm::StringRef name) {
    return (scratch + "/" + name).str();
  };

  // Weights: one file, each tensor 64-byte aligned.
  std::vector<uint64_t> offsets;
  uint64_t weightBytes = 0;
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(inScratch("weights.bin"), ec);
    if (ec)
      return makeError("cannot write the weights: " + ec.message());
    for (const auto &[data, spec] : lowered->weights) {
      uint64_t padded = llvm::alignTo(weightBytes, kWeightAlignment);
      os.write_zeros(padded - weightBytes);
      offsets.push_back(padded);
      os.write(static_cast<const char *>(data), spec.byteSize());
      weightBytes = padded + spec.byteSize();
    }
    os.write_zeros(llvm::alignTo(weightBytes, kWeightAlignment) - weightBytes);
    os.close();
    if (os.has_error())
      return makeError("writing the weights failed: " + os.error().message());
  }
  std::string manifest = manifestJson(module, *lowered, *target, kernel,
                                      weightBytes, options);
  if (llvm::Error err =
          emitObjectFile(*lowered->module, *target, options.compile.optLevel,
                         inScratch("model.o")))
    return std::move(err);
  std::string weightsBin = inScratch("weights.bin");
  if (weightsBin.find_first_of("\"\\\n") != std::string::npos)
    return makeError("the output directory's path has a quote, backslash or "
                     "newline, which the assembler cannot take");
  const std::pair<const char *, std::string> sources[] = {
      {"lowbit_artefact.h", kArtefactHeaderSource},
      {"model.c", modelSource(*lowered, *target, offsets, manifest)},
      {"weights.S",
       "  .section .rodata.lowbit_weights,\"a\",@progbits\n"
       "  .balign 64\n  .globl lowbit_weights_blob_\n"
       "  .hidden lowbit_weights_blob_\nlowbit_weights_blob_:\n"
       "  .incbin \"" + weightsBin + "\"\n"
       "  .byte 0\n  .section .note.GNU-stack,\"\",@progbits\n"},
      {"exports.map",
       "{\n  global:\n    lowbit_abi_version; lowbit_manifest; lowbit_num_inputs;\n"
       "    lowbit_num_outputs; lowbit_input_info; lowbit_output_info;\n"
       "    lowbit_session_create; lowbit_session_run;\n"
       "    lowbit_session_destroy; lowbit_last_error;\n  local: *;\n};\n"},
      {"model.h", headerSource(*lowered)},
      {"model.json", manifest},
  };
  for (const auto &[name, text] : sources)
    if (llvm::Error err = writeFile(inScratch(name), text))
      return std::move(err);

  std::string library = inScratch("model.so"), log = inScratch("cc.log");
  std::vector<std::string> args = {
      *cc, "-shared", "-fPIC", "-O2", "-std=gnu11", "-I", scratch.str().str(),
      "-o", library, inScratch("model.c"), inScratch("weights.S"),
      inScratch("model.o"), "-Wl,--version-script=" + inScratch("exports.map"),
      "-Wl,-z,defs", "-Wl,-z,noexecstack", "-lm"};
  std::vector<llvm::StringRef> argRefs(args.begin(), args.end());
  std::optional<llvm::StringRef> redirects[] = {std::nullopt, log, log};
  std::string execError;
  int rc = llvm::sys::ExecuteAndWait(*cc, argRefs, std::nullopt, redirects, 0,
                                     0, &execError);
  if (rc != 0) {
    std::string output;
    if (auto buffer = llvm::MemoryBuffer::getFile(log))
      output = (*buffer)->getBuffer().take_back(2000).str();
    return makeError("linking the artefact with " + *cc + " failed" +
                     (execError.empty() ? "" : " (" + execError + ")") + ": " +
                     output);
  }

  // Into place: library first, manifest last; a failure removes what was
  // already moved.
  const std::pair<std::string, std::string> moves[] = {
      {library, files.library},
      {inScratch("model.h"), files.header},
      {inScratch("model.json"), files.manifest}};
  for (size_t i = 0; i < std::size(moves); ++i) {
    if (std::error_code ec =
            llvm::sys::fs::rename(moves[i].first, moves[i].second)) {
      for (size_t j = 0; j < i; ++j)
        llvm::sys::fs::remove(moves[j].second);
      return makeError("cannot write " + moves[i].second + ": " +
                       ec.message());
    }
  }
  return files;
}
