/* Fuzz target: a replay file (cx_replay_open + cx_replay_check for a job of
 * 64 GPUs and 2 iterations, then every record read back). */
#include "fuzz_main.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cx_replay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char  path[64];
    cx_replay_t *r = NULL;
    cx_err_t     err;
    cx_op_t      op;
    FILE        *f;
    if (path[0] == '\0') snprintf(path, sizeof(path), "/tmp/cx-fuzz-replay-%ld.ops", (long)getpid());
    f = fopen(path, "wb");
    if (f == NULL) return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    if (cx_replay_open(&r, path, &err) != CX_OK) return 0;
    if (cx_replay_check(r, cx_replay_gpu(r), 64, 2, &err) == CX_OK) {
        while (cx_replay_next(r, &op, &err) == 1) {
        }
    }
    cx_replay_close(r);
    return 0;
}
