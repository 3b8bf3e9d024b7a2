/*
 * colossim chakra import: a directory of Chakra execution traces (one ET
 * file per rank, as ASTRA-sim's and PyTorch's converters write them) into a
 * replay directory that `colossim run --workload DIR` replays
 * (src/workload/cx_chakra.h; what is read: workloads/README.md, Chakra).
 * Runs on rank 0 only: it reads and writes files, nothing to distribute.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "cx_chakra.h"
#include "cx_cmd.h"
#include "cx_util.h"

typedef struct cx_chakra_cli {
    const char *out, *workload, *comm_groups;
    int         durations;
    int         help;
} cx_chakra_cli_t;

static const cx_opt_t cx_chakra_opt_table[] = {
    {"out", CX_OPT_STRING, offsetof(cx_chakra_cli_t, out), NULL, 0, 0, NULL, "DIR",
     "replay directory to write (gpu-NNNNNN.ops, workload.yaml, replay.yaml) (required)"},
    {"workload", CX_OPT_STRING, offsetof(cx_chakra_cli_t, workload), NULL, 0, 0, NULL, "FILE",
     "the traced job's workload YAML, gpus = ranks: tokens and model FLOPs for MFU (required)"},
    {"comm-groups", CX_OPT_STRING, offsetof(cx_chakra_cli_t, comm_groups), NULL, 0, 0, NULL, "FILE",
     "process groups, JSON {\"PG_NAME\": [ranks], ...}: a collective's pg_name picks its group (default: all ranks)"},
    {"durations", CX_OPT_ENUM, offsetof(cx_chakra_cli_t, durations), "measured", 0, 0, "measured|roofline", NULL,
     "a compute node's duration_micros wins over its num_ops (measured), or only when it has none (roofline)"},
    CX_CLI_OPT_HELP(cx_chakra_cli_t),
};

static void cx_chakra_usage(FILE *out)
{
    fprintf(out,
            "usage: colossim chakra import ET_DIR --workload FILE --out DIR [--comm-groups FILE]\n"
            "                              [--durations measured|roofline]\n\n"
            "Chakra execution traces (one ET file per rank: NAME.RANK.et) as a colossim job:\n"
            "each rank's dependency graph becomes its op program (compute on stream 0,\n"
            "collectives on stream 1 over their process group (--comm-groups) or all ranks,\n"
            "send/recv on stream 3; dependencies across streams become waits), written as a\n"
            "replay directory:\n"
            "  colossim run --workload DIR [--topology FILE]\n"
            "Compute nodes take num_ops (FLOPs) and tensor_size (bytes) through the roofline,\n"
            "or their measured duration_micros, replayed as measured (the op's MEASURED flag).\n"
            "Supported and not: workloads/README.md, section Chakra.\n\n");
    cx_opt_help(out, cx_chakra_opt_table, CX_NOPTS(cx_chakra_opt_table));
}

int cx_cmd_chakra(int argc, char **argv)
{
    cx_chakra_cli_t   o;
    cx_chakra_opts_t  copt;
    cx_chakra_stats_t s;
    cx_err_t          err;
    const char       *pos[2] = {NULL, NULL};
    int               npos = 0, i;
    cx_status_t       st;

    if (cx_cli_rank() != 0) return 0;
    for (i = 0; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            cx_chakra_usage(stdout);
            return 0;
        }
    }
    if (argc < 1 || strcmp(argv[0], "import") != 0) {
        fprintf(stderr, "colossim: error: chakra: %s\n",
                argc < 1 ? "missing subcommand: import" : "unknown subcommand (import)");
        cx_chakra_usage(stderr);
        return 2;
    }
    /* --help was answered above: no usage text here. */
    i = cx_cli_options_pos(cx_chakra_opt_table, CX_NOPTS(cx_chakra_opt_table), argc - 1, argv + 1, &o, NULL, pos, 2,
                           &npos);
    if (i != CX_CLI_GO) return i;
    cx_err_clear(&err);
    if (npos != 1 || o.out == NULL || o.out[0] == '\0' || o.workload == NULL || o.workload[0] == '\0') {
        fprintf(stderr, "colossim: error: chakra import: %s\n",
                npos == 0 ? "missing ET_DIR (a directory of Chakra ET files, one per rank)"
                : npos > 1 ? "one ET_DIR only"
                : o.workload == NULL || o.workload[0] == '\0'
                    ? "missing --workload FILE (the traced job: gpus = ranks, model for MFU)"
                    : "missing --out DIR (the replay directory to write)");
        return 2;
    }
    if (!cx_chakra_available()) {
        fprintf(stderr, "colossim: error: chakra import: this colossim was built without protobuf-c "
                        "(Debian: libprotobuf-c-dev protobuf-c-compiler)\n");
        return 2;
    }
    cx_chakra_opts_init(&copt);
    copt.durations        = o.durations == 1 ? CX_CHAKRA_DUR_ROOFLINE : CX_CHAKRA_DUR_MEASURED;
    copt.comm_groups_path = o.comm_groups != NULL && o.comm_groups[0] != '\0' ? o.comm_groups : NULL;
    st = cx_chakra_import(pos[0], o.workload, o.out, &copt, &s, &err);
    if (st != CX_OK) {
        cx_err_print(&err);
        return 1;
    }
    printf("chakra import: %llu ranks, %llu nodes -> %s\n"
           "  %llu compute (%llu with measured durations), %llu collectives, %llu sends, %llu receives, "
           "%llu nodes without GPU work, %llu waits added\n"
           "  run it: colossim run --workload %s [--topology FILE]\n",
           (unsigned long long)s.ranks, (unsigned long long)s.nodes, o.out, (unsigned long long)s.compute,
           (unsigned long long)s.measured, (unsigned long long)s.collectives, (unsigned long long)s.sends,
           (unsigned long long)s.recvs, (unsigned long long)s.skipped, (unsigned long long)s.waits, o.out);
    return 0;
}
