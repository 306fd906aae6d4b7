//===- CudaRuntimeTest.cpp - The CUDA host runtime, with or without a GPU -===//
//
// Without a driver/GPU (CI): every entry point fails with a clear error and
// the GPU test is skipped with a message. With one: lowbit.qlinear on the GPU
// equals the CPU reference bit for bit (f32 output) on fresh random inputs.
//
//===----------------------------------------------------------------------===//

#include "lib/Target/Cuda/CudaRuntime.h"
#include "lib/Target/Cuda/Reference.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

using namespace lowbit::cuda;

TEST(CudaRuntime, WithoutGpuTheErrorIsClear) {
  std::string why;
  if (cudaAvailable(why))
    GTEST_SKIP() << "a GPU is present; see CudaRuntime.QLinearOnGpu";
  EXPECT_EQ(why.rfind("no CUDA driver/GPU found", 0), 0u) << why;
  KernelSpec s;
  s.outF16 = false;
  HostGemm p;
  std::string error;
  ASSERT_TRUE(makeRandomGemm(s, 2, 8, 64, 64, 1, false, p, error)) << error;
  QLinearCudaArgs a;
  a.M = 2, a.N = 8, a.K = 64, a.groupSize = 64, a.x = p.x.data(),
  a.xScale = p.xScale.data(), a.w = p.wPacked.data(),
  a.wBytes = int64_t(p.wPacked.size()), a.wScale = p.wScale.data();
  std::vector<float> out(16);
  EXPECT_FALSE(runQLinearCuda(a, out.data(), error));
  EXPECT_EQ(error.rfind("no CUDA driver/GPU found", 0), 0u) << error;
}

TEST(CudaRuntime, QLinearOnGpu) {
  std::string why;
  if (!cudaAvailable(why))
    GTEST_SKIP() << "GPU test skipped: " << why;
  std::random_device rd;
  for (KernelPath path : {KernelPath::Unpack, KernelPath::BitSerial})
    for (bool bias : {false, true}) {
      KernelSpec s;
      s.path = path;
      s.outF16 = false;
      s.hasBias = bias;
      s.stages = 1;
      HostGemm p;
      std::string error;
      ASSERT_TRUE(makeRandomGemm(s, 45, 100, 512, 128, rd(), false, p, error));
      std::vector<float> ref, out(size_t(45) * 100, NAN);
      ASSERT_TRUE(referenceGemm(p, ref, error)) << error;
      QLinearCudaArgs a;
      a.M = p.M, a.N = p.N, a.K = p.K, a.groupSize = p.G, a.aBits = 8,
      a.wBits = 4, a.layout = s.layout(), a.x = p.x.data(),
      a.xScale = p.xScale.data(), a.w = p.wPacked.data(),
      a.wBytes = int64_t(p.wPacked.size()), a.wScale = p.wScale.data(),
      a.bias = bias ? p.bias.data() : nullptr, a.spec = &s;
      ASSERT_TRUE(runQLinearCuda(a, out.data(), error)) << error;
      for (size_t i = 0; i < ref.size(); ++i)
        ASSERT_EQ(std::memcmp(&out[i], &ref[i], 4), 0)
            << pathName(path) << " element " << i << ": " << out[i] << " vs "
            << ref[i];
    }
}
