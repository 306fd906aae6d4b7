//===- Session.h - load and run a compiled artefact (C++) -------*- C++ -*-===//
//
// Header-only: needs neither LLVM, MLIR nor the lowbit libraries, only
// dlopen. Loading compiles nothing.
//
//   std::string error;
//   auto session = lowbit::Session::load("out/model.so", error);
//   if (!session) { std::cerr << error; return 1; }
//   session->run({x.data()}, {y.data()}, error);
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_SESSION_H
#define LOWBIT_SESSION_H

#include "lowbit/lowbit_artefact.h"

#include <dlfcn.h>
#include <elf.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstring>

#include <memory>
#include <string>
#include <vector>

namespace lowbit {

class Session {
public:
  /// Loads the artefact library at `path` (NAME.so) and creates a session.
  /// On failure returns null with `error` naming the file and the cause: a
  /// missing, truncated or foreign file, another ABI version, or a CPU that
  /// lacks a feature the code was compiled for.
  static std::unique_ptr<Session> load(const std::string &path,
                                       std::string &error) {
    std::unique_ptr<Session> s(new Session());
    if (!s->open(path, error))
      return nullptr;
    s->session = s->fn.create();
    if (!s->session) {
      error = "'" + path + "': " + s->fn.lastError();
      return nullptr;
    }
    return s;
  }

  /// Reads the artefact's manifest (JSON) without creating a session, so
  /// that it works on any CPU.
  static bool readManifest(const std::string &path, std::string &manifest,
                           std::string &error) {
    Session s;
    if (!s.open(path, error))
      return false;
    manifest = s.fn.manifest();
    return true;
  }

  ~Session() {
    if (session)
      fn.destroy(session);
    if (handle)
      dlclose(handle);
  }
  Session(const Session &) = delete;
  Session &operator=(const Session &) = delete;

  const std::vector<lowbit_tensor_info> &inputs() const { return ins; }
  const std::vector<lowbit_tensor_info> &outputs() const { return outs; }
  std::string manifest() const { return fn.manifest(); }

  /// Runs once on dense buffers of the declared shapes (inputs()/outputs()
  /// order). On failure `error` says which tensor is wrong.
  bool run(const std::vector<const void *> &in,
           const std::vector<void *> &out, std::string &error) {
    std::vector<lowbit_tensor> a, b;
    for (size_t i = 0; i < in.size(); ++i)
      a.push_back({const_cast<void *>(in[i]), i < ins.size() ? ins[i].rank : 0,
                   i < ins.size() ? ins[i].shape : nullptr});
    for (size_t i = 0; i < out.size(); ++i)
      b.push_back({out[i], i < outs.size() ? outs[i].rank : 0,
                   i < outs.size() ? outs[i].shape : nullptr});
    return run(a, b, error);
  }

  /// Runs once on tensors that carry their shapes (checked).
  bool run(const std::vector<lowbit_tensor> &in,
           std::vector<lowbit_tensor> &out, std::string &error) {
    if (fn.run(session, in.data(), static_cast<int32_t>(in.size()),
               out.data(), static_cast<int32_t>(out.size())) != 0) {
      error = fn.lastError();
      return false;
    }
    return true;
  }

private:
  Session() = default;

  struct Functions {
    uint32_t (*abiVersion)(void) = nullptr;
    const char *(*manifest)(void) = nullptr;
    int32_t (*numInputs)(void) = nullptr;
    int32_t (*numOutputs)(void) = nullptr;
    const lowbit_tensor_info *(*inputInfo)(int32_t) = nullptr;
    const lowbit_tensor_info *(*outputInfo)(int32_t) = nullptr;
    lowbit_session *(*create)(void) = nullptr;
    int32_t (*run)(lowbit_session *, const lowbit_tensor *, int32_t,
                   lowbit_tensor *, int32_t) = nullptr;
    void (*destroy)(lowbit_session *) = nullptr;
    const char *(*lastError)(void) = nullptr;
  };

  /// Checks that `path` is a complete 64-bit little-endian ELF shared
  /// library for this machine before dlopen maps it: a truncated file would
  /// otherwise be mapped past its end and crash (SIGBUS) on first touch.
  static bool checkElf(const std::string &path, uint64_t size,
                       std::string &error) {
    std::FILE *f = std::fopen(path.c_str(), "rb");
    if (!f) {
      error = "cannot read artefact '" + path + "'";
      return false;
    }
    Elf64_Ehdr eh;
    bool ok = std::fread(&eh, sizeof eh, 1, f) == 1 &&
              std::memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0 &&
              eh.e_ident[EI_CLASS] == ELFCLASS64 &&
              eh.e_ident[EI_DATA] == ELFDATA2LSB && eh.e_type == ET_DYN &&
              eh.e_phentsize == sizeof(Elf64_Phdr);
#if defined(__x86_64__)
    ok = ok && eh.e_machine == EM_X86_64;
#elif defined(__aarch64__)
    ok = ok && eh.e_machine == EM_AARCH64;
#endif
    if (!ok) {
      std::fclose(f);
      error = "cannot load artefact '" + path +
              "': not a shared library for this machine (not built by "
              "`lowbit compile`?)";
      return false;
    }
    bool complete =
        eh.e_phoff + uint64_t(eh.e_phnum) * sizeof(Elf64_Phdr) <= size &&
        eh.e_shoff + uint64_t(eh.e_shnum) * eh.e_shentsize <= size;
    for (unsigned i = 0; complete && i < eh.e_phnum; ++i) {
      Elf64_Phdr ph;
      complete = std::fseek(f, long(eh.e_phoff + i * sizeof ph), SEEK_SET) ==
                     0 &&
                 std::fread(&ph, sizeof ph, 1, f) == 1 &&
                 (ph.p_type != PT_LOAD || ph.p_offset + ph.p_filesz <= size);
    }
    std::fclose(f);
    if (!complete)
      error = "cannot load artefact '" + path + "': the file is truncated (" +
              std::to_string(size) + " bytes; its segments need more)";
    return complete;
  }

  template <typename F> bool bind(F &slot, const char *name) {
    slot = reinterpret_cast<F>(dlsym(handle, name));
    return slot != nullptr;
  }

  bool open(const std::string &path, std::string &error) {
    struct stat st;
    if (stat(path.c_str(), &st) != 0) {
      error = "artefact '" + path + "' does not exist";
      return false;
    }
    if (!checkElf(path, uint64_t(st.st_size), error))
      return false;
    // A relative name without a slash would make dlopen search the library
    // path instead of opening this file.
    std::string file = path.find('/') == std::string::npos ? "./" + path : path;
    handle = dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      const char *why = dlerror();
      error = "cannot load artefact '" + path + "': " +
              (why ? why : "unknown error") +
              " (not a shared library built by `lowbit compile`, or "
              "truncated?)";
      return false;
    }
    if (!bind(fn.abiVersion, "lowbit_abi_version")) {
      error = "'" + path + "' is not a lowbit artefact (it exports no "
                           "lowbit_abi_version)";
      return false;
    }
    uint32_t version = fn.abiVersion();
    if (version != LOWBIT_ABI_VERSION) {
      error = "'" + path + "' has artefact ABI version " +
              std::to_string(version) + ", this lowbit reads version " +
              std::to_string(LOWBIT_ABI_VERSION) +
              "; compile the model again with this lowbit";
      return false;
    }
    if (!bind(fn.manifest, "lowbit_manifest") ||
        !bind(fn.numInputs, "lowbit_num_inputs") ||
        !bind(fn.numOutputs, "lowbit_num_outputs") ||
        !bind(fn.inputInfo, "lowbit_input_info") ||
        !bind(fn.outputInfo, "lowbit_output_info") ||
        !bind(fn.create, "lowbit_session_create") ||
        !bind(fn.run, "lowbit_session_run") ||
        !bind(fn.destroy, "lowbit_session_destroy") ||
        !bind(fn.lastError, "lowbit_last_error")) {
      error = "'" + path + "' lacks functions of the artefact ABI version " +
              std::to_string(version) + " (damaged?)";
      return false;
    }
    // The declarations never change: read them once, not at every run.
    for (int32_t i = 0, n = fn.numInputs(); i < n; ++i)
      ins.push_back(*fn.inputInfo(i));
    for (int32_t i = 0, n = fn.numOutputs(); i < n; ++i)
      outs.push_back(*fn.outputInfo(i));
    return true;
  }

  void *handle = nullptr;
  lowbit_session *session = nullptr;
  Functions fn;
  std::vector<lowbit_tensor_info> ins, outs;
};

} // namespace lowbit

#endif // LOWBIT_SESSION_H
