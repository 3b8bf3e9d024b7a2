/*
 * colossim bench: engine and fabric benchmarks.
 *   phold       the classic PDES benchmark on the kernel (events/s, digest)
 *   traffic     synthetic patterns over a fabric (throughput, completion, links)
 *   collective  nccl-tests style size sweep of one collective on the first N GPUs:
 *               nccl-tests' short flags (-b -e -f -g -n -w -c), its header,
 *               out-of-place / in-place column pairs and footers, so scripts
 *               written for all_reduce_perf logs read it; --format csv|json
 */
#include <json-c/json.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cx_cli_fabric.h"
#include "cx_cmd.h"
#include "cx_collbench.h"
#include "cx_phold.h"
#include "cx_topo.h"
#include "cx_traffic.h"
#include "cx_util.h"

typedef struct cx_phold_opts {
    uint64_t lps;
    int64_t  end, mean, lookahead;
    double   remote;
    uint64_t start_events;
    uint64_t seed;
    int      format;  /* 0 text, 1 json */
    double   progress;
    int      help;
} cx_phold_opts_t;

static const cx_opt_t cx_phold_opt_table[] = {
    {"lps", CX_OPT_UINT, offsetof(cx_phold_opts_t, lps), "1024", 1, 1e12, NULL, "N",
     "logical processes, total over all ranks"},
    {"end", CX_OPT_TIME, offsetof(cx_phold_opts_t, end), "100", 1, 9e18, NULL, "T",
     "simulated end time (bare number = seconds; or 10ms, 500us, ...)"},
    {"mean", CX_OPT_TIME, offsetof(cx_phold_opts_t, mean), "1", 1, 9e18, NULL, "M",
     "mean delay between an event and the one it schedules"},
    {"lookahead", CX_OPT_TIME, offsetof(cx_phold_opts_t, lookahead), "0.1", 1, 9e18, NULL, "L",
     "minimum delay (the lookahead)"},
    {"remote", CX_OPT_DOUBLE, offsetof(cx_phold_opts_t, remote), "0.5", 0, 1, NULL, "P",
     "probability an event goes to a uniformly random LP"},
    {"start-events", CX_OPT_UINT, offsetof(cx_phold_opts_t, start_events), "1", 0, 1e6, NULL, "K",
     "initial events per LP"},
    CX_CLI_OPT_SEED(cx_phold_opts_t, "random seed"),
    CX_CLI_OPT_FORMAT(cx_phold_opts_t, "text|json", "output format"),
    CX_CLI_OPT_PROGRESS(cx_phold_opts_t),
    CX_CLI_OPT_HELP(cx_phold_opts_t),
};

int cx_cmd_bench_phold(int argc, char **argv)
{
    cx_phold_opts_t   o;
    cx_phold_config_t cfg;
    cx_engine_stats_t s;
    cx_err_t          err;
    int               rank = cx_cli_rank();
    int               rc   = cx_cli_options(cx_phold_opt_table, CX_NOPTS(cx_phold_opt_table), argc, argv, &o,
                                            "usage: colossim bench phold [options]\n\n"
                                            "PHOLD: each LP starts with K events; each event schedules one new event at\n"
                                            "now + L + Exp(M - L), to a uniformly random LP with probability P, else to\n"
                                            "itself.  Time is integer picoseconds; bare numbers are seconds.\n\n");

    if (rc != CX_CLI_GO) return rc;
    cx_err_clear(&err);
    cfg.lps              = o.lps;
    cfg.end              = o.end;
    cfg.mean             = o.mean;
    cfg.lookahead        = o.lookahead;
    cfg.remote           = o.remote;
    cfg.start_events     = o.start_events;
    cfg.seed             = o.seed;
    cfg.progress_seconds = (rank == 0 && o.format == 0) ? o.progress : 0.0;
    if (cx_phold_run(&cfg, MPI_COMM_WORLD, &s, &err) != CX_OK) {
        if (rank == 0) cx_err_print(&err);
        return 2;
    }
    if (rank != 0) return 0;
    if (o.format == 1) {
        char         dig[24];
        json_object *j = json_object_new_object();
        snprintf(dig, sizeof(dig), "%016llx", (unsigned long long)s.digest);
        json_object_object_add(j, "benchmark", json_object_new_string("phold"));
        json_object_object_add(j, "ranks", json_object_new_int(s.ranks));
        json_object_object_add(j, "lps", json_object_new_uint64(o.lps));
        json_object_object_add(j, "end_seconds", json_object_new_double((double)o.end * 1e-12));
        json_object_object_add(j, "mean_seconds", json_object_new_double((double)o.mean * 1e-12));
        json_object_object_add(j, "lookahead_seconds", json_object_new_double((double)o.lookahead * 1e-12));
        json_object_object_add(j, "remote", json_object_new_double(o.remote));
        json_object_object_add(j, "start_events", json_object_new_uint64(o.start_events));
        json_object_object_add(j, "seed", json_object_new_uint64(o.seed));
        json_object_object_add(j, "events_committed", json_object_new_uint64(s.events));
        json_object_object_add(j, "windows", json_object_new_uint64(s.windows));
        json_object_object_add(j, "events_per_window",
                               json_object_new_double(s.windows ? (double)s.events / (double)s.windows : 0));
        json_object_object_add(j, "remote_events", json_object_new_uint64(s.remote_events));
        json_object_object_add(j, "remote_share",
                               json_object_new_double(s.events ? (double)s.remote_events / (double)s.events : 0));
        json_object_object_add(j, "wall_seconds", json_object_new_double(s.wall_seconds));
        json_object_object_add(j, "events_per_second",
                               json_object_new_double(s.wall_seconds > 0 ? (double)s.events / s.wall_seconds : 0));
        json_object_object_add(j, "sync_share", json_object_new_double(s.sync_share));
        json_object_object_add(j, "peak_rss_bytes_max", json_object_new_uint64(s.peak_rss_max));
        json_object_object_add(j, "peak_pending_events_max", json_object_new_uint64(s.peak_pending_max));
        json_object_object_add(j, "digest", json_object_new_string(dig));
        printf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(j);
    } else {
        printf("phold: %llu LPs, end %.6g s, mean %.6g s, lookahead %.6g s, remote %.3g, "
               "%llu start events/LP, seed %llu\n",
               (unsigned long long)o.lps, (double)o.end * 1e-12, (double)o.mean * 1e-12,
               (double)o.lookahead * 1e-12, o.remote, (unsigned long long)o.start_events,
               (unsigned long long)o.seed);
        cx_engine_stats_print(&s, stdout);
    }
    return 0;
}

/* Load a topology file, or the embedded default when path is NULL. */
static cx_status_t cx_cli_load_topo(const char *path, cx_topo_t **t_p, cx_err_t *err)
{
    const char *text;
    size_t      len;
    if (path != NULL) return cx_topo_load(t_p, path, err);
    cx_topo_default_yaml(&text, &len);
    return cx_topo_load_string(t_p, "<embedded colossus1-mini.yaml>", text, len, err);
}

typedef struct cx_traffic_opts {
    const char *topology;
    int         pattern;
    uint64_t    bytes;
    uint64_t    gpus;
    cx_cli_net_opts_t net;
    uint64_t    seed;
    int         format;
    double      progress;
    int         help;
} cx_traffic_opts_t;

static const cx_opt_t cx_traffic_opt_table[] = {
    CX_CLI_OPT_TOPOLOGY(cx_traffic_opts_t),
    {"pattern", CX_OPT_ENUM, offsetof(cx_traffic_opts_t, pattern), "permutation", 0, 0,
     CX_PATTERN_CHOICES, NULL, "who sends to whom"},
    {"bytes", CX_OPT_BYTES, offsetof(cx_traffic_opts_t, bytes), "64M", 1, 1e15, NULL, "B",
     "bytes per flow (each GPU to each of its destinations)"},
    {"gpus", CX_OPT_UINT, offsetof(cx_traffic_opts_t, gpus), "0", 0, 1e9, NULL, "N",
     "use the first N GPUs in topology order (0 = all)"},
    CX_CLI_NET_OPTS(cx_traffic_opts_t, net, CX_NET_ROUTING_CHUNK_BYTES),
    CX_CLI_OPT_SEED(cx_traffic_opts_t, "random seed (permutation, tie breaks)"),
    CX_CLI_OPT_FORMAT(cx_traffic_opts_t, "text|json|csv",
                      "output format (csv: one row per link class, the run's figures repeated)"),
    CX_CLI_OPT_PROGRESS(cx_traffic_opts_t),
    CX_CLI_OPT_HELP(cx_traffic_opts_t),
};

static int cx_cmd_bench_traffic(int argc, char **argv)
{
    cx_traffic_opts_t   o;
    cx_traffic_config_t cfg;
    cx_traffic_result_t r;
    cx_topo_t          *topo = NULL;
    cx_err_t            err;
    int                 rank = cx_cli_rank(), c;
    char                dig[24];

    c = cx_cli_options(cx_traffic_opt_table, CX_NOPTS(cx_traffic_opt_table), argc, argv, &o,
                       "usage: colossim bench traffic [options]\n\n"
                       "Every GPU of the set sends at t = 0: permutation (to a seeded random other GPU),\n"
                       "alltoall (to every other GPU), ring (to the next GPU), incast (all to GPU 0).\n"
                       "throughput_fraction = delivered bytes / last delivery time / (senders x per-GPU\n"
                       "scale-out injection bandwidth).\n\n");
    if (c != CX_CLI_GO) return c;
    cx_err_clear(&err);
    if (cx_cli_load_topo(o.topology, &topo, &err) != CX_OK) {
        if (rank == 0) cx_err_print(&err);
        return 2;
    }
    memset(&cfg, 0, sizeof(cfg));
    cfg.pattern = (cx_pattern_t)o.pattern;
    cfg.bytes   = o.bytes;
    cfg.gpus    = o.gpus;
    cfg.seed    = o.seed;
    cx_cli_net_apply(&o.net, &cfg.net);
    cfg.progress_seconds       = o.format == 0 ? o.progress : 0.0;
    if (cx_traffic_run(topo, &cfg, MPI_COMM_WORLD, &r, &err) != CX_OK) {
        if (rank == 0) cx_err_print(&err);
        cx_topo_destroy(topo);
        return 2;
    }
    cx_topo_destroy(topo);
    if (rank != 0) return 0;
    snprintf(dig, sizeof(dig), "%016llx", (unsigned long long)r.engine.digest);
    if (o.format == 1) {
        json_object *j = json_object_new_object(), *tiers = json_object_new_array();
        char         routing[32], pattern[32];
        snprintf(routing, sizeof(routing), "%s", cx_routing_name(cfg.net.routing));
        cx_opt_format(&cx_traffic_opt_table[1], &o, pattern, sizeof(pattern));
        json_object_object_add(j, "benchmark", json_object_new_string("traffic"));
        json_object_object_add(j, "topology", json_object_new_string(o.topology ? o.topology : "<embedded colossus1-mini>"));
        json_object_object_add(j, "pattern", json_object_new_string(pattern));
        json_object_object_add(j, "routing", json_object_new_string(routing));
        json_object_object_add(j, "ranks", json_object_new_int(r.engine.ranks));
        json_object_object_add(j, "gpus", json_object_new_uint64(r.gpus));
        json_object_object_add(j, "flows", json_object_new_uint64(r.flows));
        json_object_object_add(j, "bytes_per_flow", json_object_new_uint64(o.bytes));
        json_object_object_add(j, "bytes_total", json_object_new_uint64(r.bytes_total));
        json_object_object_add(j, "injection_bytes_per_s", json_object_new_double(r.injection_bw));
        json_object_object_add(j, "makespan_us", json_object_new_double((double)r.makespan * 1e-6));
        json_object_object_add(j, "throughput_fraction", json_object_new_double(r.throughput_fraction));
        json_object_object_add(j, "mean_flow_fraction", json_object_new_double(r.mean_flow_fraction));
        json_object_object_add(j, "completion_p50_us", json_object_new_double(r.p50_us));
        json_object_object_add(j, "completion_p90_us", json_object_new_double(r.p90_us));
        json_object_object_add(j, "completion_p99_us", json_object_new_double(r.p99_us));
        json_object_object_add(j, "completion_max_us", json_object_new_double(r.max_us));
        for (c = 0; c < CX_NET_CLASSES; c++) {
            json_object *t = json_object_new_object();
            if (r.cls[c].ports == 0) {
                json_object_put(t);
                continue;
            }
            json_object_object_add(t, "class", json_object_new_string(cx_net_class_name(c)));
            json_object_object_add(t, "ports_used", json_object_new_uint64(r.cls[c].ports));
            json_object_object_add(t, "bytes", json_object_new_uint64(r.cls[c].bytes));
            json_object_object_add(t, "utilization_mean", json_object_new_double(r.cls[c].util_mean));
            json_object_object_add(t, "utilization_max", json_object_new_double(r.cls[c].util_max));
            json_object_array_add(tiers, t);
        }
        json_object_object_add(j, "links", tiers);
        json_object_object_add(j, "events", json_object_new_uint64(r.engine.events));
        json_object_object_add(j, "wall_seconds", json_object_new_double(r.engine.wall_seconds));
        json_object_object_add(j, "events_per_second",
                               json_object_new_double(r.engine.wall_seconds > 0 ? (double)r.engine.events / r.engine.wall_seconds : 0));
        json_object_object_add(j, "lookahead_ps", json_object_new_int64(r.lookahead_ps));
        json_object_object_add(j, "digest", json_object_new_string(dig));
        printf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(j);
    } else if (o.format == 2) {
        char pattern[32];
        cx_opt_format(&cx_traffic_opt_table[1], &o, pattern, sizeof(pattern));
        printf("pattern,routing,gpus,flows,bytes_per_flow,injection_bytes_per_s,throughput_fraction,"
               "mean_flow_fraction,makespan_us,completion_p50_us,completion_p90_us,completion_p99_us,"
               "completion_max_us,link_class,ports_used,bytes,utilization_mean,utilization_max\n");
        for (c = 0; c < CX_NET_CLASSES; c++) {
            if (r.cls[c].ports == 0) continue;
            printf("%s,%s,%llu,%llu,%llu,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%s,%llu,%llu,%.17g,%.17g\n",
                   pattern, cx_routing_name(cfg.net.routing), (unsigned long long)r.gpus,
                   (unsigned long long)r.flows, (unsigned long long)o.bytes, r.injection_bw, r.throughput_fraction,
                   r.mean_flow_fraction, (double)r.makespan * 1e-6, r.p50_us, r.p90_us, r.p99_us, r.max_us,
                   cx_net_class_name(c), (unsigned long long)r.cls[c].ports, (unsigned long long)r.cls[c].bytes,
                   r.cls[c].util_mean, r.cls[c].util_max);
        }
    } else {
        printf("traffic: %llu GPUs, %llu flows of %llu bytes, injection %.1f GB/s per GPU\n",
               (unsigned long long)r.gpus, (unsigned long long)r.flows, (unsigned long long)o.bytes,
               r.injection_bw * 1e-9);
        printf("throughput_fraction %.4f  mean_flow_fraction %.4f  makespan %.1f us\n",
               r.throughput_fraction, r.mean_flow_fraction, (double)r.makespan * 1e-6);
        printf("completion us: p50 %.1f  p90 %.1f  p99 %.1f  max %.1f\n", r.p50_us, r.p90_us,
               r.p99_us, r.max_us);
        printf("%-14s %10s %16s %10s %10s\n", "links", "ports", "bytes", "util mean", "util max");
        for (c = 0; c < CX_NET_CLASSES; c++) {
            if (r.cls[c].ports == 0) continue;
            printf("%-14s %10llu %16llu %10.3f %10.3f\n", cx_net_class_name(c),
                   (unsigned long long)r.cls[c].ports, (unsigned long long)r.cls[c].bytes,
                   r.cls[c].util_mean, r.cls[c].util_max);
        }
        printf("lookahead %lld ps, digest %s\n", (long long)r.lookahead_ps, dig);
        cx_engine_stats_print(&r.engine, stdout);
    }
    return 0;
}

typedef struct cx_coll_opts {
    const char *topology;
    int         op;
    uint64_t    gpus;
    uint64_t    min_bytes, max_bytes;
    double      step_factor;
    uint64_t    iters, warmup_iters, check;
    cx_cli_net_opts_t  net;
    cx_cli_coll_opts_t coll;
    uint64_t    seed;
    int         format;
    int         help;
} cx_coll_opts_t;

static const cx_opt_t cx_coll_opt_table[] = {
    CX_CLI_OPT_TOPOLOGY(cx_coll_opts_t),
    {"op", CX_OPT_ENUM, offsetof(cx_coll_opts_t, op), "allreduce", 0, 0,
     "allreduce|reducescatter|allgather|alltoall|broadcast|reduce", NULL, "collective (broadcast from / reduce to GPU 0)"},
    {"gpus", CX_OPT_UINT, offsetof(cx_coll_opts_t, gpus), "8", 1, 1e9, NULL, "N",
     "the first N GPUs in topology order (server-major)"},
    {"min-bytes", CX_OPT_BYTES, offsetof(cx_coll_opts_t, min_bytes), "1M", 1, 1e15, NULL, "B", "smallest size"},
    {"max-bytes", CX_OPT_BYTES, offsetof(cx_coll_opts_t, max_bytes), "1G", 1, 1e15, NULL, "B", "largest size"},
    {"step-factor", CX_OPT_DOUBLE, offsetof(cx_coll_opts_t, step_factor), "2", 1.0001, 1e6, NULL, "F",
     "size multiplier between rows"},
    {"iters", CX_OPT_UINT, offsetof(cx_coll_opts_t, iters), "1", 1, 1000, NULL, "K",
     "collectives per size, back to back (time is per collective)"},
    {"warmup-iters", CX_OPT_UINT, offsetof(cx_coll_opts_t, warmup_iters), "0", 0, 1000, NULL, "W",
     "accepted for nccl-tests' -w; a deterministic model has nothing to warm up (reported, not run)"},
    {"check", CX_OPT_UINT, offsetof(cx_coll_opts_t, check), "0", 0, 1, NULL, "0|1",
     "accepted for nccl-tests' -c; no data moves, so #wrong is 0 and not applicable"},
    CX_CLI_NET_OPTS(cx_coll_opts_t, net, CX_NET_DEFAULT_CHUNK_BYTES),
    CX_CLI_COLL_OPTS(cx_coll_opts_t, coll),
    CX_CLI_OPT_SEED(cx_coll_opts_t, "random seed"),
    CX_CLI_OPT_FORMAT(cx_coll_opts_t, "text|json|csv", "output format"),
    CX_CLI_OPT_HELP(cx_coll_opts_t),
};

static const char *cx_algo_label(uint32_t algo)
{
    return algo == CX_ALGO_AUTO || algo >= CX_ALGO_COUNT ? "-" : cx_coll_algo_name((int)algo);
}

static const char *cx_proto_label(uint32_t proto)
{
    return proto == CX_PROTO_AUTO || proto >= CX_PROTO_COUNT ? "-" : cx_coll_proto_name((int)proto);
}

/* nccl-tests' short flags, as all_reduce_perf takes them ("-b 8", "-b8"),
 * rewritten to the long options before parsing.  argv_p gets a malloc'd
 * copy (NULL on error, message printed on rank 0). */
static const struct {
    char        flag;
    const char *opt;
} cx_nccl_flags[] = {
    {'b', "--min-bytes"}, {'e', "--max-bytes"}, {'f', "--step-factor"}, {'g', "--gpus"},
    {'n', "--iters"},     {'w', "--warmup-iters"}, {'c', "--check"},
};

static int cx_bench_nccl_argv(int argc, char **argv, int *argc_p, char ***argv_p)
{
    char **out = malloc(((size_t)argc * 2 + 1) * sizeof(char *));
    int    i, n = 0;
    size_t k;
    *argv_p = NULL;
    if (out == NULL) return -1;
    for (i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || a[1] == '-' || a[1] == '\0' || (a[1] >= '0' && a[1] <= '9')) {
            out[n++] = argv[i];
            continue;
        }
        if (strcmp(a, "-h") == 0) {
            out[n++] = (char *)"--help";
            continue;
        }
        for (k = 0; k < sizeof(cx_nccl_flags) / sizeof(cx_nccl_flags[0]); k++)
            if (cx_nccl_flags[k].flag == a[1]) break;
        if (k == sizeof(cx_nccl_flags) / sizeof(cx_nccl_flags[0])) {
            if (cx_cli_rank() == 0)
                fprintf(stderr, "colossim bench collective: unknown option '%s' (nccl-tests flags taken: "
                                "-b -e -f -g -n -w -c; see --help)\n", a);
            free(out);
            return -1;
        }
        out[n++] = (char *)cx_nccl_flags[k].opt;
        if (a[2] != '\0') {
            out[n++] = (char *)(a + 2); /* -b8 */
        } else if (i + 1 < argc) {
            out[n++] = argv[++i];
        } else {
            if (cx_cli_rank() == 0)
                fprintf(stderr, "colossim bench collective: option '%s' (%s) needs a value\n", a, cx_nccl_flags[k].opt);
            free(out);
            return -1;
        }
    }
    out[n]  = NULL;
    *argc_p = n;
    *argv_p = out;
    return 0;
}

static int cx_cmd_bench_collective(int argc, char **argv)
{
    static const int      kind_map[] = {CX_COLL_ALLREDUCE, CX_COLL_REDUCESCATTER, CX_COLL_ALLGATHER,
                                        CX_COLL_ALLTOALL, CX_COLL_BROADCAST, CX_COLL_REDUCE};
    static const char    *op_names[] = {"allreduce", "reducescatter", "allgather", "alltoall", "broadcast", "reduce"};
    cx_coll_opts_t        o;
    cx_collbench_config_t cfg;
    cx_collbench_row_t   *rows = NULL;
    size_t                n_rows = 0, i;
    cx_topo_t            *topo = NULL;
    cx_err_t              err;
    int                   rank = cx_cli_rank(), nargc, rc;
    double                bus_sum = 0.0, wall = 0.0;
    char                **nargv;

    if (cx_bench_nccl_argv(argc, argv, &nargc, &nargv) != 0) return 2;
    rc = cx_cli_options(cx_coll_opt_table, CX_NOPTS(cx_coll_opt_table), nargc, nargv, &o,
                       "usage: colossim bench collective [options]\n"
                       "       colossim bench collective -b 8 -e 1G -f 2 -g 64   (nccl-tests flags)\n\n"
                       "One collective per size on the first N GPUs, all starting together; prints the\n"
                       "nccl-tests columns.  busbw = algbw x 2(n-1)/n (allreduce), (n-1)/n (allgather,\n"
                       "reducescatter, alltoall), 1 (broadcast).  Sizes follow nccl-tests: allgather is\n"
                       "the gathered output, reducescatter the input, alltoall what one GPU sends.\n\n"
                       "nccl-tests flags: -b min bytes, -e max bytes, -f step factor, -g GPUs (here the\n"
                       "total, not per thread), -n iterations, -w warm-up iterations, -c check; values as\n"
                       "nccl-tests writes them (8, 128K, 1M, 4G).  The table has its header, the\n"
                       "out-of-place and in-place column pairs (equal: the model moves the same bytes\n"
                       "either way), #wrong (0: no data moves, so nothing to validate) and its footers;\n"
                       "colossim's own columns (algo, channels, events, proto) follow.\n\n");
    free(nargv);
    if (rc != CX_CLI_GO) return rc;
    cx_err_clear(&err);
    if (cx_cli_load_topo(o.topology, &topo, &err) != CX_OK) {
        if (rank == 0) cx_err_print(&err);
        return 2;
    }
    memset(&cfg, 0, sizeof(cfg));
    cfg.kind        = kind_map[o.op];
    cfg.gpus        = o.gpus;
    cfg.min_bytes   = o.min_bytes;
    cfg.max_bytes   = o.max_bytes;
    cfg.step_factor = o.step_factor;
    cfg.iters       = (uint32_t)o.iters;
    cfg.seed        = o.seed;
    cx_cli_net_apply(&o.net, &cfg.net);
    cx_cli_coll_apply(&o.coll, &cfg.coll);
    if (cx_collbench_run(topo, &cfg, MPI_COMM_WORLD, &rows, &n_rows, &err) != CX_OK) {
        if (rank == 0) cx_err_print(&err);
        cx_topo_destroy(topo);
        return 2;
    }
    cx_topo_destroy(topo);
    for (i = 0; i < n_rows; i++) {
        bus_sum += rows[i].busbw_gbps;
        wall += rows[i].wall_seconds;
    }
    if (rank == 0 && o.format == 1) {
        json_object *j = json_object_new_object(), *arr = json_object_new_array();
        json_object_object_add(j, "benchmark", json_object_new_string("collective"));
        json_object_object_add(j, "topology", json_object_new_string(o.topology ? o.topology : "<embedded colossus1-mini>"));
        json_object_object_add(j, "op", json_object_new_string(op_names[o.op]));
        json_object_object_add(j, "gpus", json_object_new_uint64(o.gpus));
        json_object_object_add(j, "ranks", json_object_new_int(cx_cli_nranks()));
        for (i = 0; i < n_rows; i++) {
            json_object *r = json_object_new_object();
            char         dig[24];
            snprintf(dig, sizeof(dig), "%016llx", (unsigned long long)rows[i].digest);
            json_object_object_add(r, "bytes", json_object_new_uint64(rows[i].bytes));
            json_object_object_add(r, "count", json_object_new_uint64(rows[i].bytes / 4));
            json_object_object_add(r, "time_us", json_object_new_double(rows[i].time_us));
            json_object_object_add(r, "algbw_gbps", json_object_new_double(rows[i].algbw_gbps));
            json_object_object_add(r, "busbw_gbps", json_object_new_double(rows[i].busbw_gbps));
            json_object_object_add(r, "algo", json_object_new_string(cx_algo_label(rows[i].algo)));
            json_object_object_add(r, "channels", json_object_new_int((int)rows[i].channels));
            json_object_object_add(r, "proto", json_object_new_string(cx_proto_label(rows[i].proto)));
            json_object_object_add(r, "events", json_object_new_uint64(rows[i].events));
            json_object_object_add(r, "wall_seconds", json_object_new_double(rows[i].wall_seconds));
            json_object_object_add(r, "digest", json_object_new_string(dig));
            json_object_array_add(arr, r);
        }
        json_object_object_add(j, "rows", arr);
        json_object_object_add(j, "avg_busbw_gbps", json_object_new_double(n_rows ? bus_sum / (double)n_rows : 0));
        json_object_object_add(j, "wall_seconds", json_object_new_double(wall));
        printf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(j);
    } else if (rank == 0 && o.format == 2) {
        printf("op,gpus,size_bytes,count,type,redop,root,time_us,algbw_gbps,busbw_gbps,wrong,algo,channels,events,"
               "wall_seconds,proto\n");
        for (i = 0; i < n_rows; i++) {
            printf("%s,%llu,%llu,%llu,float,%s,%d,%.17g,%.17g,%.17g,0,%s,%u,%llu,%.6f,%s\n", op_names[o.op],
                   (unsigned long long)o.gpus, (unsigned long long)rows[i].bytes,
                   (unsigned long long)(rows[i].bytes / 4), o.op == 3 || o.op == 2 || o.op == 4 ? "none" : "sum",
                   o.op >= 4 ? 0 : -1, rows[i].time_us, rows[i].algbw_gbps, rows[i].busbw_gbps,
                   cx_algo_label(rows[i].algo), rows[i].channels, (unsigned long long)rows[i].events,
                   rows[i].wall_seconds, cx_proto_label(rows[i].proto));
        }
    } else if (rank == 0) {
        /* nccl-tests' layout (common.cu): parameter line, column pair
         * header, rows, "Out of bounds" and "Avg bus bandwidth" footers. */
        printf("# nThread 1 nGpus %llu minBytes %llu maxBytes %llu step: %g(factor) warmup iters: %llu "
               "iters: %llu agg iters: 1 validation: %llu graph: 0\n",
               (unsigned long long)o.gpus, (unsigned long long)o.min_bytes, (unsigned long long)o.max_bytes,
               o.step_factor, (unsigned long long)o.warmup_iters, (unsigned long long)o.iters,
               (unsigned long long)o.check);
        printf("#\n# colossim bench collective: %s on %llu GPUs of %s (simulated, %d rank(s))\n#\n", op_names[o.op],
               (unsigned long long)o.gpus, o.topology ? o.topology : "<embedded colossus1-mini>", cx_cli_nranks());
        printf("#%62s%s%23s%s\n", "", "out-of-place", "", "in-place");
        printf("#%12s  %12s  %8s  %6s  %6s  %7s  %6s  %6s  %6s  %7s  %6s  %6s  %6s  %8s  %3s  %10s  %6s\n", "size",
               "count", "type", "redop", "root", "time", "algbw", "busbw", "#wrong", "time", "algbw", "busbw",
               "#wrong", "algo", "ch", "events", "proto");
        printf("#%12s  %12s  %8s  %6s  %6s  %7s  %6s  %6s  %6s  %7s  %6s  %6s  %6s  %8s  %3s  %10s  %6s\n", "(B)",
               "(elements)", "", "", "", "(us)", "(GB/s)", "(GB/s)", "", "(us)", "(GB/s)", "(GB/s)", "", "", "", "",
               "");
        for (i = 0; i < n_rows; i++) {
            const char *redop = o.op == 3 || o.op == 2 || o.op == 4 ? "none" : "sum";
            int         root  = o.op >= 4 ? 0 : -1;
            printf(" %12llu  %12llu  %8s  %6s  %6d", (unsigned long long)rows[i].bytes,
                   (unsigned long long)(rows[i].bytes / 4), "float", redop, root);
            /* In place = out of place: the model moves the same bytes. */
            printf("  %7.2f  %6.2f  %6.2f  %6d", rows[i].time_us, rows[i].algbw_gbps, rows[i].busbw_gbps, 0);
            printf("  %7.2f  %6.2f  %6.2f  %6d", rows[i].time_us, rows[i].algbw_gbps, rows[i].busbw_gbps, 0);
            printf("  %8s  %3u  %10llu  %6s\n", cx_algo_label(rows[i].algo), rows[i].channels,
                   (unsigned long long)rows[i].events, cx_proto_label(rows[i].proto));
        }
        printf("# Out of bounds values : 0 OK\n");
        printf("# Avg bus bandwidth    : %g \n", n_rows ? bus_sum / (double)n_rows : 0.0);
        printf("#\n");
        printf("# colossim: in-place = out-of-place (the model moves the same bytes either way); #wrong is 0\n"
               "# and not applicable: no data moves, so there is nothing to validate\n");
        printf("# wall time %.3f s\n", wall);
    }
    free(rows);
    return 0;
}

/* phold and traffic: "-h" as "--help" (their options are long names only). */
static int cx_bench_with_h(int (*fn)(int, char **), int argc, char **argv)
{
    char **v = malloc(((size_t)argc + 1) * sizeof(char *));
    int    i, rc;
    if (v == NULL) return 2;
    for (i = 0; i < argc; i++) v[i] = strcmp(argv[i], "-h") == 0 ? (char *)"--help" : argv[i];
    v[argc] = NULL;
    rc      = fn(argc, v);
    free(v);
    return rc;
}

int cx_cmd_bench(int argc, char **argv)
{
    int help = argc >= 1 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0 ||
                             strcmp(argv[0], "help") == 0);
    if (argc >= 1 && strcmp(argv[0], "collective") == 0) return cx_cmd_bench_collective(argc - 1, argv + 1);
    if (argc >= 1 && strcmp(argv[0], "phold") == 0) return cx_bench_with_h(cx_cmd_bench_phold, argc - 1, argv + 1);
    if (argc >= 1 && strcmp(argv[0], "traffic") == 0) return cx_bench_with_h(cx_cmd_bench_traffic, argc - 1, argv + 1);
    if (cx_cli_rank() == 0) {
        if (argc == 0)
            fprintf(stderr, "colossim: error: bench: missing benchmark: phold, traffic or collective\n");
        else if (!help)
            fprintf(stderr, "colossim: error: unknown benchmark '%s' (phold, traffic or collective)\n", argv[0]);
        fprintf(help ? stdout : stderr,
                "usage: colossim bench <phold|traffic|collective> [options]   (e.g. colossim bench phold --help)\n"
                "  phold       the PDES engine alone (events/s)\n"
                "  traffic     a traffic pattern over a fabric (throughput, completion, link use)\n"
                "  collective  nccl-tests style sweep of one collective (also takes nccl-tests' -b -e -f -g)\n");
    }
    return help ? 0 : 2;
}
