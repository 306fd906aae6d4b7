/*===- BufferPool.c - reuse of the compiled code's buffers across runs ----===
 *
 * The compiled code allocates its intermediate buffers at every run and
 * frees them again (finalize-memref-to-llvm{use-generic-functions} routes
 * them here). Through plain malloc, glibc maps blocks above its mmap
 * threshold fresh and unmaps them on free, so every run page-faults on new
 * zeroed pages (PP-OCRv4 det 256: 114 ms per run instead of 70). The pool
 * keeps freed blocks of at least LOWBIT_POOL_MIN_BYTES and hands them out
 * again, best fit within 2x of the request; with static shapes the same
 * sizes come back every run, so from the second run on nothing is mapped.
 * Smaller blocks go straight back to malloc, which serves them from its
 * heap anyway.
 *
 * Used by the JIT (compiled into lowbit, the symbols registered with the
 * execution engine) and by every artefact (embedded, not exported). Thread
 * safe: multi-threaded code allocates from several threads.
 *===----------------------------------------------------------------------===*/
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define LOWBIT_POOL_MIN_BYTES ((size_t)64 << 10)
#define LOWBIT_POOL_ALIGN ((size_t)64)

/* Stored just below every pointer the pool hands out. */
typedef struct lowbit_pool_header_ {
  void *raw;       /* what posix_memalign returned */
  size_t capacity; /* usable bytes from the user pointer on */
  size_t offset;   /* user pointer - raw (the alignment, at least 64) */
  size_t pad;
} lowbit_pool_header_;

typedef struct lowbit_pool_block_ {
  char *user;
  size_t capacity, offset;
} lowbit_pool_block_;

static pthread_mutex_t lowbit_pool_mutex_ = PTHREAD_MUTEX_INITIALIZER;
static lowbit_pool_block_ *lowbit_pool_free_ = NULL;
static size_t lowbit_pool_count_ = 0, lowbit_pool_slots_ = 0;
static unsigned long lowbit_pool_users_ = 0;

static void *lowbit_pool_allocate_(size_t size, size_t alignment) {
  size_t offset = alignment > LOWBIT_POOL_ALIGN ? alignment : LOWBIT_POOL_ALIGN;
  if (size >= LOWBIT_POOL_MIN_BYTES) {
    pthread_mutex_lock(&lowbit_pool_mutex_);
    size_t best = (size_t)-1;
    for (size_t i = 0; i < lowbit_pool_count_; ++i) {
      lowbit_pool_block_ *b = &lowbit_pool_free_[i];
      if (b->offset == offset && b->capacity >= size &&
          b->capacity / 2 <= size &&
          (best == (size_t)-1 || b->capacity < lowbit_pool_free_[best].capacity))
        best = i;
    }
    if (best != (size_t)-1) {
      char *user = lowbit_pool_free_[best].user;
      lowbit_pool_free_[best] = lowbit_pool_free_[--lowbit_pool_count_];
      pthread_mutex_unlock(&lowbit_pool_mutex_);
      return user;
    }
    pthread_mutex_unlock(&lowbit_pool_mutex_);
  }
  void *raw = NULL;
  if (size > SIZE_MAX - offset || posix_memalign(&raw, offset, offset + size)) {
    /* The generated code cannot take a null buffer back (it would fault on
     * the first store): say what happened and end the process with exit
     * status 1, as the tools do for any error, not with a signal. Import
     * refuses single tensors above --max-memory; this is the sum of live
     * ones, or a limit raised past the machine's memory. */
    fprintf(stderr,
            "error: out of memory: the compiled model could not allocate "
            "%zu bytes\n",
            size);
    fflush(stderr);
    _Exit(1);
  }
  char *user = (char *)raw + offset;
  lowbit_pool_header_ *h = (lowbit_pool_header_ *)user - 1;
  h->raw = raw;
  h->capacity = size;
  h->offset = offset;
  return user;
}

static void lowbit_pool_free_block_(void *ptr) {
  if (!ptr)
    return;
  lowbit_pool_header_ *h = (lowbit_pool_header_ *)ptr - 1;
  if (h->capacity >= LOWBIT_POOL_MIN_BYTES) {
    pthread_mutex_lock(&lowbit_pool_mutex_);
    if (lowbit_pool_users_ > 0) {
      if (lowbit_pool_count_ == lowbit_pool_slots_) {
        size_t slots = lowbit_pool_slots_ ? 2 * lowbit_pool_slots_ : 64;
        lowbit_pool_block_ *grown =
            realloc(lowbit_pool_free_, slots * sizeof *grown);
        if (grown) {
          lowbit_pool_free_ = grown;
          lowbit_pool_slots_ = slots;
        }
      }
      if (lowbit_pool_count_ < lowbit_pool_slots_) {
        lowbit_pool_block_ b = {(char *)ptr, h->capacity, h->offset};
        lowbit_pool_free_[lowbit_pool_count_++] = b;
        pthread_mutex_unlock(&lowbit_pool_mutex_);
        return;
      }
    }
    pthread_mutex_unlock(&lowbit_pool_mutex_);
  }
  free(h->raw);
}

/* A user (a session, an executable) keeps freed blocks cached while it
 * lives; when the last one goes, the cached blocks are returned. */
static void lowbit_pool_acquire_(void) {
  pthread_mutex_lock(&lowbit_pool_mutex_);
  ++lowbit_pool_users_;
  pthread_mutex_unlock(&lowbit_pool_mutex_);
}

static void lowbit_pool_release_(void) {
  pthread_mutex_lock(&lowbit_pool_mutex_);
  lowbit_pool_block_ *blocks = NULL;
  size_t count = 0;
  if (lowbit_pool_users_ > 0 && --lowbit_pool_users_ == 0) {
    blocks = lowbit_pool_free_;
    count = lowbit_pool_count_;
    lowbit_pool_free_ = NULL;
    lowbit_pool_count_ = lowbit_pool_slots_ = 0;
  }
  pthread_mutex_unlock(&lowbit_pool_mutex_);
  for (size_t i = 0; i < count; ++i)
    free(((lowbit_pool_header_ *)blocks[i].user - 1)->raw);
  free(blocks);
}
