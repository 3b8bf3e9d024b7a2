/*
 * YAML document tree over libyaml's event parser (see cx_yaml.h).
 *
 * Why events and not yaml_parser_load: the event start marks give each node
 * its own line/column, and building the tree ourselves lets us reject
 * anchors/aliases, duplicate and non-scalar keys at the point they occur,
 * with the dotted path of the offending field.  Every node and string is
 * owned by the document (a list of allocations freed by cx_yaml_free).
 */
#include "cx_yaml.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

#include "cx_file.h"
#include "cx_opt.h"

struct cx_yaml_doc {
    char            *file;
    cx_yaml_node_t  *root;
    void           **allocs;      /* everything owned by the document */
    size_t           n_allocs, cap_allocs;
};

typedef struct {
    yaml_parser_t  parser;
    cx_yaml_doc_t *doc;
    cx_err_t      *err;
    int            depth;        /* nesting of the node being built */
} cx_yaml_ctx_t;

static void *cx_yaml_own(cx_yaml_doc_t *doc, void *p)
{
    if (p == NULL) return NULL;
    if (doc->n_allocs == doc->cap_allocs) {
        size_t ncap = doc->cap_allocs != 0 ? 2 * doc->cap_allocs : 64;
        void **na   = realloc(doc->allocs, ncap * sizeof(*na));
        if (na == NULL) {
            free(p);
            return NULL;
        }
        doc->allocs     = na;
        doc->cap_allocs = ncap;
    }
    doc->allocs[doc->n_allocs++] = p;
    return p;
}

static char *cx_yaml_strdup(cx_yaml_doc_t *doc, const char *s)
{
    size_t n = strlen(s);
    char  *p = malloc(n + 1);
    if (p == NULL) return NULL;
    memcpy(p, s, n + 1);
    return cx_yaml_own(doc, p);
}

static char *cx_yaml_child_path(cx_yaml_doc_t *doc, const char *parent, const char *key,
                                size_t index, int is_seq)
{
    char  *p;
    size_t n;
    if (is_seq) {
        n = strlen(parent) + 32;
        p = malloc(n);
        if (p == NULL) return NULL;
        snprintf(p, n, "%s[%zu]", parent, index);
    } else {
        n = strlen(parent) + strlen(key) + 2;
        p = malloc(n);
        if (p == NULL) return NULL;
        if (parent[0] != '\0') {
            snprintf(p, n, "%s.%s", parent, key);
        } else {
            snprintf(p, n, "%s", key);
        }
    }
    return cx_yaml_own(doc, p);
}

static cx_status_t cx_yaml_nomem(cx_yaml_ctx_t *c)
{
    return cx_err_set(c->err, CX_ERR_NOMEM, c->doc->file, 0, NULL, "out of memory reading YAML");
}

static cx_status_t cx_yaml_next(cx_yaml_ctx_t *c, yaml_event_t *ev)
{
    if (!yaml_parser_parse(&c->parser, ev)) {
        const char *prob = c->parser.problem != NULL ? c->parser.problem : "malformed YAML";
        size_t      line = c->parser.problem_mark.line + 1;
        cx_status_t st;
        if (c->parser.context != NULL) {
            st = cx_err_set(c->err, CX_ERR_PARSE, c->doc->file, (int)line, NULL,
                            "malformed YAML: %s %s (started at line %zu)", prob,
                            c->parser.context, c->parser.context_mark.line + 1);
        } else {
            st = cx_err_set(c->err, CX_ERR_PARSE, c->doc->file, (int)line, NULL,
                            "malformed YAML: %s", prob);
        }
        if (c->err != NULL) c->err->column = (int)c->parser.problem_mark.column + 1;
        return st;
    }
    return CX_OK;
}

static cx_yaml_node_t *cx_yaml_new_node(cx_yaml_ctx_t *c, cx_yaml_kind_t kind,
                                        const yaml_mark_t *mark, const char *path)
{
    cx_yaml_node_t *n = cx_yaml_own(c->doc, calloc(1, sizeof(*n)));
    if (n == NULL) return NULL;
    n->kind   = kind;
    n->line   = (int)mark->line + 1;
    n->column = (int)mark->column + 1;
    n->path   = path;
    n->doc    = c->doc;
    return n;
}

static cx_status_t cx_yaml_add_child(cx_yaml_ctx_t *c, cx_yaml_node_t *parent, size_t *cap,
                                     const char *key, int key_line, cx_yaml_node_t *child)
{
    if (parent->n_children == *cap) {
        size_t           ncap = *cap != 0 ? 2 * *cap : 8;
        cx_yaml_node_t **nc   = cx_yaml_own(c->doc, malloc(ncap * sizeof(*nc)));
        const char     **nk   = cx_yaml_own(c->doc, malloc(ncap * sizeof(*nk)));
        int             *nl   = cx_yaml_own(c->doc, malloc(ncap * sizeof(*nl)));
        if (nc == NULL || nk == NULL || nl == NULL) return cx_yaml_nomem(c);
        if (parent->n_children > 0) {
            memcpy(nc, parent->children, parent->n_children * sizeof(*nc));
            memcpy(nk, parent->keys, parent->n_children * sizeof(*nk));
            memcpy(nl, parent->key_lines, parent->n_children * sizeof(*nl));
        }
        parent->children  = nc;
        parent->keys      = nk;
        parent->key_lines = nl;
        *cap              = ncap;
    }
    parent->keys[parent->n_children]      = key;
    parent->key_lines[parent->n_children] = key_line;
    parent->children[parent->n_children]  = child;
    parent->n_children++;
    return CX_OK;
}

static cx_status_t cx_yaml_reject_anchor(cx_yaml_ctx_t *c, const yaml_event_t *ev,
                                         const yaml_char_t *anchor, const char *path)
{
    if (anchor == NULL) return CX_OK;
    return cx_err_set(c->err, CX_ERR_PARSE, c->doc->file, (int)ev->start_mark.line + 1, path,
                      "YAML anchors (&%s) are not supported; write the value out",
                      (const char *)anchor);
}

typedef struct { const char *key; size_t idx; } cx_yaml_keyref_t;

static int cx_yaml_key_cmp(const void *a, const void *b)
{
    const cx_yaml_keyref_t *x = a, *y = b;
    int                     c = strcmp(x->key, y->key);
    if (c != 0) return c;
    return x->idx < y->idx ? -1 : (x->idx > y->idx ? 1 : 0);
}

/* Duplicate keys of a finished map, in O(n log n) (a scan per key was
 * quadratic: 60k keys took 20 s).  Reports the duplicate that comes first
 * in the file, naming where the key was first given. */
static cx_status_t cx_yaml_check_dups(cx_yaml_ctx_t *c, const cx_yaml_node_t *n)
{
    cx_yaml_keyref_t *ref;
    size_t            i, best = SIZE_MAX, first = 0, run = 0;
    if (n->n_children < 2) return CX_OK;
    if (n->n_children <= 16) {   /* small maps: no allocation */
        size_t j;
        for (j = 1; j < n->n_children && best == SIZE_MAX; j++) {
            for (i = 0; i < j; i++) {
                if (strcmp(n->keys[i], n->keys[j]) == 0) {
                    best  = j;
                    first = i;
                    break;
                }
            }
        }
    } else {
        ref = malloc(n->n_children * sizeof(*ref));
        if (ref == NULL) return cx_yaml_nomem(c);
        for (i = 0; i < n->n_children; i++) {
            ref[i].key = n->keys[i];
            ref[i].idx = i;
        }
        qsort(ref, n->n_children, sizeof(*ref), cx_yaml_key_cmp);
        for (i = 1; i < n->n_children; i++) {
            if (strcmp(ref[i].key, ref[i - 1].key) != 0) {
                run = i;
                continue;
            }
            if (ref[i].idx < best) {
                best  = ref[i].idx;
                first = ref[run].idx;
            }
        }
        free(ref);
    }
    if (best == SIZE_MAX) return CX_OK;
    return cx_err_set(c->err, CX_ERR_PARSE, c->doc->file, n->key_lines[best], n->children[best]->path,
                      "duplicate key (first given at line %d)", n->key_lines[first]);
}

/* Build the node that starts with event *ev (consumed by the caller).
 * Recursion is bounded by CX_YAML_MAX_DEPTH: a file of 20k nested '[' would
 * otherwise overflow the stack. */
static cx_status_t cx_yaml_build(cx_yaml_ctx_t *c, yaml_event_t *ev, const char *path,
                                 cx_yaml_node_t **out_p)
{
    cx_yaml_node_t *n;
    cx_status_t     st;
    size_t          cap = 0;

    if ((ev->type == YAML_SEQUENCE_START_EVENT || ev->type == YAML_MAPPING_START_EVENT) &&
        c->depth >= CX_YAML_MAX_DEPTH) {
        return cx_err_set(c->err, CX_ERR_PARSE, c->doc->file, (int)ev->start_mark.line + 1, NULL,
                          "lists and mappings nested deeper than %d levels", CX_YAML_MAX_DEPTH);
    }
    switch (ev->type) {
    case YAML_ALIAS_EVENT:
        return cx_err_set(c->err, CX_ERR_PARSE, c->doc->file, (int)ev->start_mark.line + 1, path,
                          "YAML aliases (*%s) are not supported; write the value out",
                          (const char *)ev->data.alias.anchor);
    case YAML_SCALAR_EVENT:
        st = cx_yaml_reject_anchor(c, ev, ev->data.scalar.anchor, path);
        if (st != CX_OK) return st;
        n = cx_yaml_new_node(c, CX_YAML_SCALAR, &ev->start_mark, path);
        if (n == NULL) return cx_yaml_nomem(c);
        n->scalar = cx_yaml_strdup(c->doc, (const char *)ev->data.scalar.value);
        if (n->scalar == NULL) return cx_yaml_nomem(c);
        *out_p = n;
        return CX_OK;
    case YAML_SEQUENCE_START_EVENT:
        st = cx_yaml_reject_anchor(c, ev, ev->data.sequence_start.anchor, path);
        if (st != CX_OK) return st;
        n = cx_yaml_new_node(c, CX_YAML_SEQ, &ev->start_mark, path);
        if (n == NULL) return cx_yaml_nomem(c);
        for (;;) {
            yaml_event_t    e;
            cx_yaml_node_t *child = NULL;
            const char     *cpath;
            st = cx_yaml_next(c, &e);
            if (st != CX_OK) return st;
            if (e.type == YAML_SEQUENCE_END_EVENT) {
                yaml_event_delete(&e);
                break;
            }
            cpath = cx_yaml_child_path(c->doc, path, NULL, n->n_children, 1);
            if (cpath == NULL) {
                yaml_event_delete(&e);
                return cx_yaml_nomem(c);
            }
            c->depth++;
            st = cx_yaml_build(c, &e, cpath, &child);
            c->depth--;
            yaml_event_delete(&e);
            if (st != CX_OK) return st;
            st = cx_yaml_add_child(c, n, &cap, NULL, child->line, child);
            if (st != CX_OK) return st;
        }
        *out_p = n;
        return CX_OK;
    case YAML_MAPPING_START_EVENT:
        st = cx_yaml_reject_anchor(c, ev, ev->data.mapping_start.anchor, path);
        if (st != CX_OK) return st;
        n = cx_yaml_new_node(c, CX_YAML_MAP, &ev->start_mark, path);
        if (n == NULL) return cx_yaml_nomem(c);
        for (;;) {
            yaml_event_t    ke, ve;
            cx_yaml_node_t *child = NULL;
            const char     *key, *cpath;
            int             kline;
            st = cx_yaml_next(c, &ke);
            if (st != CX_OK) return st;
            if (ke.type == YAML_MAPPING_END_EVENT) {
                yaml_event_delete(&ke);
                break;
            }
            kline = (int)ke.start_mark.line + 1;
            if (ke.type != YAML_SCALAR_EVENT) {
                yaml_event_delete(&ke);
                return cx_err_set(c->err, CX_ERR_PARSE, c->doc->file, kline, path,
                                  "mapping keys must be plain scalars");
            }
            if (ke.data.scalar.anchor != NULL) {
                st = cx_yaml_reject_anchor(c, &ke, ke.data.scalar.anchor, path);
                yaml_event_delete(&ke);
                return st;
            }
            key = cx_yaml_strdup(c->doc, (const char *)ke.data.scalar.value);
            yaml_event_delete(&ke);
            if (key == NULL) return cx_yaml_nomem(c);
            cpath = cx_yaml_child_path(c->doc, path, key, 0, 0);
            if (cpath == NULL) return cx_yaml_nomem(c);
            st = cx_yaml_next(c, &ve);
            if (st != CX_OK) return st;
            c->depth++;
            st = cx_yaml_build(c, &ve, cpath, &child);
            c->depth--;
            yaml_event_delete(&ve);
            if (st != CX_OK) return st;
            st = cx_yaml_add_child(c, n, &cap, key, kline, child);
            if (st != CX_OK) return st;
        }
        st = cx_yaml_check_dups(c, n);
        if (st != CX_OK) return st;
        *out_p = n;
        return CX_OK;
    default:
        return cx_err_set(c->err, CX_ERR_PARSE, c->doc->file, (int)ev->start_mark.line + 1, path,
                          "unexpected YAML event");
    }
}

static cx_status_t cx_yaml_parse_all(cx_yaml_ctx_t *c)
{
    yaml_event_t ev;
    cx_status_t  st;
    int          done = 0;

    while (!done) {
        st = cx_yaml_next(c, &ev);
        if (st != CX_OK) return st;
        switch (ev.type) {
        case YAML_STREAM_START_EVENT:
        case YAML_DOCUMENT_END_EVENT:
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (c->doc->root != NULL) {
                st = cx_err_set(c->err, CX_ERR_PARSE, c->doc->file,
                                (int)ev.start_mark.line + 1, NULL,
                                "only one YAML document per file is supported");
                yaml_event_delete(&ev);
                return st;
            }
            break;
        case YAML_STREAM_END_EVENT:
            done = 1;
            break;
        default:
            st = cx_yaml_build(c, &ev, "", &c->doc->root);
            if (st != CX_OK) {
                yaml_event_delete(&ev);
                return st;
            }
            break;
        }
        yaml_event_delete(&ev);
    }
    if (c->doc->root == NULL) {
        /* An empty document is an empty map: every required field then says "missing". */
        yaml_mark_t m = {0, 0, 0};
        c->doc->root  = cx_yaml_new_node(c, CX_YAML_MAP, &m, "");
        if (c->doc->root == NULL) return cx_yaml_nomem(c);
    }
    return CX_OK;
}

cx_status_t cx_yaml_load_string(cx_yaml_doc_t **doc_p, const char *name, const char *text,
                                size_t len, cx_err_t *err)
{
    cx_yaml_ctx_t c;
    cx_status_t   st;
    size_t        nlen;

    memset(&c, 0, sizeof(c));
    c.err = err;
    c.doc = calloc(1, sizeof(*c.doc));
    if (c.doc == NULL) return cx_err_set(err, CX_ERR_NOMEM, name, 0, NULL, "out of memory");
    if (name == NULL) name = "<string>";
    nlen       = strlen(name);
    c.doc->file = malloc(nlen + 1);
    if (c.doc->file == NULL) {
        free(c.doc);
        return cx_err_set(err, CX_ERR_NOMEM, name, 0, NULL, "out of memory");
    }
    memcpy(c.doc->file, name, nlen + 1);
    if (!yaml_parser_initialize(&c.parser)) {
        cx_yaml_free(c.doc);
        return cx_err_set(err, CX_ERR_NOMEM, name, 0, NULL, "cannot initialise YAML parser");
    }
    yaml_parser_set_input_string(&c.parser, (const unsigned char *)text, len);
    st = cx_yaml_parse_all(&c);
    yaml_parser_delete(&c.parser);
    if (st != CX_OK) {
        cx_yaml_free(c.doc);
        return st;
    }
    *doc_p = c.doc;
    return CX_OK;
}

cx_status_t cx_yaml_load_file(cx_yaml_doc_t **doc_p, const char *path, cx_err_t *err)
{
    char       *buf;
    size_t      len;
    cx_status_t st = cx_file_read_all(path, "YAML file", CX_YAML_MAX_FILE_BYTES, &buf, &len, err);
    if (st != CX_OK) return st;
    st = cx_yaml_load_string(doc_p, path, buf, len, err);
    free(buf);
    return st;
}

void cx_yaml_free(cx_yaml_doc_t *doc)
{
    size_t i;
    if (doc == NULL) return;
    for (i = 0; i < doc->n_allocs; i++) free(doc->allocs[i]);
    free(doc->allocs);
    free(doc->file);
    free(doc);
}

const cx_yaml_node_t *cx_yaml_root(const cx_yaml_doc_t *doc) { return doc->root; }

const char *cx_yaml_file(const cx_yaml_doc_t *doc) { return doc->file; }

const cx_yaml_node_t *cx_yaml_get(const cx_yaml_node_t *map, const char *key)
{
    size_t i;
    if (map == NULL || map->kind != CX_YAML_MAP) return NULL;
    for (i = 0; i < map->n_children; i++) {
        if (strcmp(map->keys[i], key) == 0) return map->children[i];
    }
    return NULL;
}

static cx_status_t cx_yaml_verror(const cx_yaml_node_t *node, const char *path, int line,
                                  cx_status_t st, cx_err_t *err, const char *fmt, va_list ap)
{
    cx_err_vset(err, st, node->doc->file, line, path, fmt, ap);
    return st;
}

cx_status_t cx_yaml_error(const cx_yaml_node_t *node, cx_status_t st, cx_err_t *err,
                          const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cx_yaml_verror(node, node->path, node->line, st, err, fmt, ap);
    va_end(ap);
    if (err != NULL) err->column = node->column;
    return st;
}

static const char *cx_yaml_kind_name(cx_yaml_kind_t k)
{
    switch (k) {
    case CX_YAML_SCALAR: return "a scalar";
    case CX_YAML_MAP:    return "a mapping";
    case CX_YAML_SEQ:    return "a list";
    }
    return "?";
}

cx_status_t cx_yaml_expect(const cx_yaml_node_t *node, cx_yaml_kind_t kind, cx_err_t *err)
{
    if (node->kind == kind) return CX_OK;
    return cx_yaml_error(node, CX_ERR_INVALID, err, "expected %s, found %s",
                         cx_yaml_kind_name(kind), cx_yaml_kind_name(node->kind));
}

cx_status_t cx_yaml_check_keys(const cx_yaml_node_t *map, const char *const *allowed,
                               cx_err_t *err)
{
    size_t i, j;
    if (map->kind != CX_YAML_MAP) return cx_yaml_expect(map, CX_YAML_MAP, err);
    for (i = 0; i < map->n_children; i++) {
        int ok = 0;
        for (j = 0; allowed[j] != NULL; j++) {
            if (strcmp(allowed[j], map->keys[i]) == 0) {
                ok = 1;
                break;
            }
        }
        if (!ok) {
            char   list[512];
            size_t n = 0;
            list[0]  = '\0';
            for (j = 0; allowed[j] != NULL && n < sizeof(list) - 1; j++) {
                int w = snprintf(list + n, sizeof(list) - n, "%s%s", j > 0 ? ", " : "", allowed[j]);
                if (w < 0) break;
                n += (size_t)w;
            }
            cx_err_set(err, CX_ERR_INVALID, map->doc->file, map->key_lines[i],
                       map->children[i]->path, "unknown key (expected one of: %s)", list);
            return CX_ERR_INVALID;
        }
    }
    return CX_OK;
}

/* Find a key's scalar: *node_p NULL when absent (error if required). */
static cx_status_t cx_yaml_scalar_of(const cx_yaml_node_t *map, const char *key, int required,
                                     const cx_yaml_node_t **node_p, cx_err_t *err)
{
    const cx_yaml_node_t *n;
    *node_p = NULL;
    if (map->kind != CX_YAML_MAP) return cx_yaml_expect(map, CX_YAML_MAP, err);
    n = cx_yaml_get(map, key);
    if (n == NULL) {
        if (required) {
            char path[CX_ERR_FIELD_MAX];
            if (map->path[0] != '\0') {
                snprintf(path, sizeof(path), "%s.%s", map->path, key);
            } else {
                snprintf(path, sizeof(path), "%s", key);
            }
            return cx_err_set(err, CX_ERR_INVALID, map->doc->file, map->line, path,
                              "missing required field");
        }
        return CX_OK;
    }
    if (n->kind != CX_YAML_SCALAR) return cx_yaml_expect(n, CX_YAML_SCALAR, err);
    *node_p = n;
    return CX_OK;
}

cx_status_t cx_yaml_get_int(const cx_yaml_node_t *map, const char *key, int required,
                            int64_t min, int64_t max, int64_t *out, cx_err_t *err)
{
    const cx_yaml_node_t *n;
    int64_t               v;
    cx_status_t           st = cx_yaml_scalar_of(map, key, required, &n, err);
    if (st != CX_OK || n == NULL) return st;
    if (cx_parse_int(n->scalar, &v) != CX_OK) {
        return cx_yaml_error(n, CX_ERR_INVALID, err, "'%s' is not an integer (decimal digits, no leading zero)", n->scalar);
    }
    if (min <= max && (v < min || v > max)) {
        return cx_yaml_error(n, CX_ERR_RANGE, err, "value %lld is outside [%lld, %lld]",
                             (long long)v, (long long)min, (long long)max);
    }
    *out = v;
    return CX_OK;
}

cx_status_t cx_yaml_get_double(const cx_yaml_node_t *map, const char *key, int required,
                               double min, double max, double *out, cx_err_t *err)
{
    const cx_yaml_node_t *n;
    double                v;
    cx_status_t           st = cx_yaml_scalar_of(map, key, required, &n, err);
    if (st != CX_OK || n == NULL) return st;
    if (cx_parse_double(n->scalar, &v) != CX_OK) {
        return cx_yaml_error(n, CX_ERR_INVALID, err, "'%s' is not a number", n->scalar);
    }
    if (min <= max && (v < min || v > max)) {
        return cx_yaml_error(n, CX_ERR_RANGE, err, "value %g is outside [%g, %g]", v, min, max);
    }
    *out = v;
    return CX_OK;
}

cx_status_t cx_yaml_get_string(const cx_yaml_node_t *map, const char *key, int required,
                               const char **out, cx_err_t *err)
{
    const cx_yaml_node_t *n;
    cx_status_t           st = cx_yaml_scalar_of(map, key, required, &n, err);
    if (st != CX_OK || n == NULL) return st;
    *out = n->scalar;
    return CX_OK;
}

cx_status_t cx_yaml_get_bool(const cx_yaml_node_t *map, const char *key, int required,
                             int *out, cx_err_t *err)
{
    const cx_yaml_node_t *n;
    cx_status_t           st = cx_yaml_scalar_of(map, key, required, &n, err);
    if (st != CX_OK || n == NULL) return st;
    if (strcasecmp(n->scalar, "true") == 0 || strcasecmp(n->scalar, "yes") == 0) {
        *out = 1;
    } else if (strcasecmp(n->scalar, "false") == 0 || strcasecmp(n->scalar, "no") == 0) {
        *out = 0;
    } else {
        return cx_yaml_error(n, CX_ERR_INVALID, err, "'%s' is not a boolean (true/false/yes/no)",
                             n->scalar);
    }
    return CX_OK;
}

cx_status_t cx_yaml_get_enum(const cx_yaml_node_t *map, const char *key, int required,
                             const char *const *choices, int *out, cx_err_t *err)
{
    const cx_yaml_node_t *n;
    char                  list[512];
    size_t                len = 0;
    int                   i;
    cx_status_t           st = cx_yaml_scalar_of(map, key, required, &n, err);
    if (st != CX_OK || n == NULL) return st;
    for (i = 0; choices[i] != NULL; i++) {
        if (strcmp(choices[i], n->scalar) == 0) {
            *out = i;
            return CX_OK;
        }
    }
    list[0] = '\0';
    for (i = 0; choices[i] != NULL && len < sizeof(list) - 1; i++) {
        int w = snprintf(list + len, sizeof(list) - len, "%s%s", i > 0 ? ", " : "", choices[i]);
        if (w < 0) break;
        len += (size_t)w;
    }
    return cx_yaml_error(n, CX_ERR_INVALID, err, "'%s' is not one of: %s", n->scalar, list);
}

/* A key's scalar through parse, stored in *out (size bytes) only when it
 * parses: the getters of values with units.  what: "'X' is not WHAT". */
typedef cx_status_t (*cx_yaml_parse_fn)(const char *s, void *out);

static cx_status_t cx_yaml_get_parsed(const cx_yaml_node_t *map, const char *key, int required,
                                      cx_yaml_parse_fn parse, void *out, size_t size, const char *what,
                                      cx_err_t *err)
{
    const cx_yaml_node_t *n;
    union {
        uint64_t u;
        int64_t  i;
        double   d;
    } v;
    cx_status_t st = cx_yaml_scalar_of(map, key, required, &n, err);
    if (st != CX_OK || n == NULL) return st;
    if (parse(n->scalar, &v) != CX_OK) return cx_yaml_error(n, CX_ERR_INVALID, err, "'%s' is not %s", n->scalar, what);
    memcpy(out, &v, size);
    return CX_OK;
}

static cx_status_t cx_yaml_parse_bytes_v(const char *s, void *out) { return cx_parse_bytes(s, out); }
static cx_status_t cx_yaml_parse_time_v(const char *s, void *out) { return cx_parse_time_ps(s, out); }
static cx_status_t cx_yaml_parse_bw_v(const char *s, void *out) { return cx_yaml_parse_bandwidth(s, out); }

cx_status_t cx_yaml_get_bytes(const cx_yaml_node_t *map, const char *key, int required,
                              uint64_t *out, cx_err_t *err)
{
    return cx_yaml_get_parsed(map, key, required, cx_yaml_parse_bytes_v, out, sizeof(*out),
                              "a byte size (e.g. 4096, 64K, 80GB, 1GiB)", err);
}

cx_status_t cx_yaml_get_time_ps(const cx_yaml_node_t *map, const char *key, int required,
                                int64_t *out, cx_err_t *err)
{
    return cx_yaml_get_parsed(map, key, required, cx_yaml_parse_time_v, out, sizeof(*out),
                              "a time (e.g. 600ns, 1.5us, 2ms; bare number = seconds)", err);
}

cx_status_t cx_yaml_parse_bandwidth(const char *s, double *bytes_per_s)
{
    static const struct { const char *suf; double mul; } tab[] = {
        {"", 1.0},          {"B/s", 1.0},       {"bps", 0.125},    {"b/s", 0.125},
        {"Kbps", 1e3 / 8},  {"Kb/s", 1e3 / 8},  {"KB/s", 1e3},
        {"Mbps", 1e6 / 8},  {"Mb/s", 1e6 / 8},  {"MB/s", 1e6},
        {"Gbps", 1e9 / 8},  {"Gb/s", 1e9 / 8},  {"GB/s", 1e9},
        {"Tbps", 1e12 / 8}, {"Tb/s", 1e12 / 8}, {"TB/s", 1e12},
    };
    char  *end;
    double v;
    size_t i;
    if (s == NULL || !(isdigit((unsigned char)s[0]) || (s[0] == '.' && isdigit((unsigned char)s[1]))) ||
        (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))) {
        return CX_ERR_INVALID;   /* decimal only: no sign, blanks or hex floats */
    }
    errno = 0;
    v     = strtod(s, &end);
    if (errno != 0 || end == s || !isfinite(v) || v < 0) return CX_ERR_INVALID;
    while (*end == ' ') end++;
    for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
        if (strcmp(end, tab[i].suf) == 0) {
            *bytes_per_s = v * tab[i].mul;
            return CX_OK;
        }
    }
    return CX_ERR_INVALID;
}

cx_status_t cx_yaml_get_bandwidth(const cx_yaml_node_t *map, const char *key, int required,
                                  double *bytes_per_s, cx_err_t *err)
{
    return cx_yaml_get_parsed(map, key, required, cx_yaml_parse_bw_v, bytes_per_s, sizeof(*bytes_per_s),
                              "a bandwidth (e.g. 400Gbps, 400 Gb/s, 50GB/s, 1.6Tbps)", err);
}
