//===- KernelSpec.cpp - Kernel variants and their CUDA C++ emission -------===//

#include "lib/Target/Cuda/KernelSpec.h"

#include <algorithm>
#include <set>
#include <sstream>

namespace lowbit {
namespace cuda {

// LowbitDevice.cuh as a string literal (generated at build time).
static const char *const kDeviceSource =
#include "LowbitDeviceSource.inc"
    ;

const char *pathName(KernelPath path) {
  return path == KernelPath::BitSerial ? "bitserial" : "unpack";
}

bool parsePath(const std::string &s, KernelPath &path) {
  if (s == "bitserial")
    path = KernelPath::BitSerial;
  else if (s == "unpack")
    path = KernelPath::Unpack;
  else
    return false;
  return true;
}

const char *archName(CudaArch arch) {
  switch (arch) {
  case CudaArch::Sm80:
    return "sm_80";
  case CudaArch::Sm86:
    return "sm_86";
  case CudaArch::Sm90a:
    return "sm_90a";
  }
  return "unknown";
}

bool parseArch(const std::string &s, CudaArch &arch) {
  for (CudaArch a : {CudaArch::Sm80, CudaArch::Sm86, CudaArch::Sm90a})
    if (s == archName(a)) {
      arch = a;
      return true;
    }
  return false;
}

bool archForComputeCapability(int major, int minor, CudaArch &arch) {
  if (major == 8 && minor == 0)
    arch = CudaArch::Sm80;
  else if (major == 8)
    arch = CudaArch::Sm86;
  else if (major >= 9)
    arch = CudaArch::Sm90a;
  else
    return false;
  return true;
}

std::string nvccArchFlag(CudaArch arch) {
  switch (arch) {
  case CudaArch::Sm80:
    return "-gencode=arch=compute_80,code=sm_80";
  case CudaArch::Sm86:
    return "-gencode=arch=compute_86,code=sm_86";
  case CudaArch::Sm90a:
    return "-gencode=arch=compute_90a,code=sm_90a";
  }
  return "";
}

numerics::PackLayout KernelSpec::layout() const {
  return path == KernelPath::BitSerial ? numerics::PackLayout::BitPlanes
                                       : numerics::defaultPackLayout(wBits);
}

int KernelSpec::kStep() const {
  if (path == KernelPath::BitSerial)
    return 128;
  return aBits == 16 ? 16 : 32;
}

bool KernelSpec::operator==(const KernelSpec &o) const {
  return path == o.path && wBits == o.wBits && aBits == o.aBits &&
         wSigned == o.wSigned && warpsM == o.warpsM && warpsN == o.warpsN &&
         warpTileM == o.warpTileM && warpTileN == o.warpTileN &&
         stages == o.stages && outF16 == o.outF16 && hasBias == o.hasBias &&
         arch == o.arch && wgmma == o.wgmma;
}

std::string KernelSpec::variantName() const {
  return wgmma ? "unpack_wgmma" : pathName(path);
}

bool validateSpec(const KernelSpec &s, std::string &error) {
  if (s.wBits < 2 || s.wBits > 8) {
    error = "weight bits " + std::to_string(s.wBits) + " out of range [2, 8]";
    return false;
  }
  if (!((s.aBits >= 2 && s.aBits <= 8) || s.aBits == 16)) {
    error = "activation bits " + std::to_string(s.aBits) +
            " not supported (2..8 or 16)";
    return false;
  }
  if (s.path == KernelPath::BitSerial) {
    if (s.aBits == 16) {
      error = "bit-serial path needs integer activations (got 16-bit)";
      return false;
    }
    if (!s.wSigned) {
      error = "bit-serial path needs signed (symmetric) weights; unsigned "
              "weights with zero points take the unpack path";
      return false;
    }
  }
  if (!s.wSigned && s.wBits > 7) {
    error = "unsigned 8-bit weights minus a zero point do not fit int8; "
            "use signed 8-bit weights";
    return false;
  }
  auto inRange = [&](int v, int lo, int hi, const char *what) {
    if (v >= lo && v <= hi)
      return true;
    error = std::string(what) + " " + std::to_string(v) + " out of range [" +
            std::to_string(lo) + ", " + std::to_string(hi) + "]";
    return false;
  };
  if (!inRange(s.warpsM, 1, 8, "warpsM") || !inRange(s.warpsN, 1, 8, "warpsN") ||
      !inRange(s.warpTileM, 1, 4, "warpTileM") ||
      !inRange(s.warpTileN, 1, 8, "warpTileN") ||
      !inRange(s.stages, 1, 4, "stages"))
    return false;
  if (s.wgmma) {
    if (s.path != KernelPath::Unpack || s.aBits == 16 ||
        s.arch != CudaArch::Sm90a) {
      error = "wgmma kernels are unpack-path, integer-activation, sm_90a only";
      return false;
    }
    if (s.warpsM > 2 || s.warpsN != 1 || s.warpTileM != 1 ||
        s.warpTileN != 8 || s.stages != 1) {
      error = "wgmma tiles are fixed: warpsM 1..2 warpgroups, warpsN 1, "
              "warp tile 1x8 (64x64 per warpgroup), 1 stage";
      return false;
    }
  }
  if (s.threads() > 1024) {
    error = "block of " + std::to_string(s.threads()) + " threads exceeds 1024";
    return false;
  }
  return true;
}

bool checkProblem(const KernelSpec &s, int64_t m, int64_t n, int64_t k,
                  int64_t g, std::string &error) {
  if (m < 1 || n < 1 || k < 1) {
    error = "empty problem M=" + std::to_string(m) + " N=" + std::to_string(n) +
            " K=" + std::to_string(k);
    return false;
  }
  if (m > (int64_t(1) << 31) / 2 || n > (int64_t(1) << 31) / 2 ||
      k > (int64_t(1) << 31) / 2) {
    error = "problem dimensions must be below 2^30";
    return false;
  }
  const int64_t step = std::max(32, s.kStep());
  if (k % step != 0) {
    error = std::string(pathName(s.path)) + " kernel needs K to be a multiple of " +
            std::to_string(step) + ", got K=" + std::to_string(k);
    return false;
  }
  if (g < 1 || k % g != 0) {
    error = "group size " + std::to_string(g) + " does not divide K=" +
            std::to_string(k);
    return false;
  }
  const int64_t chunk = int64_t(s.kStep()) * s.stages;
  if (g % chunk != 0) {
    error = "group size " + std::to_string(g) + " is not a multiple of " +
            std::to_string(chunk) + " (k step " + std::to_string(s.kStep()) +
            " x " + std::to_string(s.stages) + " stages)";
    return false;
  }
  return true;
}

std::string kernelName(const KernelSpec &s) {
  std::ostringstream os;
  os << "lowbit_qgemm_" << pathName(s.path) << "_w" << s.wBits << "a" << s.aBits
     << (s.wSigned ? "_s" : "_u") << "_t" << s.warpsM << "x" << s.warpsN << "x"
     << s.warpTileM << "x" << s.warpTileN << "_st" << s.stages
     << (s.outF16 ? "_f16" : "_f32") << (s.hasBias ? "_bias" : "")
     << (s.wgmma ? "_wgmma" : "");
  return os.str();
}

std::string xplanesKernelName(int aBits) {
  return "lowbit_xplanes_a" + std::to_string(aBits);
}

static KernelSpec decodeTiles(KernelSpec s) {
  s.warpsM = 1;
  s.warpsN = 4;
  s.warpTileM = 1;
  s.warpTileN = 2;
  s.stages = 2;
  return s;
}

static KernelSpec prefillTiles(KernelSpec s) {
  s.warpsM = 2;
  s.warpsN = 2;
  s.warpTileM = 2;
  s.warpTileN = 2;
  s.stages = 1;
  return s;
}

KernelSpec wgmmaTiles(KernelSpec s) {
  s.wgmma = true;
  s.warpsM = 2;
  s.warpsN = 1;
  s.warpTileM = 1;
  s.warpTileN = 8;
  s.stages = 1;
  return s;
}

std::vector<KernelSpec> allVariants(CudaArch arch) {
  std::vector<KernelSpec> forms;
  auto add = [&](KernelPath path, int w, int a, bool wSigned, bool outF16,
                 bool bias) {
    KernelSpec s;
    s.path = path;
    s.wBits = w;
    s.aBits = a;
    s.wSigned = wSigned;
    s.outF16 = outF16;
    s.hasBias = bias;
    s.arch = arch;
    forms.push_back(s);
  };
  for (auto wa : {std::make_pair(6, 6), std::make_pair(6, 8),
                  std::make_pair(4, 8), std::make_pair(2, 8),
                  std::make_pair(4, 4), std::make_pair(8, 8)})
    add(KernelPath::BitSerial, wa.first, wa.second, true, true, false);
  for (int w : {2, 4, 6, 8})
    for (int a : {6, 8})
      add(KernelPath::Unpack, w, a, true, true, false);
  for (int w : {2, 4, 6})
    add(KernelPath::Unpack, w, 16, true, true, false);
  for (int w : {2, 4, 6})
    add(KernelPath::Unpack, w, 8, false, true, false);
  add(KernelPath::Unpack, 4, 16, false, true, false);
  // The lowbit.qlinear contract: f32 output, optional bias.
  add(KernelPath::BitSerial, 4, 8, true, false, true);
  add(KernelPath::Unpack, 4, 8, true, false, true);
  add(KernelPath::Unpack, 4, 8, false, false, true);
  std::vector<KernelSpec> out;
  for (const KernelSpec &f : forms) {
    out.push_back(decodeTiles(f));
    out.push_back(prefillTiles(f));
    if (arch == CudaArch::Sm90a && f.path == KernelPath::Unpack &&
        f.aBits != 16)
      out.push_back(wgmmaTiles(f));
  }
  return out;
}

static const char *layoutConstant(numerics::PackLayout l) {
  switch (l) {
  case numerics::PackLayout::Int2Crumbs:
    return "lbk::kCrumbs";
  case numerics::PackLayout::Int4Nibbles:
    return "lbk::kNibbles";
  case numerics::PackLayout::Int6Planes:
    return "lbk::kInt6";
  case numerics::PackLayout::Int8Bytes:
    return "lbk::kBytes";
  case numerics::PackLayout::BitPlanes:
    return "lbk::kPlanes";
  }
  return "?";
}

static void emitGemmKernel(std::ostream &os, const KernelSpec &s) {
  const int warpRows = s.warpTileM * s.mmaM(), warpCols = s.warpTileN * 8;
  const char *b = s.outF16 ? "true" : "false";
  const char *bias = s.hasBias ? "true" : "false";
  os << "\n// " << s.variantName() << " W" << s.wBits << "A" << s.aBits
     << (s.wSigned ? " signed" : " unsigned+zero") << ", layout "
     << numerics::packLayoutName(s.layout()) << ", block " << s.blockM() << "x"
     << s.blockN() << ", " << s.threads() / 32 << " warps, stages "
     << s.stages << "\n";
  os << "extern \"C\" __global__ void __launch_bounds__(" << s.threads() << ") "
     << kernelName(s) << "(lbk::GemmParams p) {\n"
     << "  int row0, col0;\n"
     << "  lbk::warp_origin(int(blockIdx.x), int(blockIdx.y), int(threadIdx.x) / "
     << (s.wgmma ? 128 : 32) << ", "
     << s.warpsN << ", " << s.blockM() << ", " << s.blockN() << ", " << warpRows
     << ", " << warpCols << ", row0, col0);\n";
  if (s.wgmma) {
    os << "  __shared__ __align__(128) uint8_t smem[" << s.warpsM
       << "][lbk::kWgSmemBytes];\n"
       << "  const int wg = int(threadIdx.x) / 128;\n"
       << "  lbk::gemm_wgmma_s8_wg<1, " << layoutConstant(s.layout()) << ", "
       << (s.wSigned ? "true" : "false") << ", " << b << ", " << bias
       << ">(p, row0, col0, smem[wg], "
          "uint32_t(__cvta_generic_to_shared(smem[wg])));\n";
  } else if (s.path == KernelPath::BitSerial) {
    os << "  lbk::gemm_bitserial_warp<1, " << s.aBits << ", " << s.wBits << ", "
       << s.warpTileM << ", " << s.warpTileN << ", " << s.stages << ", " << b
       << ", " << bias << ">(p, row0, col0);\n";
  } else {
    os << "  lbk::gemm_unpack_" << (s.aBits == 16 ? "f16" : "s8") << "_warp<1, "
       << layoutConstant(s.layout()) << ", " << (s.wSigned ? "true" : "false")
       << ", " << s.warpTileM << ", " << s.warpTileN << ", " << s.stages << ", "
       << b << ", " << bias << ">(p, row0, col0);\n";
  }
  os << "}\n";
}

static void emitXPlanesKernel(std::ostream &os, int aBits) {
  os << "\n// int8 activations -> " << aBits
     << " bit planes of 32-bit words; one warp per 32 values\n"
     << "extern \"C\" __global__ void __launch_bounds__(256) "
     << xplanesKernelName(aBits)
     << "(const int8_t *x, uint32_t *planes, int M, int K) {\n"
     << "  const long long warp = (long long)blockIdx.x * 8 + threadIdx.x / 32;\n"
     << "  const int words = K / 32;\n"
     << "  if (warp >= (long long)M * words)\n"
     << "    return; // uniform across the warp\n"
     << "  lbk::xplanes_warp<1, " << aBits
     << ">(x, planes, K, int(warp / words), int(warp % words));\n"
     << "}\n";
}

bool emitCudaSource(const std::vector<KernelSpec> &specs, std::string &source,
                    std::string &error) {
  std::ostringstream os;
  os << "// Generated by lowbit (lib/Target/Cuda): low-bit GEMM kernels for "
        "lowbit.qlinear.\n// Device code: LowbitDevice.cuh, pasted below.\n";
  os << kDeviceSource << "\n// ---- kernel entry points ----\n";
  std::set<std::string> names;
  std::set<int> planeBits;
  for (const KernelSpec &s : specs) {
    if (!validateSpec(s, error)) {
      error = kernelName(s) + ": " + error;
      return false;
    }
    if (!names.insert(kernelName(s)).second)
      continue;
    if (s.path == KernelPath::BitSerial && planeBits.insert(s.aBits).second)
      emitXPlanesKernel(os, s.aBits);
    emitGemmKernel(os, s);
  }
  source = os.str();
  return true;
}

} // namespace cuda
} // namespace lowbit
