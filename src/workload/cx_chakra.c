/*
 * Chakra ET import (cx_chakra.h): read each rank's graph with protobuf-c
 * (src/workload/chakra_et.proto, our own subset of the published schema),
 * order it, turn it into colossim ops and write a replay directory.
 *
 * Two passes over the ranks, so memory holds one rank's graph at a time:
 * the first converts every rank and checks what must agree across ranks
 * (the collectives each rank issues, in order; sends against receives),
 * the second converts again and writes.  Nothing is written when the first
 * pass fails; replay.yaml, which makes the directory a job, is written last.
 */
#define _POSIX_C_SOURCE 200809L
#include "cx_chakra.h"
#include "cx_file.h"

#include <dirent.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cx_log.h"
#include "cx_replay.h"
#include "cx_workload.h"

void cx_chakra_opts_init(cx_chakra_opts_t *o)
{
    memset(o, 0, sizeof(*o));
    o->durations = CX_CHAKRA_DUR_MEASURED;
}

#ifndef CX_HAVE_PROTOBUF_C

int cx_chakra_available(void) { return 0; }

cx_status_t cx_chakra_import(const char *et_dir, const char *workload_path, const char *out_dir,
                             const cx_chakra_opts_t *o, cx_chakra_stats_t *stats, cx_err_t *err)
{
    (void)workload_path;
    (void)out_dir;
    (void)o;
    (void)stats;
    return cx_err_set(err, CX_ERR_UNSUPPORTED, et_dir, 0, NULL,
                      "this colossim was built without protobuf-c (Debian: libprotobuf-c-dev, protobuf-c-compiler)");
}

#else

#include "chakra_et.pb-c.h"

#define CX_CK_TAG_COLL (UINT64_C(1) << 63)
#define CX_CK_TAG_P2P  (UINT64_C(1) << 62)

typedef struct cx_ck_file {
    char     path[4096];
    uint64_t rank;
} cx_ck_file_t;

/* One rank's graph, as read. */
typedef struct cx_ck_graph {
    const char            *path;
    uint8_t               *buf;
    size_t                 n, cap;
    ChakraProtoMsg__Node **nodes;
    char                   version[64];
} cx_ck_graph_t;

/* What must agree across ranks. */
typedef struct cx_ck_coll {
    uint8_t  kind;
    uint32_t group;
    uint64_t bytes;
    uint64_t node;
} cx_ck_coll_t;

/* A process group: ranks base + i x stride, i < size (colossim's groups are
 * arithmetic progressions).  Group 0 is all ranks.  ref: the collectives its
 * first member issues, which every other member must issue alike. */
typedef struct cx_ck_group {
    char          name[128];
    uint64_t      base, stride, size;
    cx_ck_coll_t *ref;
    size_t        n_ref;
    int64_t       ref_rank; /* -1: no member seen yet */
} cx_ck_group_t;

typedef struct cx_ck_groups {
    cx_ck_group_t *g;
    size_t         n;
    const char    *path;
} cx_ck_groups_t;

typedef struct cx_ck_p2p {
    uint64_t src, dst, tag, bytes;
} cx_ck_p2p_t;

typedef struct cx_ck_out {
    cx_op_t     *ops;
    size_t       n, cap;
    cx_ck_coll_t *coll;
    size_t       n_coll, cap_coll;
    cx_ck_p2p_t  *p2p_send, *p2p_recv;
    size_t       n_send, cap_send, n_recv, cap_recv;
} cx_ck_out_t;

int cx_chakra_available(void) { return 1; }

static void *cx_ck_grow(void *p, size_t *cap, size_t need, size_t size)
{
    size_t c = *cap ? *cap : 64;
    void  *q;
    if (need <= *cap) return p;
    while (c < need) c *= 2;
    q = realloc(p, c * size);
    if (q == NULL) cx_fatal("out of memory");
    *cap = c;
    return q;
}

/* ---- files -------------------------------------------------------------- */

static int cx_ck_file_cmp(const void *a, const void *b)
{
    const cx_ck_file_t *x = a, *y = b;
    if (x->rank != y->rank) return x->rank < y->rank ? -1 : 1;
    return strcmp(x->path, y->path);
}

/* NAME.RANK.et -> RANK, or -1. */
static long long cx_ck_rank_of(const char *name)
{
    size_t      l = strlen(name);
    const char *end, *p;
    if (l < 4 || strcmp(name + l - 3, ".et") != 0) return -1;
    end = name + l - 3;
    p   = end;
    while (p > name && p[-1] >= '0' && p[-1] <= '9') p--;
    if (p == end || p == name || p[-1] != '.' || end - p > 9) return -1;
    return strtoll(p, NULL, 10);
}

static cx_status_t cx_ck_list(const char *dir, cx_ck_file_t **files_p, size_t *n_p, cx_err_t *err)
{
    DIR           *d = opendir(dir);
    struct dirent *e;
    cx_ck_file_t  *f = NULL;
    size_t         n = 0, cap = 0, i, ranked = 0;
    if (d == NULL) return cx_err_set(err, CX_ERR_IO, dir, 0, NULL, "cannot read the directory: %s", strerror(errno));
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l < 4 || strcmp(e->d_name + l - 3, ".et") != 0) continue;
        f = cx_ck_grow(f, &cap, n + 1, sizeof(*f));
        snprintf(f[n].path, sizeof(f[n].path), "%s/%s", dir, e->d_name);
        {
            long long r = cx_ck_rank_of(e->d_name);
            f[n].rank   = r >= 0 ? (uint64_t)r : UINT64_MAX;
            ranked += r >= 0;
        }
        n++;
    }
    closedir(d);
    if (n == 0) {
        free(f);
        return cx_err_set(err, CX_ERR_INVALID, dir, 0, NULL, "no Chakra ET files (*.et) in this directory");
    }
    if (ranked != 0 && ranked != n) {
        free(f);
        return cx_err_set(err, CX_ERR_INVALID, dir, 0, NULL,
                          "some .et files carry a rank (NAME.RANK.et) and some do not: name them all or none");
    }
    qsort(f, n, sizeof(*f), cx_ck_file_cmp);
    for (i = 0; i < n; i++) {
        if (ranked == 0) {
            f[i].rank = i;
        } else if (f[i].rank != i) {
            cx_status_t st = cx_err_set(err, CX_ERR_INVALID, f[i].path, 0, NULL,
                                        "rank %llu where rank %llu was expected: ranks must be 0..%zu, each once",
                                        (unsigned long long)f[i].rank, (unsigned long long)i, n - 1);
            free(f);
            return st;
        }
    }
    *files_p = f;
    *n_p     = n;
    return CX_OK;
}

/* ---- reading one ET file ------------------------------------------------ */

static int cx_ck_varint(const uint8_t *p, size_t left, uint64_t *v, size_t *used)
{
    uint64_t x = 0;
    size_t   i;
    for (i = 0; i < left && i < 10; i++) {
        x |= (uint64_t)(p[i] & 0x7F) << (7 * i);
        if (!(p[i] & 0x80)) {
            *v    = x;
            *used = i + 1;
            return 0;
        }
    }
    return -1;
}

static void cx_ck_graph_free(cx_ck_graph_t *g)
{
    size_t i;
    for (i = 0; i < g->n; i++) chakra_proto_msg__node__free_unpacked(g->nodes[i], NULL);
    free(g->nodes);
    free(g->buf);
    memset(g, 0, sizeof(*g));
}

static cx_status_t cx_ck_read(const char *path, cx_ck_graph_t *g, cx_err_t *err)
{
    FILE          *fp;
    struct stat    sb;
    size_t         size, pos = 0, k = 0;
    cx_status_t    st = CX_OK;
    memset(g, 0, sizeof(*g));
    g->path = path;
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
        return cx_err_set(err, CX_ERR_IO, path, 0, NULL, "not a regular file");
    size = (size_t)sb.st_size;
    fp   = fopen(path, "rb");
    if (fp == NULL) return cx_err_set(err, CX_ERR_IO, path, 0, NULL, "cannot read: %s", strerror(errno));
    g->buf = malloc(size > 0 ? size : 1);
    if (g->buf == NULL || fread(g->buf, 1, size, fp) != size) {
        fclose(fp);
        cx_ck_graph_free(g);
        return cx_err_set(err, CX_ERR_IO, path, 0, NULL, "cannot read %zu bytes", size);
    }
    fclose(fp);
    while (pos < size && st == CX_OK) {
        uint64_t len;
        size_t   used;
        if (cx_ck_varint(g->buf + pos, size - pos, &len, &used) != 0 || len > size - pos - used) {
            st = cx_err_set(err, CX_ERR_PARSE, path, 0, NULL,
                            "truncated or not a Chakra ET file: message %zu at byte %zu %s", k, pos,
                            cx_ck_varint(g->buf + pos, size - pos, &len, &used) != 0
                                ? "has no length"
                                : "is longer than the rest of the file");
            break;
        }
        pos += used;
        if (k == 0) {
            ChakraProtoMsg__GlobalMetadata *m = chakra_proto_msg__global_metadata__unpack(NULL, (size_t)len, g->buf + pos);
            if (m == NULL) {
                st = cx_err_set(err, CX_ERR_PARSE, path, 0, "GlobalMetadata",
                                "the first message does not decode: not a Chakra ET file");
                break;
            }
            snprintf(g->version, sizeof(g->version), "%s", m->version != NULL ? m->version : "");
            chakra_proto_msg__global_metadata__free_unpacked(m, NULL);
            /* The schema above is that of the 0.0.x line of ET files. */
            if (strncmp(g->version, "0.0.", 4) != 0) {
                st = cx_err_set(err, CX_ERR_UNSUPPORTED, path, 0, "GlobalMetadata.version",
                                "Chakra ET version '%s' is not supported (0.0.x, as chakra's converters write)",
                                g->version);
                break;
            }
        } else {
            ChakraProtoMsg__Node *nd = chakra_proto_msg__node__unpack(NULL, (size_t)len, g->buf + pos);
            if (nd == NULL) {
                st = cx_err_set(err, CX_ERR_PARSE, path, 0, "Node", "message %zu at byte %zu does not decode as a Node",
                                k, pos - used);
                break;
            }
            g->nodes          = cx_ck_grow(g->nodes, &g->cap, g->n + 1, sizeof(*g->nodes));
            g->nodes[g->n++]  = nd;
        }
        pos += (size_t)len;
        k++;
    }
    if (st == CX_OK && k == 0) st = cx_err_set(err, CX_ERR_PARSE, path, 0, NULL, "empty file: not a Chakra ET file");
    if (st != CX_OK) cx_ck_graph_free(g);
    return st;
}

/* ---- attributes --------------------------------------------------------- */

static const ChakraProtoMsg__AttributeProto *cx_ck_attr(const ChakraProtoMsg__Node *n, const char *name)
{
    size_t i;
    for (i = 0; i < n->n_attr; i++)
        if (n->attr[i]->name != NULL && strcmp(n->attr[i]->name, name) == 0) return n->attr[i];
    return NULL;
}

/* A numeric attribute as double; 0 absent, 1 found, -1 not a number. */
static int cx_ck_num(const ChakraProtoMsg__Node *n, const char *name, double *v)
{
    const ChakraProtoMsg__AttributeProto *a = cx_ck_attr(n, name);
    if (a == NULL) return 0;
    switch (a->value_case) {
    case CHAKRA_PROTO_MSG__ATTRIBUTE_PROTO__VALUE_DOUBLE_VAL: *v = a->double_val; break;
    case CHAKRA_PROTO_MSG__ATTRIBUTE_PROTO__VALUE_FLOAT_VAL: *v = a->float_val; break;
    case CHAKRA_PROTO_MSG__ATTRIBUTE_PROTO__VALUE_INT32_VAL: *v = a->int32_val; break;
    case CHAKRA_PROTO_MSG__ATTRIBUTE_PROTO__VALUE_INT64_VAL: *v = (double)a->int64_val; break;
    case CHAKRA_PROTO_MSG__ATTRIBUTE_PROTO__VALUE_UINT32_VAL: *v = a->uint32_val; break;
    case CHAKRA_PROTO_MSG__ATTRIBUTE_PROTO__VALUE_UINT64_VAL: *v = (double)a->uint64_val; break;
    case CHAKRA_PROTO_MSG__ATTRIBUTE_PROTO__VALUE_SINT32_VAL: *v = a->sint32_val; break;
    case CHAKRA_PROTO_MSG__ATTRIBUTE_PROTO__VALUE_SINT64_VAL: *v = (double)a->sint64_val; break;
    case CHAKRA_PROTO_MSG__ATTRIBUTE_PROTO__VALUE_FIXED32_VAL: *v = a->fixed32_val; break;
    case CHAKRA_PROTO_MSG__ATTRIBUTE_PROTO__VALUE_FIXED64_VAL: *v = (double)a->fixed64_val; break;
    case CHAKRA_PROTO_MSG__ATTRIBUTE_PROTO__VALUE_SFIXED32_VAL: *v = a->sfixed32_val; break;
    case CHAKRA_PROTO_MSG__ATTRIBUTE_PROTO__VALUE_SFIXED64_VAL: *v = (double)a->sfixed64_val; break;
    case CHAKRA_PROTO_MSG__ATTRIBUTE_PROTO__VALUE_BOOL_VAL: *v = a->bool_val ? 1.0 : 0.0; break;
    default: return -1;
    }
    return 1;
}

static cx_status_t cx_ck_need(const cx_ck_graph_t *g, const ChakraProtoMsg__Node *n, const char *name, double lo,
                              double hi, double *v, cx_err_t *err)
{
    char field[96];
    int  r = cx_ck_num(n, name, v);
    snprintf(field, sizeof(field), "node %llu (%s).%s", (unsigned long long)n->id, n->name ? n->name : "", name);
    if (r == 0) return cx_err_set(err, CX_ERR_INVALID, g->path, 0, field, "missing");
    if (r < 0) return cx_err_set(err, CX_ERR_INVALID, g->path, 0, field, "not a number");
    if (!(*v >= lo && *v <= hi)) return cx_err_set(err, CX_ERR_RANGE, g->path, 0, field, "%g is outside [%g, %g]", *v, lo, hi);
    return CX_OK;
}

/* A string attribute, or NULL. */
static const char *cx_ck_str(const ChakraProtoMsg__Node *n, const char *name)
{
    const ChakraProtoMsg__AttributeProto *a = cx_ck_attr(n, name);
    return a != NULL && a->value_case == CHAKRA_PROTO_MSG__ATTRIBUTE_PROTO__VALUE_STRING_VAL ? a->string_val : NULL;
}

/* ---- process groups ----------------------------------------------------- */

static int cx_ck_u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void cx_ck_groups_free(cx_ck_groups_t *gs)
{
    size_t i;
    for (i = 0; i < gs->n; i++) free(gs->g[i].ref);
    free(gs->g);
    memset(gs, 0, sizeof(*gs));
}

/* Group 0 = all ranks, then the file's groups: {"NAME": [ranks], ...}. */
static cx_status_t cx_ck_groups_load(const char *path, uint64_t nranks, cx_ck_groups_t *gs, cx_err_t *err)
{
    json_object *root;
    cx_status_t  st = CX_OK;
    memset(gs, 0, sizeof(*gs));
    gs->path = path;
    gs->g    = calloc(1, sizeof(*gs->g));
    if (gs->g == NULL) cx_fatal("out of memory");
    gs->n              = 1;
    gs->g[0].base      = 0;
    gs->g[0].stride    = 1;
    gs->g[0].size      = nranks;
    gs->g[0].ref_rank  = -1;
    if (path == NULL) return CX_OK;
    root = json_object_from_file(path);
    if (root == NULL || !json_object_is_type(root, json_type_object)) {
        if (root != NULL) json_object_put(root);
        cx_ck_groups_free(gs);
        return cx_err_set(err, CX_ERR_PARSE, path, 0, NULL,
                          "not a comm groups file: expected a JSON object {\"PG_NAME\": [ranks], ...}");
    }
    {
        json_object_object_foreach(root, name, val)
        {
            cx_ck_group_t *g;
            uint64_t      *r;
            size_t         n, i;
            if (st != CX_OK) break;
            if (!json_object_is_type(val, json_type_array) || (n = json_object_array_length(val)) == 0) {
                st = cx_err_set(err, CX_ERR_INVALID, path, 0, name, "expected a non-empty list of ranks");
                break;
            }
            r = malloc(n * sizeof(*r));
            if (r == NULL) cx_fatal("out of memory");
            for (i = 0; i < n && st == CX_OK; i++) {
                json_object *e = json_object_array_get_idx(val, i);
                int64_t      v = json_object_is_type(e, json_type_int) ? json_object_get_int64(e) : -1;
                if (v < 0 || (uint64_t)v >= nranks)
                    st = cx_err_set(err, CX_ERR_INVALID, path, 0, name, "element %zu is not a rank 0..%llu", i,
                                    (unsigned long long)(nranks - 1));
                r[i] = (uint64_t)v;
            }
            if (st == CX_OK) {
                qsort(r, n, sizeof(*r), cx_ck_u64_cmp);
                for (i = 1; i < n && st == CX_OK; i++) {
                    if (r[i] == r[i - 1] || (i >= 2 && r[i] - r[i - 1] != r[1] - r[0]))
                        st = cx_err_set(err, CX_ERR_UNSUPPORTED, path, 0, name,
                                        "ranks %llu, %llu, ... are not evenly spaced: colossim's groups are "
                                        "base + i x stride", (unsigned long long)r[0], (unsigned long long)r[1]);
                }
            }
            if (st == CX_OK) {
                gs->g = realloc(gs->g, (gs->n + 1) * sizeof(*gs->g));
                if (gs->g == NULL) cx_fatal("out of memory");
                g = &gs->g[gs->n++];
                memset(g, 0, sizeof(*g));
                snprintf(g->name, sizeof(g->name), "%s", name);
                g->base     = r[0];
                g->stride   = n > 1 ? r[1] - r[0] : 1;
                g->size     = n;
                g->ref_rank = -1;
            }
            free(r);
        }
    }
    json_object_put(root);
    if (st != CX_OK) cx_ck_groups_free(gs);
    return st;
}

static int cx_ck_member(const cx_ck_group_t *g, uint64_t rank, uint64_t *index)
{
    if (rank < g->base || (rank - g->base) % g->stride != 0 || (rank - g->base) / g->stride >= g->size) return 0;
    if (index != NULL) *index = (rank - g->base) / g->stride;
    return 1;
}

/* ---- one rank: graph -> ops --------------------------------------------- */

typedef struct cx_ck_idx {
    uint64_t id;
    size_t   i;
} cx_ck_idx_t;

static int cx_ck_idx_cmp(const void *a, const void *b)
{
    const cx_ck_idx_t *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

static int cx_ck_p2p_cmp(const void *a, const void *b)
{
    const cx_ck_p2p_t *x = a, *y = b;
    if (x->src != y->src) return x->src < y->src ? -1 : 1;
    if (x->dst != y->dst) return x->dst < y->dst ? -1 : 1;
    if (x->tag != y->tag) return x->tag < y->tag ? -1 : 1;
    return x->bytes < y->bytes ? -1 : x->bytes > y->bytes;
}

/* Ready nodes, smallest (start time, id) first. */
typedef struct cx_ck_heap {
    size_t *v;
    size_t  n;
} cx_ck_heap_t;

static int cx_ck_before(const cx_ck_graph_t *g, size_t a, size_t b)
{
    const ChakraProtoMsg__Node *x = g->nodes[a], *y = g->nodes[b];
    if (x->start_time_micros != y->start_time_micros) return x->start_time_micros < y->start_time_micros;
    return x->id < y->id;
}

static void cx_ck_push(cx_ck_heap_t *h, const cx_ck_graph_t *g, size_t x)
{
    size_t i = h->n++;
    h->v[i]  = x;
    while (i > 0 && cx_ck_before(g, h->v[i], h->v[(i - 1) / 2])) {
        size_t t = h->v[i];
        h->v[i] = h->v[(i - 1) / 2];
        h->v[(i - 1) / 2] = t;
        i = (i - 1) / 2;
    }
}

static size_t cx_ck_pop(cx_ck_heap_t *h, const cx_ck_graph_t *g)
{
    size_t top = h->v[0], i = 0;
    h->v[0] = h->v[--h->n];
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i, t;
        if (l < h->n && cx_ck_before(g, h->v[l], h->v[m])) m = l;
        if (r < h->n && cx_ck_before(g, h->v[r], h->v[m])) m = r;
        if (m == i) break;
        t = h->v[i];
        h->v[i] = h->v[m];
        h->v[m] = t;
        i = m;
    }
    return top;
}

static void cx_ck_emit(cx_ck_out_t *o, const cx_op_t *op, uint64_t count[CX_NUM_STREAMS])
{
    o->ops          = cx_ck_grow(o->ops, &o->cap, o->n + 1, sizeof(*o->ops));
    o->ops[o->n++] = *op;
    count[op->stream]++;
}

static void cx_ck_op_init(cx_op_t *op, int kind, int stream)
{
    memset(op, 0, sizeof(*op));
    op->kind       = (uint8_t)kind;
    op->stream     = (uint8_t)stream;
    op->layer      = CX_OP_NO_LAYER;
    op->microbatch = CX_OP_NO_MB;
}

typedef struct cx_ck_occ {
    uint64_t peer, tag, n;
} cx_ck_occ_t;

/* The k-th message between this rank and peer with Chakra tag t (per
 * direction) gets colossim tag P2P | t << 32 | k on both sides. */
static uint64_t cx_ck_p2p_tag(cx_ck_occ_t **occ, size_t *n, size_t *cap, uint64_t peer, uint64_t t)
{
    size_t i;
    for (i = 0; i < *n; i++)
        if ((*occ)[i].peer == peer && (*occ)[i].tag == t) break;
    if (i == *n) {
        *occ = cx_ck_grow(*occ, cap, *n + 1, sizeof(**occ));
        (*occ)[i].peer = peer;
        (*occ)[i].tag  = t;
        (*occ)[i].n    = 0;
        (*n)++;
    }
    return CX_CK_TAG_P2P | ((t & 0x3FFFFFFFu) << 32) | ((*occ)[i].n++ & 0xFFFFFFFFu);
}

/* One rank's conversion: the graph indexed, its edges, the ready heap and
 * per stream the ops emitted and the waits already placed. */
typedef struct cx_ck_conv {
    const cx_ck_graph_t    *g;
    uint64_t                rank;
    const cx_ck_groups_t   *gs;
    const cx_chakra_opts_t *opt;
    cx_ck_out_t            *o;
    cx_chakra_stats_t      *stats;
    size_t                  n;
    cx_ck_idx_t            *idx;
    size_t                 *indeg, *head, *adj;
    uint64_t (*prov)[CX_NUM_STREAMS];
    uint64_t                count[CX_NUM_STREAMS], waited[CX_NUM_STREAMS][CX_NUM_STREAMS];
    uint64_t               *coll_seq;
    cx_ck_heap_t            h;
    cx_ck_occ_t            *occ_s, *occ_r;
    size_t                  n_os, c_os, n_or, c_or;
} cx_ck_conv_t;

/* Dependency j of node x: its index (the file has it: checked by cx_ck_edges). */
static uint64_t cx_ck_dep_id(const ChakraProtoMsg__Node *x, size_t j)
{
    return j < x->n_data_deps ? x->data_deps[j] : x->ctrl_deps[j - x->n_data_deps];
}

/* Node ids unique; dependents lists (CSR): for dependency d of node x, an edge d -> x. */
static cx_status_t cx_ck_edges(cx_ck_conv_t *C, cx_err_t *err)
{
    const cx_ck_graph_t *g = C->g;
    size_t               n = C->n, i, j, n_edges = 0, *fill;
    for (i = 0; i < n; i++) {
        C->idx[i].id = g->nodes[i]->id;
        C->idx[i].i  = i;
    }
    qsort(C->idx, n, sizeof(*C->idx), cx_ck_idx_cmp);
    for (i = 1; i < n; i++)
        if (C->idx[i].id == C->idx[i - 1].id)
            return cx_err_set(err, CX_ERR_INVALID, g->path, 0, "Node.id", "node id %llu appears twice",
                              (unsigned long long)C->idx[i].id);
    for (i = 0; i < n; i++) {
        const ChakraProtoMsg__Node *x = g->nodes[i];
        for (j = 0; j < x->n_data_deps + x->n_ctrl_deps; j++) {
            cx_ck_idx_t key = {cx_ck_dep_id(x, j), 0}, *hit;
            hit = bsearch(&key, C->idx, n, sizeof(*C->idx), cx_ck_idx_cmp);
            if (hit == NULL) {
                char field[64];
                snprintf(field, sizeof(field), "node %llu.%s", (unsigned long long)x->id,
                         j < x->n_data_deps ? "data_deps" : "ctrl_deps");
                return cx_err_set(err, CX_ERR_INVALID, g->path, 0, field,
                                  "depends on node %llu, which is not in the file", (unsigned long long)key.id);
            }
            C->head[hit->i + 1]++;
            C->indeg[i]++;
            n_edges++;
        }
    }
    fill   = calloc(n + 1, sizeof(size_t));
    C->adj = malloc((n_edges ? n_edges : 1) * sizeof(size_t));
    if (fill == NULL || C->adj == NULL) cx_fatal("out of memory");
    for (i = 0; i < n; i++) C->head[i + 1] += C->head[i];
    for (i = 0; i < n; i++) {
        const ChakraProtoMsg__Node *x = g->nodes[i];
        for (j = 0; j < x->n_data_deps + x->n_ctrl_deps; j++) {
            cx_ck_idx_t  key = {cx_ck_dep_id(x, j), 0};
            cx_ck_idx_t *hit = bsearch(&key, C->idx, n, sizeof(*C->idx), cx_ck_idx_cmp);
            C->adj[C->head[hit->i] + fill[hit->i]++] = i;
        }
    }
    free(fill);
    return CX_OK;
}

/* A compute node: a GEMM on the compute stream (a CPU op: none, *stream stays -1). */
static cx_status_t cx_ck_comp(cx_ck_conv_t *C, const ChakraProtoMsg__Node *x, cx_op_t *op, int *stream, cx_err_t *err)
{
    double flops = 0, bytes = 0, is_cpu = 0;
    int    has_ops;
    if (cx_ck_num(x, "is_cpu_op", &is_cpu) > 0 && is_cpu != 0) return CX_OK;
    *stream = CX_STREAM_COMPUTE;
    cx_ck_op_init(op, CX_OP_COMPUTE, *stream);
    op->cls = CX_CLS_GEMM;
    has_ops = cx_ck_num(x, "num_ops", &flops) > 0;
    if (cx_ck_num(x, "tensor_size", &bytes) <= 0) bytes = 0;
    if (!has_ops) flops = 0;
    if (x->duration_micros > 0 && (C->opt->durations == CX_CHAKRA_DUR_MEASURED || !has_ops)) {
        /* Measured: replayed as that time on any GPU (FLOPs and bytes kept as labels). */
        uint64_t us_max = (uint64_t)CX_OP_MAX_DURATION_PS / 1000000;
        op->flags |= CX_OP_F_MEASURED;
        op->u.duration_ps = (x->duration_micros < us_max ? x->duration_micros : us_max) * 1000000;
        C->stats->measured++;
    }
    if (!(flops >= 0 && flops <= CX_OP_MAX_FLOPS) || !(bytes >= 0 && bytes <= (double)CX_OP_MAX_BYTES)) {
        char field[64];
        snprintf(field, sizeof(field), "node %llu", (unsigned long long)x->id);
        return cx_err_set(err, CX_ERR_RANGE, C->g->path, 0, field,
                          "%g FLOPs / %g bytes outside [0, %g] / [0, 2^40] per kernel", flops, bytes, CX_OP_MAX_FLOPS);
    }
    op->flops = flops;
    op->bytes = (uint64_t)bytes;
    C->stats->compute++;
    return CX_OK;
}

/* The process group of a collective node (0: the whole job) and this rank's place in it. */
static cx_status_t cx_ck_coll_group(const cx_ck_conv_t *C, const ChakraProtoMsg__Node *x, size_t *gid_p,
                                    uint64_t *member, cx_err_t *err)
{
    const cx_ck_groups_t *gs = C->gs;
    const char           *pg = cx_ck_str(x, "pg_name");
    size_t                gid = 0;
    char                  field[64];
    snprintf(field, sizeof(field), "node %llu.pg_name", (unsigned long long)x->id);
    if (gs->n > 1 && pg != NULL && pg[0] != '\0') {
        for (gid = 1; gid < gs->n && strcmp(gs->g[gid].name, pg) != 0; gid++) {
        }
        if (gid == gs->n)
            return cx_err_set(err, CX_ERR_INVALID, C->g->path, 0, field, "process group '%s' is not in %s", pg,
                              gs->path);
    }
    if (!cx_ck_member(&gs->g[gid], C->rank, member))
        return cx_err_set(err, CX_ERR_INVALID, C->g->path, 0, field, "rank %llu is not in process group '%s'",
                          (unsigned long long)C->rank, gs->g[gid].name);
    *gid_p = gid;
    return CX_OK;
}

/* A collective node: on the TP stream, tagged per process group in file order. */
static cx_status_t cx_ck_coll(cx_ck_conv_t *C, const ChakraProtoMsg__Node *x, cx_op_t *op, int *stream, cx_err_t *err)
{
    static const int kinds[] = {CX_COLL_ALLREDUCE, CX_COLL_REDUCE, CX_COLL_ALLGATHER, -1, -1,
                                CX_COLL_BROADCAST, CX_COLL_ALLTOALL, CX_COLL_REDUCESCATTER, -1, CX_COLL_ALLREDUCE};
    const cx_ck_groups_t *gs = C->gs;
    cx_ck_out_t          *o  = C->o;
    int                   kind;
    size_t                gid = 0;
    uint64_t              member = 0;
    double                val = 0, bytes = 0;
    CX_TRY(cx_ck_need(C->g, x, "comm_type", 0, 9, &val, err));
    kind = kinds[(int)val];
    if (kind < 0) {
        char field[64];
        snprintf(field, sizeof(field), "node %llu.comm_type", (unsigned long long)x->id);
        return cx_err_set(err, CX_ERR_UNSUPPORTED, C->g->path, 0, field,
                          "collective %d (GATHER, SCATTER, REDUCE_SCATTER_BLOCK) is not modelled", (int)val);
    }
    if ((int)val == 9)
        bytes = 8; /* BARRIER: an 8-byte all-reduce */
    else
        CX_TRY(cx_ck_need(C->g, x, "comm_size", 0, (double)CX_OP_MAX_BYTES, &bytes, err));
    CX_TRY(cx_ck_coll_group(C, x, &gid, &member, err));
    *stream = CX_STREAM_TP;
    cx_ck_op_init(op, CX_OP_COLLECTIVE, *stream);
    op->cls          = (uint8_t)kind;
    op->algo         = CX_ALGO_AUTO;
    op->bytes        = (uint64_t)bytes;
    op->u.group_base = gs->g[gid].base;
    op->group_stride = (uint32_t)gs->g[gid].stride;
    op->group_size   = (uint32_t)gs->g[gid].size;
    op->group_index  = (uint32_t)member;
    op->tag          = CX_CK_TAG_COLL | ((uint64_t)(gid & 0xFFFFF) << 40) | (C->coll_seq[gid]++ & 0xFFFFFFFFFFu);
    o->coll          = cx_ck_grow(o->coll, &o->cap_coll, o->n_coll + 1, sizeof(*o->coll));
    o->coll[o->n_coll].group = (uint32_t)gid;
    o->coll[o->n_coll].kind  = (uint8_t)kind;
    o->coll[o->n_coll].bytes = op->bytes;
    o->coll[o->n_coll].node  = x->id;
    o->n_coll++;
    C->stats->collectives++;
    return CX_OK;
}

/* A send or receive node: on the PP stream, with the colossim tag of its (peer, Chakra tag) occurrence. */
static cx_status_t cx_ck_p2p(cx_ck_conv_t *C, const ChakraProtoMsg__Node *x, cx_op_t *op, int *stream, cx_err_t *err)
{
    int          send = x->type == CHAKRA_PROTO_MSG__NODE_TYPE__COMM_SEND_NODE;
    double       peer, bytes = 0, tag = 0;
    cx_ck_out_t *o = C->o;
    char         field[64];
    CX_TRY(cx_ck_need(C->g, x, send ? "comm_dst" : "comm_src", 0, (double)(C->gs->g[0].size - 1), &peer, err));
    if ((uint64_t)peer == C->rank) {
        snprintf(field, sizeof(field), "node %llu.%s", (unsigned long long)x->id, send ? "comm_dst" : "comm_src");
        return cx_err_set(err, CX_ERR_INVALID, C->g->path, 0, field, "is this rank (%llu)", (unsigned long long)C->rank);
    }
    CX_TRY(cx_ck_need(C->g, x, "comm_size", 0, (double)CX_OP_MAX_BYTES, &bytes, err));
    if (cx_ck_num(x, "comm_tag", &tag) > 0 && !(tag >= 0 && tag < 1073741824.0)) {
        snprintf(field, sizeof(field), "node %llu.comm_tag", (unsigned long long)x->id);
        return cx_err_set(err, CX_ERR_RANGE, C->g->path, 0, field, "%g is outside [0, 2^30)", tag);
    }
    *stream = CX_STREAM_PP;
    cx_ck_op_init(op, send ? CX_OP_SEND : CX_OP_RECV, *stream);
    op->u.peer = (uint64_t)peer;
    op->bytes  = (uint64_t)bytes;
    op->tag    = send ? cx_ck_p2p_tag(&C->occ_s, &C->n_os, &C->c_os, op->u.peer, (uint64_t)tag)
                      : cx_ck_p2p_tag(&C->occ_r, &C->n_or, &C->c_or, op->u.peer, (uint64_t)tag);
    if (send) {
        cx_ck_p2p_t m = {C->rank, op->u.peer, op->tag, op->bytes};
        o->p2p_send   = cx_ck_grow(o->p2p_send, &o->cap_send, o->n_send + 1, sizeof(m));
        o->p2p_send[o->n_send++] = m;
        C->stats->sends++;
    } else {
        cx_ck_p2p_t m = {op->u.peer, C->rank, op->tag, op->bytes};
        o->p2p_recv   = cx_ck_grow(o->p2p_recv, &o->cap_recv, o->n_recv + 1, sizeof(m));
        o->p2p_recv[o->n_recv++] = m;
        C->stats->recvs++;
    }
    return CX_OK;
}

/* Node v's op (stream < 0: none) after the waits its dependencies need; it then provides its stream's count. */
static void cx_ck_place(cx_ck_conv_t *C, size_t v, const uint64_t req[CX_NUM_STREAMS], int stream, const cx_op_t *op)
{
    int t;
    if (stream < 0) {
        /* Carries its dependencies through to its dependents. */
        memcpy(C->prov[v], req, sizeof(C->prov[v]));
        C->stats->skipped++;
        return;
    }
    for (t = 0; t < CX_NUM_STREAMS; t++) {
        cx_op_t w;
        if (t == stream || req[t] <= C->waited[stream][t]) continue;
        cx_ck_op_init(&w, CX_OP_WAIT, stream);
        w.cls                = (uint8_t)t;
        w.u.wait_count       = req[t];
        C->waited[stream][t] = req[t];
        cx_ck_emit(C->o, &w, C->count);
        C->stats->waits++;
    }
    cx_ck_emit(C->o, op, C->count);
    C->prov[v][stream] = C->count[stream];
}

/* The next ready node: what it needs (the most of each stream its dependencies provide), its op. */
static cx_status_t cx_ck_node(cx_ck_conv_t *C, size_t v, cx_err_t *err)
{
    const ChakraProtoMsg__Node *x = C->g->nodes[v];
    uint64_t                    req[CX_NUM_STREAMS] = {0, 0, 0, 0};
    int                         stream = -1, t;
    size_t                      j;
    cx_op_t                     op;
    cx_status_t                 st = CX_OK;
    C->stats->nodes++;
    for (j = 0; j < x->n_data_deps + x->n_ctrl_deps; j++) {
        cx_ck_idx_t  key = {cx_ck_dep_id(x, j), 0};
        cx_ck_idx_t *hit = bsearch(&key, C->idx, C->n, sizeof(*C->idx), cx_ck_idx_cmp);
        for (t = 0; t < CX_NUM_STREAMS; t++)
            if (C->prov[hit->i][t] > req[t]) req[t] = C->prov[hit->i][t];
    }
    switch ((int)x->type) {
    case CHAKRA_PROTO_MSG__NODE_TYPE__COMP_NODE: st = cx_ck_comp(C, x, &op, &stream, err); break;
    case CHAKRA_PROTO_MSG__NODE_TYPE__COMM_COLL_NODE: st = cx_ck_coll(C, x, &op, &stream, err); break;
    case CHAKRA_PROTO_MSG__NODE_TYPE__COMM_SEND_NODE:
    case CHAKRA_PROTO_MSG__NODE_TYPE__COMM_RECV_NODE: st = cx_ck_p2p(C, x, &op, &stream, err); break;
    default: /* metadata, memory load/store, others: no GPU work */ break;
    }
    if (st != CX_OK) return st;
    cx_ck_place(C, v, req, stream, &op);
    for (j = C->head[v]; j < C->head[v + 1]; j++)
        if (--C->indeg[C->adj[j]] == 0) cx_ck_push(&C->h, C->g, C->adj[j]);
    return CX_OK;
}

static cx_status_t cx_ck_convert(const cx_ck_graph_t *g, uint64_t rank, const cx_ck_groups_t *gs,
                                 const cx_chakra_opts_t *opt, cx_ck_out_t *o, cx_chakra_stats_t *stats, cx_err_t *err)
{
    cx_ck_conv_t C;
    size_t       n = g->n, i, done = 0;
    cx_status_t  st;
    cx_op_t      op;

    memset(&C, 0, sizeof(C));
    C.g        = g;
    C.rank     = rank;
    C.gs       = gs;
    C.opt      = opt;
    C.o        = o;
    C.stats    = stats;
    C.n        = n;
    C.idx      = malloc((n ? n : 1) * sizeof(*C.idx));
    C.indeg    = calloc(n ? n : 1, sizeof(size_t));
    C.head     = calloc(n + 1, sizeof(size_t));
    C.prov     = calloc(n ? n : 1, sizeof(*C.prov));
    C.coll_seq = calloc(gs->n, sizeof(uint64_t));
    C.h.v      = malloc((n ? n : 1) * sizeof(size_t));
    if (C.idx == NULL || C.indeg == NULL || C.head == NULL || C.prov == NULL || C.h.v == NULL || C.coll_seq == NULL)
        cx_fatal("out of memory");
    st = cx_ck_edges(&C, err);
    if (st == CX_OK) {
        cx_ck_op_init(&op, CX_OP_ITER_BEGIN, CX_STREAM_COMPUTE);
        cx_ck_emit(o, &op, C.count);
        for (i = 0; i < n; i++)
            if (C.indeg[i] == 0) cx_ck_push(&C.h, g, i);
    }
    while (st == CX_OK && C.h.n > 0) {
        done++;
        st = cx_ck_node(&C, cx_ck_pop(&C.h, g), err);
    }
    if (st == CX_OK && done < n) {
        st = cx_err_set(err, CX_ERR_INVALID, g->path, 0, "data_deps", "a dependency cycle among %zu nodes", n - done);
    }
    if (st == CX_OK) {
        int t;
        for (t = 1; t < CX_NUM_STREAMS; t++) {
            if (C.count[t] == 0 || C.count[t] <= C.waited[CX_STREAM_COMPUTE][t]) continue;
            cx_ck_op_init(&op, CX_OP_WAIT, CX_STREAM_COMPUTE);
            op.cls          = (uint8_t)t;
            op.u.wait_count = C.count[t];
            cx_ck_emit(o, &op, C.count);
        }
        cx_ck_op_init(&op, CX_OP_ITER_END, CX_STREAM_COMPUTE);
        cx_ck_emit(o, &op, C.count);
    }
    free(C.idx);
    free(C.indeg);
    free(C.head);
    free(C.adj);
    free(C.prov);
    free(C.h.v);
    free(C.occ_s);
    free(C.occ_r);
    free(C.coll_seq);
    return st;
}

static void cx_ck_out_free(cx_ck_out_t *o)
{
    free(o->ops);
    free(o->coll);
    free(o->p2p_send);
    free(o->p2p_recv);
    memset(o, 0, sizeof(*o));
}

/* Each group's members issue its collectives alike, in the same order:
 * rank r's against the group's first member's (kept as the reference). */
static cx_status_t cx_ck_check_colls(cx_ck_groups_t *gs, size_t r, const cx_ck_out_t *o, const char *path, cx_err_t *err)
{
    size_t      k;
    cx_status_t st = CX_OK;
    for (k = 0; k < gs->n && st == CX_OK; k++) {
        cx_ck_group_t *gr = &gs->g[k];
        cx_ck_coll_t  *sub;
        size_t         n_sub = 0, i;
        if (!cx_ck_member(gr, r, NULL)) continue;
        sub = malloc((o->n_coll ? o->n_coll : 1) * sizeof(*sub));
        if (sub == NULL) cx_fatal("out of memory");
        for (i = 0; i < o->n_coll; i++)
            if (o->coll[i].group == k) sub[n_sub++] = o->coll[i];
        if (gr->ref_rank < 0) {
            gr->ref      = sub;
            gr->n_ref    = n_sub;
            gr->ref_rank = (int64_t)r;
            continue;
        }
        for (i = 0; i < n_sub || i < gr->n_ref; i++) {
            char field[CX_ERR_FIELD_MAX];
            if (i < n_sub && i < gr->n_ref && sub[i].kind == gr->ref[i].kind && sub[i].bytes == gr->ref[i].bytes)
                continue;
            snprintf(field, sizeof(field), "collective #%zu of group '%.60s'", i, k == 0 ? "all ranks" : gr->name);
            if (i >= n_sub || i >= gr->n_ref)
                st = cx_err_set(err, CX_ERR_INVALID, path, 0, field,
                                "this rank issues %zu collectives in the group, rank %lld %zu: every member must "
                                "issue the same collectives in the same order", n_sub, (long long)gr->ref_rank,
                                gr->n_ref);
            else
                st = cx_err_set(err, CX_ERR_INVALID, path, 0, field,
                                "node %llu is %s of %llu bytes where rank %lld's (node %llu) is %s of %llu: every "
                                "member must issue the same collectives in the same order",
                                (unsigned long long)sub[i].node, cx_coll_kind_name(sub[i].kind),
                                (unsigned long long)sub[i].bytes, (long long)gr->ref_rank,
                                (unsigned long long)gr->ref[i].node, cx_coll_kind_name(gr->ref[i].kind),
                                (unsigned long long)gr->ref[i].bytes);
            break;
        }
        free(sub);
    }
    return st;
}

/* Every rank's sends and receives, to pair them after pass 1. */
typedef struct cx_ck_msgs {
    cx_ck_p2p_t *sends, *recvs;
    size_t       n_s, c_s, n_r, c_r;
} cx_ck_msgs_t;

static void cx_ck_add_rank(cx_ck_msgs_t *m, const cx_ck_out_t *o, const cx_chakra_stats_t *s1, cx_chakra_stats_t *stats)
{
    m->sends = cx_ck_grow(m->sends, &m->c_s, m->n_s + o->n_send, sizeof(*m->sends));
    m->recvs = cx_ck_grow(m->recvs, &m->c_r, m->n_r + o->n_recv, sizeof(*m->recvs));
    if (o->n_send) memcpy(m->sends + m->n_s, o->p2p_send, o->n_send * sizeof(*m->sends));
    if (o->n_recv) memcpy(m->recvs + m->n_r, o->p2p_recv, o->n_recv * sizeof(*m->recvs));
    m->n_s += o->n_send;
    m->n_r += o->n_recv;
    stats->nodes += s1->nodes;
    stats->compute += s1->compute;
    stats->measured += s1->measured;
    stats->collectives += s1->collectives;
    stats->sends += s1->sends;
    stats->recvs += s1->recvs;
    stats->skipped += s1->skipped;
    stats->waits += s1->waits;
}

/* Every send received, every receive sent: the first unmatched one named. */
static cx_status_t cx_ck_check_p2p(cx_ck_msgs_t *m, const cx_ck_file_t *files, cx_err_t *err)
{
    size_t k;
    qsort(m->sends, m->n_s, sizeof(*m->sends), cx_ck_p2p_cmp);
    qsort(m->recvs, m->n_r, sizeof(*m->recvs), cx_ck_p2p_cmp);
    for (k = 0; k < m->n_s || k < m->n_r; k++) {
        const cx_ck_p2p_t *x;
        int                is_send;
        if (k < m->n_s && k < m->n_r && cx_ck_p2p_cmp(&m->sends[k], &m->recvs[k]) == 0) continue;
        x = k < m->n_s && (k >= m->n_r || cx_ck_p2p_cmp(&m->sends[k], &m->recvs[k]) < 0) ? &m->sends[k] : &m->recvs[k];
        is_send = x == &m->sends[k];
        return cx_err_set(err, CX_ERR_INVALID, files[is_send ? x->src : x->dst].path, 0, "COMM_SEND/RECV",
                          "a %s of %llu bytes %s rank %llu (tag %llu, message %llu) has no matching %s on rank %llu",
                          is_send ? "send" : "receive", (unsigned long long)x->bytes, is_send ? "to" : "from",
                          (unsigned long long)(is_send ? x->dst : x->src),
                          (unsigned long long)((x->tag >> 32) & 0x3FFFFFFF), (unsigned long long)(x->tag & 0xFFFFFFFF),
                          is_send ? "receive" : "send", (unsigned long long)(is_send ? x->dst : x->src));
    }
    return CX_OK;
}

/* Rank r's trace converted into o (which the caller frees). */
static cx_status_t cx_ck_rank(const char *path, size_t r, const cx_ck_groups_t *gs, const cx_chakra_opts_t *opt,
                              cx_ck_out_t *o, cx_chakra_stats_t *s, cx_err_t *err)
{
    cx_ck_graph_t g;
    memset(o, 0, sizeof(*o));
    memset(s, 0, sizeof(*s));
    CX_TRY(cx_ck_read(path, &g, err));
    {
        cx_status_t st = cx_ck_convert(&g, r, gs, opt, o, s, err);
        cx_ck_graph_free(&g);
        return st;
    }
}

/* Pass 1: convert every rank; collectives in the same order everywhere, every send received. */
static cx_status_t cx_ck_pass1(const cx_ck_file_t *files, size_t nf, cx_ck_groups_t *gs, const cx_chakra_opts_t *opt,
                               cx_chakra_stats_t *stats, cx_err_t *err)
{
    cx_ck_msgs_t m;
    size_t       r;
    cx_status_t  st = CX_OK;
    memset(&m, 0, sizeof(m));
    for (r = 0; r < nf && st == CX_OK; r++) {
        cx_ck_out_t       o;
        cx_chakra_stats_t s1;
        st = cx_ck_rank(files[r].path, r, gs, opt, &o, &s1, err);
        if (st == CX_OK) st = cx_ck_check_colls(gs, r, &o, files[r].path, err);
        if (st == CX_OK) cx_ck_add_rank(&m, &o, &s1, stats);
        cx_ck_out_free(&o);
    }
    if (st == CX_OK) st = cx_ck_check_p2p(&m, files, err);
    free(m.sends);
    free(m.recvs);
    return st;
}

/* Pass 2: the job directory: workload.yaml, one op file per rank, then replay.yaml. */
static cx_status_t cx_ck_write_job(const char *et_dir, const char *workload_path, const char *out_dir,
                                   const cx_ck_file_t *files, size_t nf, const cx_ck_groups_t *gs,
                                   const cx_chakra_opts_t *opt, cx_err_t *err)
{
    char        path[4200], text[512], *wl_text = NULL;
    size_t      r, len;
    cx_err_t    e2;
    cx_status_t st = CX_OK;
    if (mkdir(out_dir, 0777) != 0 && errno != EEXIST)
        return cx_err_set(err, CX_ERR_IO, out_dir, 0, "out", "cannot create the directory: %s", strerror(errno));
    if (cx_file_read_all(workload_path, "workload file", 0, &wl_text, &len, &e2) != CX_OK)
        st = cx_err_set(err, CX_ERR_IO, workload_path, 0, NULL, "cannot read it again");
    snprintf(path, sizeof(path), "%s/replay.yaml", out_dir);
    remove(path); /* a previous import's: the directory is a job only once this one is complete */
    snprintf(path, sizeof(path), "%s/workload.yaml", out_dir);
    if (st == CX_OK) st = cx_file_write_text(path, wl_text, err);
    free(wl_text);
    for (r = 0; r < nf && st == CX_OK; r++) {
        cx_ck_out_t       o;
        cx_chakra_stats_t s2;
        st = cx_ck_rank(files[r].path, r, gs, opt, &o, &s2, err);
        cx_replay_file_path(path, sizeof(path), out_dir, r);
        if (st == CX_OK) st = cx_replay_write_ops(path, r, o.ops, o.n, err);
        cx_ck_out_free(&o);
    }
    if (st == CX_OK) {
        snprintf(path, sizeof(path), "%s/replay.yaml", out_dir);
        snprintf(text, sizeof(text),
                 "# Written by colossim chakra import from %s (Chakra ET): per-GPU op programs\n"
                 "format: colossim-ops-v1\nworkload: workload.yaml\niterations: 1\ngpus: %zu\n",
                 et_dir, nf);
        st = cx_file_write_text(path, text, err);
    }
    return st;
}

cx_status_t cx_chakra_import(const char *et_dir, const char *workload_path, const char *out_dir,
                             const cx_chakra_opts_t *opt, cx_chakra_stats_t *stats, cx_err_t *err)
{
    cx_ck_file_t  *files = NULL;
    size_t         nf    = 0;
    cx_workload_t *w     = NULL;
    cx_ck_groups_t gs;
    cx_status_t    st;

    memset(stats, 0, sizeof(*stats));
    st = cx_ck_list(et_dir, &files, &nf, err);
    if (st != CX_OK) return st;
    stats->ranks = nf;
    st = cx_ck_groups_load(opt->comm_groups_path, nf, &gs, err);
    if (st != CX_OK) {
        free(files);
        return st;
    }
    st = cx_workload_load(&w, workload_path, err);
    if (st == CX_OK && w->gpus != nf) {
        st = cx_err_set(err, CX_ERR_INVALID, workload_path, 0, "gpus",
                        "the workload has %llu GPUs, the Chakra trace %zu ranks: they must be equal",
                        (unsigned long long)w->gpus, nf);
    }
    if (st == CX_OK) st = cx_ck_pass1(files, nf, &gs, opt, stats, err);
    if (st == CX_OK) st = cx_ck_write_job(et_dir, workload_path, out_dir, files, nf, &gs, opt, err);
    free(files);
    cx_ck_groups_free(&gs);
    cx_workload_destroy(w);
    return st;
}

#endif /* CX_HAVE_PROTOBUF_C */
