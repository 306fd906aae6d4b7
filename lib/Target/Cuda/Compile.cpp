//===- Compile.cpp - CUDA C++ to cubin through nvcc -----------------------===//

#include "lib/Target/Cuda/Compile.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

namespace lowbit {
namespace cuda {

static bool isExecutable(const std::string &path) {
  return !path.empty() && access(path.c_str(), X_OK) == 0;
}

std::string findNvcc() {
  if (const char *env = std::getenv("LOWBIT_NVCC"))
    return isExecutable(env) ? env : "";
#ifdef LOWBIT_NVCC_PATH
  if (isExecutable(LOWBIT_NVCC_PATH))
    return LOWBIT_NVCC_PATH;
#endif
  if (const char *path = std::getenv("PATH")) {
    std::stringstream ss(path);
    std::string dir;
    while (std::getline(ss, dir, ':'))
      if (isExecutable(dir + "/nvcc"))
        return dir + "/nvcc";
  }
  if (isExecutable("/usr/local/cuda/bin/nvcc"))
    return "/usr/local/cuda/bin/nvcc";
  return "";
}

static bool readFile(const std::string &path, std::vector<char> &out) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return false;
  out.assign(std::istreambuf_iterator<char>(in), {});
  return true;
}

static std::string tailOf(const std::string &path, size_t maxChars) {
  std::vector<char> bytes;
  if (!readFile(path, bytes))
    return "";
  std::string s(bytes.begin(), bytes.end());
  return s.size() > maxChars ? "..." + s.substr(s.size() - maxChars) : s;
}

bool compileToCubin(const std::string &source, CudaArch arch,
                    std::vector<char> &cubin, std::string &error) {
  const std::string nvcc = findNvcc();
  if (nvcc.empty()) {
    error = "no CUDA toolkit found: nvcc is not on PATH (set LOWBIT_NVCC)";
    return false;
  }
  char dirTemplate[] = "/tmp/lowbit-cuda-XXXXXX";
  if (!mkdtemp(dirTemplate)) {
    error = "cannot create a temporary directory for nvcc";
    return false;
  }
  const std::string dir = dirTemplate, src = dir + "/kernels.cu",
                    bin = dir + "/kernels.cubin", log = dir + "/nvcc.log";
  {
    std::ofstream out(src, std::ios::binary);
    out << source;
    if (!out) {
      error = "cannot write " + src;
      return false;
    }
  }
  const std::string archFlag = nvccArchFlag(arch);
  std::vector<std::string> args = {nvcc,     "-cubin", "-O3", "-std=c++17",
                                   archFlag, "-o",     bin,   src};
  std::vector<char *> argv;
  for (std::string &a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid;
  int rc = posix_spawn(&pid, nvcc.c_str(), &actions, nullptr, argv.data(),
                       environ);
  posix_spawn_file_actions_destroy(&actions);
  int status = 0;
  bool ok = false;
  if (rc != 0) {
    error = "cannot run " + nvcc;
  } else if (waitpid(pid, &status, 0) < 0) {
    error = "waiting for nvcc failed";
  } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    error = "nvcc failed for " + std::string(archName(arch)) + " (exit " +
            std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) +
            "): " + tailOf(log, 4000);
  } else if (!readFile(bin, cubin) || cubin.empty()) {
    error = "nvcc produced no cubin";
  } else {
    ok = true;
  }
  std::remove(src.c_str());
  std::remove(bin.c_str());
  std::remove(log.c_str());
  rmdir(dir.c_str());
  return ok;
}

static uint64_t fnv1a(const std::string &s, uint64_t h = 1469598103934665603ull) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

static std::string cacheDir() {
  if (const char *d = std::getenv("LOWBIT_CUDA_CACHE"))
    return d;
  if (const char *x = std::getenv("XDG_CACHE_HOME"))
    return std::string(x) + "/lowbit/cuda";
  if (const char *h = std::getenv("HOME"))
    return std::string(h) + "/.cache/lowbit/cuda";
  return "/tmp/lowbit-cuda-cache";
}

static void makeDirs(const std::string &path) {
  for (size_t i = 1; i <= path.size(); ++i)
    if (i == path.size() || path[i] == '/')
      mkdir(path.substr(0, i).c_str(), 0755);
}

bool compileToCubinCached(const std::string &source, CudaArch arch,
                          std::vector<char> &cubin, std::string &error) {
  const std::string nvcc = findNvcc();
  char key[32];
  std::snprintf(key, sizeof(key), "%016llx",
                (unsigned long long)fnv1a(nvcc, fnv1a(archName(arch),
                                                      fnv1a(source))));
  const std::string dir = cacheDir(),
                    path = dir + "/" + key + "_" + archName(arch) + ".cubin";
  if (readFile(path, cubin) && !cubin.empty())
    return true;
  if (!compileToCubin(source, arch, cubin, error))
    return false;
  makeDirs(dir);
  const std::string tmp = path + ".tmp" + std::to_string(getpid());
  std::ofstream out(tmp, std::ios::binary);
  out.write(cubin.data(), std::streamsize(cubin.size()));
  out.close();
  if (out)
    std::rename(tmp.c_str(), path.c_str());
  else
    std::remove(tmp.c_str());
  return true; // a cache that cannot be written is not an error
}

} // namespace cuda
} // namespace lowbit
