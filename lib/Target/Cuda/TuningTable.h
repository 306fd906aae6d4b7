//===- TuningTable.h - Per-shape kernel choice ----------------------------===//
//
// Which kernel (path and tiles) runs a GEMM, keyed by (GPU name, weight bits,
// activation bits, M bucket, N, K). Entries come from the GPU benchmark
// (bench/cuda_gemm.py writes them to bench/results/cuda_tuning_<gpu>.txt);
// shapes without an entry get a heuristic (see chooseSpec).
//
// File format, one entry per line, '#' comments:
//   <gpu> <wbits> <abits> <mbucket> <N> <K> <path> <warpsM> <warpsN>
//   (path: bitserial | unpack | unpack_wgmma)
//   <warpTileM> <warpTileN> <stages>
// with spaces in the GPU name written as '_'.
//
//===----------------------------------------------------------------------===//

#ifndef LOWBIT_LIB_TARGET_CUDA_TUNINGTABLE_H
#define LOWBIT_LIB_TARGET_CUDA_TUNINGTABLE_H

#include "lib/Target/Cuda/KernelSpec.h"

#include <map>
#include <string>
#include <tuple>

namespace lowbit {
namespace cuda {

/// The M buckets of the table: 1, 2, 4, 8, 16, 64, 256, 1024, 4096 (the
/// smallest one >= M; 4096 for anything larger).
int64_t mBucket(int64_t m);

struct TuningKey {
  std::string gpu; ///< spaces replaced by '_'
  int wBits = 0, aBits = 0;
  int64_t mBucket = 0, n = 0, k = 0;
  bool operator<(const TuningKey &o) const {
    return std::tie(gpu, wBits, aBits, mBucket, n, k) <
           std::tie(o.gpu, o.wBits, o.aBits, o.mBucket, o.n, o.k);
  }
};

/// The path and tile fields of a KernelSpec (bits, signedness, output type
/// and arch come from the problem).
struct TuningEntry {
  KernelPath path = KernelPath::Unpack;
  bool wgmma = false; ///< written "unpack_wgmma" in the file
  int warpsM = 1, warpsN = 4, warpTileM = 1, warpTileN = 2, stages = 2;
};

class TuningTable {
public:
  /// Reads a table file; false with "FILE:LINE: ..." on a malformed line.
  bool load(const std::string &path, std::string &error);
  bool parse(const std::string &text, const std::string &source,
             std::string &error);
  void add(const TuningKey &key, const TuningEntry &entry) {
    entries_[key] = entry;
  }
  /// The entry for (gpu, wBits, aBits, mBucket(m), n, k), if any.
  const TuningEntry *lookup(const std::string &gpu, int wBits, int aBits,
                            int64_t m, int64_t n, int64_t k) const;
  size_t size() const { return entries_.size(); }

private:
  std::map<TuningKey, TuningEntry> entries_;
};

/// The GPU name as it is written in table keys (spaces -> '_').
std::string tuningGpuName(const std::string &gpu);

/// The kernel for a problem: the table's entry when there is one and it fits
/// (valid spec, problem accepted by checkProblem), else the heuristic:
///   * A16 or unsigned weights: unpack;
///   * decode (M <= 16, memory-bound): unpack, 1x4 warps of 1x2 tiles, 2
///     stages (weights are read once; fewest instructions per weight byte);
///   * prefill on sm_80/86 with signed weights and wBits * aBits <= 16
///     (W2A8, W4A4): bit-serial, 2x2 warps of 2x2 tiles; otherwise unpack
///     with the same tiles (on sm_90a int8 MMA beats binary MMA per MAC);
///   * stages lowered to 1 when the group size needs it.
/// `outF16` and `hasBias` are copied into the spec.
KernelSpec chooseSpec(const std::string &gpu, CudaArch arch, int wBits,
                      int aBits, bool wSigned, int64_t m, int64_t n, int64_t k,
                      int64_t groupSize, bool outF16, bool hasBias,
                      const TuningTable *table);

} // namespace cuda
} // namespace lowbit

#endif // LOWBIT_LIB_TARGET_CUDA_TUNINGTABLE_H
