/*
 * colossim-analyze: the command-line front end of the trace analyzer.
 *   summary | collectives | digest | export-perfetto | export-csv | stragglers | diff | plot | links | power
 */
#define _POSIX_C_SOURCE 200809L
#include "cxa.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cx_version.h"

#include <json-c/json.h>

#ifndef CXA_PLOT_SCRIPT
#define CXA_PLOT_SCRIPT "colossim_plot.py"
#endif
#ifndef CXA_PLOT_SCRIPT_INSTALLED
#define CXA_PLOT_SCRIPT_INSTALLED "/usr/local/share/colossim/colossim_plot.py"
#endif

static void cxa_usage(FILE *out)
{
    fprintf(out,
            "usage: colossim-analyze COMMAND FILE [options]\n\n"
            "Reads a colossim HDF5 trace (analysis/SCHEMA.md).\n\n"
            "commands:\n"
            "  summary FILE [--format table|json|csv]   iteration time, tokens/s, TFLOPs/GPU, MFU, shares\n"
            "  collectives FILE [--format ...]          per kind and algorithm: count, bytes, time and busbw percentiles\n"
            "  digest FILE [--format table|json]        row-order independent 64-bit hash of the tables\n"
            "  export-perfetto FILE --out X.json [--gpus 0-7,16] [--no-collective-tracks]\n"
            "                                           Chrome trace-event JSON for ui.perfetto.dev\n"
            "  export-csv FILE --table PATH --out X.csv [--gpus LIST]\n"
            "                                           one table (/ops/gpu_ops, /links/bins ...) as CSV\n"
            "  stragglers FILE [--top N] [--format table|json]\n"
            "                                           slowest GPUs per iteration and where their time went\n"
            "  diff A B [--format ...]                  summary figures of two runs side by side, B/A\n"
            "  plot FILE --out DIR [--gpus LIST] [--iteration I]\n"
            "                                           PNGs: timeline, breakdown, collective busbw vs size\n"
            "  links FILE [--top N] [--format table|json|csv]\n"
            "                                           link utilisation percentiles, hottest links, ECMP imbalance\n"
            "                                           (needs --trace-level links)\n"
            "  power FILE [--format table|json] [--size-battery] [--ramp MW/s]\n"
            "                                           job / site power, swing, ramp, J/token, battery, violations\n"
            "  faults FILE [--format table|json]        injected faults (run --faults) and what the job did\n"
            "  schema [--format table|json]             the trace schema: tables, columns, units, labels\n\n"
            "exit status: 0 ok, 1 file missing / truncated / not a colossim trace, 2 usage or data absent\n");
}

/* The schema as JSON: tables with their columns, and the label lists. */
static json_object *cxa_schema_json(void)
{
    json_object             *j = json_object_new_object(), *tabs = json_object_new_array(), *labs = json_object_new_object();
    size_t                   i, k, n;
    const cx_schema_table_t *t = cx_schema_tables(&n);
    int                      l;
    for (i = 0; i < n; i++) {
        json_object *o = json_object_new_object(), *cols = json_object_new_array();
        json_object_object_add(o, "path", json_object_new_string(t[i].path));
        json_object_object_add(o, "level", json_object_new_string(t[i].level));
        json_object_object_add(o, "what", json_object_new_string(t[i].what));
        for (k = 0; k < t[i].ncols; k++) {
            const cx_schema_col_t *c = &t[i].cols[k];
            json_object           *co = json_object_new_object();
            char                   type[8];
            size_t                 m;
            for (m = 0; c->type[m] != '\0' && m + 1 < sizeof(type); m++) type[m] = (char)(c->type[m] | 0x20);
            type[m] = '\0';
            json_object_object_add(co, "name", json_object_new_string(c->name));
            json_object_object_add(co, "type", json_object_new_string(type));
            json_object_object_add(co, "unit", json_object_new_string(c->unit));
            json_object_object_add(co, "labels", json_object_new_string(cx_schema_labels_name(c->labels)));
            json_object_object_add(co, "doc", json_object_new_string(c->doc));
            json_object_array_add(cols, co);
        }
        json_object_object_add(o, "columns", cols);
        json_object_array_add(tabs, o);
    }
    for (l = 1; l < CX_SCHEMA_NLABELS; l++) {
        json_object *arr = json_object_new_array();
        unsigned     v;
        for (v = 0; v < cx_schema_label_count(l); v++) json_object_array_add(arr, json_object_new_string(cx_schema_label(l, v)));
        json_object_object_add(labs, cx_schema_labels_name(l), arr);
    }
    json_object_object_add(j, "tables", tabs);
    json_object_object_add(j, "labels", labs);
    return j;
}

/* schema: the trace schema compiled in (src/trace/cx_schema.h), as the
 * tab-separated text every trace holds in /meta/schema, or as JSON. */
static int cxa_cmd_schema(int argc, char **argv)
{
    cxa_args_t   a;
    cxa_format_t fmt;
    if (cxa_parse_args("schema", argc, argv, &a, "format") != 0) return CXA_EXIT_USAGE;
    if (a.help || a.npos != 0) {
        if (!a.help) cxa_error(NULL, "schema: takes no FILE (it prints the schema this colossim-analyze reads)");
        return cxa_usage_print(&a, "usage: colossim-analyze schema [--format table|json]\n"
                               "  the trace schema: every table's path, level and columns (type, unit, labels, doc),\n"
                               "  and the labels of enumerated columns; what every trace holds in /meta/schema.\n");
    }
    if (cxa_parse_format(a.format, &fmt) != 0) return CXA_EXIT_USAGE;
    if (fmt == CXA_FMT_JSON) {
        json_object *j = cxa_schema_json();
        printf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(j);
    } else {
        char *text = cx_schema_text();
        if (text == NULL) {
            cxa_error(NULL, "out of memory");
            return CXA_EXIT_FILE;
        }
        fputs(text, stdout);
        free(text);
    }
    return CXA_EXIT_OK;
}

static const char *cxa_plot_script(void)
{
    const char *env = getenv("COLOSSIM_PLOT_SCRIPT");
    struct stat st;
    if (env != NULL && env[0] != '\0') return env;
    if (stat(CXA_PLOT_SCRIPT, &st) == 0) return CXA_PLOT_SCRIPT;
    if (stat(CXA_PLOT_SCRIPT_INSTALLED, &st) == 0) return CXA_PLOT_SCRIPT_INSTALLED;
    return NULL;
}

static int cxa_cmd_plot(int argc, char **argv)
{
    cxa_args_t  a;
    cxa_file_t  f;
    const char *script, *py = getenv("COLOSSIM_PYTHON");
    char       *args[16];
    int         n = 0;
    if (cxa_parse_args("plot", argc, argv, &a, "out gpus iteration") != 0) return CXA_EXIT_USAGE;
    if (a.help || a.npos != 1 || a.out == NULL) {
        cxa_usage_error("plot", &a, 1, "DIR (where the PNGs go)");
        return cxa_usage_print(&a,
                "usage: colossim-analyze plot FILE --out DIR [--gpus 0-7] [--iteration I]\n"
                "  writes timeline.png (ops of the selected GPUs over one iteration; needs\n"
                "  --trace-level ops), breakdown.png and coll_busbw.png into DIR, and\n"
                "  links_heatmap.png / site_power.png when the trace has /links / /power, through\n"
                "  %s (python3 + h5py + matplotlib).\n"
                "  Bounded at any job size: at most 16 GPUs on the timeline (default: the first\n"
                "  GPU of each pipeline stage), one bar per pipeline stage above 128 GPUs, busbw\n"
                "  medians above 50,000 collectives; each figure says what it aggregated.\n"
                "  FILE may also be a campaign timeline (colossim campaign --timeline X.csv):\n"
                "  campaign_timeline.png (progress, failures, restarts, checkpoints).\n",
                CXA_PLOT_SCRIPT);
    }
    /* A campaign timeline (colossim campaign --timeline): cxa_faults.c. */
    if (cxa_is_campaign_csv(a.pos[0])) return cxa_plot_campaign(a.pos[0], a.out);
    /* Check the file here, so the error reads like every other command's. */
    if (cxa_open(&f, a.pos[0]) != 0) return CXA_EXIT_FILE;
    if (!cxa_exists(&f, CXA_T_ITER)) {
        cxa_error(a.pos[0], "missing table %s (truncated trace, or not written by colossim run)", CXA_T_ITER);
        cxa_close(&f);
        return CXA_EXIT_FILE;
    }
    cxa_close(&f);
    script = cxa_plot_script();
    if (script == NULL) {
        cxa_error(NULL, "plot: cannot find colossim_plot.py (looked at %s and %s; set COLOSSIM_PLOT_SCRIPT)",
                  CXA_PLOT_SCRIPT, CXA_PLOT_SCRIPT_INSTALLED);
        return CXA_EXIT_USAGE;
    }
    if (py == NULL || py[0] == '\0') py = "/usr/bin/python3";
    args[n++] = (char *)py;
    args[n++] = (char *)script;
    args[n++] = (char *)a.pos[0];
    args[n++] = (char *)"--out";
    args[n++] = (char *)a.out;
    if (a.gpus != NULL) {
        args[n++] = (char *)"--gpus";
        args[n++] = (char *)a.gpus;
    }
    if (a.iteration != NULL) {
        args[n++] = (char *)"--iteration";
        args[n++] = (char *)a.iteration;
    }
    args[n] = NULL;
    { /* the labels for a trace without /meta/schema (older colossim) */
        char *schema = cx_schema_text();
        if (schema != NULL) setenv("COLOSSIM_SCHEMA", schema, 1);
        free(schema);
    }
    fflush(stdout);
    fflush(stderr);
    execv(py, args);
    cxa_error(NULL, "plot: cannot run %s: %s (set COLOSSIM_PYTHON)", py, strerror(errno));
    return CXA_EXIT_USAGE;
}

int cxa_cmd_power(int argc, char **argv); /* cxa_power.c */

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*run)(int, char **);
    } cmds[] = {{"summary", cxa_cmd_summary}, {"collectives", cxa_cmd_collectives}, {"digest", cxa_cmd_digest},
                {"export-perfetto", cxa_cmd_perfetto}, {"export-csv", cxa_cmd_csv},
                {"stragglers", cxa_cmd_stragglers}, {"diff", cxa_cmd_diff}, {"plot", cxa_cmd_plot},
                {"links", cxa_cmd_links}, {"power", cxa_cmd_power}, {"faults", cxa_cmd_faults},
                {"schema", cxa_cmd_schema}};
    const char *cmd;
    size_t      i;
    if (argc < 2) {
        cxa_usage(stderr);
        return CXA_EXIT_USAGE;
    }
    cmd = argv[1];
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
        cxa_usage(stdout);
        return CXA_EXIT_OK;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("colossim-analyze %s (%s)\n", CX_VERSION_STRING, CX_GIT_REVISION);
        return CXA_EXIT_OK;
    }
    for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        if (strcmp(cmd, cmds[i].name) == 0) return cmds[i].run(argc - 2, argv + 2);
    cxa_error(NULL, "unknown command '%s'", cmd);
    cxa_usage(stderr);
    return CXA_EXIT_USAGE;
}
