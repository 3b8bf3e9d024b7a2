/*
 * colossim run: replay a training workload across a modeled fabric.
 * With no options: the embedded default (colossus1-mini slice, small job,
 * one iteration), trace in run.h5.
 */
#define _POSIX_C_SOURCE 200809L
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cx_cli_fabric.h"
#include "cx_cmd.h"
#include "cx_run.h"
#include "cx_trace.h"
#include "cx_util.h"

typedef struct cx_run_opts {
    const char *topology;
    const char *workload;
    uint64_t    iterations;
    const char *out;
    int         level;
    double      trace_max_gb;
    uint64_t    trace_buffer;
    int64_t     link_bin;
    int64_t     power_bin;   /* power model */
    const char *summary_json;
    const char *faults;
    const char *scenario;
    cx_cli_net_opts_t  net;
    cx_cli_coll_opts_t coll;
    uint64_t    seed;
    double      progress;
    int         dry_run;
    const char *ranks;       /* --dry-run: wall-time model at these rank counts */
    cx_scale_params_t model;
    int         help;
} cx_run_opts_t;

static const cx_opt_t cx_run_opt_table[] = {
    CX_CLI_OPT_TOPOLOGY(cx_run_opts_t),
    CX_CLI_OPT_WORKLOAD(cx_run_opts_t),
    {"iterations", CX_OPT_UINT, offsetof(cx_run_opts_t, iterations), "0", 0, 1e6, NULL, "N",
     "training iterations (0 = the workload's)"},
    {"out", CX_OPT_STRING, offsetof(cx_run_opts_t, out), "run.h5", 0, 0, NULL, "FILE",
     "HDF5 trace (written as FILE.partial, renamed when complete; \"\" = none)"},
    {"trace-level", CX_OPT_ENUM, offsetof(cx_run_opts_t, level), "summary", 0, 0, CX_TRACE_LEVEL_CHOICES,
     NULL, "what the trace keeps: summary (iterations, collectives), ops (+ every GPU op), links (+ time-binned bytes per link), chunks (+ every chunk hop: small debug runs)"},
    {"trace-max-gb", CX_OPT_DOUBLE, offsetof(cx_run_opts_t, trace_max_gb), "0", 0, 1e9, NULL, "GB",
     "refuse a run whose trace would exceed this (0 = no limit)"},
    {"trace-buffer", CX_OPT_BYTES, offsetof(cx_run_opts_t, trace_buffer), "64M", 4096, 1099511627776.0, NULL,
     "B", "trace rows a rank holds before all ranks append theirs to the file (bounds trace memory)"},
    {"link-bin", CX_OPT_TIME, offsetof(cx_run_opts_t, link_bin), "100us", 1000, 1e15, NULL, "T",
     "trace level links: width of the time bins of link bytes"},
    {"power-bin", CX_OPT_TIME, offsetof(cx_run_opts_t, power_bin), "10ms", 0, 1e15, NULL, "T",
     "power model: width of the time bins of GPU / rack / site power (0 = no power model)"},
    {"summary-json", CX_OPT_STRING, offsetof(cx_run_opts_t, summary_json), NULL, 0, 0, NULL, "FILE",
     "also write the end-of-run summary as JSON"},
    {"faults", CX_OPT_STRING, offsetof(cx_run_opts_t, faults), NULL, 0, 0, NULL, "FILE",
     "inject faults: slow or failed GPUs, degraded or down links, NICs, switches (workloads/README.md, Faults)"},
    {"scenario", CX_OPT_STRING, offsetof(cx_run_opts_t, scenario), NULL, 0, 0, NULL, "FILE",
     "several jobs at once on the fabric, each with its workload, placement and start (scenarios/README.md)"},
    CX_CLI_NET_OPTS(cx_run_opts_t, net, CX_NET_DEFAULT_CHUNK_BYTES),
    CX_CLI_COLL_OPTS(cx_run_opts_t, coll),
    CX_CLI_OPT_SEED(cx_run_opts_t, "random seed"),
    CX_CLI_OPT_PROGRESS(cx_run_opts_t),
    {"dry-run", CX_OPT_FLAG, offsetof(cx_run_opts_t, dry_run), NULL, 0, 0, NULL, NULL,
     "print the plan (GPUs, entities, events, memory, trace size) and stop"},
    {"ranks", CX_OPT_STRING, offsetof(cx_run_opts_t, ranks), NULL, 0, 0, NULL, "LIST",
     "model colossim's wall time at these rank counts (e.g. 1,2,16,128,1024): with --dry-run from the "
     "plan; on a one-rank run from what the run measured, windows counted exactly"},
    {"model-event-ns", CX_OPT_DOUBLE, offsetof(cx_run_opts_t, model.event_ns), CX_CLI_STR(CX_SCALE_EVENT_NS), 1,
     1e6, NULL, "NS", "wall-time model: cost of one event on the target CPU while a rank's memory fits its cache"},
    {"model-event-ns-doubling", CX_OPT_DOUBLE, offsetof(cx_run_opts_t, model.event_ns_doubling),
     CX_CLI_STR(CX_SCALE_EVENT_NS_DOUBLING), 0, 1e6, NULL, "NS",
     "wall-time model: added cost per event for every doubling of a rank's memory beyond that"},
    {"model-window-us", CX_OPT_DOUBLE, offsetof(cx_run_opts_t, model.window_us), CX_CLI_STR(CX_SCALE_WINDOW_US), 0,
     1e6, NULL, "US", "wall-time model: fixed cost of one window besides the exchange (software); waiting for the slowest rank is modelled apart"},
    {"model-allreduce-us", CX_OPT_DOUBLE, offsetof(cx_run_opts_t, model.allreduce_us),
     CX_CLI_STR(CX_SCALE_ALLREDUCE_US), 0, 1e6, NULL, "US",
     "wall-time model: latency of one stage of a small allreduce on the target network (x log2 ranks)"},
    {"model-p2p-us", CX_OPT_DOUBLE, offsetof(cx_run_opts_t, model.p2p_us), CX_CLI_STR(CX_SCALE_P2P_US), 0, 1e6,
     NULL, "US", "wall-time model: latency of a small point-to-point message on the target network"},
    {"model-msg-us", CX_OPT_DOUBLE, offsetof(cx_run_opts_t, model.msg_us), CX_CLI_STR(CX_SCALE_MSG_US), 0, 1e6,
     NULL, "US", "wall-time model: software cost of each further neighbour's message in a window"},
    {"model-sync-lag", CX_OPT_DOUBLE, offsetof(cx_run_opts_t, model.sync_lag), CX_CLI_STR(CX_ENGINE_SYNC_LAG), 1,
     CX_ENGINE_SYNC_LAG_MAX, NULL, "D",
     "wall-time model: windows a reduction runs behind across nodes (the engine's COLOSSIM_SYNC_LAG)"},
    {"model-node-ranks", CX_OPT_DOUBLE, offsetof(cx_run_opts_t, model.node_ranks), CX_CLI_STR(CX_SCALE_NODE_RANKS),
     1, 1e6, NULL, "N", "wall-time model: ranks per node (up to this many, reductions are not lagged)"},
    CX_CLI_OPT_HELP(cx_run_opts_t),
};

static char *cx_run_join_args(int argc, char **argv)
{
    size_t n = 16, i;
    char  *s;
    for (i = 0; i < (size_t)argc; i++) n += strlen(argv[i]) + 3;
    s = malloc(n);
    if (s == NULL) return NULL;
    strcpy(s, "colossim run");
    for (i = 0; i < (size_t)argc; i++) {
        strcat(s, " ");
        strcat(s, argv[i]);
    }
    return s;
}

static void cx_run_dump_options(FILE *out, const void *o)
{
    cx_opt_dump(out, cx_run_opt_table, CX_NOPTS(cx_run_opt_table), o);
}

/* "1,2,16,1024" -> rank counts (each 1 .. 2^20). */
static cx_status_t cx_run_parse_ranks(const char *text, int *out, int max, int *n_p, cx_err_t *err)
{
    const char *p = text;
    int         n = 0;
    while (*p != '\0') {
        char *end;
        long  v = strtol(p, &end, 10);
        if (end == p || v < 1 || v > (1L << 20) || (*end != ',' && *end != '\0')) {
            return cx_err_set(err, CX_ERR_INVALID, NULL, 0, "ranks",
                              "'%s' is not a comma-separated list of rank counts in [1, 1048576]", text);
        }
        if (n == max) {
            return cx_err_set(err, CX_ERR_RANGE, NULL, 0, "ranks", "at most %d rank counts", max);
        }
        out[n++] = (int)v;
        p        = *end == ',' ? end + 1 : end;
    }
    *n_p = n;
    return CX_OK;
}

int cx_cmd_run(int argc, char **argv)
{
    cx_run_opts_t    o;
    cx_run_config_t  cfg;
    cx_run_summary_t s;
    cx_err_t         err;
    int              rank = cx_cli_rank(), rc = 0;
    char            *cmdline, *opts;

    rc = cx_cli_options(cx_run_opt_table, CX_NOPTS(cx_run_opt_table), argc, argv, &o,
                        "usage: [mpirun -np N] colossim run [options]\n\n"
                        "Replays a training workload (model + parallelism) across a modeled fabric and\n"
                        "prints iteration time, tokens/s, TFLOPs/GPU, MFU and where the time went.\n"
                        "With no options: the embedded default job on the embedded colossus1-mini slice.\n"
                        "SIGTERM or SIGUSR1 stops at the end of the current window and writes the trace\n"
                        "flagged incomplete (exit status 3).\n\n");
    if (rc != CX_CLI_GO) return rc;
    rc = 0;
    cx_err_clear(&err);
    memset(&cfg, 0, sizeof(cfg));
    cfg.topology_path    = o.topology;
    cfg.workload_path    = o.workload;
    cfg.iterations       = (uint32_t)o.iterations;
    cfg.out              = o.out;
    cfg.summary_json     = o.summary_json;
    cfg.trace_level      = o.level;
    cfg.trace_max_gb     = o.trace_max_gb;
    cfg.trace_buffer_bytes = o.trace_buffer;
    cfg.link_bin_ps      = o.link_bin;
    cfg.power_bin_ps     = o.power_bin;
    cfg.seed             = o.seed;
    cfg.progress_seconds = o.progress;
    cfg.dry_run          = o.dry_run;
    cfg.faults_path      = o.faults;
    cfg.scenario_path    = o.scenario;
    cfg.scale            = o.model;
    cfg.scale.remote_ns  = CX_SCALE_REMOTE_NS;
    cfg.scale.windows    = NULL; /* the plan's; a one-rank run counts its own */
    cfg.scale.measured   = 0;
    if (o.ranks != NULL &&
        cx_run_parse_ranks(o.ranks, cfg.scale_ranks, CX_RUN_MAX_SCALE_RANKS, &cfg.n_scale_ranks, &err) != CX_OK) {
        if (rank == 0) cx_err_print(&err);
        return 2;
    }
    if (cfg.n_scale_ranks > 0 && !o.dry_run && (cx_cli_nranks() != 1 || o.scenario != NULL)) {
        if (rank == 0) {
            cx_err_set(&err, CX_ERR_INVALID, NULL, 0, "ranks",
                       "--ranks models a run: with --dry-run, or on a one-rank run of one job (it counts "
                       "each rank count's windows)");
            cx_err_print(&err);
        }
        return 2;
    }
    cx_cli_net_apply(&o.net, &cfg.net);
    cx_cli_coll_apply(&o.coll, &cfg.coll);
    cmdline           = cx_run_join_args(argc, argv);
    opts              = cx_file_capture(cx_run_dump_options, &o);
    cfg.command_line  = cmdline;
    cfg.options_text  = opts;
    cx_engine_install_signal_handlers();
    cx_trace_watch_stop_signals(); /* a stop signal also cuts a slow trace write short */

    if (cx_run(&cfg, MPI_COMM_WORLD, &s, &err) != CX_OK) {
        if (rank == 0) cx_err_print(&err);
        free(cmdline);
        free(opts);
        return 2;
    }
    free(cmdline);
    free(opts);
    if (o.dry_run) return 0;
    if (rank == 0) {
        cx_run_summary_print(&s, stdout);
        if (s.faults > 0) {
            printf("faults: %llu injected (colossim-analyze faults TRACE lists them)", (unsigned long long)s.faults);
            if (s.fault_stop_ps >= 0)
                printf("; the job STOPPED at %.6f s: %s", cx_time_to_s(s.fault_stop_ps), s.fault_stop);
            printf("\n");
        }
        if (o.out != NULL && o.out[0] != '\0') {
            printf("trace: %s%s\n  summarize it with: colossim-analyze summary %s\n", o.out,
                   s.complete ? "" : " (flagged incomplete)", o.out);
        }
        if (o.summary_json != NULL) {
            if (cx_run_summary_write_json(&s, o.summary_json, &err) != CX_OK) {
                cx_err_print(&err);
                rc = 1;
            }
        }
        if (!s.complete) {
            fprintf(stderr, "colossim: run stopped by a signal before the workload finished; "
                            "the trace holds what was done\n");
        }
    }
    if (!s.complete) rc = 3;
    cx_run_summary_free(&s);
    return rc;
}
