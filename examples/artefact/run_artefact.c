/* Runs a lowbit artefact from C, linked against the artefact alone:
 *
 *   lowbit compile model.onnx --recipe rtn-w8a8 -o out/model
 *   cc -I out examples/artefact/run_artefact.c -DLOWBIT_HEADER='"model.h"' \
 *      out/model.so -Wl,-rpath,'$ORIGIN' -o out/run_model
 *   out/run_model out/outputs.bin
 *
 * Every input is filled with a fixed pattern (see fill_input; the tests
 * compute the same pattern in Python), the model runs once, and the outputs
 * are written back to back, raw, to the file named on the command line.
 * Prints the inputs and outputs it sees; exits 1 with the artefact's error
 * message on failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef LOWBIT_HEADER
#define LOWBIT_HEADER "lowbit_artefact.h"
#endif
#include LOWBIT_HEADER

/* Element i of the pattern: small integers or floats that every dtype can
 * hold exactly. */
static void fill_input(const lowbit_tensor_info *info, void *data) {
  int64_t n = 1;
  for (int32_t d = 0; d < info->rank; ++d)
    n *= info->shape[d];
  for (int64_t i = 0; i < n; ++i) {
    int v = (int)((i * 37) % 11) - 5; /* -5..5 */
    if (!strcmp(info->dtype, "f4"))
      ((float *)data)[i] = (float)v / 4.0f;
    else if (!strcmp(info->dtype, "f8"))
      ((double *)data)[i] = (double)v / 4.0;
    else if (!strcmp(info->dtype, "i8"))
      ((int64_t *)data)[i] = v < 0 ? -v : v;
    else if (!strcmp(info->dtype, "i4"))
      ((int32_t *)data)[i] = v < 0 ? -v : v;
    else if (!strcmp(info->dtype, "b1") || !strcmp(info->dtype, "u1") ||
             !strcmp(info->dtype, "i1"))
      ((uint8_t *)data)[i] = (uint8_t)(v < 0 ? -v : v) % 2;
    else
      memset((char *)data + i * (info->bytes / (n ? n : 1)), 0,
             (size_t)(info->bytes / (n ? n : 1)));
  }
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s OUTPUTS.bin\n", argv[0]);
    return 1;
  }
  if (lowbit_abi_version() != LOWBIT_ABI_VERSION) {
    fprintf(stderr, "error: artefact ABI %u, this program expects %d\n",
            lowbit_abi_version(), LOWBIT_ABI_VERSION);
    return 1;
  }
  lowbit_session *session = lowbit_session_create();
  if (!session) {
    fprintf(stderr, "error: %s\n", lowbit_last_error());
    return 1;
  }
  int32_t ni = lowbit_num_inputs(), no = lowbit_num_outputs();
  lowbit_tensor *in = calloc((size_t)ni + 1, sizeof *in);
  lowbit_tensor *out = calloc((size_t)no + 1, sizeof *out);
  for (int32_t i = 0; i < ni; ++i) {
    const lowbit_tensor_info *info = lowbit_input_info(i);
    in[i].data = malloc((size_t)info->bytes + 1);
    in[i].rank = info->rank;
    in[i].shape = info->shape;
    fill_input(info, in[i].data);
    printf("input %d: %s %s, %lld bytes\n", i, info->name, info->dtype,
           (long long)info->bytes);
  }
  for (int32_t i = 0; i < no; ++i) {
    const lowbit_tensor_info *info = lowbit_output_info(i);
    out[i].data = malloc((size_t)info->bytes + 1);
    out[i].rank = info->rank;
    out[i].shape = info->shape;
    printf("output %d: %s %s, %lld bytes\n", i, info->name, info->dtype,
           (long long)info->bytes);
  }
  if (lowbit_session_run(session, in, ni, out, no) != 0) {
    fprintf(stderr, "error: %s\n", lowbit_last_error());
    return 1;
  }
  FILE *f = fopen(argv[1], "wb");
  if (!f) {
    perror(argv[1]);
    return 1;
  }
  for (int32_t i = 0; i < no; ++i)
    fwrite(out[i].data, 1, (size_t)lowbit_output_info(i)->bytes, f);
  if (fclose(f) != 0) {
    perror(argv[1]);
    return 1;
  }
  for (int32_t i = 0; i < ni; ++i)
    free(in[i].data);
  for (int32_t i = 0; i < no; ++i)
    free(out[i].data);
  free(in);
  free(out);
  lowbit_session_destroy(session);
  puts("ok");
  return 0;
}
