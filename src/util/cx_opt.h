/*
 * Declarative command-line options (after Redis' static_configs[]): one table
 * drives parsing, --help, bounds checks, defaults and the dump of the
 * effective configuration that goes into every trace.
 *
 * Each entry names a field of a caller-owned config struct by offset.
 * Storage per type:
 *   CX_OPT_INT    int64_t       CX_OPT_UINT   uint64_t
 *   CX_OPT_DOUBLE double        CX_OPT_STRING const char * (argv or default)
 *   CX_OPT_FLAG   int (0/1)     CX_OPT_ENUM   int (index into choices)
 *   CX_OPT_BYTES  uint64_t, accepts 4096, 64K, 1M, 2G, 1KiB, 1MB ... (K=1024)
 *   CX_OPT_TIME   int64_t picoseconds, accepts 10us, 2.5ms, 1s, 300ns, 5ps;
 *                 a bare number is seconds
 */
#ifndef CX_OPT_H
#define CX_OPT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cx_status.h"

typedef enum {
    CX_OPT_INT, CX_OPT_UINT, CX_OPT_DOUBLE, CX_OPT_STRING, CX_OPT_FLAG,
    CX_OPT_ENUM, CX_OPT_BYTES, CX_OPT_TIME
} cx_opt_type_t;

typedef struct cx_opt {
    const char   *name;     /* long name without "--" */
    cx_opt_type_t type;
    size_t        offset;   /* offsetof(config, field) */
    const char   *def;      /* default, as it would be typed; NULL = none/0 */
    double        min, max; /* inclusive bounds for numbers; min > max = unbounded */
    const char   *choices;  /* ENUM: "a|b|c" */
    const char   *metavar;  /* shown in help, e.g. "N" */
    const char   *help;
} cx_opt_t;

#define CX_OPT_UNBOUNDED 1.0, 0.0

/* Set every field to its default. */
cx_status_t cx_opt_defaults(const cx_opt_t *tbl, size_t n, void *cfg, cx_err_t *err);

/* Parse argv[0..argc) (argv[0] is the first option, not the program).
 * Accepts "--name value" and "--name=value"; flags take no value.
 * Non-option arguments are stored in positional[0..max_pos) and counted in
 * *n_pos_p; more than max_pos is an error.  "--" ends option parsing.
 * Fields keep defaults unless given.  Errors name the option. */
cx_status_t cx_opt_parse(const cx_opt_t *tbl, size_t n, int argc, char **argv, void *cfg,
                         const char **positional, int max_pos, int *n_pos_p, cx_err_t *err);

/* Parse one value string into the field of `o` (used by parse and defaults). */
cx_status_t cx_opt_set(const cx_opt_t *o, const char *value, void *cfg, cx_err_t *err);

/* Print "  --name METAVAR   help [default: x]" lines. */
void cx_opt_help(FILE *out, const cx_opt_t *tbl, size_t n);

/* Format the field's current value as it would be typed. */
void cx_opt_format(const cx_opt_t *o, const void *cfg, char *buf, size_t len);

/* "name = value\n" for every option: the effective configuration. */
void cx_opt_dump(FILE *out, const cx_opt_t *tbl, size_t n, const void *cfg);

/* Parsers shared with YAML loading.  Return CX_OK or CX_ERR_INVALID. */
cx_status_t cx_parse_bytes(const char *s, uint64_t *out_p);
cx_status_t cx_parse_time_ps(const char *s, int64_t *out_p);
cx_status_t cx_parse_int(const char *s, int64_t *out_p);
cx_status_t cx_parse_double(const char *s, double *out_p);

#endif
