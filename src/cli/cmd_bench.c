/*
 * colossim bench: engine and fabric benchmarks.
 *   phold       the classic PDES benchmark on the kernel (events/s, digest)
 */
#include <json-c/json.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "cx_cmd.h"
#include "cx_phold.h"
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
    {"seed", CX_OPT_UINT, offsetof(cx_phold_opts_t, seed), "1", CX_OPT_UNBOUNDED, NULL, "S",
     "random seed"},
    {"format", CX_OPT_ENUM, offsetof(cx_phold_opts_t, format), "text", 0, 0, "text|json", NULL,
     "output format"},
    {"progress", CX_OPT_DOUBLE, offsetof(cx_phold_opts_t, progress), "5", 0, 1e6, NULL, "SEC",
     "progress line period on rank 0 (0 = off)"},
    {"help", CX_OPT_FLAG, offsetof(cx_phold_opts_t, help), NULL, 0, 0, NULL, NULL, "this help"},
};
#define CX_NOPTS(_t) (sizeof(_t) / sizeof((_t)[0]))

int cx_cmd_bench_phold(int argc, char **argv)
{
    cx_phold_opts_t   o;
    cx_phold_config_t cfg;
    cx_engine_stats_t s;
    cx_err_t          err;
    int               rank = cx_cli_rank();

    cx_err_clear(&err);
    cx_opt_defaults(cx_phold_opt_table, CX_NOPTS(cx_phold_opt_table), &o, &err);
    if (cx_opt_parse(cx_phold_opt_table, CX_NOPTS(cx_phold_opt_table), argc, argv, &o, NULL, 0,
                     NULL, &err) != CX_OK) {
        if (rank == 0) cx_err_print(&err);
        return 2;
    }
    if (o.help) {
        if (rank == 0) {
            printf("usage: colossim bench phold [options]\n\n"
                   "PHOLD: each LP starts with K events; each event schedules one new event at\n"
                   "now + L + Exp(M - L), to a uniformly random LP with probability P, else to\n"
                   "itself.  Time is integer picoseconds; bare numbers are seconds.\n\n");
            cx_opt_help(stdout, cx_phold_opt_table, CX_NOPTS(cx_phold_opt_table));
        }
        return 0;
    }
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

int cx_cmd_bench(int argc, char **argv)
{
    if (argc >= 1 && strcmp(argv[0], "phold") == 0) return cx_cmd_bench_phold(argc - 1, argv + 1);
    if (cx_cli_rank() == 0) {
        if (argc >= 1 && strcmp(argv[0], "--help") != 0) {
            fprintf(stderr, "colossim: error: unknown benchmark '%s'\n", argv[0]);
        }
        fprintf(argc >= 1 && strcmp(argv[0], "--help") == 0 ? stdout : stderr,
                "usage: colossim bench <phold> [options]   (colossim bench phold --help)\n");
    }
    return (argc >= 1 && strcmp(argv[0], "--help") == 0) ? 0 : 2;
}
