/*
 * diff, the part before the figures: what differs between two runs'
 * configurations, and where their collective time went.
 *
 * A ratio of 1.0000 says nothing when the runs were configured differently
 * in ways that happen not to matter, and a ratio of 0.8 says little without
 * knowing which knob moved it.  So diff first lists every difference of
 * configuration it can read from /meta: the run's identity (topology,
 * workload, GPU type, GPUs, ranks, colossim revision), each effective option
 * of /meta/options whose value differs, shown as --name (routing, algo, chunk sizes,
 * efficiencies, seed ...; the output paths and progress settings are not
 * configuration and are skipped), and the lines of the stored topology and
 * workload YAML that only one side has (comments and blank lines ignored).
 * Then, from /summary/collectives, collective time per class (stream x
 * kind: "tp allgather", "dp reducescatter") and per phase (fwd, bwd,
 * optimizer): count, summed time, mean bus bandwidth, B/A.
 */
#define _POSIX_C_SOURCE 200809L
#include "cxa.h"

#include <json-c/json.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Options that say where output goes or how the run reports progress:
 * different in every pair of runs and not configuration. */
static const char *const cxa_diff_skip[] = {"out", "summary-json", "progress", "help", "dry-run", "ranks", NULL};

static int cxa_diff_skipped(const char *key)
{
    int i;
    for (i = 0; cxa_diff_skip[i] != NULL; i++)
        if (strcmp(key, cxa_diff_skip[i]) == 0) return 1;
    return 0;
}

static void cxa_cfg_add(cxa_cfgdiff_t *d, const char *key, const char *a, const char *b)
{
    cxa_cfgitem_t *it;
    if (d->n == d->cap) {
        size_t         c2 = d->cap ? d->cap * 2 : 16;
        cxa_cfgitem_t *n2 = realloc(d->items, c2 * sizeof(*n2));
        if (n2 == NULL) return;
        d->items = n2;
        d->cap   = c2;
    }
    it = &d->items[d->n++];
    snprintf(it->key, sizeof(it->key), "%s", key);
    it->a = strdup(a != NULL ? a : "(absent)");
    it->b = strdup(b != NULL ? b : "(absent)");
}

/* "name = value" lines of /meta/options: find name's value (pointer into
 * text, length in *len), NULL if absent. */
static const char *cxa_opt_find(const char *text, const char *name, size_t *len)
{
    const char *p = text;
    size_t      l = strlen(name);
    while (p != NULL && *p != '\0') {
        const char *eol = strchr(p, '\n');
        size_t      ll  = eol != NULL ? (size_t)(eol - p) : strlen(p);
        if (ll >= l + 2 && strncmp(p, name, l) == 0 && strncmp(p + l, " =", 2) == 0) {
            size_t skip = ll > l + 2 && p[l + 2] == ' ' ? 3 : 2; /* "name = value" or "name =" */
            *len = ll - l - skip;
            return p + l + skip;
        }
        p = eol != NULL ? eol + 1 : NULL;
    }
    return NULL;
}

static void cxa_opts_diff(cxa_cfgdiff_t *d, const char *ta, const char *tb)
{
    const char *side[2] = {ta, tb};
    int         s;
    /* Keys of A in order, then keys only B has. */
    for (s = 0; s < 2; s++) {
        const char *p = side[s];
        while (p != NULL && *p != '\0') {
            const char *eol = strchr(p, '\n'), *eq = strstr(p, " =");
            size_t      ll  = eol != NULL ? (size_t)(eol - p) : strlen(p);
            if (eq != NULL && (size_t)(eq - p) < ll && (size_t)(eq - p) < 64) {
                char        key[64], va[256], vb[256];
                size_t      kl = (size_t)(eq - p), la = 0, lb = 0;
                const char *a, *b;
                memcpy(key, p, kl);
                key[kl] = '\0';
                a       = cxa_opt_find(ta, key, &la);
                b       = cxa_opt_find(tb, key, &lb);
                if (!cxa_diff_skipped(key) && !(s == 1 && a != NULL) &&
                    (a == NULL || b == NULL || la != lb || strncmp(a, b, la) != 0)) {
                    char opt[72];
                    /* An empty --topology / --workload is the embedded default. */
                    const char *dflt = strcmp(key, "topology") == 0 || strcmp(key, "workload") == 0
                                           ? "(embedded default)" : "\"\"";
                    snprintf(va, sizeof(va), "%.*s", (int)la, a != NULL ? a : "");
                    snprintf(vb, sizeof(vb), "%.*s", (int)lb, b != NULL ? b : "");
                    snprintf(opt, sizeof(opt), "--%s", key);
                    cxa_cfg_add(d, opt, a == NULL ? NULL : la > 0 ? va : dflt, b == NULL ? NULL : lb > 0 ? vb : dflt);
                }
            }
            p = eol != NULL ? eol + 1 : NULL;
        }
    }
}

/* Lines of a YAML text without comments and trailing blanks; blank lines dropped. */
static char **cxa_yaml_lines(const char *text, size_t *n_p)
{
    char  **v = NULL, *copy, *line, *save = NULL;
    size_t  n = 0, cap = 0;
    *n_p = 0;
    if (text == NULL || (copy = strdup(text)) == NULL) return NULL;
    for (line = strtok_r(copy, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        char  *hash = strchr(line, '#');
        size_t l;
        if (hash != NULL) *hash = '\0';
        l = strlen(line);
        while (l > 0 && (line[l - 1] == ' ' || line[l - 1] == '\t' || line[l - 1] == '\r')) line[--l] = '\0';
        if (strspn(line, " \t") == l) continue;
        if (n == cap) {
            size_t c2 = cap ? cap * 2 : 64;
            char **v2 = realloc(v, c2 * sizeof(*v2));
            if (v2 == NULL) break;
            v   = v2;
            cap = c2;
        }
        v[n++] = strdup(line);
    }
    free(copy);
    *n_p = n;
    return v;
}

/* Lines of x that y lacks (as a multiset, in x's order), at most max. */
static void cxa_lines_only(char **x, size_t nx, char **y, size_t ny, cxa_strlist_t *out, size_t max)
{
    unsigned char *used = calloc(ny > 0 ? ny : 1, 1);
    size_t         i, j;
    out->n = out->total = 0;
    for (i = 0; used != NULL && i < nx; i++) {
        for (j = 0; j < ny; j++)
            if (!used[j] && strcmp(x[i], y[j]) == 0) break;
        if (j < ny) {
            used[j] = 1;
            continue;
        }
        if (out->n < max && out->n < sizeof(out->s) / sizeof(out->s[0])) out->s[out->n++] = strdup(x[i]);
        out->total++;
    }
    free(used);
}

static void cxa_yaml_diff(cxa_yamldiff_t *yd, const char *what, const char *ta, const char *tb)
{
    size_t na, nb, i;
    char **la = cxa_yaml_lines(ta, &na), **lb = cxa_yaml_lines(tb, &nb);
    snprintf(yd->what, sizeof(yd->what), "%s", what);
    yd->present = ta != NULL && tb != NULL;
    cxa_lines_only(la, na, lb, nb, &yd->a_only, 12);
    cxa_lines_only(lb, nb, la, na, &yd->b_only, 12);
    for (i = 0; i < na; i++) free(la[i]);
    for (i = 0; i < nb; i++) free(lb[i]);
    free(la);
    free(lb);
}

int cxa_config_diff(const cxa_file_t *fa, const cxa_file_t *fb, cxa_cfgdiff_t *d)
{
    static const char *const str_attrs[] = {"topology", "workload", "gpu_type", "colossim_version", "git_revision", NULL};
    static const char *const int_attrs[] = {"gpus", "ranks", "trace_level", NULL};
    static const char *const texts[]     = {"topology_yaml", "workload_yaml"};
    int                      i;
    memset(d, 0, sizeof(*d));
    for (i = 0; str_attrs[i] != NULL; i++) {
        char a[256], b[256];
        int  ha = cxa_meta_str(fa, str_attrs[i], a, sizeof(a)) == 0, hb = cxa_meta_str(fb, str_attrs[i], b, sizeof(b)) == 0;
        if (ha != hb || (ha && strcmp(a, b) != 0)) cxa_cfg_add(d, str_attrs[i], ha ? a : NULL, hb ? b : NULL);
    }
    for (i = 0; int_attrs[i] != NULL; i++) {
        int64_t a = 0, b = 0;
        int     ha = cxa_meta_i64(fa, int_attrs[i], &a) == 0, hb = cxa_meta_i64(fb, int_attrs[i], &b) == 0;
        if (ha != hb || a != b) {
            char sa[32], sb[32];
            snprintf(sa, sizeof(sa), "%lld", (long long)a);
            snprintf(sb, sizeof(sb), "%lld", (long long)b);
            cxa_cfg_add(d, strcmp(int_attrs[i], "ranks") == 0 ? "ranks (results do not depend on it)" : int_attrs[i],
                        ha ? sa : NULL, hb ? sb : NULL);
        }
    }
    {
        char *oa = cxa_meta_text(fa, "options"), *ob = cxa_meta_text(fb, "options");
        d->have_options = oa != NULL && ob != NULL;
        if (d->have_options) cxa_opts_diff(d, oa, ob);
        free(oa);
        free(ob);
    }
    for (i = 0; i < 2; i++) {
        char *ta = cxa_meta_text(fa, texts[i]), *tb = cxa_meta_text(fb, texts[i]);
        cxa_yaml_diff(&d->yaml[i], i == 0 ? "topology YAML" : "workload YAML", ta, tb);
        free(ta);
        free(tb);
    }
    return 0;
}

int cxa_config_diff_count(const cxa_cfgdiff_t *d)
{
    return (int)(d->n + d->yaml[0].a_only.total + d->yaml[0].b_only.total + d->yaml[1].a_only.total +
                 d->yaml[1].b_only.total);
}

void cxa_config_diff_free(cxa_cfgdiff_t *d)
{
    size_t i, k;
    for (i = 0; i < d->n; i++) {
        free(d->items[i].a);
        free(d->items[i].b);
    }
    free(d->items);
    for (k = 0; k < 2; k++) {
        for (i = 0; i < d->yaml[k].a_only.n; i++) free(d->yaml[k].a_only.s[i]);
        for (i = 0; i < d->yaml[k].b_only.n; i++) free(d->yaml[k].b_only.s[i]);
    }
    memset(d, 0, sizeof(*d));
}

void cxa_config_diff_print(const cxa_cfgdiff_t *d, FILE *out)
{
    size_t i, k;
    if (cxa_config_diff_count(d) == 0) {
        fprintf(out, "configuration: the same (identity, %soptions, topology and workload YAML)\n",
                d->have_options ? "" : "no /meta/options to compare; ");
        return;
    }
    fprintf(out, "configuration differs:\n");
    fprintf(out, "  %-28s %-24s %-24s\n", "", "A", "B");
    for (i = 0; i < d->n; i++) fprintf(out, "  %-28s %-24s %-24s\n", d->items[i].key, d->items[i].a, d->items[i].b);
    for (k = 0; k < 2; k++) {
        const cxa_yamldiff_t *y = &d->yaml[k];
        if (y->a_only.total == 0 && y->b_only.total == 0) continue;
        fprintf(out, "  %s: %zu line(s) only in A, %zu only in B%s\n", y->what, y->a_only.total, y->b_only.total,
                y->a_only.total > y->a_only.n || y->b_only.total > y->b_only.n ? " (first 12 shown)" : "");
        for (i = 0; i < y->a_only.n; i++) fprintf(out, "    A| %s\n", y->a_only.s[i]);
        for (i = 0; i < y->b_only.n; i++) fprintf(out, "    B| %s\n", y->b_only.s[i]);
    }
}

json_object *cxa_config_diff_json(const cxa_cfgdiff_t *d)
{
    json_object *j = json_object_new_object(), *items = json_object_new_array();
    size_t       i, k;
    for (i = 0; i < d->n; i++) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "key", json_object_new_string(d->items[i].key));
        json_object_object_add(o, "a", json_object_new_string(d->items[i].a));
        json_object_object_add(o, "b", json_object_new_string(d->items[i].b));
        json_object_array_add(items, o);
    }
    json_object_object_add(j, "same", json_object_new_boolean(cxa_config_diff_count(d) == 0));
    json_object_object_add(j, "differences", items);
    for (k = 0; k < 2; k++) {
        json_object *y = json_object_new_object(), *a = json_object_new_array(), *b = json_object_new_array();
        for (i = 0; i < d->yaml[k].a_only.n; i++) json_object_array_add(a, json_object_new_string(d->yaml[k].a_only.s[i]));
        for (i = 0; i < d->yaml[k].b_only.n; i++) json_object_array_add(b, json_object_new_string(d->yaml[k].b_only.s[i]));
        json_object_object_add(y, "a_only", a);
        json_object_object_add(y, "b_only", b);
        json_object_object_add(y, "a_only_total", json_object_new_uint64(d->yaml[k].a_only.total));
        json_object_object_add(y, "b_only_total", json_object_new_uint64(d->yaml[k].b_only.total));
        json_object_object_add(j, k == 0 ? "topology_yaml" : "workload_yaml", y);
    }
    return j;
}

/* ---- collective time per class and per phase --------------------------- */

#define CXA_NSTREAM 4
#define CXA_NCKIND  8
#define CXA_NPHASE  8

typedef struct cxa_csum {
    uint64_t n;
    double   t_s, bw_sum;
} cxa_csum_t;

typedef struct cxa_cagg {
    cxa_csum_t cls[CXA_NSTREAM][CXA_NCKIND];
    cxa_csum_t phase[CXA_NPHASE];
    int        ok;
} cxa_cagg_t;

static int cxa_coll_agg(const cxa_file_t *f, cxa_cagg_t *g)
{
    static const char *const need[] = {"kind", "stream", "phase", "start_ps", "end_ps", "busbw_gbps", NULL};
    cxa_table_t              t;
    cxa_blocks_t             b;
    int                      rc;
    const cxa_col_t         *c_k, *c_st, *c_ph, *c_s, *c_e, *c_bw;
    memset(g, 0, sizeof(*g));
    if (cxa_table_open_need(f, CXA_T_COLL, 0, need, &t) != 0) return -1;
    c_k   = cxa_col(&t, "kind");
    c_st  = cxa_col(&t, "stream");
    c_ph  = cxa_col(&t, "phase");
    c_s   = cxa_col(&t, "start_ps");
    c_e   = cxa_col(&t, "end_ps");
    c_bw  = cxa_col(&t, "busbw_gbps");
    cxa_blocks_init(&b, &t, 32u << 20); /* out of memory: cxa_blocks_next fails */
    while ((rc = cxa_blocks_next(&b)) > 0) {
        uint64_t r;
        for (r = 0; r < b.n; r++) {
            const void *row = cxa_row(&t, b.buf, r);
            unsigned    k = (unsigned)cxa_get_u64(c_k, row), st = (unsigned)cxa_get_u64(c_st, row),
                     ph = (unsigned)cxa_get_u64(c_ph, row);
            double      dt = (double)(cxa_get_i64(c_e, row) - cxa_get_i64(c_s, row)) * 1e-12, bw = cxa_get_f64(c_bw, row);
            if (k < CXA_NCKIND && st < CXA_NSTREAM) {
                g->cls[st][k].n++;
                g->cls[st][k].t_s += dt;
                g->cls[st][k].bw_sum += bw;
            }
            if (ph < CXA_NPHASE) {
                g->phase[ph].n++;
                g->phase[ph].t_s += dt;
                g->phase[ph].bw_sum += bw;
            }
        }
    }
    g->ok = rc == 0;
    cxa_blocks_free(&b);
    cxa_table_close(&t);
    return g->ok ? 0 : -1;
}

static void cxa_csum_print(FILE *out, const char *label, const cxa_csum_t *a, const cxa_csum_t *b)
{
    char r[32];
    if (a->t_s > 0 && b->t_s > 0)
        snprintf(r, sizeof(r), "%.4f", b->t_s / a->t_s);
    else
        snprintf(r, sizeof(r), "-");
    fprintf(out, "  %-24s %9llu %9llu %12.3f %12.3f %8s %9.1f %9.1f\n", label, (unsigned long long)a->n,
            (unsigned long long)b->n, a->t_s * 1e3, b->t_s * 1e3, r, a->n ? a->bw_sum / (double)a->n : 0.0,
            b->n ? b->bw_sum / (double)b->n : 0.0);
}

static json_object *cxa_csum_json(const char *label, const cxa_csum_t *a, const cxa_csum_t *b)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "class", json_object_new_string(label));
    json_object_object_add(o, "count_a", json_object_new_uint64(a->n));
    json_object_object_add(o, "count_b", json_object_new_uint64(b->n));
    json_object_object_add(o, "time_seconds_a", json_object_new_double(a->t_s));
    json_object_object_add(o, "time_seconds_b", json_object_new_double(b->t_s));
    json_object_object_add(o, "time_ratio_b_over_a", a->t_s > 0 && b->t_s > 0 ? json_object_new_double(b->t_s / a->t_s) : NULL);
    json_object_object_add(o, "mean_busbw_gbps_a", json_object_new_double(a->n ? a->bw_sum / (double)a->n : 0.0));
    json_object_object_add(o, "mean_busbw_gbps_b", json_object_new_double(b->n ? b->bw_sum / (double)b->n : 0.0));
    return o;
}

/* Per class and phase: table rows to out, or arrays into j (when j != NULL). */
int cxa_coll_diff(const cxa_file_t *fa, const cxa_file_t *fb, FILE *out, json_object *j)
{
    cxa_cagg_t  *g = calloc(2, sizeof(*g));
    json_object *jc = NULL, *jp = NULL;
    unsigned     st, k;
    if (g == NULL) return -1;
    if (cxa_coll_agg(fa, &g[0]) != 0 || cxa_coll_agg(fb, &g[1]) != 0) {
        if (out != NULL) fprintf(out, "collectives: not compared (a trace lacks a readable %s)\n", CXA_T_COLL);
        free(g);
        return -1;
    }
    if (j != NULL) {
        jc = json_object_new_array();
        jp = json_object_new_array();
    } else {
        fprintf(out, "collective time (all instances, member 0's view; ms summed over instances):\n");
        fprintf(out, "  %-24s %9s %9s %12s %12s %8s %9s %9s\n", "class (stream kind)", "count A", "count B", "time A",
                "time B", "B/A", "busbw A", "busbw B");
    }
    for (st = 0; st < CXA_NSTREAM; st++) {
        for (k = 0; k < CXA_NCKIND; k++) {
            char label[64];
            if (g[0].cls[st][k].n == 0 && g[1].cls[st][k].n == 0) continue;
            snprintf(label, sizeof(label), "%s %s", cxa_stream_name(st), cxa_coll_name(k));
            if (j != NULL)
                json_object_array_add(jc, cxa_csum_json(label, &g[0].cls[st][k], &g[1].cls[st][k]));
            else
                cxa_csum_print(out, label, &g[0].cls[st][k], &g[1].cls[st][k]);
        }
    }
    if (j == NULL) fprintf(out, "  %-24s\n", "per phase:");
    for (k = 0; k < CXA_NPHASE; k++) {
        char label[64];
        if (g[0].phase[k].n == 0 && g[1].phase[k].n == 0) continue;
        snprintf(label, sizeof(label), "%s", cxa_phase_name(k));
        if (j != NULL)
            json_object_array_add(jp, cxa_csum_json(label, &g[0].phase[k], &g[1].phase[k]));
        else
            cxa_csum_print(out, label, &g[0].phase[k], &g[1].phase[k]);
    }
    if (j != NULL) {
        json_object_object_add(j, "collective_classes", jc);
        json_object_object_add(j, "collective_phases", jp);
    }
    free(g);
    return 0;
}
