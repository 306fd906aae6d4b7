//===- TuningTable.cpp - Per-shape kernel choice --------------------------===//

#include "lib/Target/Cuda/TuningTable.h"

#include <fstream>
#include <sstream>

namespace lowbit {
namespace cuda {

int64_t mBucket(int64_t m) {
  for (int64_t b : {1, 2, 4, 8, 16, 64, 256, 1024})
    if (m <= b)
      return b;
  return 4096;
}

std::string tuningGpuName(const std::string &gpu) {
  std::string s = gpu;
  for (char &c : s)
    if (c == ' ' || c == '\t')
      c = '_';
  return s;
}

bool TuningTable::load(const std::string &path, std::string &error) {
  std::ifstream in(path);
  if (!in) {
    error = "cannot read tuning table " + path;
    return false;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return parse(ss.str(), path, error);
}

bool TuningTable::parse(const std::string &text, const std::string &source,
                        std::string &error) {
  std::istringstream lines(text);
  std::string line;
  int lineNo = 0;
  while (std::getline(lines, line)) {
    ++lineNo;
    const size_t hash = line.find('#');
    if (hash != std::string::npos)
      line.resize(hash);
    std::istringstream fields(line);
    TuningKey key;
    TuningEntry e;
    std::string path, extra;
    if (!(fields >> key.gpu))
      continue; // blank or comment
    const std::string where = source + ":" + std::to_string(lineNo) + ": ";
    if (!(fields >> key.wBits >> key.aBits >> key.mBucket >> key.n >> key.k >>
          path >> e.warpsM >> e.warpsN >> e.warpTileM >> e.warpTileN >>
          e.stages) ||
        (fields >> extra)) {
      error = where + "expected 12 fields: gpu wbits abits mbucket N K path "
                      "warpsM warpsN warpTileM warpTileN stages";
      return false;
    }
    e.wgmma = path == "unpack_wgmma";
    if (!e.wgmma && !parsePath(path, e.path)) {
      error = where + "unknown path '" + path +
              "' (bitserial, unpack or unpack_wgmma)";
      return false;
    }
    if (mBucket(key.mBucket) != key.mBucket) {
      error = where + "M bucket " + std::to_string(key.mBucket) +
              " is not one of 1 2 4 8 16 64 256 1024 4096";
      return false;
    }
    KernelSpec probe;
    probe.path = e.path;
    probe.wBits = key.wBits;
    probe.aBits = key.aBits;
    probe.warpsM = e.warpsM;
    probe.warpsN = e.warpsN;
    probe.warpTileM = e.warpTileM;
    probe.warpTileN = e.warpTileN;
    probe.stages = e.stages;
    probe.wgmma = e.wgmma;
    if (e.wgmma)
      probe.arch = CudaArch::Sm90a;
    if (!validateSpec(probe, error)) {
      error = where + error;
      return false;
    }
    entries_[key] = e;
  }
  return true;
}

const TuningEntry *TuningTable::lookup(const std::string &gpu, int wBits,
                                       int aBits, int64_t m, int64_t n,
                                       int64_t k) const {
  TuningKey key{tuningGpuName(gpu), wBits, aBits, mBucket(m), n, k};
  auto it = entries_.find(key);
  return it == entries_.end() ? nullptr : &it->second;
}

KernelSpec chooseSpec(const std::string &gpu, CudaArch arch, int wBits,
                      int aBits, bool wSigned, int64_t m, int64_t n, int64_t k,
                      int64_t groupSize, bool outF16, bool hasBias,
                      const TuningTable *table) {
  KernelSpec s;
  s.wBits = wBits;
  s.aBits = aBits;
  s.wSigned = wSigned;
  s.outF16 = outF16;
  s.hasBias = hasBias;
  s.arch = arch;
  std::string ignored;
  if (table)
    if (const TuningEntry *e = table->lookup(gpu, wBits, aBits, m, n, k)) {
      KernelSpec t = s;
      t.path = e->path;
      t.warpsM = e->warpsM;
      t.warpsN = e->warpsN;
      t.warpTileM = e->warpTileM;
      t.warpTileN = e->warpTileN;
      t.stages = e->stages;
      t.wgmma = e->wgmma;
      if (validateSpec(t, ignored) && checkProblem(t, m, n, k, groupSize, ignored))
        return t;
    }
  const bool decode = m <= 16;
  if (decode) {
    s.warpsM = 1;
    s.warpsN = 4;
    s.warpTileM = 1;
    s.warpTileN = 2;
    s.stages = 2;
  } else {
    s.warpsM = 2;
    s.warpsN = 2;
    s.warpTileM = 2;
    s.warpTileN = 2;
    s.stages = 1;
  }
  const bool bitSerialFits = aBits != 16 && wSigned && wBits * aBits <= 16 &&
                             arch != CudaArch::Sm90a && !decode;
  s.path = bitSerialFits ? KernelPath::BitSerial : KernelPath::Unpack;
  if (groupSize > 0 && groupSize % (int64_t(s.kStep()) * s.stages) != 0)
    s.stages = 1;
  if (s.path == KernelPath::BitSerial &&
      !checkProblem(s, m, n, k, groupSize, ignored)) {
    s.path = KernelPath::Unpack; // e.g. K or G not a multiple of 128
    if (groupSize > 0 && groupSize % (int64_t(s.kStep()) * s.stages) != 0)
      s.stages = 1;
  }
  return s;
}

} // namespace cuda
} // namespace lowbit
