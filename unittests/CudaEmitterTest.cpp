//===- CudaEmitterTest.cpp - Kernel specs, emission, tuning table ---------===//

#include "lib/Target/Cuda/KernelSpec.h"
#include "lib/Target/Cuda/TuningTable.h"

#include <gtest/gtest.h>

#include <set>

using namespace lowbit::cuda;

TEST(CudaSpec, RejectsUnsupportedCombinations) {
  std::string error;
  KernelSpec s;
  s.path = KernelPath::BitSerial;
  s.aBits = 16;
  EXPECT_FALSE(validateSpec(s, error));
  EXPECT_NE(error.find("bit-serial path needs integer activations"),
            std::string::npos);
  s.aBits = 8;
  s.wSigned = false;
  EXPECT_FALSE(validateSpec(s, error));
  EXPECT_NE(error.find("signed (symmetric) weights"), std::string::npos);
  s = KernelSpec();
  s.wBits = 9;
  EXPECT_FALSE(validateSpec(s, error));
  EXPECT_EQ(error, "weight bits 9 out of range [2, 8]");
  s = KernelSpec();
  s.aBits = 12;
  EXPECT_FALSE(validateSpec(s, error));
  s = KernelSpec();
  s.warpsM = 0;
  EXPECT_FALSE(validateSpec(s, error));
  EXPECT_EQ(error, "warpsM 0 out of range [1, 8]");
  s = KernelSpec();
  s.warpsM = 8;
  s.warpsN = 8;
  EXPECT_FALSE(validateSpec(s, error));
  EXPECT_NE(error.find("exceeds 1024"), std::string::npos);
  s = KernelSpec();
  s.wBits = 8;
  s.wSigned = false;
  EXPECT_FALSE(validateSpec(s, error));
  EXPECT_TRUE(validateSpec(KernelSpec(), error)) << error;
  // wgmma: sm_90a, unpack, integer activations, fixed tiles.
  s = wgmmaTiles(KernelSpec());
  EXPECT_FALSE(validateSpec(s, error)); // arch sm_80
  EXPECT_EQ(error, "wgmma kernels are unpack-path, integer-activation, sm_90a only");
  s.arch = CudaArch::Sm90a;
  EXPECT_TRUE(validateSpec(s, error)) << error;
  EXPECT_EQ(s.blockM(), 128);
  EXPECT_EQ(s.blockN(), 64);
  EXPECT_EQ(s.threads(), 256);
  s.stages = 2;
  EXPECT_FALSE(validateSpec(s, error));
  EXPECT_NE(error.find("wgmma tiles are fixed"), std::string::npos);
}

TEST(CudaSpec, ChecksProblemShapes) {
  std::string error;
  KernelSpec s; // unpack W4A8, 2 stages: chunk 64
  EXPECT_TRUE(checkProblem(s, 1, 4096, 4096, 128, error)) << error;
  EXPECT_FALSE(checkProblem(s, 1, 8, 100, 100, error));
  EXPECT_NE(error.find("multiple of 32"), std::string::npos);
  EXPECT_FALSE(checkProblem(s, 1, 8, 256, 96, error));
  EXPECT_EQ(error, "group size 96 does not divide K=256");
  EXPECT_FALSE(checkProblem(s, 1, 8, 256, 32, error));
  EXPECT_NE(error.find("not a multiple of 64"), std::string::npos);
  s.path = KernelPath::BitSerial;
  EXPECT_FALSE(checkProblem(s, 1, 8, 192, 192, error));
  EXPECT_NE(error.find("multiple of 128"), std::string::npos);
  EXPECT_FALSE(checkProblem(s, 0, 8, 256, 256, error));
}

TEST(CudaSpec, LayoutsFollowPackH) {
  KernelSpec s;
  s.wBits = 2;
  EXPECT_EQ(s.layout(), lowbit::numerics::PackLayout::Int2Crumbs);
  s.wBits = 3;
  EXPECT_EQ(s.layout(), lowbit::numerics::PackLayout::Int4Nibbles);
  s.wBits = 6;
  EXPECT_EQ(s.layout(), lowbit::numerics::PackLayout::Int6Planes);
  s.path = KernelPath::BitSerial;
  EXPECT_EQ(s.layout(), lowbit::numerics::PackLayout::BitPlanes);
}

TEST(CudaEmitter, EveryVariantHasOneUniqueEntryPoint) {
  for (CudaArch arch : {CudaArch::Sm80, CudaArch::Sm86, CudaArch::Sm90a}) {
    const std::vector<KernelSpec> specs = allVariants(arch);
    std::set<std::string> names;
    for (const KernelSpec &s : specs) {
      std::string error;
      EXPECT_TRUE(validateSpec(s, error)) << kernelName(s) << ": " << error;
      EXPECT_TRUE(names.insert(kernelName(s)).second) << kernelName(s);
    }
    // The bit pairs, both paths.
    for (const char *n :
         {"lowbit_qgemm_bitserial_w6a6_s_t1x4x1x2_st2_f16",
          "lowbit_qgemm_bitserial_w6a8_s_t2x2x2x2_st1_f16",
          "lowbit_qgemm_bitserial_w2a8_s_t1x4x1x2_st2_f16",
          "lowbit_qgemm_unpack_w6a8_s_t1x4x1x2_st2_f16",
          "lowbit_qgemm_unpack_w4a16_s_t1x4x1x2_st2_f16",
          "lowbit_qgemm_unpack_w2a16_s_t2x2x2x2_st1_f16",
          "lowbit_qgemm_unpack_w4a8_s_t1x4x1x2_st2_f16",
          "lowbit_qgemm_unpack_w2a8_s_t1x4x1x2_st2_f16"})
      EXPECT_TRUE(names.count(n)) << n;
    EXPECT_EQ(names.count("lowbit_qgemm_unpack_w4a8_s_t2x1x1x8_st1_f16_wgmma"),
              arch == CudaArch::Sm90a ? 1u : 0u);
    std::string source, error;
    ASSERT_TRUE(emitCudaSource(specs, source, error)) << error;
    for (const KernelSpec &s : specs)
      EXPECT_NE(source.find(" " + kernelName(s) + "(lbk::GemmParams p)"),
                std::string::npos)
          << kernelName(s);
    for (int a : {4, 6, 8})
      EXPECT_NE(source.find(xplanesKernelName(a) + "("), std::string::npos);
    EXPECT_NE(source.find("mma.sync.aligned.m8n8k128.row.col.s32.b1.b1.s32.and.popc"),
              std::string::npos);
    EXPECT_NE(source.find("mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32"),
              std::string::npos);
    EXPECT_NE(source.find("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32"),
              std::string::npos);
  }
}

TEST(CudaEmitter, InvalidSpecIsNamed) {
  KernelSpec s;
  s.path = KernelPath::BitSerial;
  s.wSigned = false;
  std::string source, error;
  EXPECT_FALSE(emitCudaSource({s}, source, error));
  EXPECT_EQ(error.rfind("lowbit_qgemm_bitserial_w4a8_u", 0), 0u) << error;
}

TEST(CudaArchs, NamesAndFlags) {
  CudaArch a;
  EXPECT_TRUE(parseArch("sm_90a", a));
  EXPECT_EQ(a, CudaArch::Sm90a);
  EXPECT_FALSE(parseArch("sm_75", a));
  EXPECT_EQ(nvccArchFlag(CudaArch::Sm90a), "-gencode=arch=compute_90a,code=sm_90a");
  EXPECT_TRUE(archForComputeCapability(8, 6, a));
  EXPECT_EQ(a, CudaArch::Sm86);
  EXPECT_TRUE(archForComputeCapability(9, 0, a));
  EXPECT_EQ(a, CudaArch::Sm90a);
  EXPECT_FALSE(archForComputeCapability(7, 5, a));
}

TEST(CudaTuning, BucketsAndLookup) {
  EXPECT_EQ(mBucket(1), 1);
  EXPECT_EQ(mBucket(3), 4);
  EXPECT_EQ(mBucket(16), 16);
  EXPECT_EQ(mBucket(17), 64);
  EXPECT_EQ(mBucket(1000), 1024);
  EXPECT_EQ(mBucket(100000), 4096);
  TuningTable t;
  std::string error;
  ASSERT_TRUE(t.parse("# gpu wbits abits mbucket N K path wm wn tm tn st\n"
                      "NVIDIA_H100_80GB_HBM3 4 8 16 4096 4096 unpack 1 8 1 4 4\n"
                      "NVIDIA_A100-SXM4-80GB 2 8 1024 4096 4096 bitserial 2 4 2 2 1\n",
                      "t.txt", error))
      << error;
  EXPECT_EQ(t.size(), 2u);
  const TuningEntry *e = t.lookup("NVIDIA H100 80GB HBM3", 4, 8, 9, 4096, 4096);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->warpsN, 8);
  EXPECT_EQ(e->stages, 4);
  EXPECT_EQ(t.lookup("NVIDIA H100 80GB HBM3", 4, 8, 17, 4096, 4096), nullptr);
  EXPECT_EQ(t.lookup("NVIDIA H100 80GB HBM3", 4, 8, 16, 4096, 11008), nullptr);
  EXPECT_FALSE(t.parse("gpu 4 8 16 1 1 unpack 1 1 1\n", "bad.txt", error));
  EXPECT_EQ(error.rfind("bad.txt:1: expected 12 fields", 0), 0u) << error;
  EXPECT_FALSE(t.parse("\ngpu 4 8 16 1 1 fast 1 1 1 1 1\n", "bad.txt", error));
  EXPECT_EQ(error,
            "bad.txt:2: unknown path 'fast' (bitserial, unpack or unpack_wgmma)");
  EXPECT_FALSE(t.parse("gpu 4 8 5 1 1 unpack 1 1 1 1 1\n", "bad.txt", error));
  EXPECT_NE(error.find("M bucket 5"), std::string::npos);
  EXPECT_FALSE(t.load("/nonexistent/table.txt", error));
  TuningTable h;
  ASSERT_TRUE(h.parse("H100 4 8 1024 4096 4096 unpack_wgmma 2 1 1 8 1\n", "h.txt",
                      error))
      << error;
  KernelSpec s = chooseSpec("H100", CudaArch::Sm90a, 4, 8, true, 1000, 4096,
                            4096, 128, true, false, &h);
  EXPECT_TRUE(s.wgmma);
  EXPECT_EQ(kernelName(s), "lowbit_qgemm_unpack_w4a8_s_t2x1x1x8_st1_f16_wgmma");
}

TEST(CudaTuning, HeuristicAndTableChoice) {
  // Decode: unpack with the decode tiles.
  KernelSpec s = chooseSpec("GPU", CudaArch::Sm80, 2, 8, true, 1, 4096, 4096,
                            128, true, false, nullptr);
  EXPECT_EQ(s.path, KernelPath::Unpack);
  EXPECT_EQ(s.warpsN, 4);
  EXPECT_EQ(s.stages, 2);
  // Prefill W2A8 on sm_80: bit-serial; on sm_90a: unpack (int8 MMA).
  s = chooseSpec("GPU", CudaArch::Sm80, 2, 8, true, 1024, 4096, 4096, 128, true,
                 false, nullptr);
  EXPECT_EQ(s.path, KernelPath::BitSerial);
  s = chooseSpec("GPU", CudaArch::Sm90a, 2, 8, true, 1024, 4096, 4096, 128,
                 true, false, nullptr);
  EXPECT_EQ(s.path, KernelPath::Unpack);
  // W6A8 costs 48 binary products per MAC: unpack.
  s = chooseSpec("GPU", CudaArch::Sm80, 6, 8, true, 1024, 4096, 4096, 128, true,
                 false, nullptr);
  EXPECT_EQ(s.path, KernelPath::Unpack);
  // Unsigned weights never go bit-serial; group 32 forces 1 stage.
  s = chooseSpec("GPU", CudaArch::Sm80, 2, 8, false, 1024, 4096, 4096, 32, true,
                 false, nullptr);
  EXPECT_EQ(s.path, KernelPath::Unpack);
  s = chooseSpec("GPU", CudaArch::Sm80, 4, 8, true, 1, 4096, 4096, 32, true,
                 false, nullptr);
  EXPECT_EQ(s.stages, 1);
  // A table entry wins when it fits the problem, and is ignored otherwise.
  TuningTable t;
  TuningKey key{"My_GPU", 4, 8, 1, 4096, 4096};
  TuningEntry e;
  e.path = KernelPath::BitSerial;
  e.warpsM = 1, e.warpsN = 8, e.warpTileM = 1, e.warpTileN = 1, e.stages = 1;
  t.add(key, e);
  s = chooseSpec("My GPU", CudaArch::Sm80, 4, 8, true, 1, 4096, 4096, 128,
                 false, true, &t);
  EXPECT_EQ(s.path, KernelPath::BitSerial);
  EXPECT_EQ(s.warpsN, 8);
  EXPECT_FALSE(s.outF16);
  EXPECT_TRUE(s.hasBias);
  s = chooseSpec("My GPU", CudaArch::Sm80, 4, 8, true, 1, 4096, 4096, 64, true,
                 false, &t); // G=64 is not a multiple of 128: heuristic
  EXPECT_EQ(s.path, KernelPath::Unpack);
}
