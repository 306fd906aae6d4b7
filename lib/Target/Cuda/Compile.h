//===- Compile.h - CUDA C++ to cubin through nvcc -------------------------===//
//
// The compile step of the CUDA path: the emitted source is written to a
// temporary file and compiled by nvcc into a cubin for one architecture
// (`nvcc -cubin -O3 -std=c++17 -gencode=arch=compute_XX,code=sm_XX`).
// nvcc is found through $LOWBIT_NVCC, then the path CMake detected
// (LOWBIT_NVCC), then $PATH.
//
//===----------------------------------------------------------------------===//

#ifndef LOWBIT_LIB_TARGET_CUDA_COMPILE_H
#define LOWBIT_LIB_TARGET_CUDA_COMPILE_H

#include "lib/Target/Cuda/KernelSpec.h"

#include <string>
#include <vector>

namespace lowbit {
namespace cuda {

/// The nvcc to run, or "" if none is found.
std::string findNvcc();

/// Compiles `source` for `arch` into cubin bytes. On failure the error holds
/// nvcc's exit status and the tail of its messages.
bool compileToCubin(const std::string &source, CudaArch arch,
                    std::vector<char> &cubin, std::string &error);

/// As compileToCubin, cached on disk by a hash of (source, arch, nvcc path)
/// under $LOWBIT_CUDA_CACHE or $XDG_CACHE_HOME/lowbit/cuda or
/// ~/.cache/lowbit/cuda.
bool compileToCubinCached(const std::string &source, CudaArch arch,
                          std::vector<char> &cubin, std::string &error);

} // namespace cuda
} // namespace lowbit

#endif // LOWBIT_LIB_TARGET_CUDA_COMPILE_H
