/* colossim gen: write a job's per-GPU op programs as replay files. */
#include <stddef.h>
#include <stdio.h>

#include "cx_cmd.h"
#include "cx_run.h"
#include "cx_util.h"

typedef struct cx_gen_opts {
    const char *topology;
    const char *workload;
    const char *out;
    uint64_t    iterations;
    int         help;
} cx_gen_opts_t;

static const cx_opt_t cx_gen_opt_table[] = {
    {"topology", CX_OPT_STRING, offsetof(cx_gen_opts_t, topology), NULL, 0, 0, NULL, "FILE",
     "topology YAML the job must fit (default: embedded colossus1-mini)"},
    CX_CLI_OPT_WORKLOAD(cx_gen_opts_t),
    {"out", CX_OPT_STRING, offsetof(cx_gen_opts_t, out), NULL, 0, 0, NULL, "DIR",
     "directory for gpu-NNNNNN.ops, workload.yaml and replay.yaml (required)"},
    {"iterations", CX_OPT_UINT, offsetof(cx_gen_opts_t, iterations), "0", 0, 1e6, NULL, "N",
     "training iterations (0 = the workload's)"},
    CX_CLI_OPT_HELP(cx_gen_opts_t),
};

int cx_cmd_gen(int argc, char **argv)
{
    cx_gen_opts_t o;
    cx_err_t      err;
    uint64_t      files = 0;
    int           rank = cx_cli_rank(), rc;

    rc = cx_cli_options(cx_gen_opt_table, CX_NOPTS(cx_gen_opt_table), argc, argv, &o,
                        "usage: [mpirun -np N] colossim gen --out DIR [options]\n\n"
                        "Writes the generator's op program of every GPU of a job as replay files\n"
                        "(format in workloads/README.md).  Replay with: colossim run --workload DIR\n\n");
    if (rc != CX_CLI_GO) return rc;
    if (o.out == NULL || o.out[0] == '\0') {
        if (rank == 0) fprintf(stderr, "colossim: error: option --out DIR is required\n");
        return 2;
    }
    cx_err_clear(&err);
    if (cx_gen_write_dir(o.topology, o.workload, (uint32_t)o.iterations, o.out, MPI_COMM_WORLD, &files, &err) != CX_OK) {
        if (rank == 0) cx_err_print(&err);
        return 2;
    }
    if (rank == 0) {
        printf("gen: %llu GPU programs in %s\n  replay with: colossim run --workload %s\n",
               (unsigned long long)files, o.out, o.out);
    }
    return 0;
}
