/*
 * colossim: the command-line front end.  Initialises MPI, dispatches to a
 * subcommand, finalises.  No model logic lives here.
 */
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <signal.h>
#include <unistd.h>

#include "cx_cmd.h"
#include "cx_core.h"
#include "cx_util.h"
#include "cx_version.h"

static int cx_cli_rank_v = 0;
int cx_cli_rank(void) { return cx_cli_rank_v; }
int cx_cli_nranks(void)
{
    int n = 1;
    MPI_Comm_size(MPI_COMM_WORLD, &n);
    return n;
}

typedef struct cx_subcmd {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
} cx_subcmd_t;

static const cx_subcmd_t cx_subcmds[] = {
    {"run",   cx_cmd_run,   "replay a training workload across a modeled fabric (default: embedded demo)"},
    {"gen",   cx_cmd_gen,   "write a job's per-GPU op programs as replay files (run --workload DIR replays)"},
    {"topo",  cx_cmd_topo,  "describe a fabric: GPUs, switches, links, bisection, diameter, partition"},
    {"power", cx_cmd_power, "site power from a topology alone: full-load IT, cooling, supply; parameters"},
    {"bench", cx_cmd_bench, "benchmarks: phold (engine), traffic (fabric), collective (nccl-tests style)"},
    {"campaign", cx_cmd_campaign, "weeks of training: failures, checkpoints, goodput and ETTR over seeds"},
    {"chakra", cx_cmd_chakra, "import Chakra execution traces (one ET file per rank) as a job to run"},
};

static void cx_usage(FILE *out)
{
    size_t i;
    fprintf(out,
            "colossim %s (%s) - distributed emulator of GPU training clusters\n\n"
            "usage: colossim <command> [options]      (under MPI: mpirun -np N colossim ...)\n\n"
            "commands:\n",
            CX_VERSION_STRING, CX_GIT_REVISION);
    for (i = 0; i < sizeof(cx_subcmds) / sizeof(cx_subcmds[0]); i++) {
        fprintf(out, "  %-8s %s\n", cx_subcmds[i].name, cx_subcmds[i].summary);
    }
    fprintf(out, "\n  colossim <command> --help    options of one command\n"
                 "  colossim --version           version and git revision\n");
}

int main(int argc, char **argv)
{
    int    rc = 2;
    size_t i;

    /* `run` stops on SIGTERM/SIGUSR1 with an incomplete-flagged trace (exit
     * 3): catch them before MPI_Init, so one in the first 0.3 s (MPI start-up,
     * loading, planning) is not the default death (exit 143, nothing
     * written).  The engine acts on the flag at its first window. */
    if (argc >= 2 && strcmp(argv[1], "run") == 0) cx_engine_install_signal_handlers();
    /* Launched by mpirun (Open MPI sets OMPI_COMM_WORLD_SIZE in its ranks):
     * die with it.  A rank orphaned by a killed mpirun would run on alone,
     * could finish and rename its trace to the final name, and nothing
     * would collect its exit; killed, it leaves NAME.partial only. */
    if (getenv("OMPI_COMM_WORLD_SIZE") != NULL) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() == 1) return 137; /* orphaned before the line above */
    }
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &cx_cli_rank_v);
    cx_log_setup(cx_cli_rank_v, CX_LOG_WARN);

    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        if (cx_cli_rank_v == 0) cx_usage(stdout);
        rc = 0;
        goto out;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        if (cx_cli_rank_v == 0) printf("colossim %s (git %s)\n", CX_VERSION_STRING, CX_GIT_REVISION);
        rc = 0;
        goto out;
    }
    for (i = 0; i < sizeof(cx_subcmds) / sizeof(cx_subcmds[0]); i++) {
        if (strcmp(argv[1], cx_subcmds[i].name) == 0) {
            rc = cx_subcmds[i].fn(argc - 2, argv + 2);
            goto out;
        }
    }
    if (cx_cli_rank_v == 0) {
        fprintf(stderr, "colossim: error: unknown command '%s'\n\n", argv[1]);
        cx_usage(stderr);
    }
out:
    MPI_Finalize();
    return rc;
}
