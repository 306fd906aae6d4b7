/*===- lowbit_artefact.h - the C ABI of a compiled lowbit artefact -*- C -*-===
 *
 * `lowbit compile MODEL.onnx -o NAME` writes NAME.so, NAME.h (this ABI plus
 * the model's inputs and outputs) and NAME.json (the manifest). The shared
 * library exports exactly the functions below; it needs neither LLVM nor
 * MLIR, only the C library. Link against it (cc main.c NAME.so) or dlopen it.
 *
 *   if (lowbit_abi_version() != LOWBIT_ABI_VERSION) ...     wrong artefact
 *   lowbit_session *s = lowbit_session_create();
 *   if (!s) { puts(lowbit_last_error()); ... }             e.g. missing AVX-512
 *   lowbit_tensor in[1] = {{x, 2, x_shape}}, out[1] = {{y, 2, y_shape}};
 *   if (lowbit_session_run(s, in, 1, out, 1) != 0) puts(lowbit_last_error());
 *   lowbit_session_destroy(s);
 *
 * Tensors are dense, row-major, little-endian; the element types are numpy's
 * dtype strings ("f4", "i8", "u1", ...). A session may run from one thread at
 * a time; separate sessions may run concurrently.
 *===----------------------------------------------------------------------===*/
#ifndef LOWBIT_ARTEFACT_H
#define LOWBIT_ARTEFACT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped whenever a function below changes meaning or signature. */
#define LOWBIT_ABI_VERSION 1

/* One input or output as the artefact declares it. */
typedef struct lowbit_tensor_info {
  const char *name;     /* the ONNX name */
  const char *dtype;    /* numpy dtype string: "f4", "i8", "u1", "b1", ... */
  int32_t rank;
  const int64_t *shape; /* rank dimensions */
  int64_t bytes;        /* bytes of the dense tensor */
} lowbit_tensor_info;

/* One tensor handed to lowbit_session_run: data with its rank and shape,
 * which must equal the declared ones. */
typedef struct lowbit_tensor {
  void *data;
  int32_t rank;
  const int64_t *shape;
} lowbit_tensor;

typedef struct lowbit_session lowbit_session;

/* LOWBIT_ABI_VERSION of the compiler that wrote the artefact. */
uint32_t lowbit_abi_version(void);

/* The manifest (the same JSON as NAME.json), NUL-terminated. */
const char *lowbit_manifest(void);

int32_t lowbit_num_inputs(void);
int32_t lowbit_num_outputs(void);
/* NULL when `index` is out of range. */
const lowbit_tensor_info *lowbit_input_info(int32_t index);
const lowbit_tensor_info *lowbit_output_info(int32_t index);

/* A session, or NULL with lowbit_last_error() set (for example when this
 * CPU lacks an instruction-set feature the code was compiled for). */
lowbit_session *lowbit_session_create(void);

/* Runs once: reads `inputs`, writes `outputs` (caller-owned buffers of the
 * declared sizes). Returns 0, or non-zero with lowbit_last_error() set and
 * the outputs untouched (wrong count, rank, shape or a NULL buffer). */
int32_t lowbit_session_run(lowbit_session *session,
                           const lowbit_tensor *inputs, int32_t num_inputs,
                           lowbit_tensor *outputs, int32_t num_outputs);

void lowbit_session_destroy(lowbit_session *session);

/* The calling thread's last error message ("" if none). */
const char *lowbit_last_error(void);

#ifdef __cplusplus
}
#endif

#endif /* LOWBIT_ARTEFACT_H */
