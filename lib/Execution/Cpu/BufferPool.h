/*===- BufferPool.h - buffers of the JIT-compiled code ------------*- C -*-===
 *
 * Private to lib/Execution/Cpu. The compiled code allocates and frees its
 * intermediate buffers through these (see ArtefactRuntime/BufferPool.c);
 * each live CpuExecutable holds the pool (acquire/release) so that freed
 * blocks are kept for the next run.
 *===----------------------------------------------------------------------===*/
#ifndef LOWBIT_EXECUTION_CPU_BUFFERPOOL_H
#define LOWBIT_EXECUTION_CPU_BUFFERPOOL_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

void *lowbit_jit_pool_alloc(size_t size);
void *lowbit_jit_pool_aligned_alloc(size_t alignment, size_t size);
void lowbit_jit_pool_free(void *ptr);
void lowbit_jit_pool_acquire(void);
void lowbit_jit_pool_release(void);
/* Freed blocks the pool holds now (for tests). */
size_t lowbit_jit_pool_cached_blocks(void);

#ifdef __cplusplus
}
#endif

#endif /* LOWBIT_EXECUTION_CPU_BUFFERPOOL_H */
