/* Fuzz target: a workload YAML, then the first ops of GPU 0's program and
 * of the last GPU's (the generator on whatever the loader accepted). */
#include "fuzz_main.h"

#include <stdlib.h>
#include <string.h>

#include "cx_gen.h"
#include "cx_workload.h"

static void cx_fuzz_gen(const cx_workload_t *w, uint64_t gpu)
{
    cx_gen_t g;
    cx_op_t  op;
    cx_err_t err;
    int      i;
    if (cx_gen_init(&g, w, gpu, 1, &err) != CX_OK) return;
    for (i = 0; i < 20000 && cx_gen_next(&g, &op); i++) {
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cx_workload_t *w = NULL;
    cx_err_t       err;
    if (cx_workload_load_string(&w, "<fuzz>", (const char *)data, size, &err) != CX_OK) return 0;
    if (cx_workload_check_fit(w, w->gpus, 8, &err) == CX_OK && w->gpus <= (UINT64_C(1) << 20)) {
        cx_fuzz_gen(w, 0);
        cx_fuzz_gen(w, w->gpus - 1);
    }
    cx_workload_destroy(w);
    return 0;
}
