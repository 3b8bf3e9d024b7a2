/*
 * The trace schema at run time (cx_schema.h): the column lists as tables,
 * the enumeration labels and the /meta/schema text.  Compiled into colossim
 * (cx_workload) and colossim-analyze; the op enumerations' names are
 * src/gpu/cx_op.c's, which both compile too.
 */
#include "cx_schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cx_op.h"

#define CX_SCHEMA_COL(S, n, t, u, l, d) {#n, #t, u, CX_SCHEMA_L_##l, d},
#define CX_SCHEMA_COLS(ID) static const cx_schema_col_t cx_schema_cols_##ID[] = {CX_SCHEMA_COLS_##ID(CX_SCHEMA_COL, _)};
#define CX_SCHEMA_COLS_OF(ID, path, level, what) CX_SCHEMA_COLS(ID)
CX_SCHEMA_TABLES(CX_SCHEMA_COLS_OF)

#define CX_SCHEMA_TABLE(ID, path, level, what) \
    {path, level, what, cx_schema_cols_##ID, sizeof(cx_schema_cols_##ID) / sizeof(cx_schema_cols_##ID[0])},
static const cx_schema_table_t cx_schema_tabs[] = {CX_SCHEMA_TABLES(CX_SCHEMA_TABLE)};

/* Labels the schema owns (its lists, cx_schema.h); the op enumerations come from cx_op.c. */
static const char *const cx_schema_streams[]     = {CX_SCHEMA_STREAM_LABELS(CX_SCHEMA_LABEL_STR)};
static const char *const cx_schema_link_cls[]    = {CX_SCHEMA_LINK_CLASS_LABELS(CX_SCHEMA_LABEL_STR)};
static const char *const cx_schema_fault_kinds[] = {CX_SCHEMA_FAULT_KIND_LABELS(CX_SCHEMA_LABEL_STR)};
static const char *const cx_schema_fault_acts[]  = {CX_SCHEMA_FAULT_ACTION_LABELS(CX_SCHEMA_LABEL_STR)};

#define CX_SCHEMA_LABEL_NAME(id, name) name,
static const char *const cx_schema_label_names[] = {CX_SCHEMA_LABELS(CX_SCHEMA_LABEL_NAME)};

#define CX_SCHEMA_N(a) ((unsigned)(sizeof(a) / sizeof((a)[0])))

const cx_schema_table_t *cx_schema_tables(size_t *n)
{
    *n = sizeof(cx_schema_tabs) / sizeof(cx_schema_tabs[0]);
    return cx_schema_tabs;
}

const cx_schema_table_t *cx_schema_table(const char *path)
{
    size_t i, n;
    const cx_schema_table_t *t = cx_schema_tables(&n);
    for (i = 0; i < n; i++)
        if (strcmp(t[i].path, path) == 0) return &t[i];
    return NULL;
}

const cx_schema_col_t *cx_schema_col(const cx_schema_table_t *t, const char *name)
{
    size_t i;
    for (i = 0; t != NULL && i < t->ncols; i++)
        if (strcmp(t->cols[i].name, name) == 0) return &t->cols[i];
    return NULL;
}

const char *cx_schema_labels_name(int labels)
{
    return labels >= 0 && labels < CX_SCHEMA_NLABELS ? cx_schema_label_names[labels] : "";
}

unsigned cx_schema_label_count(int labels)
{
    switch (labels) {
    case CX_SCHEMA_L_STREAM: return CX_SCHEMA_N(cx_schema_streams);
    case CX_SCHEMA_L_OP_KIND: return CX_OP_KIND_COUNT;
    case CX_SCHEMA_L_OP_CLASS: return CX_CLS_COUNT;
    case CX_SCHEMA_L_COLL_KIND: return CX_COLL_COUNT;
    case CX_SCHEMA_L_COLL_ALGO: return CX_ALGO_COUNT;
    case CX_SCHEMA_L_COLL_PROTO: return CX_PROTO_COUNT;
    case CX_SCHEMA_L_PHASE: return CX_PHASE_COUNT;
    case CX_SCHEMA_L_BLOCK: return CX_BLK_COUNT;
    case CX_SCHEMA_L_LINK_CLASS: return CX_SCHEMA_N(cx_schema_link_cls);
    case CX_SCHEMA_L_FAULT_KIND: return CX_SCHEMA_N(cx_schema_fault_kinds);
    case CX_SCHEMA_L_FAULT_ACTION: return CX_SCHEMA_N(cx_schema_fault_acts);
    default: return 0;
    }
}

const char *cx_schema_label(int labels, unsigned v)
{
    if (v >= cx_schema_label_count(labels)) return "?";
    switch (labels) {
    case CX_SCHEMA_L_STREAM: return cx_schema_streams[v];
    case CX_SCHEMA_L_OP_KIND: return cx_op_kind_name((int)v);
    case CX_SCHEMA_L_OP_CLASS: return cx_op_class_name((int)v);
    case CX_SCHEMA_L_COLL_KIND: return cx_coll_kind_name((int)v);
    case CX_SCHEMA_L_COLL_ALGO: return cx_coll_algo_name((int)v);
    case CX_SCHEMA_L_COLL_PROTO: return cx_coll_proto_name((int)v);
    case CX_SCHEMA_L_PHASE: return cx_phase_name((int)v);
    case CX_SCHEMA_L_BLOCK: return cx_block_name((int)v);
    case CX_SCHEMA_L_LINK_CLASS: return cx_schema_link_cls[v];
    case CX_SCHEMA_L_FAULT_KIND: return cx_schema_fault_kinds[v];
    default: return cx_schema_fault_acts[v];
    }
}

/* Append to a growing buffer; -1 when out of memory. */
typedef struct cx_schema_buf {
    char  *s;
    size_t len, cap;
} cx_schema_buf_t;

static int cx_schema_put(cx_schema_buf_t *b, const char *a, const char *c)
{
    size_t na = strlen(a), nc = strlen(c);
    if (b->len + na + nc + 1 > b->cap) {
        size_t cap = (b->cap + na + nc + 1) * 2;
        char  *s   = realloc(b->s, cap);
        if (s == NULL) return -1;
        b->s   = s;
        b->cap = cap;
    }
    memcpy(b->s + b->len, a, na);
    memcpy(b->s + b->len + na, c, nc);
    b->len += na + nc;
    b->s[b->len] = '\0';
    return 0;
}

/* One table's lines: the table, then its columns. */
static int cx_schema_put_table(cx_schema_buf_t *b, const cx_schema_table_t *t)
{
    size_t i;
    int    rc = cx_schema_put(b, "table\t", t->path) | cx_schema_put(b, "\t", t->level) |
             cx_schema_put(b, "\t", t->what) | cx_schema_put(b, "\n", "");
    for (i = 0; i < t->ncols; i++) {
        const cx_schema_col_t *c = &t->cols[i];
        char                   type[8];
        size_t                 k;
        for (k = 0; c->type[k] != '\0' && k + 1 < sizeof(type); k++) type[k] = (char)(c->type[k] | 0x20);
        type[k] = '\0';
        rc |= cx_schema_put(b, "column\t", t->path) | cx_schema_put(b, "\t", c->name) | cx_schema_put(b, "\t", type) |
              cx_schema_put(b, "\t", c->unit) | cx_schema_put(b, "\t", cx_schema_labels_name(c->labels)) |
              cx_schema_put(b, "\t", c->doc) | cx_schema_put(b, "\n", "");
    }
    return rc;
}

char *cx_schema_text(void)
{
    cx_schema_buf_t b = {NULL, 0, 0};
    size_t          i, n;
    const cx_schema_table_t *t = cx_schema_tables(&n);
    int             rc = cx_schema_put(&b, "# colossim trace schema (src/trace/cx_schema.h): tab-separated\n", "");
    for (i = 0; i < n; i++) rc |= cx_schema_put_table(&b, &t[i]);
    for (i = 1; i < CX_SCHEMA_NLABELS; i++) {
        unsigned v, nv = cx_schema_label_count((int)i);
        rc |= cx_schema_put(&b, "labels\t", cx_schema_labels_name((int)i));
        for (v = 0; v < nv; v++) rc |= cx_schema_put(&b, "\t", cx_schema_label((int)i, v));
        rc |= cx_schema_put(&b, "\n", "");
    }
    if (rc != 0) {
        free(b.s);
        return NULL;
    }
    return b.s;
}
