//===- CudaRuntime.h - Load and launch lowbit's CUDA kernels --------------===//
//
// A small host runtime over the CUDA driver API. libcuda.so.1 is opened with
// dlopen on first use, so lowbit builds, links and runs on machines with no
// driver and no GPU; there every entry point fails with an error starting
// "no CUDA driver/GPU found".
//
//   CudaDevice     the first GPU ($LOWBIT_CUDA_DEVICE picks another): memory,
//                  module loading, launches, event timing.
//   GemmModule     the kernels of some KernelSpecs, emitted, compiled for the
//                  device's architecture (nvcc, cached) and loaded.
//   runQLinearCuda lowbit.qlinear on the GPU from host buffers: the entry
//                  point of `lowbit-run --device cuda`.
//
//===----------------------------------------------------------------------===//

#ifndef LOWBIT_LIB_TARGET_CUDA_CUDARUNTIME_H
#define LOWBIT_LIB_TARGET_CUDA_CUDARUNTIME_H

#include "lib/Target/Cuda/KernelSpec.h"

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace lowbit {
namespace cuda {

class TuningTable;

/// True if a CUDA driver and a GPU of compute capability >= 8.0 are present;
/// otherwise `why` says what is missing.
bool cudaAvailable(std::string &why);

class CudaDevice {
public:
  /// The process-wide device (initialised once). Null with an error when no
  /// driver or GPU is found.
  static CudaDevice *get(std::string &error);

  const std::string &name() const { return name_; }
  int ccMajor() const { return major_; }
  int ccMinor() const { return minor_; }
  CudaArch arch() const { return arch_; }

  bool alloc(size_t bytes, uint64_t &ptr, std::string &error);
  void free(uint64_t ptr);
  bool upload(uint64_t dst, const void *src, size_t bytes, std::string &error);
  bool download(void *dst, uint64_t src, size_t bytes, std::string &error);
  bool fill(uint64_t dst, uint8_t value, size_t bytes, std::string &error);
  bool loadModule(const std::vector<char> &image, void *&module,
                  std::string &error);
  bool function(void *module, const std::string &name, void *&fn,
                std::string &error);
  bool launch(void *fn, unsigned gx, unsigned gy, unsigned bx, void **args,
              std::string &error);
  bool synchronize(std::string &error);
  /// Runs `body` `warmup` times, then `iters` times, each timed with events;
  /// `ms` gets one time per iteration.
  bool time(const std::function<bool(std::string &)> &body, int warmup,
            int iters, std::vector<float> &ms, std::string &error);

private:
  CudaDevice() = default;
  bool check(int rc, const char *what, std::string &error);
  std::string name_;
  int major_ = 0, minor_ = 0;
  CudaArch arch_ = CudaArch::Sm80;
  void *ctx_ = nullptr;
};

/// Device pointers and sizes of one GEMM launch (see lbk::GemmParams).
/// xPlanes is scratch of M * aBits * K / 32 words for the bit-serial path.
struct DeviceGemm {
  uint64_t x = 0, xScale = 0, w = 0, wScale = 0, wZero = 0, bias = 0, out = 0,
           xPlanes = 0;
  int M = 0, N = 0, K = 0, G = 0;
};

class GemmModule {
public:
  /// Emits, compiles (for the device's arch, whatever the specs say) and
  /// loads the kernels of `specs`.
  bool build(CudaDevice &dev, const std::vector<KernelSpec> &specs,
             std::string &error);
  /// Launches `spec` (which must be among the built specs): the plane kernel
  /// first for bit-serial specs, then the GEMM. Asynchronous.
  bool launch(const KernelSpec &spec, const DeviceGemm &args,
              std::string &error);

private:
  CudaDevice *dev_ = nullptr;
  void *module_ = nullptr;
  std::map<std::string, void *> functions_;
};

/// lowbit.qlinear's operands on the host: x [M, K] int8 (aBits-wide values),
/// xScale [M], the packed weight (`layout`, wBytes bytes), wScale and the
/// optional wZero [N, K / groupSize], the optional bias [N].
struct QLinearCudaArgs {
  int64_t M = 0, N = 0, K = 0, groupSize = 0;
  int aBits = 8, wBits = 4;
  bool wSigned = true;
  numerics::PackLayout layout = numerics::PackLayout::Int4Nibbles;
  const int8_t *x = nullptr;
  const float *xScale = nullptr;
  const uint8_t *w = nullptr;
  int64_t wBytes = 0;
  const float *wScale = nullptr;
  const float *wZero = nullptr;
  const float *bias = nullptr;
  /// Forces a kernel (tiles, path); otherwise chooseSpec() with `tuning`.
  const KernelSpec *spec = nullptr;
  const TuningTable *tuning = nullptr;
};

/// Runs lowbit.qlinear on the GPU and writes y [M, N] (f32) to `out`. The
/// weight is repacked on the host when the chosen path needs another layout
/// (bit planes for bit-serial). Returns false with a one-line error (no
/// driver/GPU, no nvcc, a shape the kernels do not support, a CUDA error).
bool runQLinearCuda(const QLinearCudaArgs &args, float *out,
                    std::string &error);

} // namespace cuda
} // namespace lowbit

#endif // LOWBIT_LIB_TARGET_CUDA_CUDARUNTIME_H
