/*
 * links: link utilisation from /links/bins and /links/ports (a run with
 * --trace-level links).
 *
 *   - per (link class, tier): utilisation of every bin with traffic,
 *     bytes / (bandwidth x bin width), and of every port over the run,
 *     bytes / (bandwidth x run span), as nearest-rank p50/p90/p99/max;
 *   - the N hottest ports (mean = run utilisation, peak = hottest bin);
 *   - ECMP imbalance: per switch, max/mean bytes over its up ports that
 *     carried traffic, and per (switch, peer) the same over parallel down
 *     links; the distribution of that ratio per tier.
 *
 * Bin attribution.  The run puts all bytes of a chunk in the bin in which
 * its last byte left the port, so a bin can hold up to one chunk more than
 * the link can carry in a bin (16 MiB NVLink chunks in 100 us bins: +37%).
 * A port serialises its chunks one after the other, so the bytes above a
 * bin's capacity left in the bins before it: they are moved back ("spilled")
 * bin by bin, latest first, into the preceding bins up to their capacity.
 * This keeps every byte, keeps per-bin utilisation <= 1, and may turn empty
 * bins into bins with traffic.  The unspilled maximum is reported as
 * raw_max.
 *
 * The bins table is read once in blocks; the (dev, port) -> port lookup and
 * the per-port spill run under OpenMP.
 */
#define _POSIX_C_SOURCE 200809L
#include "cxa.h"

#include <json-c/json.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CXA_LCLS 6

const char *cxa_link_class_name(unsigned cls) { return cx_schema_label(CX_SCHEMA_L_LINK_CLASS, cls); }

typedef struct cxa_lport {
    uint64_t dev, peer_dev, bytes, chunks;
    double   bw;                /* bytes/s */
    uint32_t port, peer_port;
    unsigned cls, tier;
    uint64_t nrows, off;        /* its bins in the sorted bin array */
    uint64_t bin_bytes;         /* sum of its /links/bins rows */
    uint64_t nout, out_off;     /* spilled bin utilisations */
    double   run_util, peak, raw_peak;
} cxa_lport_t;

typedef struct cxa_lbin {
    int64_t  bin;               /* start_ps / bin_ps */
    uint64_t bytes;
} cxa_lbin_t;

/* Open-addressing map (dev, port) -> port index. */
typedef struct cxa_lmap {
    uint64_t *key;
    uint32_t *val;
    uint64_t  mask;
} cxa_lmap_t;

static uint64_t cxa_lkey(uint64_t dev, uint64_t port)
{
    return dev * UINT64_C(0x100000000) + port;
}

static uint64_t cxa_lhash(uint64_t x)
{
    x ^= x >> 30;
    x *= UINT64_C(0xbf58476d1ce4e5b9);
    x ^= x >> 27;
    x *= UINT64_C(0x94d049bb133111eb);
    x ^= x >> 31;
    return x;
}

static int cxa_lmap_init(cxa_lmap_t *m, uint64_t n)
{
    uint64_t cap = 16;
    while (cap < 2 * n) cap *= 2;
    m->mask = cap - 1;
    m->key  = malloc(cap * sizeof(uint64_t));
    m->val  = malloc(cap * sizeof(uint32_t));
    if (m->key == NULL || m->val == NULL) return -1;
    memset(m->key, 0xff, cap * sizeof(uint64_t)); /* UINT64_MAX = empty */
    return 0;
}

/* 0 inserted, 1 duplicate key. */
static int cxa_lmap_put(cxa_lmap_t *m, uint64_t k, uint32_t v)
{
    uint64_t h = cxa_lhash(k) & m->mask;
    while (m->key[h] != UINT64_MAX) {
        if (m->key[h] == k) return 1;
        h = (h + 1) & m->mask;
    }
    m->key[h] = k;
    m->val[h] = v;
    return 0;
}

static int64_t cxa_lmap_get(const cxa_lmap_t *m, uint64_t k)
{
    uint64_t h = cxa_lhash(k) & m->mask;
    while (m->key[h] != UINT64_MAX) {
        if (m->key[h] == k) return m->val[h];
        h = (h + 1) & m->mask;
    }
    return -1;
}

static void cxa_lmap_free(cxa_lmap_t *m)
{
    free(m->key);
    free(m->val);
}

static int cxa_lport_cmp(const void *a, const void *b)
{
    const cxa_lport_t *x = a, *y = b;
    if (x->cls != y->cls) return x->cls < y->cls ? -1 : 1;
    if (x->tier != y->tier) return x->tier < y->tier ? -1 : 1;
    if (x->dev != y->dev) return x->dev < y->dev ? -1 : 1;
    return x->port < y->port ? -1 : x->port > y->port;
}

static int cxa_lbin_cmp(const void *a, const void *b)
{
    const cxa_lbin_t *x = a, *y = b;
    return x->bin < y->bin ? -1 : x->bin > y->bin;
}

typedef struct cxa_lstat {
    uint64_t n;
    double   p50, p90, p99, max, mean;
} cxa_lstat_t;

static void cxa_lstats(double *v, uint64_t n, cxa_lstat_t *s)
{
    double   sum = 0;
    uint64_t i;
    memset(s, 0, sizeof(*s));
    s->n = n;
    if (n == 0) return;
    qsort(v, (size_t)n, sizeof(double), cxa_dcmp);
    for (i = 0; i < n; i++) sum += v[i];
    s->p50  = cxa_pct(v, n, 0.50);
    s->p90  = cxa_pct(v, n, 0.90);
    s->p99  = cxa_pct(v, n, 0.99);
    s->max  = v[n - 1];
    s->mean = sum / (double)n;
}

/* Spill a port's bins (sorted by bin, distinct) latest first: bytes above
 * cap move to the preceding bins.  Writes the utilisations (latest first)
 * to out when non-NULL; returns how many there are.  *peak = the largest. */
static uint64_t cxa_spill(const cxa_lbin_t *b, uint64_t n, double cap, double *out, double *peak)
{
    double   carry = 0.0, pk = 0.0;
    uint64_t k     = 0, i;
    int64_t  next  = 0, j;
    for (i = n; i-- > 0;) {
        double load;
        if (carry > 0.0) {
            for (j = next - 1; j > b[i].bin && carry > 0.0; j--) {
                double v = carry < cap ? carry : cap;
                if (out != NULL) out[k] = v / cap;
                if (v / cap > pk) pk = v / cap;
                k++;
                carry -= v;
            }
        }
        load = (double)b[i].bytes + carry;
        carry = load > cap ? load - cap : 0.0;
        if (carry > 0.0) load = cap;
        if (out != NULL) out[k] = load / cap;
        if (load / cap > pk) pk = load / cap;
        k++;
        next = b[i].bin;
    }
    for (j = next - 1; j >= 0 && carry > 0.0; j--) {
        double v = carry < cap ? carry : cap;
        if (out != NULL) out[k] = v / cap;
        if (v / cap > pk) pk = v / cap;
        k++;
        carry -= v;
    }
    if (carry > 0.0 && k > 0) {
        /* More bytes than the link could carry since time 0: keep them in
         * the earliest bin (shows as utilisation > 1). */
        if (out != NULL) out[k - 1] += carry / cap;
        pk = fmax(pk, (out != NULL ? out[k - 1] : 1.0 + carry / cap));
    }
    *peak = pk;
    return k;
}

/* ---- reading ---------------------------------------------------------- */

static int cxa_read_ports(const cxa_file_t *f, cxa_lport_t **ports_out, uint64_t *n_out)
{
    static const char *const need[] = {"dev", "port", "peer_dev", "peer_port", "cls", "tier", "bandwidth", "bytes", NULL};
    cxa_table_t      t;
    void            *buf;
    cxa_lport_t     *p;
    uint64_t         r;
    const cxa_col_t *c_d, *c_p, *c_pd, *c_pp, *c_c, *c_t, *c_bw, *c_b, *c_ch;
    if ((buf = cxa_table_load(f, CXA_T_PORTS, CXA_LOAD_REQUIRED, need, &t)) == NULL) return -1;
    c_d  = cxa_col(&t, "dev");
    c_p  = cxa_col(&t, "port");
    c_pd = cxa_col(&t, "peer_dev");
    c_pp = cxa_col(&t, "peer_port");
    c_c  = cxa_col(&t, "cls");
    c_t  = cxa_col(&t, "tier");
    c_bw = cxa_col(&t, "bandwidth");
    c_b  = cxa_col(&t, "bytes");
    c_ch = cxa_col(&t, "chunks");
    p    = calloc(t.rows > 0 ? (size_t)t.rows : 1, sizeof(cxa_lport_t));
    if (p == NULL) {
        cxa_error(f->path, "out of memory");
        free(buf);
        cxa_table_close(&t);
        return -1;
    }
    for (r = 0; r < t.rows; r++) {
        const void *row = cxa_row(&t, buf, r);
        p[r].dev       = cxa_get_u64(c_d, row);
        p[r].port      = (uint32_t)cxa_get_u64(c_p, row);
        p[r].peer_dev  = cxa_get_u64(c_pd, row);
        p[r].peer_port = (uint32_t)cxa_get_u64(c_pp, row);
        p[r].cls       = (unsigned)cxa_get_u64(c_c, row);
        p[r].tier      = (unsigned)cxa_get_u64(c_t, row);
        p[r].bw        = cxa_get_f64(c_bw, row);
        p[r].bytes     = cxa_get_u64(c_b, row);
        p[r].chunks    = c_ch != NULL ? cxa_get_u64(c_ch, row) : 0;
        if (!(p[r].bw > 0.0)) {
            cxa_error(f->path, "%s row %llu: bandwidth %g is not positive", CXA_T_PORTS, (unsigned long long)r, p[r].bw);
            free(p);
            free(buf);
            cxa_table_close(&t);
            return -1;
        }
    }
    free(buf);
    *n_out = t.rows;
    cxa_table_close(&t);
    qsort(p, (size_t)*n_out, sizeof(cxa_lport_t), cxa_lport_cmp);
    *ports_out = p;
    return 0;
}

/* Bins into one array sorted by (port index, bin).  Fills nrows / off /
 * bin_bytes of the ports; *last_bin = the latest bin with traffic. */
static int cxa_read_bins(const cxa_file_t *f, cxa_lport_t *ports, uint64_t np, int64_t bin_ps, cxa_lbin_t **bins_out,
                         uint64_t *nb_out, int64_t *last_bin)
{
    static const char *const need[] = {"dev", "port", "start_ps", "bytes", NULL};
    cxa_table_t      t;
    cxa_lmap_t       map;
    cxa_blocks_t     blk = {0};
    uint32_t        *pidx = NULL;
    cxa_lbin_t      *tmp = NULL, *bins = NULL;
    uint64_t        *fill = NULL, i, bad = UINT64_MAX;
    int64_t          last = -1;
    int              rc = -1, more;
    const cxa_col_t *c_d, *c_p, *c_s, *c_b;
    if (cxa_table_open_need(f, CXA_T_BINS, CXA_LOAD_REQUIRED, need, &t) != 0) return -1;
    memset(&map, 0, sizeof(map));
    c_d = cxa_col(&t, "dev");
    c_p = cxa_col(&t, "port");
    c_s = cxa_col(&t, "start_ps");
    c_b = cxa_col(&t, "bytes");
    if (cxa_lmap_init(&map, np) != 0) {
        cxa_error(f->path, "out of memory");
        goto out;
    }
    for (i = 0; i < np; i++) {
        if (cxa_lmap_put(&map, cxa_lkey(ports[i].dev, ports[i].port), (uint32_t)i) != 0) {
            cxa_error(f->path, "%s: device %llu port %u appears twice", CXA_T_PORTS, (unsigned long long)ports[i].dev,
                      ports[i].port);
            goto out;
        }
    }
    more = cxa_blocks_init(&blk, &t, 64u << 20);
    tmp  = malloc(((size_t)t.rows + 1) * sizeof(cxa_lbin_t));
    pidx = malloc(((size_t)t.rows + 1) * sizeof(uint32_t));
    bins = malloc(((size_t)t.rows + 1) * sizeof(cxa_lbin_t));
    fill = calloc((size_t)np + 1, sizeof(uint64_t));
    if (more != 0 || tmp == NULL || pidx == NULL || bins == NULL || fill == NULL) {
        cxa_error(f->path, "out of memory (%llu bin rows)", (unsigned long long)t.rows);
        goto out;
    }
    while ((more = cxa_blocks_next(&blk)) > 0) {
        const unsigned char *buf = blk.buf;
        uint64_t             start = blk.start, bad_loc = UINT64_MAX;
        long                 nr = (long)blk.n, r;
        int64_t              last_loc = -1;
#pragma omp parallel for schedule(static) reduction(min : bad_loc) reduction(max : last_loc)
        for (r = 0; r < nr; r++) {
            const void *row = cxa_row(&t, buf, (uint64_t)r);
            uint64_t    g   = start + (uint64_t)r;
            int64_t     s   = cxa_get_i64(c_s, row), b;
            int64_t     pi  = cxa_lmap_get(&map, cxa_lkey(cxa_get_u64(c_d, row), cxa_get_u64(c_p, row)));
            b               = s >= 0 ? s / bin_ps : -1;
            if (pi < 0 || b < 0) {
                if (g < bad_loc) bad_loc = g;
                pidx[g] = 0;
                continue;
            }
            pidx[g]      = (uint32_t)pi;
            tmp[g].bin   = b;
            tmp[g].bytes = cxa_get_u64(c_b, row);
            if (b > last_loc) last_loc = b;
        }
        if (bad_loc < bad) bad = bad_loc;
        if (last_loc > last) last = last_loc;
    }
    if (more < 0) goto out;
    if (bad != UINT64_MAX) {
        const void *row;
        if (cxa_table_read(&t, bad, 1, blk.buf) != 0) goto out;
        row = blk.buf;
        cxa_error(f->path, "%s row %llu (device %llu port %llu, start %lld ps): no such port in %s, or negative start",
                  CXA_T_BINS, (unsigned long long)bad, (unsigned long long)cxa_get_u64(c_d, row),
                  (unsigned long long)cxa_get_u64(c_p, row), (long long)cxa_get_i64(c_s, row), CXA_T_PORTS);
        goto out;
    }
    /* Counting sort by port, rows of a port keep their order. */
    for (i = 0; i < t.rows; i++) ports[pidx[i]].nrows++;
    for (i = 0; i < np; i++) {
        ports[i].off = i > 0 ? ports[i - 1].off + ports[i - 1].nrows : 0;
        fill[i]      = ports[i].off;
    }
    for (i = 0; i < t.rows; i++) bins[fill[pidx[i]]++] = tmp[i];
    *bins_out = bins;
    *nb_out   = t.rows;
    *last_bin = last;
    bins      = NULL;
    rc        = 0;
out:
    cxa_blocks_free(&blk);
    free(tmp);
    free(pidx);
    free(bins);
    free(fill);
    cxa_lmap_free(&map);
    cxa_table_close(&t);
    return rc;
}

/* Latest end_ps in /summary/iterations (-1 when absent or empty). */
static int64_t cxa_run_end(const cxa_file_t *f)
{
    cxa_table_t      t;
    void            *buf;
    const cxa_col_t *c;
    int64_t          end = -1;
    uint64_t         r;
    if (!cxa_exists(f, CXA_T_ITER) || cxa_table_open(f, CXA_T_ITER, 0, &t) != 0) return -1;
    c = cxa_col(&t, "end_ps");
    if (c != NULL && (buf = cxa_table_read_all(&t)) != NULL) {
        for (r = 0; r < t.rows; r++) {
            int64_t e = cxa_get_i64(c, cxa_row(&t, buf, r));
            if (e > end) end = e;
        }
        free(buf);
    }
    cxa_table_close(&t);
    return end;
}

/* ---- reductions ------------------------------------------------------- */

typedef struct cxa_lgroup {
    unsigned    cls, tier;
    uint64_t    first, n;            /* ports [first, first + n) */
    uint64_t    bytes, bin_bytes, rows;
    double      raw_max;
    cxa_lstat_t bin, run;
} cxa_lgroup_t;

typedef struct cxa_limb {
    unsigned    tier;
    uint64_t    ports;               /* summed over the groups */
    cxa_lstat_t ratio;               /* n = groups */
} cxa_limb_t;

static int cxa_lport_hot_cmp(const void *a, const void *b)
{
    const cxa_lport_t *x = *(const cxa_lport_t *const *)a, *y = *(const cxa_lport_t *const *)b;
    if (x->run_util != y->run_util) return x->run_util > y->run_util ? -1 : 1;
    if (x->peak != y->peak) return x->peak > y->peak ? -1 : 1;
    if (x->dev != y->dev) return x->dev < y->dev ? -1 : 1;
    return x->port < y->port ? -1 : x->port > y->port;
}

static int cxa_lport_peer_cmp(const void *a, const void *b)
{
    const cxa_lport_t *x = *(const cxa_lport_t *const *)a, *y = *(const cxa_lport_t *const *)b;
    if (x->tier != y->tier) return x->tier < y->tier ? -1 : 1;
    if (x->dev != y->dev) return x->dev < y->dev ? -1 : 1;
    if (x->peer_dev != y->peer_dev) return x->peer_dev < y->peer_dev ? -1 : 1;
    return x->port < y->port ? -1 : x->port > y->port;
}

/* Imbalance per tier over groups of ports: a group = consecutive entries of
 * ps (sorted by tier first) with equal key.  Groups of fewer than min_n
 * ports are skipped. */
static int cxa_imbalance(cxa_lport_t *const *ps, uint64_t n, int by_peer, uint64_t min_n, cxa_limb_t **out, int *nout)
{
    double    *ratio = malloc((n + 1) * sizeof(double));
    cxa_limb_t *res  = NULL;
    int        nres  = 0;
    uint64_t   i = 0;
    if (ratio == NULL) return -1;
    while (i < n) {
        unsigned tier = ps[i]->tier;
        uint64_t ng = 0, nports = 0;
        while (i < n && ps[i]->tier == tier) {
            uint64_t j = i, sum = 0, mx = 0;
            while (j < n && ps[j]->tier == tier && ps[j]->dev == ps[i]->dev &&
                   (!by_peer || ps[j]->peer_dev == ps[i]->peer_dev)) {
                sum += ps[j]->bytes;
                if (ps[j]->bytes > mx) mx = ps[j]->bytes;
                j++;
            }
            if (j - i >= min_n && sum > 0) {
                ratio[ng++] = (double)mx / ((double)sum / (double)(j - i));
                nports += j - i;
            }
            i = j;
        }
        if (ng > 0) {
            cxa_limb_t *r2 = realloc(res, (size_t)(nres + 1) * sizeof(cxa_limb_t));
            if (r2 == NULL) {
                free(ratio);
                free(res);
                return -1;
            }
            res = r2;
            res[nres].tier  = tier;
            res[nres].ports = nports;
            cxa_lstats(ratio, ng, &res[nres].ratio);
            nres++;
        }
    }
    free(ratio);
    *out  = res;
    *nout = nres;
    return 0;
}

static json_object *cxa_lstat_json(const cxa_lstat_t *s, int with_mean)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "p50", json_object_new_double(s->p50));
    json_object_object_add(o, "p90", json_object_new_double(s->p90));
    json_object_object_add(o, "p99", json_object_new_double(s->p99));
    json_object_object_add(o, "max", json_object_new_double(s->max));
    if (with_mean) json_object_object_add(o, "mean", json_object_new_double(s->mean));
    return o;
}

static json_object *cxa_limb_json(const cxa_limb_t *v, int n, const char *what, const char *per)
{
    json_object *a = json_object_new_array();
    int          i;
    for (i = 0; i < n; i++) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "tier", json_object_new_int64(v[i].tier));
        json_object_object_add(o, what, json_object_new_uint64(v[i].ratio.n));
        json_object_object_add(o, per, json_object_new_double((double)v[i].ports / (double)v[i].ratio.n));
        json_object_object_add(o, "mean", json_object_new_double(v[i].ratio.mean));
        json_object_object_add(o, "p99", json_object_new_double(v[i].ratio.p99));
        json_object_object_add(o, "max", json_object_new_double(v[i].ratio.max));
        json_object_array_add(a, o);
    }
    return a;
}

static void cxa_limb_print(const cxa_limb_t *v, int n, const char *what, const char *per)
{
    int i;
    printf("  %4s %9s %10s %8s %8s %8s\n", "tier", what, per, "mean", "p99", "max");
    for (i = 0; i < n; i++)
        printf("  %4u %9llu %10.2f %8.3f %8.3f %8.3f\n", v[i].tier, (unsigned long long)v[i].ratio.n,
               (double)v[i].ports / (double)v[i].ratio.n, v[i].ratio.mean, v[i].ratio.p99, v[i].ratio.max);
    if (n == 0) printf("  (none)\n");
}

/* One links report: the ports and their bins, groups, hottest links, imbalance. */
typedef struct cxa_links {
    cxa_file_t   *f;
    cxa_lport_t  *ports, **hot, **up, **down;
    cxa_lbin_t   *bins;
    cxa_lgroup_t *groups;
    cxa_limb_t   *imb_up, *imb_down;
    double       *out, *runv;
    uint64_t      np, nb, nout, nup, ndown;
    int64_t       bin_ps, complete;
    long          top;
    int           ng, nimb_up, nimb_down, match;
    double        bin_s, span_s;
} cxa_links_t;

/* Per port: sort its bins if needed, merge equal bins, count the spilled bins;
 * then every port's spilled bin utilisations (out) and run utilisation (runv). */
static int cxa_links_spill(cxa_links_t *L)
{
    long     k, lp = (long)L->np;
    uint64_t i;
#pragma omp parallel for schedule(dynamic, 16)
    for (k = 0; k < lp; k++) {
        cxa_lport_t *p = &L->ports[k];
        cxa_lbin_t  *b = L->bins + p->off;
        uint64_t     j, m = 0, sorted = 1;
        double       cap = p->bw * L->bin_s, pk;
        for (j = 1; j < p->nrows; j++)
            if (b[j].bin < b[j - 1].bin) sorted = 0;
        if (!sorted) qsort(b, (size_t)p->nrows, sizeof(cxa_lbin_t), cxa_lbin_cmp);
        p->raw_peak = 0.0;
        for (j = 0; j < p->nrows; j++) {
            double u = (double)b[j].bytes / cap;
            p->bin_bytes += b[j].bytes;
            if (u > p->raw_peak) p->raw_peak = u;
            if (m > 0 && b[m - 1].bin == b[j].bin) b[m - 1].bytes += b[j].bytes;
            else b[m++] = b[j];
        }
        p->nrows    = m;
        p->nout     = cxa_spill(b, m, cap, NULL, &pk);
        p->run_util = L->span_s > 0 ? (double)p->bytes / (p->bw * L->span_s) : 0.0;
    }
    for (i = 0; i < L->np; i++) {
        L->ports[i].out_off = L->nout;
        L->nout += L->ports[i].nout;
    }
    L->out  = malloc(((size_t)L->nout + 1) * sizeof(double));
    L->runv = malloc(((size_t)L->np + 1) * sizeof(double));
    if (L->out == NULL || L->runv == NULL) return -1;
#pragma omp parallel for schedule(dynamic, 16)
    for (k = 0; k < lp; k++) {
        cxa_lport_t *p = &L->ports[k];
        cxa_spill(L->bins + p->off, p->nrows, p->bw * L->bin_s, L->out + p->out_off, &p->peak);
        L->runv[k] = p->run_util;
    }
    return 0;
}

static int cxa_links_new_group(const cxa_lport_t *ports, uint64_t i)
{
    return i == 0 || ports[i].cls != ports[i - 1].cls || ports[i].tier != ports[i - 1].tier;
}

/* Groups of (class, tier) (ports are sorted by them) and their statistics;
 * per class, the bytes of the bins must equal those of the ports. */
static int cxa_links_groups(cxa_links_t *L)
{
    uint64_t i, cb[256], cp[256];
    long     k;
    int      g;
    for (i = 0; i < L->np; i++) L->ng += cxa_links_new_group(L->ports, i);
    L->groups = calloc((size_t)L->ng + 1, sizeof(cxa_lgroup_t));
    if (L->groups == NULL) return -1;
    g = -1;
    for (i = 0; i < L->np; i++) {
        cxa_lgroup_t *gr;
        if (cxa_links_new_group(L->ports, i)) {
            g++;
            L->groups[g].cls   = L->ports[i].cls;
            L->groups[g].tier  = L->ports[i].tier;
            L->groups[g].first = i;
        }
        gr = &L->groups[g];
        gr->n++;
        gr->bytes += L->ports[i].bytes;
        gr->bin_bytes += L->ports[i].bin_bytes;
        gr->rows += L->ports[i].nrows;
        if (L->ports[i].raw_peak > gr->raw_max) gr->raw_max = L->ports[i].raw_peak;
    }
#pragma omp parallel for schedule(dynamic, 1)
    for (k = 0; k < L->ng; k++) {
        cxa_lgroup_t      *gr = &L->groups[k];
        const cxa_lport_t *p0 = &L->ports[gr->first], *pl = &L->ports[gr->first + gr->n - 1];
        uint64_t           o = p0->out_off, n = pl->out_off + pl->nout - o;
        cxa_lstats(L->out + o, n, &gr->bin);
        cxa_lstats(L->runv + gr->first, gr->n, &gr->run);
    }
    memset(cb, 0, sizeof(cb));
    memset(cp, 0, sizeof(cp));
    for (g = 0; g < L->ng; g++) {
        cb[L->groups[g].cls & 255] += L->groups[g].bin_bytes;
        cp[L->groups[g].cls & 255] += L->groups[g].bytes;
    }
    for (g = 0; g < 256; g++)
        if (cb[g] != cp[g]) {
            L->match = 0;
            cxa_warn(L->f->path, "class %d (%s): %llu bytes in %s but %llu in %s", g, cxa_link_class_name((unsigned)g),
                     (unsigned long long)cb[g], CXA_T_BINS, (unsigned long long)cp[g], CXA_T_PORTS);
        }
    return 0;
}

/* Hottest links; ECMP imbalance over up ports and parallel down links. */
static int cxa_links_rank(cxa_links_t *L)
{
    uint64_t i;
    L->hot  = malloc(((size_t)L->np + 1) * sizeof(*L->hot));
    L->up   = malloc(((size_t)L->np + 1) * sizeof(*L->up));
    L->down = malloc(((size_t)L->np + 1) * sizeof(*L->down));
    if (L->hot == NULL || L->up == NULL || L->down == NULL) return -1;
    for (i = 0; i < L->np; i++) {
        L->hot[i] = &L->ports[i];
        if (L->ports[i].cls == 4) L->up[L->nup++] = &L->ports[i];
        if (L->ports[i].cls == 3 || L->ports[i].cls == 5) L->down[L->ndown++] = &L->ports[i];
    }
    qsort(L->hot, (size_t)L->np, sizeof(*L->hot), cxa_lport_hot_cmp);
    qsort(L->up, (size_t)L->nup, sizeof(*L->up), cxa_lport_peer_cmp);
    qsort(L->down, (size_t)L->ndown, sizeof(*L->down), cxa_lport_peer_cmp);
    if (cxa_imbalance(L->up, L->nup, 0, 1, &L->imb_up, &L->nimb_up) != 0 ||
        cxa_imbalance(L->down, L->ndown, 1, 2, &L->imb_down, &L->nimb_down) != 0)
        return -1;
    if ((uint64_t)L->top > L->np) L->top = (long)L->np;
    return 0;
}

static json_object *cxa_links_group_json(const cxa_lgroup_t *gr)
{
    json_object *o = json_object_new_object(), *bu = cxa_lstat_json(&gr->bin, 1);
    json_object_object_add(bu, "raw_max", json_object_new_double(gr->raw_max));
    json_object_object_add(o, "cls", json_object_new_int64(gr->cls));
    json_object_object_add(o, "class", json_object_new_string(cxa_link_class_name(gr->cls)));
    json_object_object_add(o, "tier", json_object_new_int64(gr->tier));
    json_object_object_add(o, "ports", json_object_new_uint64(gr->n));
    json_object_object_add(o, "bytes", json_object_new_uint64(gr->bytes));
    json_object_object_add(o, "bin_bytes", json_object_new_uint64(gr->bin_bytes));
    json_object_object_add(o, "bin_rows", json_object_new_uint64(gr->rows));
    json_object_object_add(o, "bins", json_object_new_uint64(gr->bin.n));
    json_object_object_add(o, "bin_utilization", bu);
    json_object_object_add(o, "run_utilization", cxa_lstat_json(&gr->run, 1));
    return o;
}

static json_object *cxa_links_port_json(const cxa_lport_t *p)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "dev", json_object_new_uint64(p->dev));
    json_object_object_add(o, "port", json_object_new_int64(p->port));
    json_object_object_add(o, "cls", json_object_new_int64(p->cls));
    json_object_object_add(o, "class", json_object_new_string(cxa_link_class_name(p->cls)));
    json_object_object_add(o, "tier", json_object_new_int64(p->tier));
    json_object_object_add(o, "peer_dev", json_object_new_uint64(p->peer_dev));
    json_object_object_add(o, "peer_port", json_object_new_int64(p->peer_port));
    json_object_object_add(o, "bandwidth", json_object_new_double(p->bw));
    json_object_object_add(o, "bytes", json_object_new_uint64(p->bytes));
    json_object_object_add(o, "mean_utilization", json_object_new_double(p->run_util));
    json_object_object_add(o, "peak_utilization", json_object_new_double(p->peak));
    return o;
}

static void cxa_links_print_json(const cxa_links_t *L)
{
    json_object *j = json_object_new_object(), *cls = json_object_new_array(), *tp = json_object_new_array(),
                *imb = json_object_new_object();
    long         k;
    json_object_object_add(j, "file", json_object_new_string(L->f->path));
    json_object_object_add(j, "complete", json_object_new_boolean(L->complete != 0));
    json_object_object_add(j, "link_bin_seconds", json_object_new_double(L->bin_s));
    json_object_object_add(j, "span_seconds", json_object_new_double(L->span_s));
    json_object_object_add(j, "ports", json_object_new_uint64(L->np));
    json_object_object_add(j, "bin_rows", json_object_new_uint64(L->nb));
    json_object_object_add(j, "bytes_match", json_object_new_boolean(L->match));
    for (k = 0; k < L->ng; k++) json_object_array_add(cls, cxa_links_group_json(&L->groups[k]));
    json_object_object_add(j, "classes", cls);
    for (k = 0; k < L->top; k++) json_object_array_add(tp, cxa_links_port_json(L->hot[k]));
    json_object_object_add(j, "top", tp);
    json_object_object_add(imb, "up", cxa_limb_json(L->imb_up, L->nimb_up, "switches", "ports_mean"));
    json_object_object_add(imb, "down_parallel", cxa_limb_json(L->imb_down, L->nimb_down, "groups", "links_mean"));
    json_object_object_add(j, "ecmp_imbalance", imb);
    printf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(j);
}

static void cxa_links_print_csv(const cxa_links_t *L)
{
    int g;
    printf("class,cls,tier,ports,bytes,bin_bytes,bin_rows,bins,bin_p50,bin_p90,bin_p99,bin_max,bin_mean,bin_raw_max,"
           "run_p50,run_p90,run_p99,run_max,run_mean,complete\n");
    for (g = 0; g < L->ng; g++) {
        const cxa_lgroup_t *gr = &L->groups[g];
        printf("%s,%u,%u,%llu,%llu,%llu,%llu,%llu,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,"
               "%.17g,%d\n",
               cxa_link_class_name(gr->cls), gr->cls, gr->tier, (unsigned long long)gr->n,
               (unsigned long long)gr->bytes, (unsigned long long)gr->bin_bytes, (unsigned long long)gr->rows,
               (unsigned long long)gr->bin.n, gr->bin.p50, gr->bin.p90, gr->bin.p99, gr->bin.max, gr->bin.mean,
               gr->raw_max, gr->run.p50, gr->run.p90, gr->run.p99, gr->run.max, gr->run.mean, L->complete != 0);
    }
}

static void cxa_links_print_table(const cxa_links_t *L)
{
    long k;
    int  g;
    if (!L->complete) printf("INCOMPLETE: run stopped early (/meta/complete = 0)\n");
    printf("links in %s: %llu ports with traffic, %llu bin rows, bins %.3f ms, run span %.6f s\n", L->f->path,
           (unsigned long long)L->np, (unsigned long long)L->nb, L->bin_s * 1e3, L->span_s);
    printf("utilisation: bin = bytes / (bandwidth x bin) over bins with traffic (chunks spilled back, "
           "raw = as written);\n             run = bytes / (bandwidth x span) per port; nearest-rank percentiles\n");
    printf("%-14s %4s %6s %12s %9s | %6s %6s %6s %6s %7s | %6s %6s %6s %6s\n", "class", "tier", "ports", "GB",
           "bins", "p50", "p90", "p99", "max", "raw max", "run50", "run90", "run99", "runmax");
    for (g = 0; g < L->ng; g++) {
        const cxa_lgroup_t *gr = &L->groups[g];
        printf("%-14s %4u %6llu %12.3f %9llu | %6.3f %6.3f %6.3f %6.3f %7.3f | %6.3f %6.3f %6.3f %6.3f\n",
               cxa_link_class_name(gr->cls), gr->tier, (unsigned long long)gr->n, (double)gr->bytes * 1e-9,
               (unsigned long long)gr->bin.n, gr->bin.p50, gr->bin.p90, gr->bin.p99, gr->bin.max, gr->raw_max,
               gr->run.p50, gr->run.p90, gr->run.p99, gr->run.max);
    }
    if (!L->match) printf("WARNING: bytes in %s differ from %s (see stderr)\n", CXA_T_BINS, CXA_T_PORTS);
    printf("\ntop %ld links by mean utilisation over the run:\n", L->top);
    printf("  %8s %5s %-14s %4s %14s %12s %7s %7s\n", "dev", "port", "class", "tier", "peer dev:port", "GB", "mean",
           "peak");
    for (k = 0; k < L->top; k++) {
        const cxa_lport_t *p = L->hot[k];
        char               peer[48];
        snprintf(peer, sizeof(peer), "%llu:%u", (unsigned long long)p->peer_dev, p->peer_port);
        printf("  %8llu %5u %-14s %4u %14s %12.3f %7.3f %7.3f\n", (unsigned long long)p->dev, p->port,
               cxa_link_class_name(p->cls), p->tier, peer, (double)p->bytes * 1e-9, p->run_util, p->peak);
    }
    printf("\nECMP imbalance, up ports (per switch: max / mean bytes over its up ports that carried traffic):\n");
    cxa_limb_print(L->imb_up, L->nimb_up, "switches", "ports/sw");
    printf("ECMP imbalance, parallel down links (per switch and peer reached over >= 2 links):\n");
    cxa_limb_print(L->imb_down, L->nimb_down, "groups", "links/grp");
}

/* Read, reduce and print: CXA_EXIT_OK or CXA_EXIT_FILE after one error. */
static int cxa_links_run(cxa_links_t *L, cxa_format_t fmt)
{
    int64_t run_end, last_bin = -1, span_ps, bin_ps;
    if (cxa_meta_i64(L->f, "link_bin_ps", &L->bin_ps) != 0 || cxa_bin_ps_ok(L->bin_ps) == 0) {
        cxa_error(L->f->path, "/meta/link_bin_ps missing or not in (0, 2^62) (trace written without --trace-level links?)");
        return CXA_EXIT_FILE;
    }
    bin_ps = L->bin_ps;
    if (cxa_read_ports(L->f, &L->ports, &L->np) != 0) return CXA_EXIT_FILE;
    if (cxa_read_bins(L->f, L->ports, L->np, bin_ps, &L->bins, &L->nb, &last_bin) != 0) return CXA_EXIT_FILE;
    run_end = cxa_run_end(L->f);
    span_ps = run_end > 0 ? run_end : 0;
    if (last_bin >= 0 && last_bin * bin_ps >= span_ps) span_ps = (last_bin + 1) * bin_ps;
    L->bin_s  = (double)bin_ps * 1e-12;
    L->span_s = (double)span_ps * 1e-12;
    if (cxa_links_spill(L) != 0 || cxa_links_groups(L) != 0 || cxa_links_rank(L) != 0) {
        cxa_error(L->f->path, "out of memory");
        return CXA_EXIT_FILE;
    }
    if (fmt == CXA_FMT_JSON)
        cxa_links_print_json(L);
    else if (fmt == CXA_FMT_CSV)
        cxa_links_print_csv(L);
    else
        cxa_links_print_table(L);
    return CXA_EXIT_OK;
}

int cxa_cmd_links(int argc, char **argv)
{
    cxa_args_t   a;
    cxa_format_t fmt;
    cxa_file_t   f;
    cxa_links_t  L;
    int          rc;

    rc = cxa_cmd_start("links", argc, argv, "top format",
                       "usage: colossim-analyze links FILE [--top N] [--format table|json|csv]\n"
                       "  link utilisation of a run with --trace-level links: per link class and tier,\n"
                       "  p50/p90/p99/max of bytes / (bandwidth x bin) over the bins with traffic and of\n"
                       "  bytes / (bandwidth x run span) over the ports; the N hottest links (default 10);\n"
                       "  ECMP imbalance (max/mean bytes over a switch's up ports, and over parallel\n"
                       "  down links to one peer) per tier.  csv: the per class and tier table, one row\n"
                       "  each (bin_* and run_* utilisation columns).\n",
                       &a, &fmt);
    if (rc >= 0) return rc;
    memset(&L, 0, sizeof(L));
    L.top      = 10;
    L.complete = 1;
    L.match    = 1;
    L.f        = &f;
    if (cxa_parse_top(a.top, &L.top) != 0) return CXA_EXIT_USAGE;
    if (cxa_open(&f, a.pos[0]) != 0) return CXA_EXIT_FILE;
    if (!cxa_exists(&f, "/links")) {
        fprintf(stderr, "colossim-analyze: %s: trace has no /links data (run with --trace-level links)\n", f.path);
        cxa_close(&f);
        return CXA_EXIT_USAGE;
    }
    cxa_meta_i64(&f, "complete", &L.complete);
    if (!L.complete) fprintf(stderr, "colossim-analyze: %s: INCOMPLETE: run stopped early\n", f.path);
    rc = cxa_links_run(&L, fmt);
    free(L.ports);
    free(L.bins);
    free(L.groups);
    free(L.imb_up);
    free(L.imb_down);
    free(L.out);
    free(L.runv);
    free(L.hot);
    free(L.up);
    free(L.down);
    cxa_close(&f);
    return rc;
}
