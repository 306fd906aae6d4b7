//===- LowbitModule.cpp - nanobind bindings over include/lowbit -----------===//
//
// The Python package's native part. It is the one translation unit built with
// C++ exceptions (nanobind reports errors that way); everything it calls is
// the exception-free public API, whose llvm::Errors become Python exceptions
// carrying the diagnostic text.
//
//===----------------------------------------------------------------------===//
#include "lowbit/Artefact.h"
#include "lowbit/Compiler.h"
#include "lowbit/Recipes.h"
#include "lowbit/Report.h"
#include "lib/Support/Progress.h"

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/map.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <cstring>
#include <map>
#include <stdexcept>

namespace nb = nanobind;
using namespace nb::literals;

namespace {

struct LowbitError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct UnsupportedError : LowbitError {
  using LowbitError::LowbitError;
};

/// Throws the Python exception for `error`, or does nothing on success.
void check(llvm::Error error) {
  if (!error)
    return;
  bool unsupported = lowbit::isUnsupported(error);
  std::string message = llvm::toString(std::move(error));
  if (unsupported)
    throw UnsupportedError(message);
  throw LowbitError(message);
}

template <typename T> T unwrap(llvm::Expected<T> value) {
  if (!value)
    check(value.takeError());
  return std::move(*value);
}

nb::dlpack::dtype toDlpack(lowbit::ElementType type) {
  using Code = nb::dlpack::dtype_code;
  switch (type) {
  case lowbit::ElementType::F32:
    return nb::dtype<float>();
  case lowbit::ElementType::F64:
    return nb::dtype<double>();
  case lowbit::ElementType::F16:
    return {static_cast<uint8_t>(Code::Float), 16, 1};
  case lowbit::ElementType::BF16:
    return {static_cast<uint8_t>(Code::Bfloat), 16, 1};
  case lowbit::ElementType::I64:
    return nb::dtype<int64_t>();
  case lowbit::ElementType::I32:
    return nb::dtype<int32_t>();
  case lowbit::ElementType::I8:
  case lowbit::ElementType::I4: // int4/int2: one value per int8
  case lowbit::ElementType::I2:
    return nb::dtype<int8_t>();
  case lowbit::ElementType::Bool:
    return nb::dtype<bool>();
  case lowbit::ElementType::UI8:
  case lowbit::ElementType::UI4: // uint4/uint2: one value per uint8
  case lowbit::ElementType::UI2:
    return nb::dtype<uint8_t>();
  case lowbit::ElementType::I16:
    return nb::dtype<int16_t>();
  case lowbit::ElementType::UI16:
    return nb::dtype<uint16_t>();
  }
  return nb::dtype<float>();
}

/// numpy-style name of a DLPack dtype ("f4", "i8", "b1", ...).
std::string dtypeName(nb::dlpack::dtype t) {
  using Code = nb::dlpack::dtype_code;
  std::string kind = "?";
  switch (static_cast<Code>(t.code)) {
  case Code::Float:
    kind = "f";
    break;
  case Code::Int:
    kind = "i";
    break;
  case Code::UInt:
    kind = "u";
    break;
  case Code::Bool:
    kind = "b";
    break;
  case Code::Bfloat:
    kind = "bf";
    break;
  default:
    break;
  }
  return kind + std::to_string(t.bits / 8);
}

std::string shapeString(const std::vector<int64_t> &shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

nb::dict specToDict(const lowbit::TensorSpec &spec) {
  nb::dict d;
  d["name"] = spec.name;
  d["dtype"] = std::string(lowbit::numpyDtype(spec.type));
  d["shape"] = nb::tuple(nb::cast(spec.shape));
  return d;
}

using Array = nb::ndarray<nb::numpy, nb::c_contig, nb::device::cpu>;
/// Inputs are only read: read-only arrays are accepted as they are.
using InputArray = nb::ndarray<nb::ro, nb::c_contig, nb::device::cpu>;

/// `value` as a C-contiguous CPU array of exactly `spec`'s dtype and shape.
InputArray toInputArray(nb::handle value, const lowbit::TensorSpec &spec) {
  InputArray a;
  if (!nb::try_cast(value, a))
    throw nb::type_error(("input '" + spec.name +
                          "' must be a C-contiguous numpy array")
                             .c_str());
  std::vector<int64_t> shape(a.shape_ptr(), a.shape_ptr() + a.ndim());
  if (a.dtype() != toDlpack(spec.type) || shape != spec.shape)
    throw nb::value_error(("input '" + spec.name + "' expects " +
                           lowbit::numpyDtype(spec.type) + " " +
                           shapeString(spec.shape) + ", got " +
                           dtypeName(a.dtype()) + " " + shapeString(shape))
                              .c_str());
  return a;
}

/// A fresh numpy array holding a copy of `array`.
nb::object toNumpy(const lowbit::NamedArray &array) {
  nb::dlpack::dtype dtype;
  if (array.dtype == "f4")
    dtype = nb::dtype<float>();
  else if (array.dtype == "f8")
    dtype = nb::dtype<double>();
  else if (array.dtype == "i8")
    dtype = nb::dtype<int64_t>();
  else
    throw LowbitError("array '" + array.name + "' has unexpected dtype " +
                      array.dtype);
  size_t bytes = array.data.size();
  char *buffer = new char[bytes > 0 ? bytes : 1];
  std::memcpy(buffer, array.data.data(), bytes);
  nb::capsule owner(buffer, [](void *p) noexcept {
    delete[] static_cast<char *>(p);
  });
  std::vector<size_t> shape(array.shape.begin(), array.shape.end());
  return Array(buffer, shape.size(), shape.data(), owner, nullptr, dtype)
      .cast();
}

/// Runs calibration on `samples` (each a dict input name -> array, or a
/// sequence in input order); returns {"<layer>/<statistic>": array}.
nb::dict calibrateModule(lowbit::Module &self, nb::sequence samples,
                         const std::string &ops, bool hessians,
                         const std::string &statsPath, nb::object progress) {
  std::vector<lowbit::TensorSpec> specs = unwrap(self.inputs());
  std::vector<InputArray> keep;
  std::vector<std::vector<const void *>> pointers;
  size_t index = 0;
  for (nb::handle sample : samples) {
    std::vector<const void *> row;
    if (nb::isinstance<nb::dict>(sample)) {
      nb::dict d = nb::borrow<nb::dict>(sample);
      for (const auto &spec : specs) {
        if (!d.contains(spec.name.c_str()))
          throw nb::value_error(("calibration sample " +
                                 std::to_string(index) + ": input '" +
                                 spec.name + "' is missing")
                                    .c_str());
        keep.push_back(toInputArray(d[spec.name.c_str()], spec));
        row.push_back(keep.back().data());
      }
    } else {
      nb::sequence seq = nb::borrow<nb::sequence>(sample);
      if (nb::len(seq) != specs.size())
        throw nb::value_error(("calibration sample " + std::to_string(index) +
                               " has " + std::to_string(nb::len(seq)) +
                               " inputs, the model takes " +
                               std::to_string(specs.size()))
                                  .c_str());
      for (size_t i = 0; i < specs.size(); ++i) {
        keep.push_back(toInputArray(seq[i], specs[i]));
        row.push_back(keep.back().data());
      }
    }
    pointers.push_back(std::move(row));
    ++index;
  }
  lowbit::CalibrationOptions options;
  options.ops = ops;
  options.hessians = hessians;
  options.statsPath = statsPath;
  if (!progress.is_none())
    options.progress = [progress](size_t done, size_t total) {
      progress(done, total);
    };
  std::vector<lowbit::NamedArray> arrays =
      unwrap(self.calibrate(pointers, options));
  nb::dict result;
  for (const auto &a : arrays)
    result[a.name.c_str()] = toNumpy(a);
  return result;
}

/// A compiled model. C-contiguous inputs of the right dtype are read in
/// place (no copy; lowbit.Executable.run converts anything else once, as
/// numpy.asarray(order="C") does); each output is a
/// fresh numpy array that the compiled code writes into directly.
class Executable {
public:
  Executable(std::unique_ptr<lowbit::CpuExecutable> exe, nb::object owner)
      : exe(std::move(exe)), owner(std::move(owner)) {}

  nb::list inputs() const {
    nb::list l;
    for (const auto &spec : exe->inputs())
      l.append(specToDict(spec));
    return l;
  }
  nb::list outputs() const {
    nb::list l;
    for (const auto &spec : exe->outputs())
      l.append(specToDict(spec));
    return l;
  }

  nb::dict run(nb::object feeds) {
    const auto &specs = exe->inputs();
    std::vector<InputArray> arrays;
    if (nb::isinstance<nb::dict>(feeds)) {
      nb::dict d = nb::cast<nb::dict>(feeds);
      for (const auto &spec : specs) {
        if (!d.contains(spec.name.c_str()))
          throw nb::value_error(("input '" + spec.name + "' is missing").c_str());
        arrays.push_back(toInput(d[spec.name.c_str()], spec));
      }
      if (d.size() != specs.size())
        for (auto item : d) {
          std::string key = nb::cast<std::string>(item.first);
          bool known = false;
          for (const auto &spec : specs)
            known = known || spec.name == key;
          if (!known)
            throw nb::value_error(
                ("'" + key + "' is not an input of the model").c_str());
        }
    } else {
      nb::sequence seq = nb::cast<nb::sequence>(feeds);
      if (nb::len(seq) != specs.size())
        throw nb::value_error(("the model takes " +
                               std::to_string(specs.size()) + " inputs, got " +
                               std::to_string(nb::len(seq)))
                                  .c_str());
      for (size_t i = 0; i < specs.size(); ++i)
        arrays.push_back(toInput(seq[i], specs[i]));
    }
    std::vector<const void *> in;
    for (auto &a : arrays)
      in.push_back(a.data());

    std::vector<void *> out;
    std::vector<nb::object> results;
    for (const auto &spec : exe->outputs()) {
      size_t bytes = spec.byteSize();
      char *buffer = new char[bytes > 0 ? bytes : 1];
      std::memset(buffer, 0, bytes);
      nb::capsule owner(buffer, [](void *p) noexcept {
        delete[] static_cast<char *>(p);
      });
      std::vector<size_t> shape(spec.shape.begin(), spec.shape.end());
      Array array(buffer, shape.size(), shape.data(), owner, nullptr,
                  toDlpack(spec.type));
      out.push_back(buffer);
      results.push_back(array.cast());
    }
    {
      // The compiled code does not touch Python objects.
      nb::gil_scoped_release release;
      llvm::Error err = exe->run(in, out);
      if (err) {
        nb::gil_scoped_acquire acquire;
        check(std::move(err));
      }
    }
    nb::dict d;
    for (size_t i = 0; i < results.size(); ++i)
      d[exe->outputs()[i].name.c_str()] = results[i];
    return d;
  }

private:
  static InputArray toInput(nb::handle value, const lowbit::TensorSpec &spec) {
    return toInputArray(value, spec);
  }

  std::unique_ptr<lowbit::CpuExecutable> exe;
  nb::object owner; ///< the Module whose weight blobs the code reads
};

lowbit::ImportOptions makeOptions(
    const std::map<std::string, std::vector<int64_t>> &inputShapes,
    const std::string &maxMemory = "") {
  lowbit::ImportOptions options;
  if (!maxMemory.empty()) {
    std::string err = lowbit::parseMaxMemoryFlag(maxMemory, options);
    if (!err.empty())
      throw nb::value_error(err.c_str());
  }
  for (const auto &[name, dims] : inputShapes) {
    for (int64_t d : dims)
      if (d < 0)
        throw nb::value_error(("input_shapes['" + name +
                               "'] has a negative dimension")
                                  .c_str());
    options.inputShapes[name] = dims;
  }
  return options;
}

} // namespace

/// opt_level must be 0..3, as the command-line tools' -O.
static void checkOptLevel(unsigned optLevel) {
  if (optLevel > 3)
    throw nb::value_error(
        ("opt_level must be 0..3, got " + std::to_string(optLevel)).c_str());
}

/// int8_kernel's Python spelling, or ValueError.
static lowbit::Int8Kernel parseInt8Kernel(const std::string &name) {
  static const std::pair<const char *, lowbit::Int8Kernel> kernels[] = {
      {"auto", lowbit::Int8Kernel::Auto},
      {"avx512-vnni", lowbit::Int8Kernel::Avx512Vnni},
      {"portable", lowbit::Int8Kernel::Portable},
      {"reference", lowbit::Int8Kernel::Reference}};
  for (const auto &[spelling, kernel] : kernels)
    if (name == spelling)
      return kernel;
  throw nb::value_error(("int8_kernel must be 'auto', 'avx512-vnni', "
                         "'portable' or 'reference', got '" +
                         name + "'")
                            .c_str());
}

NB_MODULE(_lowbit, m) {
  m.doc() = "lowbit's native module; use the `lowbit` package instead.";
  nb::exception<LowbitError>(m, "LowbitError", PyExc_RuntimeError);
  nb::exception<UnsupportedError>(m, "UnsupportedError",
                                  m.attr("LowbitError").ptr());

  nb::class_<Executable>(m, "Executable")
      .def_prop_ro("inputs", &Executable::inputs)
      .def_prop_ro("outputs", &Executable::outputs)
      .def("run", &Executable::run, "feeds"_a,
           "Runs once. `feeds` maps input names to numpy arrays (or lists "
           "them in order); returns a dict of output name -> numpy array.");

  nb::class_<lowbit::Module>(m, "Module")
      .def_static(
          "import_onnx",
          [](const std::string &path,
             const std::map<std::string, std::vector<int64_t>> &shapes,
             const std::string &maxMemory) {
            return unwrap(lowbit::Module::importOnnx(
                path, makeOptions(shapes, maxMemory)));
          },
          "path"_a, "input_shapes"_a = std::map<std::string, std::vector<int64_t>>(),
          "max_memory"_a = "")
      .def_static(
          "import_onnx_bytes",
          [](nb::bytes data,
             const std::map<std::string, std::vector<int64_t>> &shapes,
             const std::string &maxMemory) {
            return unwrap(lowbit::Module::importOnnxBytes(
                llvm::StringRef(data.c_str(), data.size()),
                makeOptions(shapes, maxMemory)));
          },
          "data"_a, "input_shapes"_a = std::map<std::string, std::vector<int64_t>>(),
          "max_memory"_a = "")
      .def_static(
          "parse_mlir",
          [](const std::string &text) {
            return unwrap(lowbit::Module::parseMlir(text));
          },
          "text"_a)
      .def_static(
          "parse_mlir_file",
          [](const std::string &path) {
            return unwrap(lowbit::Module::parseMlirFile(path));
          },
          "path"_a, "Reads an MLIR text or bytecode file, whatever its name.")
      .def(
          "clone",
          [](const lowbit::Module &self) { return unwrap(self.clone()); },
          "An independent copy of the module (its own context and weights).")
      .def_prop_ro("quantized_op", &lowbit::Module::quantizedOp,
                   "The first op that makes the module quantized (a lowbit op "
                   "other than the lowbit.observe tap), or '' if float.")
      .def(
          "describe",
          [](const lowbit::Module &self) {
            std::string text;
            llvm::raw_string_ostream os(text);
            os << llvm::json::Value(
                lowbit::describeModule(self.getOperation()));
            return text;
          },
          "JSON: {'ops': {op: count}, 'quantized_layers': [...]}.")
      .def(
          "run_pipeline",
          [](lowbit::Module &self, const std::string &pipeline,
             nb::object progress) {
            if (progress.is_none()) {
              check(self.runPipeline(pipeline));
              return;
            }
            // Long passes report per layer (lib/Support/Progress.h), maybe
            // from another thread: the callback takes the GIL, which the
            // pipeline runs without. An exception in it is reported as
            // unraisable (it cannot cross the compiled passes).
            lowbit::progress::ScopedSink sink(
                [progress](const std::string &task, size_t done,
                           size_t total) {
                  nb::gil_scoped_acquire gil;
                  try {
                    progress(task, done, total);
                  } catch (nb::python_error &e) {
                    e.discard_as_unraisable("lowbit progress callback");
                  }
                });
            llvm::Error err = llvm::Error::success();
            {
              nb::gil_scoped_release release;
              err = self.runPipeline(pipeline);
            }
            check(std::move(err));
          },
          "pipeline"_a, "progress"_a = nb::none(),
          "Runs a textual pass pipeline; `progress(task, done, total)` is "
          "called after each layer of the long passes (GPTQ, decoupleQ).")
      .def(
          "to_mlir",
          [](const lowbit::Module &self, bool elideBlobs) {
            return self.toString(elideBlobs);
          },
          "elide_blobs"_a = false)
      .def("write", [](const lowbit::Module &self,
                       const std::string &path) { check(self.writeFile(path)); })
      .def_prop_ro("inputs",
                   [](const lowbit::Module &self) {
                     nb::list l;
                     for (const auto &spec : unwrap(self.inputs()))
                       l.append(specToDict(spec));
                     return l;
                   })
      .def_prop_ro("outputs",
                   [](const lowbit::Module &self) {
                     nb::list l;
                     for (const auto &spec : unwrap(self.outputs()))
                       l.append(specToDict(spec));
                     return l;
                   })
      .def("calibrate", &calibrateModule, "samples"_a,
           "ops"_a = "linear,conv2d", "hessians"_a = true,
           "stats_path"_a = "", "progress"_a = nb::none(),
           "Runs the model on calibration samples with taps on the layer "
           "inputs; returns {'<layer>/<statistic>': array}.")
      .def(
          "compile",
          [](nb::handle self, unsigned optLevel, int threads,
             const std::string &int8Kernel) {
            auto &module = nb::cast<lowbit::Module &>(self);
            if (threads < 0 || threads > 1024)
              throw nb::value_error(
                  ("threads must be 0 (one per hardware thread) or 1..1024, "
                   "got " +
                   std::to_string(threads))
                      .c_str());
            checkOptLevel(optLevel);
            lowbit::CpuCompileOptions options;
            options.int8Kernel = parseInt8Kernel(int8Kernel);
            options.optLevel = optLevel;
            options.numThreads = static_cast<unsigned>(threads);
            auto exe = unwrap(module.compileForCpu(options));
            return Executable(std::move(exe), nb::borrow(self));
          },
          "opt_level"_a = 3, "threads"_a = 1, "int8_kernel"_a = "auto",
          "Lowers and JIT-compiles for the CPU; `threads` runs the parallel "
          "loops of large ops on that many threads (0: one per hardware "
          "thread), with the same results; `int8_kernel` picks how quantized "
          "products run ('auto': AVX-512 VNNI where the CPU has it, else "
          "'portable'; 'reference': the generic integer lowering), with the "
          "same results.")
      .def(
          "compile_artefact",
          [](const lowbit::Module &self, const std::string &path,
             unsigned optLevel, const std::string &int8Kernel,
             const std::string &targetCpu, const std::string &cc,
             const std::map<std::string, std::string> &metadata) {
            checkOptLevel(optLevel);
            lowbit::ArtefactOptions options;
            options.compile.optLevel = optLevel;
            options.compile.int8Kernel = parseInt8Kernel(int8Kernel);
            options.targetCpu = targetCpu;
            options.cc = cc;
            options.metadata.assign(metadata.begin(), metadata.end());
            lowbit::ArtefactFiles files = unwrap(lowbit::writeCpuArtefact(
                self.getOperation(), path, options));
            nb::dict d;
            d["library"] = files.library;
            d["header"] = files.header;
            d["manifest"] = files.manifest;
            return d;
          },
          "path"_a, "opt_level"_a = 3, "int8_kernel"_a = "auto",
          "target_cpu"_a = "host", "cc"_a = "",
          "metadata"_a = std::map<std::string, std::string>(),
          "Compiles ahead of time into the artefact `path` (NAME.so, NAME.h, "
          "NAME.json); returns their paths. Load it with lowbit.load.");

  m.def("supported_onnx_ops", &lowbit::getSupportedOnnxOps);
  m.def("recipes", [] {
    nb::dict d;
    for (const lowbit::Recipe &r : lowbit::getRecipes()) {
      nb::dict entry;
      entry["description"] = r.description;
      entry["pipeline"] = r.pipeline;
      entry["needs_calibration"] = r.needsCalibration;
      d[r.name.c_str()] = entry;
    }
    return d;
  });
  m.def(
      "accuracy_report",
      [](const std::string &model, const std::string &recipe,
         const std::string &inputs,
         const std::vector<std::string> &calibrateFiles,
         const std::map<std::string, std::vector<int64_t>> &inputShapes) {
        lowbit::PrepareOptions options;
        options.import = makeOptions(inputShapes);
        options.recipe = recipe;
        options.calibrateFiles = calibrateFiles;
        lowbit::AccuracyReport report =
            unwrap(lowbit::accuracyReport(model, options, inputs));
        std::string text;
        llvm::raw_string_ostream os(text);
        os << lowbit::toJson(report);
        return text;
      },
      "model"_a, "recipe"_a, "inputs"_a,
      "calibrate_files"_a = std::vector<std::string>(),
      "input_shapes"_a = std::map<std::string, std::vector<int64_t>>(),
      "The accuracy report (lowbit report) as JSON text.");
  m.def(
      "recipe_pipeline",
      [](const std::string &name, const std::string &statsPath) {
        lowbit::Recipe r = unwrap(lowbit::getRecipe(name));
        return unwrap(lowbit::instantiateRecipe(r, statsPath));
      },
      "name"_a, "stats_path"_a = "");
}
