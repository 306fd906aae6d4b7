/*===- ArtefactRuntime.c - the C ABI of a compiled artefact -------*- C -*-===
 *
 * Compiled into every artefact after the code that the artefact writer
 * generates for the model (CpuArtefact.cpp), which defines:
 *
 *   LOWBIT_NUM_INPUTS_, LOWBIT_NUM_OUTPUTS_, LOWBIT_NUM_WEIGHTS_
 *   lowbit_inputs_[], lowbit_outputs_[]      lowbit_tensor_info
 *   lowbit_weight_offsets_[], lowbit_weight_ranks_[], lowbit_weight_shapes_[]
 *   lowbit_weights_blob_                     the weights (assembled .incbin)
 *   lowbit_manifest_, lowbit_target_cpu_     strings
 *   lowbit_missing_cpu_feature_()            first required feature missing
 *   lowbit_call_(void **descriptors)         calls the compiled entry
 *
 * and BufferPool.c (the pool the compiled code allocates from), both placed
 * before this file in one translation unit.
 *
 * The entry takes, through MLIR's C interface, one strided memref
 * descriptor {allocated, aligned, offset, sizes[rank], strides[rank]} per
 * input, weight and output, in that order. A tensor with no elements may
 * come with a NULL pointer (the code never reads it). Only the lowbit_* functions of
 * lowbit_artefact.h are exported (a version script hides the rest).
 *===----------------------------------------------------------------------===*/
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local char lowbit_error_[1024];

static void lowbit_set_error_(const char *format, ...) {
  va_list args;
  va_start(args, format);
  vsnprintf(lowbit_error_, sizeof lowbit_error_, format, args);
  va_end(args);
}

/* "[1x3x224x224]" into `out`. */
static void lowbit_shape_string_(const int64_t *shape, int32_t rank, char *out,
                                 size_t size) {
  size_t used = (size_t)snprintf(out, size, "[");
  for (int32_t d = 0; d < rank && used < size; ++d)
    used += (size_t)snprintf(out + used, size - used, "%s%lld", d ? "x" : "",
                             (long long)shape[d]);
  if (used < size)
    snprintf(out + used, size - used, "]");
}

struct lowbit_session {
  /* One descriptor per argument, 3 + 2 * rank int64 each, back to back. */
  int64_t *storage;
  void *args[LOWBIT_NUM_INPUTS_ + LOWBIT_NUM_WEIGHTS_ + LOWBIT_NUM_OUTPUTS_ +
             1];
};

static int64_t *lowbit_fill_descriptor_(int64_t *d, const void *data,
                                        int32_t rank, const int64_t *shape) {
  int64_t stride = 1;
  d[0] = (int64_t)(intptr_t)data;
  d[1] = (int64_t)(intptr_t)data;
  d[2] = 0;
  for (int32_t i = rank; i-- > 0;) {
    d[3 + i] = shape[i];
    d[3 + rank + i] = stride;
    stride *= shape[i];
  }
  return d + 3 + 2 * rank;
}

uint32_t lowbit_abi_version(void) { return LOWBIT_ABI_VERSION; }

const char *lowbit_manifest(void) { return lowbit_manifest_; }

int32_t lowbit_num_inputs(void) { return LOWBIT_NUM_INPUTS_; }

int32_t lowbit_num_outputs(void) { return LOWBIT_NUM_OUTPUTS_; }

const lowbit_tensor_info *lowbit_input_info(int32_t index) {
  if (index < 0 || index >= LOWBIT_NUM_INPUTS_)
    return NULL;
  return &lowbit_inputs_[index];
}

const lowbit_tensor_info *lowbit_output_info(int32_t index) {
  if (index < 0 || index >= LOWBIT_NUM_OUTPUTS_)
    return NULL;
  return &lowbit_outputs_[index];
}

const char *lowbit_last_error(void) { return lowbit_error_; }

lowbit_session *lowbit_session_create(void) {
  const char *missing = lowbit_missing_cpu_feature_();
  if (missing) {
    lowbit_set_error_("this CPU lacks '%s', which the artefact's code was "
                      "compiled for (target CPU '%s'); compile it again with "
                      "`lowbit compile --target-cpu=...` for this machine",
                      missing, lowbit_target_cpu_);
    return NULL;
  }
  size_t words = 0;
  for (int32_t i = 0; i < LOWBIT_NUM_INPUTS_; ++i)
    words += 3 + 2 * (size_t)lowbit_inputs_[i].rank;
  for (int32_t i = 0; i < LOWBIT_NUM_WEIGHTS_; ++i)
    words += 3 + 2 * (size_t)lowbit_weight_ranks_[i];
  for (int32_t i = 0; i < LOWBIT_NUM_OUTPUTS_; ++i)
    words += 3 + 2 * (size_t)lowbit_outputs_[i].rank;
  lowbit_session *session = calloc(1, sizeof *session);
  if (session)
    session->storage = calloc(words + 1, sizeof(int64_t));
  if (!session || !session->storage) {
    free(session);
    lowbit_set_error_("out of memory creating a session");
    return NULL;
  }
  /* The weights' descriptors never change: fill them once. */
  int64_t *d = session->storage;
  int32_t arg = 0;
  for (int32_t i = 0; i < LOWBIT_NUM_INPUTS_; ++i) {
    session->args[arg++] = d;
    d += 3 + 2 * lowbit_inputs_[i].rank;
  }
  for (int32_t i = 0; i < LOWBIT_NUM_WEIGHTS_; ++i) {
    session->args[arg++] = d;
    d = lowbit_fill_descriptor_(
        d, lowbit_weights_blob_ + lowbit_weight_offsets_[i],
        lowbit_weight_ranks_[i], lowbit_weight_shapes_[i]);
  }
  for (int32_t i = 0; i < LOWBIT_NUM_OUTPUTS_; ++i) {
    session->args[arg++] = d;
    d += 3 + 2 * lowbit_outputs_[i].rank;
  }
  lowbit_pool_acquire_();
  lowbit_error_[0] = '\0';
  return session;
}

/* Checks one caller tensor against its declaration; 0 if it matches. */
static int lowbit_check_tensor_(const char *kind, int32_t index,
                                const lowbit_tensor *given,
                                const lowbit_tensor_info *info) {
  char want[256], got[256];
  if (!given->data && info->bytes != 0) {
    lowbit_set_error_("%s %d ('%s'): the data pointer is NULL", kind, index,
                      info->name);
    return 1;
  }
  int same = given->rank == info->rank && (given->shape || info->rank == 0);
  for (int32_t d = 0; same && d < info->rank; ++d)
    same = given->shape[d] == info->shape[d];
  if (same)
    return 0;
  lowbit_shape_string_(info->shape, info->rank, want, sizeof want);
  if (given->rank < 0 || given->rank > 64 || (!given->shape && given->rank))
    snprintf(got, sizeof got, "rank %d", (int)given->rank);
  else
    lowbit_shape_string_(given->shape, given->rank, got, sizeof got);
  lowbit_set_error_("%s %d ('%s'): shape %s (rank %d) does not match the "
                    "artefact's %s %s (rank %d)",
                    kind, index, info->name, got, (int)given->rank,
                    info->dtype, want, (int)info->rank);
  return 1;
}

int32_t lowbit_session_run(lowbit_session *session,
                           const lowbit_tensor *inputs, int32_t num_inputs,
                           lowbit_tensor *outputs, int32_t num_outputs) {
  if (!session) {
    lowbit_set_error_("lowbit_session_run: the session is NULL");
    return 1;
  }
  if (num_inputs != LOWBIT_NUM_INPUTS_ || num_outputs != LOWBIT_NUM_OUTPUTS_) {
    lowbit_set_error_("lowbit_session_run: the artefact takes %d input(s) and "
                      "%d output(s), got %d and %d",
                      LOWBIT_NUM_INPUTS_, LOWBIT_NUM_OUTPUTS_, (int)num_inputs,
                      (int)num_outputs);
    return 1;
  }
  if ((num_inputs && !inputs) || (num_outputs && !outputs)) {
    lowbit_set_error_("lowbit_session_run: the tensor array is NULL");
    return 1;
  }
  for (int32_t i = 0; i < LOWBIT_NUM_INPUTS_; ++i)
    if (lowbit_check_tensor_("input", i, &inputs[i], &lowbit_inputs_[i]))
      return 1;
  for (int32_t i = 0; i < LOWBIT_NUM_OUTPUTS_; ++i)
    if (lowbit_check_tensor_("output", i, &outputs[i], &lowbit_outputs_[i]))
      return 1;
  for (int32_t i = 0; i < LOWBIT_NUM_INPUTS_; ++i)
    lowbit_fill_descriptor_(session->args[i], inputs[i].data,
                            lowbit_inputs_[i].rank, lowbit_inputs_[i].shape);
  for (int32_t i = 0; i < LOWBIT_NUM_OUTPUTS_; ++i)
    lowbit_fill_descriptor_(
        session->args[LOWBIT_NUM_INPUTS_ + LOWBIT_NUM_WEIGHTS_ + i],
        outputs[i].data, lowbit_outputs_[i].rank, lowbit_outputs_[i].shape);
  lowbit_call_(session->args);
  lowbit_error_[0] = '\0';
  return 0;
}

void lowbit_session_destroy(lowbit_session *session) {
  if (!session)
    return;
  free(session->storage);
  free(session);
  lowbit_pool_release_();
}

/* The compiled code's allocation functions (finalize-memref-to-llvm with
 * generic functions); not exported. */
void *_mlir_memref_to_llvm_alloc(size_t size) {
  return lowbit_pool_allocate_(size, 0);
}

void *_mlir_memref_to_llvm_aligned_alloc(size_t alignment, size_t size) {
  return lowbit_pool_allocate_(size, alignment);
}

void _mlir_memref_to_llvm_free(void *ptr) { lowbit_pool_free_block_(ptr); }
