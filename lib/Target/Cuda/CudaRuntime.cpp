//===- CudaRuntime.cpp - Load and launch lowbit's CUDA kernels ------------===//

#include "lib/Target/Cuda/CudaRuntime.h"

#include "lib/Target/Cuda/Compile.h"
#include "lib/Target/Cuda/TuningTable.h"

#include <cstdlib>
#include <dlfcn.h>
#include <memory>
#include <mutex>

namespace lowbit {
namespace cuda {

namespace {

// The driver API's types, declared here so that no CUDA header is needed.
using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
using Handle = void *;

struct Driver {
  CUresult (*cuInit)(unsigned);
  CUresult (*cuDeviceGetCount)(int *);
  CUresult (*cuDeviceGet)(CUdevice *, int);
  CUresult (*cuDeviceGetName)(char *, int, CUdevice);
  CUresult (*cuDeviceGetAttribute)(int *, int, CUdevice);
  CUresult (*cuDevicePrimaryCtxRetain)(Handle *, CUdevice);
  CUresult (*cuCtxSetCurrent)(Handle);
  CUresult (*cuModuleLoadData)(Handle *, const void *);
  CUresult (*cuModuleGetFunction)(Handle *, Handle, const char *);
  CUresult (*cuMemAlloc)(CUdeviceptr *, size_t);
  CUresult (*cuMemFree)(CUdeviceptr);
  CUresult (*cuMemcpyHtoD)(CUdeviceptr, const void *, size_t);
  CUresult (*cuMemcpyDtoH)(void *, CUdeviceptr, size_t);
  CUresult (*cuMemsetD8)(CUdeviceptr, unsigned char, size_t);
  CUresult (*cuLaunchKernel)(Handle, unsigned, unsigned, unsigned, unsigned,
                             unsigned, unsigned, unsigned, Handle, void **,
                             void **);
  CUresult (*cuCtxSynchronize)();
  CUresult (*cuGetErrorString)(CUresult, const char **);
  CUresult (*cuEventCreate)(Handle *, unsigned);
  CUresult (*cuEventRecord)(Handle, Handle);
  CUresult (*cuEventSynchronize)(Handle);
  CUresult (*cuEventElapsedTime)(float *, Handle, Handle);
  CUresult (*cuEventDestroy)(Handle);
};

constexpr int kAttrCcMajor = 75, kAttrCcMinor = 76;
constexpr const char *kNoGpu = "no CUDA driver/GPU found";

Driver gDriver;

template <typename F>
bool resolve(void *lib, F &fn, std::initializer_list<const char *> names,
             std::string &missing) {
  for (const char *n : names)
    if (void *p = dlsym(lib, n)) {
      fn = reinterpret_cast<F>(p);
      return true;
    }
  missing = *names.begin();
  return false;
}

bool loadDriver(std::string &error) {
  const char *libName = std::getenv("LOWBIT_LIBCUDA");
  void *lib = dlopen(libName ? libName : "libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    error = std::string(kNoGpu) + ": cannot load " +
            (libName ? libName : "libcuda.so.1") + " (no NVIDIA driver)";
    return false;
  }
  std::string missing;
  Driver &d = gDriver;
  bool ok = resolve(lib, d.cuInit, {"cuInit"}, missing) &&
            resolve(lib, d.cuDeviceGetCount, {"cuDeviceGetCount"}, missing) &&
            resolve(lib, d.cuDeviceGet, {"cuDeviceGet"}, missing) &&
            resolve(lib, d.cuDeviceGetName, {"cuDeviceGetName"}, missing) &&
            resolve(lib, d.cuDeviceGetAttribute, {"cuDeviceGetAttribute"},
                    missing) &&
            resolve(lib, d.cuDevicePrimaryCtxRetain,
                    {"cuDevicePrimaryCtxRetain"}, missing) &&
            resolve(lib, d.cuCtxSetCurrent, {"cuCtxSetCurrent"}, missing) &&
            resolve(lib, d.cuModuleLoadData, {"cuModuleLoadData"}, missing) &&
            resolve(lib, d.cuModuleGetFunction, {"cuModuleGetFunction"},
                    missing) &&
            resolve(lib, d.cuMemAlloc, {"cuMemAlloc_v2"}, missing) &&
            resolve(lib, d.cuMemFree, {"cuMemFree_v2"}, missing) &&
            resolve(lib, d.cuMemcpyHtoD, {"cuMemcpyHtoD_v2"}, missing) &&
            resolve(lib, d.cuMemcpyDtoH, {"cuMemcpyDtoH_v2"}, missing) &&
            resolve(lib, d.cuMemsetD8, {"cuMemsetD8_v2"}, missing) &&
            resolve(lib, d.cuLaunchKernel, {"cuLaunchKernel"}, missing) &&
            resolve(lib, d.cuCtxSynchronize, {"cuCtxSynchronize"}, missing) &&
            resolve(lib, d.cuGetErrorString, {"cuGetErrorString"}, missing) &&
            resolve(lib, d.cuEventCreate, {"cuEventCreate"}, missing) &&
            resolve(lib, d.cuEventRecord, {"cuEventRecord"}, missing) &&
            resolve(lib, d.cuEventSynchronize, {"cuEventSynchronize"},
                    missing) &&
            resolve(lib, d.cuEventElapsedTime,
                    {"cuEventElapsedTime_v2", "cuEventElapsedTime"}, missing) &&
            resolve(lib, d.cuEventDestroy, {"cuEventDestroy_v2"}, missing);
  if (!ok) {
    error = std::string(kNoGpu) + ": the driver library lacks " + missing;
    return false;
  }
  return true;
}

std::string driverError(CUresult rc) {
  const char *s = nullptr;
  if (gDriver.cuGetErrorString && gDriver.cuGetErrorString(rc, &s) == 0 && s)
    return std::string(s) + " (" + std::to_string(rc) + ")";
  return "CUDA error " + std::to_string(rc);
}

} // namespace

bool CudaDevice::check(int rc, const char *what, std::string &error) {
  if (rc == 0)
    return true;
  error = std::string(what) + " failed: " + driverError(rc);
  return false;
}

CudaDevice *CudaDevice::get(std::string &error) {
  static std::once_flag once;
  static CudaDevice *device = nullptr;
  static std::string initError;
  std::call_once(once, [] {
    std::string err;
    if (!loadDriver(err)) {
      initError = err;
      return;
    }
    Driver &d = gDriver;
    int rc = d.cuInit(0);
    if (rc != 0) {
      initError = std::string(kNoGpu) + ": cuInit: " + driverError(rc);
      return;
    }
    int count = 0;
    rc = d.cuDeviceGetCount(&count);
    if (rc != 0 || count == 0) {
      initError = std::string(kNoGpu) + ": the driver reports no device";
      return;
    }
    int ordinal = 0;
    if (const char *env = std::getenv("LOWBIT_CUDA_DEVICE"))
      ordinal = std::atoi(env);
    if (ordinal < 0 || ordinal >= count) {
      initError = "LOWBIT_CUDA_DEVICE=" + std::to_string(ordinal) +
                  " is not a device (found " + std::to_string(count) + ")";
      return;
    }
    CUdevice dev = 0;
    auto dv = std::unique_ptr<CudaDevice>(new CudaDevice());
    char name[256] = {0};
    if (d.cuDeviceGet(&dev, ordinal) != 0 ||
        d.cuDeviceGetName(name, sizeof(name) - 1, dev) != 0 ||
        d.cuDeviceGetAttribute(&dv->major_, kAttrCcMajor, dev) != 0 ||
        d.cuDeviceGetAttribute(&dv->minor_, kAttrCcMinor, dev) != 0) {
      initError = std::string(kNoGpu) + ": cannot query device " +
                  std::to_string(ordinal);
      return;
    }
    dv->name_ = name;
    if (!archForComputeCapability(dv->major_, dv->minor_, dv->arch_)) {
      initError = "GPU " + dv->name_ + " has compute capability " +
                  std::to_string(dv->major_) + "." +
                  std::to_string(dv->minor_) +
                  "; lowbit's CUDA kernels need 8.0 or newer";
      return;
    }
    rc = d.cuDevicePrimaryCtxRetain(&dv->ctx_, dev);
    if (rc == 0)
      rc = d.cuCtxSetCurrent(dv->ctx_);
    if (rc != 0) {
      initError = "cannot create a CUDA context: " + driverError(rc);
      return;
    }
    device = dv.release();
  });
  if (!device) {
    error = initError;
    return nullptr;
  }
  // A context is current per thread.
  gDriver.cuCtxSetCurrent(device->ctx_);
  return device;
}

bool cudaAvailable(std::string &why) { return CudaDevice::get(why) != nullptr; }

bool CudaDevice::alloc(size_t bytes, uint64_t &ptr, std::string &error) {
  CUdeviceptr p = 0;
  if (!check(gDriver.cuMemAlloc(&p, bytes ? bytes : 1), "cuMemAlloc", error))
    return false;
  ptr = p;
  return true;
}

void CudaDevice::free(uint64_t ptr) {
  if (ptr)
    gDriver.cuMemFree(ptr);
}

bool CudaDevice::upload(uint64_t dst, const void *src, size_t bytes,
                        std::string &error) {
  return bytes == 0 ||
         check(gDriver.cuMemcpyHtoD(dst, src, bytes), "cuMemcpyHtoD", error);
}

bool CudaDevice::download(void *dst, uint64_t src, size_t bytes,
                          std::string &error) {
  return bytes == 0 ||
         check(gDriver.cuMemcpyDtoH(dst, src, bytes), "cuMemcpyDtoH", error);
}

bool CudaDevice::fill(uint64_t dst, uint8_t value, size_t bytes,
                      std::string &error) {
  return bytes == 0 ||
         check(gDriver.cuMemsetD8(dst, value, bytes), "cuMemsetD8", error);
}

bool CudaDevice::loadModule(const std::vector<char> &image, void *&module,
                            std::string &error) {
  return check(gDriver.cuModuleLoadData(&module, image.data()),
               "cuModuleLoadData", error);
}

bool CudaDevice::function(void *module, const std::string &name, void *&fn,
                          std::string &error) {
  if (check(gDriver.cuModuleGetFunction(&fn, module, name.c_str()),
            "cuModuleGetFunction", error))
    return true;
  error += " for kernel " + name;
  return false;
}

bool CudaDevice::launch(void *fn, unsigned gx, unsigned gy, unsigned bx,
                        void **args, std::string &error) {
  return check(gDriver.cuLaunchKernel(fn, gx, gy, 1, bx, 1, 1, 0, nullptr,
                                      args, nullptr),
               "cuLaunchKernel", error);
}

bool CudaDevice::synchronize(std::string &error) {
  return check(gDriver.cuCtxSynchronize(), "kernel execution", error);
}

bool CudaDevice::time(const std::function<bool(std::string &)> &body,
                      int warmup, int iters, std::vector<float> &ms,
                      std::string &error) {
  for (int i = 0; i < warmup; ++i)
    if (!body(error))
      return false;
  if (!synchronize(error))
    return false;
  Handle start = nullptr, stop = nullptr;
  if (!check(gDriver.cuEventCreate(&start, 0), "cuEventCreate", error) ||
      !check(gDriver.cuEventCreate(&stop, 0), "cuEventCreate", error))
    return false;
  bool ok = true;
  ms.clear();
  for (int i = 0; i < iters && ok; ++i) {
    float t = 0;
    ok = check(gDriver.cuEventRecord(start, nullptr), "cuEventRecord", error) &&
         body(error) &&
         check(gDriver.cuEventRecord(stop, nullptr), "cuEventRecord", error) &&
         check(gDriver.cuEventSynchronize(stop), "kernel execution", error) &&
         check(gDriver.cuEventElapsedTime(&t, start, stop),
               "cuEventElapsedTime", error);
    ms.push_back(t);
  }
  gDriver.cuEventDestroy(start);
  gDriver.cuEventDestroy(stop);
  return ok;
}

bool GemmModule::build(CudaDevice &dev, const std::vector<KernelSpec> &specs,
                       std::string &error) {
  dev_ = &dev;
  std::vector<KernelSpec> forDevice = specs;
  for (KernelSpec &s : forDevice)
    s.arch = dev.arch();
  std::string source;
  std::vector<char> cubin;
  if (!emitCudaSource(forDevice, source, error) ||
      !compileToCubinCached(source, dev.arch(), cubin, error) ||
      !dev.loadModule(cubin, module_, error))
    return false;
  for (const KernelSpec &s : forDevice) {
    std::vector<std::string> names = {kernelName(s)};
    if (s.path == KernelPath::BitSerial)
      names.push_back(xplanesKernelName(s.aBits));
    for (const std::string &n : names) {
      void *fn = nullptr;
      if (!functions_.count(n)) {
        if (!dev.function(module_, n, fn, error))
          return false;
        functions_[n] = fn;
      }
    }
  }
  return true;
}

bool GemmModule::launch(const KernelSpec &spec, const DeviceGemm &a,
                        std::string &error) {
  if (!checkProblem(spec, a.M, a.N, a.K, a.G, error))
    return false;
  auto fn = functions_.find(kernelName(spec));
  if (fn == functions_.end()) {
    error = "kernel " + kernelName(spec) + " is not in the module";
    return false;
  }
  uint64_t x = a.x;
  if (spec.path == KernelPath::BitSerial) {
    auto planes = functions_.find(xplanesKernelName(spec.aBits));
    if (planes == functions_.end() || !a.xPlanes) {
      error = "bit-serial launch without its plane kernel or plane buffer";
      return false;
    }
    uint64_t xIn = a.x, xOut = a.xPlanes;
    int m = a.M, k = a.K;
    void *args[] = {&xIn, &xOut, &m, &k};
    const long long warps = (long long)a.M * (a.K / 32);
    if (!dev_->launch(planes->second, unsigned((warps + 7) / 8), 1, 256, args,
                      error))
      return false;
    x = a.xPlanes;
  }
  // Must match lbk::GemmParams field for field (pointers, then 4 ints).
  struct {
    uint64_t x, xScale, w, wScale, wZero, bias, out;
    int M, N, K, G;
  } params = {x, a.xScale, a.w, a.wScale, a.wZero, a.bias, a.out,
              a.M, a.N, a.K, a.G};
  void *args[] = {&params};
  const unsigned gx = unsigned((a.N + spec.blockN() - 1) / spec.blockN());
  const unsigned gy = unsigned((a.M + spec.blockM() - 1) / spec.blockM());
  if (gy > 65535) {
    error = "M=" + std::to_string(a.M) + " needs more than 65535 row blocks";
    return false;
  }
  return dev_->launch(fn->second, gx, gy, unsigned(spec.threads()), args,
                      error);
}

namespace {
/// Device buffers freed on scope exit.
struct Buffers {
  CudaDevice &dev;
  std::vector<uint64_t> ptrs;
  explicit Buffers(CudaDevice &d) : dev(d) {}
  ~Buffers() {
    for (uint64_t p : ptrs)
      dev.free(p);
  }
  bool put(const void *host, size_t bytes, uint64_t &ptr, std::string &error) {
    if (!dev.alloc(bytes, ptr, error))
      return false;
    ptrs.push_back(ptr);
    return !host || dev.upload(ptr, host, bytes, error);
  }
};
} // namespace

bool runQLinearCuda(const QLinearCudaArgs &a, float *out, std::string &error) {
  if (a.aBits == 16) {
    error = "lowbit.qlinear has integer activations; a 16-bit activation "
            "kernel takes fp16 x (use GemmModule directly)";
    return false;
  }
  CudaDevice *dev = CudaDevice::get(error);
  if (!dev)
    return false;
  KernelSpec spec =
      a.spec ? *a.spec
             : chooseSpec(dev->name(), dev->arch(), a.wBits, a.aBits, a.wSigned,
                          a.M, a.N, a.K, a.groupSize, /*outF16=*/false,
                          a.bias != nullptr, a.tuning);
  spec.wBits = a.wBits;
  spec.aBits = a.aBits;
  spec.wSigned = a.wSigned;
  spec.outF16 = false;
  spec.hasBias = a.bias != nullptr;
  spec.arch = dev->arch();
  if (!validateSpec(spec, error) ||
      !checkProblem(spec, a.M, a.N, a.K, a.groupSize, error))
    return false;
  // The kernel's layout; repack on the host if the model stores another.
  std::vector<uint8_t> repacked;
  const uint8_t *w = a.w;
  int64_t wBytes = a.wBytes;
  if (spec.layout() != a.layout) {
    std::vector<int8_t> values;
    if (!numerics::unpack(a.layout, a.wBits, a.wSigned, a.w, a.wBytes, a.N,
                          a.K, values, error) ||
        !numerics::pack(spec.layout(), a.wBits, a.wSigned, values.data(), a.N,
                        a.K, repacked, error))
      return false;
    w = repacked.data();
    wBytes = int64_t(repacked.size());
  } else {
    std::string e;
    const int64_t row = numerics::packedRowBytes(a.layout, a.wBits, a.K, e);
    if (row < 0 || wBytes != row * a.N) {
      error = row < 0 ? e
                      : "packed weight has " + std::to_string(wBytes) +
                            " bytes, expected " + std::to_string(row * a.N);
      return false;
    }
  }
  static std::mutex moduleMutex;
  static std::map<std::string, GemmModule> modules;
  GemmModule *module = nullptr;
  {
    std::lock_guard<std::mutex> lock(moduleMutex);
    auto it = modules.find(kernelName(spec));
    if (it == modules.end()) {
      GemmModule m;
      if (!m.build(*dev, {spec}, error))
        return false;
      it = modules.emplace(kernelName(spec), m).first;
    }
    module = &it->second;
  }
  const int64_t groups = a.K / a.groupSize;
  Buffers buf(*dev);
  DeviceGemm d;
  d.M = int(a.M);
  d.N = int(a.N);
  d.K = int(a.K);
  d.G = int(a.groupSize);
  const size_t outBytes = size_t(a.M * a.N) * sizeof(float);
  if (!buf.put(a.x, size_t(a.M * a.K), d.x, error) ||
      !buf.put(a.xScale, size_t(a.M) * 4, d.xScale, error) ||
      !buf.put(w, size_t(wBytes), d.w, error) ||
      !buf.put(a.wScale, size_t(a.N * groups) * 4, d.wScale, error) ||
      (a.wZero && !buf.put(a.wZero, size_t(a.N * groups) * 4, d.wZero, error)) ||
      (a.bias && !buf.put(a.bias, size_t(a.N) * 4, d.bias, error)) ||
      !buf.put(nullptr, outBytes, d.out, error) ||
      (spec.path == KernelPath::BitSerial &&
       !buf.put(nullptr, size_t(a.M * a.aBits * (a.K / 32)) * 4, d.xPlanes,
                error)))
    return false;
  if (!module->launch(spec, d, error) || !dev->synchronize(error) ||
      !dev->download(out, d.out, outBytes, error))
    return false;
  return true;
}

} // namespace cuda
} // namespace lowbit
