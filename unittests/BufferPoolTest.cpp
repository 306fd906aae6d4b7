//===- BufferPoolTest.cpp - reuse of the compiled code's buffers ----------===//
//
// The pool behind _mlir_memref_to_llvm_{alloc,aligned_alloc,free} in the
// JIT and in every artefact (lib/Execution/Cpu/ArtefactRuntime/BufferPool.c).
//
//===----------------------------------------------------------------------===//
#include "lib/Execution/Cpu/BufferPool.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>

namespace {

constexpr size_t kKiB = 1024;

struct PoolHolder {
  PoolHolder() { lowbit_jit_pool_acquire(); }
  ~PoolHolder() { lowbit_jit_pool_release(); }
};

TEST(BufferPool, ReusesAFreedLargeBlockForTheSameOrASmallerSize) {
  PoolHolder hold;
  void *a = lowbit_jit_pool_alloc(200 * kKiB);
  ASSERT_NE(a, nullptr);
  std::memset(a, 1, 200 * kKiB);
  lowbit_jit_pool_free(a);
  // Same size: the same block.
  void *b = lowbit_jit_pool_alloc(200 * kKiB);
  EXPECT_EQ(b, a);
  lowbit_jit_pool_free(b);
  // 150 KiB fits the 200 KiB block (within 2x): reused.
  void *c = lowbit_jit_pool_alloc(150 * kKiB);
  EXPECT_EQ(c, a);
  // 300 KiB does not fit it: a new block.
  void *d = lowbit_jit_pool_alloc(300 * kKiB);
  EXPECT_NE(d, a);
  lowbit_jit_pool_free(c);
  lowbit_jit_pool_free(d);
}

TEST(BufferPool, DoesNotHandOutABlockMoreThanTwiceTheRequest) {
  PoolHolder hold;
  void *big = lowbit_jit_pool_alloc(1024 * kKiB);
  lowbit_jit_pool_free(big);
  void *small = lowbit_jit_pool_alloc(100 * kKiB);
  EXPECT_NE(small, big);
  lowbit_jit_pool_free(small);
}

TEST(BufferPool, PicksTheSmallestFittingBlock) {
  PoolHolder hold;
  void *large = lowbit_jit_pool_alloc(190 * kKiB);
  void *fit = lowbit_jit_pool_alloc(120 * kKiB);
  lowbit_jit_pool_free(large);
  lowbit_jit_pool_free(fit);
  EXPECT_EQ(lowbit_jit_pool_alloc(100 * kKiB), fit);
  EXPECT_EQ(lowbit_jit_pool_alloc(100 * kKiB), large);
  lowbit_jit_pool_free(fit);
  lowbit_jit_pool_free(large);
}

TEST(BufferPool, Alignment) {
  PoolHolder hold;
  for (size_t size : {size_t(1), 100 * kKiB}) {
    void *p = lowbit_jit_pool_alloc(size);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 64, 0u);
    void *q = lowbit_jit_pool_aligned_alloc(4096, size);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(q) % 4096, 0u);
    lowbit_jit_pool_free(p);
    lowbit_jit_pool_free(q);
  }
  // A block cached for 64-byte alignment does not serve a 4096 request.
  void *a = lowbit_jit_pool_alloc(100 * kKiB);
  lowbit_jit_pool_free(a);
  void *b = lowbit_jit_pool_aligned_alloc(4096, 100 * kKiB);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(b) % 4096, 0u);
  lowbit_jit_pool_free(b);
}

TEST(BufferPool, SmallBlocksAndNullAreNotCached) {
  PoolHolder hold;
  lowbit_jit_pool_free(nullptr);
  void *small = lowbit_jit_pool_alloc(1000);
  ASSERT_NE(small, nullptr);
  std::memset(small, 0, 1000);
  lowbit_jit_pool_free(small); // back to malloc: nothing to check but no crash
  void *zero = lowbit_jit_pool_alloc(0);
  lowbit_jit_pool_free(zero);
}

TEST(BufferPool, KeepsBlocksOnlyWhileHeld) {
  ASSERT_EQ(lowbit_jit_pool_cached_blocks(), 0u);
  // Nobody holds the pool: a freed block goes back to malloc.
  lowbit_jit_pool_free(lowbit_jit_pool_alloc(256 * kKiB));
  EXPECT_EQ(lowbit_jit_pool_cached_blocks(), 0u);
  {
    PoolHolder first;
    PoolHolder second;
    lowbit_jit_pool_free(lowbit_jit_pool_alloc(256 * kKiB));
    lowbit_jit_pool_free(lowbit_jit_pool_alloc(512 * kKiB));
    EXPECT_EQ(lowbit_jit_pool_cached_blocks(), 2u);
  }
  // The last holder gone: the cached blocks were returned.
  EXPECT_EQ(lowbit_jit_pool_cached_blocks(), 0u);
}

} // namespace
