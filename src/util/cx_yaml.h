/*
 * A small YAML document tree over libyaml, kept for its line numbers: every
 * node remembers the line and column where it started, so an error about a
 * value names file, line and the dotted field path ("fabric.tiers[1].radix").
 *
 * Lifecycle: cx_yaml_load_file / cx_yaml_load_string -> query -> cx_yaml_free.
 * Anchors/aliases are rejected; keys must be scalars; duplicate keys are an
 * error; lists and mappings nest at most CX_YAML_MAX_DEPTH deep.  Only
 * regular files are read (not a directory, FIFO or device), at most
 * CX_YAML_MAX_FILE_BYTES.  Integers are decimal.  Typed getters fail with a
 * cx_err_t naming file:line and the path.
 */
#ifndef CX_YAML_H
#define CX_YAML_H

#include <stddef.h>
#include <stdint.h>

#include "cx_status.h"

/* Deepest nesting of lists and mappings: every colossim file needs < 10. */
#define CX_YAML_MAX_DEPTH      64
/* Largest YAML file read (the biggest shipped one is a few KB). */
#define CX_YAML_MAX_FILE_BYTES ((size_t)64 << 20)

typedef enum { CX_YAML_SCALAR, CX_YAML_MAP, CX_YAML_SEQ } cx_yaml_kind_t;

typedef struct cx_yaml_node cx_yaml_node_t;
typedef struct cx_yaml_doc  cx_yaml_doc_t;

struct cx_yaml_node {
    cx_yaml_kind_t   kind;
    int              line;      /* 1-based */
    int              column;    /* 1-based */
    const char      *scalar;    /* SCALAR: its text */
    const char      *path;      /* dotted path from the root, e.g. "tiers[1].radix" */
    const cx_yaml_doc_t *doc;
    /* MAP: keys[i] -> children[i]; SEQ: children[i] */
    size_t           n_children;
    const char     **keys;
    int             *key_lines;
    cx_yaml_node_t **children;
};

/* Parse a file.  On a syntax error returns CX_ERR_PARSE with file:line. */
cx_status_t cx_yaml_load_file(cx_yaml_doc_t **doc_p, const char *path, cx_err_t *err);
/* Parse text; `name` is used as the file name in messages (e.g. "<embedded>"). */
cx_status_t cx_yaml_load_string(cx_yaml_doc_t **doc_p, const char *name, const char *text,
                                size_t len, cx_err_t *err);
void cx_yaml_free(cx_yaml_doc_t *doc);

const cx_yaml_node_t *cx_yaml_root(const cx_yaml_doc_t *doc);
const char *cx_yaml_file(const cx_yaml_doc_t *doc);

/* MAP lookup; NULL when absent or node is not a map. */
const cx_yaml_node_t *cx_yaml_get(const cx_yaml_node_t *map, const char *key);

/* Reject keys of `map` that are not in the NULL-terminated `allowed` list:
 * "FILE:LINE: 'path.key': unknown key (expected one of: a, b, c)". */
cx_status_t cx_yaml_check_keys(const cx_yaml_node_t *map, const char *const *allowed,
                               cx_err_t *err);

/* Require the node to be of a kind; error names file:line:path. */
cx_status_t cx_yaml_expect(const cx_yaml_node_t *node, cx_yaml_kind_t kind, cx_err_t *err);

/* Typed getters of a key in a map.  `required`: absent key is an error
 * ("missing required field"); otherwise absent leaves *out untouched and
 * returns CX_OK.  Bounds are inclusive; pass min > max for unbounded.
 * Numbers accept plain YAML ints/floats; bytes accept 400G-style suffixes as
 * in cx_parse_bytes; times accept units as in cx_parse_time_ps;
 * bandwidths accept "400Gbps", "50GB/s", "900 GB/s" and are returned in bytes/s. */
cx_status_t cx_yaml_get_int(const cx_yaml_node_t *map, const char *key, int required,
                            int64_t min, int64_t max, int64_t *out, cx_err_t *err);
cx_status_t cx_yaml_get_double(const cx_yaml_node_t *map, const char *key, int required,
                               double min, double max, double *out, cx_err_t *err);
cx_status_t cx_yaml_get_string(const cx_yaml_node_t *map, const char *key, int required,
                               const char **out, cx_err_t *err);
cx_status_t cx_yaml_get_bool(const cx_yaml_node_t *map, const char *key, int required,
                             int *out, cx_err_t *err);
/* choices: NULL-terminated list; *out = index. */
cx_status_t cx_yaml_get_enum(const cx_yaml_node_t *map, const char *key, int required,
                             const char *const *choices, int *out, cx_err_t *err);
cx_status_t cx_yaml_get_bytes(const cx_yaml_node_t *map, const char *key, int required,
                              uint64_t *out, cx_err_t *err);
cx_status_t cx_yaml_get_time_ps(const cx_yaml_node_t *map, const char *key, int required,
                                int64_t *out, cx_err_t *err);
cx_status_t cx_yaml_get_bandwidth(const cx_yaml_node_t *map, const char *key, int required,
                                  double *bytes_per_s, cx_err_t *err);

/* Parse a bandwidth string ("400Gbps", "400 Gb/s", "50GB/s", "1.6Tbps"; a bare
 * number is bytes/s; bits are divided by 8; K/M/G/T are decimal) into bytes/s.
 * Returns CX_OK or CX_ERR_INVALID. */
cx_status_t cx_yaml_parse_bandwidth(const char *s, double *bytes_per_s);

/* Fill err with "FILE:LINE: 'node.path': <message>" for any node. */
cx_status_t cx_yaml_error(const cx_yaml_node_t *node, cx_status_t st, cx_err_t *err,
                          const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
