/*===- BufferPool.c - the JIT's side of the buffer pool -------------------===
 *
 * The pool itself is ArtefactRuntime/BufferPool.c, compiled into every
 * artefact as well; here it gets the external names that CpuExecutable
 * registers with the execution engine for the compiled code's
 * _mlir_memref_to_llvm_{alloc,aligned_alloc,free} (see BufferPool.h).
 *===----------------------------------------------------------------------===*/
#include "BufferPool.h"

#include "ArtefactRuntime/BufferPool.c"

void *lowbit_jit_pool_alloc(size_t size) {
  return lowbit_pool_allocate_(size, 0);
}

void *lowbit_jit_pool_aligned_alloc(size_t alignment, size_t size) {
  return lowbit_pool_allocate_(size, alignment);
}

void lowbit_jit_pool_free(void *ptr) { lowbit_pool_free_block_(ptr); }

void lowbit_jit_pool_acquire(void) { lowbit_pool_acquire_(); }

void lowbit_jit_pool_release(void) { lowbit_pool_release_(); }

size_t lowbit_jit_pool_cached_blocks(void) {
  pthread_mutex_lock(&lowbit_pool_mutex_);
  size_t count = lowbit_pool_count_;
  pthread_mutex_unlock(&lowbit_pool_mutex_);
  return count;
}
