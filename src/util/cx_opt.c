/* Table-driven option parsing, help and config dump (see cx_opt.h). */
#include "cx_opt.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CX_FIELD(_cfg, _o, _t) ((_t *)(void *)((char *)(_cfg) + (_o)->offset))
#define CX_CFIELD(_cfg, _o, _t) ((const _t *)(const void *)((const char *)(_cfg) + (_o)->offset))

/* Decimal only: an optional '-', then digits with no leading zero.  "010"
 * (octal to C, 8 to YAML 1.1, 10 to a reader) and "0x10" are refused rather
 * than read one of those ways silently. */
cx_status_t cx_parse_int(const char *s, int64_t *out_p)
{
    char       *end;
    long long   v;
    const char *d;
    if (s == NULL || *s == '\0') return CX_ERR_INVALID;
    d = s[0] == '-' ? s + 1 : s;
    if (!isdigit((unsigned char)d[0]) || (d[0] == '0' && d[1] != '\0')) return CX_ERR_INVALID;
    errno = 0;
    v     = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0') return CX_ERR_INVALID;
    *out_p = (int64_t)v;
    return CX_OK;
}

/* A decimal number starts here: [sign] digit or '.' digit, never "0x" (strtod
 * would read hex floats, and skips leading blanks). */
static int cx_decimal_start(const char *s)
{
    const char *d = (s[0] == '-' || s[0] == '+') ? s + 1 : s;
    if (d[0] == '.') d++;
    if (!isdigit((unsigned char)d[0])) return 0;
    return !(d[0] == '0' && (d[1] == 'x' || d[1] == 'X'));
}

cx_status_t cx_parse_double(const char *s, double *out_p)
{
    char  *end;
    double v;
    if (s == NULL || *s == '\0' || !cx_decimal_start(s)) return CX_ERR_INVALID;
    errno = 0;
    v     = strtod(s, &end);
    if (errno != 0 || *end != '\0' || !isfinite(v)) return CX_ERR_INVALID;
    *out_p = v;
    return CX_OK;
}

/* Split "12.5ms" into number and suffix. */
static cx_status_t cx_parse_num_suffix(const char *s, double *num_p, const char **suf_p)
{
    char  *end;
    double v;
    if (s == NULL || *s == '\0' || !cx_decimal_start(s)) return CX_ERR_INVALID;
    errno = 0;
    v     = strtod(s, &end);
    if (errno != 0 || end == s || !isfinite(v) || v < 0) return CX_ERR_INVALID;
    while (*end == ' ') end++;
    *num_p = v;
    *suf_p = end;
    return CX_OK;
}

cx_status_t cx_parse_bytes(const char *s, uint64_t *out_p)
{
    static const struct { const char *suf; double mul; } tab[] = {
        {"", 1.0}, {"B", 1.0},
        {"K", 1024.0}, {"KB", 1024.0}, {"KiB", 1024.0},
        {"M", 1048576.0}, {"MB", 1048576.0}, {"MiB", 1048576.0},
        {"G", 1073741824.0}, {"GB", 1073741824.0}, {"GiB", 1073741824.0},
        {"T", 1099511627776.0}, {"TB", 1099511627776.0}, {"TiB", 1099511627776.0},
    };
    double      v, b;
    const char *suf;
    size_t      i;
    if (cx_parse_num_suffix(s, &v, &suf) != CX_OK) return CX_ERR_INVALID;
    for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
        if (strcmp(suf, tab[i].suf) == 0) {
            b = v * tab[i].mul;
            if (b > 1.8e19 || b != floor(b)) return CX_ERR_INVALID;
            *out_p = (uint64_t)b;
            return CX_OK;
        }
    }
    return CX_ERR_INVALID;
}

cx_status_t cx_parse_time_ps(const char *s, int64_t *out_p)
{
    static const struct { const char *suf; double mul; } tab[] = {
        {"ps", 1.0}, {"ns", 1e3}, {"us", 1e6}, {"ms", 1e9}, {"s", 1e12}, {"", 1e12},
    };
    double      v, ps;
    const char *suf;
    size_t      i;
    if (cx_parse_num_suffix(s, &v, &suf) != CX_OK) return CX_ERR_INVALID;
    for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
        if (strcmp(suf, tab[i].suf) == 0) {
            ps = v * tab[i].mul;
            if (ps > 9.2e18) return CX_ERR_INVALID;
            *out_p = (int64_t)llround(ps);
            return CX_OK;
        }
    }
    return CX_ERR_INVALID;
}

static int cx_opt_bounded(const cx_opt_t *o) { return o->min <= o->max; }

static cx_status_t cx_opt_check_bounds(const cx_opt_t *o, double v, cx_err_t *err)
{
    if (cx_opt_bounded(o) && (v < o->min || v > o->max)) {
        return cx_err_set(err, CX_ERR_RANGE, NULL, 0, NULL,
                          "option --%s: value %g is outside [%g, %g]", o->name, v, o->min, o->max);
    }
    return CX_OK;
}

static int cx_opt_enum_index(const char *choices, const char *v)
{
    const char *p = choices;
    int         idx = 0;
    size_t      len = strlen(v);
    while (p != NULL && *p != '\0') {
        const char *bar = strchr(p, '|');
        size_t      n   = bar != NULL ? (size_t)(bar - p) : strlen(p);
        if (n == len && strncmp(p, v, n) == 0) return idx;
        idx++;
        p = bar != NULL ? bar + 1 : NULL;
    }
    return -1;
}

cx_status_t cx_opt_set(const cx_opt_t *o, const char *value, void *cfg, cx_err_t *err)
{
    int64_t  i;
    uint64_t u;
    double   d;
    int      e;

    switch (o->type) {
    case CX_OPT_INT:
        if (cx_parse_int(value, &i) != CX_OK)
            return cx_err_set(err, CX_ERR_INVALID, NULL, 0, NULL,
                              "option --%s: '%s' is not an integer (decimal digits, no leading zero)", o->name, value);
        if (cx_opt_check_bounds(o, (double)i, err) != CX_OK) return CX_ERR_RANGE;
        *CX_FIELD(cfg, o, int64_t) = i;
        return CX_OK;
    case CX_OPT_UINT:
        if (cx_parse_int(value, &i) != CX_OK || i < 0)
            return cx_err_set(err, CX_ERR_INVALID, NULL, 0, NULL,
                              "option --%s: '%s' is not a non-negative integer (decimal digits, no leading zero)", o->name, value);
        if (cx_opt_check_bounds(o, (double)i, err) != CX_OK) return CX_ERR_RANGE;
        *CX_FIELD(cfg, o, uint64_t) = (uint64_t)i;
        return CX_OK;
    case CX_OPT_DOUBLE:
        if (cx_parse_double(value, &d) != CX_OK)
            return cx_err_set(err, CX_ERR_INVALID, NULL, 0, NULL,
                              "option --%s: '%s' is not a number", o->name, value);
        if (cx_opt_check_bounds(o, d, err) != CX_OK) return CX_ERR_RANGE;
        *CX_FIELD(cfg, o, double) = d;
        return CX_OK;
    case CX_OPT_STRING:
        *CX_FIELD(cfg, o, const char *) = value;
        return CX_OK;
    case CX_OPT_FLAG:
        if (value == NULL || strcmp(value, "1") == 0 || strcmp(value, "true") == 0 ||
            strcmp(value, "yes") == 0) {
            *CX_FIELD(cfg, o, int) = 1;
        } else if (strcmp(value, "0") == 0 || strcmp(value, "false") == 0 ||
                   strcmp(value, "no") == 0) {
            *CX_FIELD(cfg, o, int) = 0;
        } else {
            return cx_err_set(err, CX_ERR_INVALID, NULL, 0, NULL,
                              "option --%s: '%s' is not true/false", o->name, value);
        }
        return CX_OK;
    case CX_OPT_ENUM:
        e = cx_opt_enum_index(o->choices, value != NULL ? value : "");
        if (e < 0)
            return cx_err_set(err, CX_ERR_INVALID, NULL, 0, NULL,
                              "option --%s: '%s' is not one of %s", o->name,
                              value != NULL ? value : "", o->choices);
        *CX_FIELD(cfg, o, int) = e;
        return CX_OK;
    case CX_OPT_BYTES:
        if (cx_parse_bytes(value, &u) != CX_OK)
            return cx_err_set(err, CX_ERR_INVALID, NULL, 0, NULL,
                              "option --%s: '%s' is not a byte size (e.g. 4096, 64K, 1M, 2GiB)",
                              o->name, value);
        if (cx_opt_check_bounds(o, (double)u, err) != CX_OK) return CX_ERR_RANGE;
        *CX_FIELD(cfg, o, uint64_t) = u;
        return CX_OK;
    case CX_OPT_TIME:
        if (cx_parse_time_ps(value, &i) != CX_OK)
            return cx_err_set(err, CX_ERR_INVALID, NULL, 0, NULL,
                              "option --%s: '%s' is not a time with unit (ps, ns, us, ms, s)",
                              o->name, value);
        if (cx_opt_check_bounds(o, (double)i, err) != CX_OK) return CX_ERR_RANGE;
        *CX_FIELD(cfg, o, int64_t) = i;
        return CX_OK;
    }
    return cx_err_set(err, CX_ERR_INTERNAL, NULL, 0, NULL, "option --%s: bad type", o->name);
}

cx_status_t cx_opt_defaults(const cx_opt_t *tbl, size_t n, void *cfg, cx_err_t *err)
{
    size_t      k;
    cx_status_t st;
    for (k = 0; k < n; k++) {
        const cx_opt_t *o = &tbl[k];
        if (o->def == NULL) {
            switch (o->type) {
            case CX_OPT_INT: case CX_OPT_TIME: *CX_FIELD(cfg, o, int64_t) = 0; break;
            case CX_OPT_UINT: case CX_OPT_BYTES: *CX_FIELD(cfg, o, uint64_t) = 0; break;
            case CX_OPT_DOUBLE: *CX_FIELD(cfg, o, double) = 0.0; break;
            case CX_OPT_STRING: *CX_FIELD(cfg, o, const char *) = NULL; break;
            case CX_OPT_FLAG: case CX_OPT_ENUM: *CX_FIELD(cfg, o, int) = 0; break;
            }
            continue;
        }
        st = cx_opt_set(o, o->def, cfg, err);
        if (st != CX_OK) return st;
    }
    return CX_OK;
}

static const cx_opt_t *cx_opt_find(const cx_opt_t *tbl, size_t n, const char *name, size_t len)
{
    size_t k;
    for (k = 0; k < n; k++) {
        if (strlen(tbl[k].name) == len && strncmp(tbl[k].name, name, len) == 0) return &tbl[k];
    }
    return NULL;
}

/* Edit distance of a and b[0..blen) (insertions, deletions, substitutions),
 * capped at 3: enough to say "did you mean". */
static int cx_opt_distance(const char *a, const char *b, size_t blen)
{
    size_t alen = strlen(a), i, j;
    int    row[64], prev, cur;
    if (alen >= 63 || blen >= 63) return 3;
    for (j = 0; j <= blen; j++) row[j] = (int)j;
    for (i = 1; i <= alen; i++) {
        prev   = row[0];
        row[0] = (int)i;
        for (j = 1; j <= blen; j++) {
            cur    = row[j];
            row[j] = prev + (a[i - 1] != b[j - 1]);
            if (row[j - 1] + 1 < row[j]) row[j] = row[j - 1] + 1;
            if (cur + 1 < row[j]) row[j] = cur + 1;
            prev = cur;
        }
    }
    return row[blen] < 3 ? row[blen] : 3;
}

/* The option a mistyped --name most likely meant: within 2 edits, or one
 * the name is a prefix of (the first in table order); NULL if none. */
static const cx_opt_t *cx_opt_suggest(const cx_opt_t *tbl, size_t n, const char *name, size_t len)
{
    size_t          k;
    int             best = 3;
    const cx_opt_t *s    = NULL;
    for (k = 0; k < n; k++) {
        int d = cx_opt_distance(tbl[k].name, name, len);
        if (d < best) {
            best = d;
            s    = &tbl[k];
        }
    }
    if (s != NULL) return s;
    for (k = 0; k < n && len >= 2; k++) {
        if (strncmp(tbl[k].name, name, len) == 0) return &tbl[k];
    }
    return NULL;
}

cx_status_t cx_opt_parse(const cx_opt_t *tbl, size_t n, int argc, char **argv, void *cfg,
                         const char **positional, int max_pos, int *n_pos_p, cx_err_t *err)
{
    int         i, npos = 0, only_pos = 0;
    cx_status_t st;

    for (i = 0; i < argc; i++) {
        const char     *a = argv[i];
        const char     *name, *eq, *val;
        const cx_opt_t *o;
        size_t          len;

        /* -h is --help wherever the command has --help. */
        if (!only_pos && strcmp(a, "-h") == 0 && cx_opt_find(tbl, n, "help", 4) != NULL) a = "--help";
        if (only_pos || a[0] != '-' || a[1] != '-' || a[2] == '\0') {
            if (!only_pos && strcmp(a, "--") == 0) {
                only_pos = 1;
                continue;
            }
            if (!only_pos && a[0] == '-' && a[1] != '\0' && !isdigit((unsigned char)a[1])) {
                return cx_err_set(err, CX_ERR_INVALID, NULL, 0, NULL,
                                  "unknown option '%s' (options are --long-names; see --help)", a);
            }
            if (npos >= max_pos) {
                return cx_err_set(err, CX_ERR_INVALID, NULL, 0, NULL,
                                  "unexpected argument '%s'", a);
            }
            positional[npos++] = a;
            continue;
        }
        name = a + 2;
        eq   = strchr(name, '=');
        len  = eq != NULL ? (size_t)(eq - name) : strlen(name);
        o    = cx_opt_find(tbl, n, name, len);
        if (o == NULL) {
            const cx_opt_t *s = cx_opt_suggest(tbl, n, name, len);
            if (s != NULL) {
                return cx_err_set(err, CX_ERR_INVALID, NULL, 0, NULL,
                                  "unknown option '--%.*s': did you mean --%s? (see --help)", (int)len, name,
                                  s->name);
            }
            return cx_err_set(err, CX_ERR_INVALID, NULL, 0, NULL,
                              "unknown option '--%.*s' (see --help)", (int)len, name);
        }
        if (o->type == CX_OPT_FLAG) {
            val = eq != NULL ? eq + 1 : NULL;
        } else if (eq != NULL) {
            val = eq + 1;
        } else {
            if (i + 1 >= argc) {
                return cx_err_set(err, CX_ERR_INVALID, NULL, 0, NULL,
                                  "option --%s needs a value (%s)", o->name,
                                  o->metavar != NULL ? o->metavar : "VALUE");
            }
            val = argv[++i];
        }
        st = cx_opt_set(o, val, cfg, err);
        if (st != CX_OK) return st;
    }
    if (n_pos_p != NULL) *n_pos_p = npos;
    return CX_OK;
}

void cx_opt_format(const cx_opt_t *o, const void *cfg, char *buf, size_t len)
{
    const char *s;
    int         e;
    switch (o->type) {
    case CX_OPT_INT: case CX_OPT_TIME:
        snprintf(buf, len, "%" PRId64 "%s", *CX_CFIELD(cfg, o, int64_t),
                 o->type == CX_OPT_TIME ? "ps" : "");
        return;
    case CX_OPT_UINT: case CX_OPT_BYTES:
        snprintf(buf, len, "%" PRIu64, *CX_CFIELD(cfg, o, uint64_t));
        return;
    case CX_OPT_DOUBLE:
        snprintf(buf, len, "%.17g", *CX_CFIELD(cfg, o, double));
        return;
    case CX_OPT_STRING:
        s = *CX_CFIELD(cfg, o, const char *);
        snprintf(buf, len, "%s", s != NULL ? s : "");
        return;
    case CX_OPT_FLAG:
        snprintf(buf, len, "%s", *CX_CFIELD(cfg, o, int) ? "true" : "false");
        return;
    case CX_OPT_ENUM: {
        const char *p = o->choices;
        e             = *CX_CFIELD(cfg, o, int);
        while (e-- > 0 && p != NULL) {
            p = strchr(p, '|');
            if (p != NULL) p++;
        }
        if (p == NULL) {
            snprintf(buf, len, "?");
        } else {
            const char *bar = strchr(p, '|');
            snprintf(buf, len, "%.*s", (int)(bar != NULL ? (size_t)(bar - p) : strlen(p)), p);
        }
        return;
    }
    }
    snprintf(buf, len, "?");
}

void cx_opt_help(FILE *out, const cx_opt_t *tbl, size_t n)
{
    size_t k;
    for (k = 0; k < n; k++) {
        const cx_opt_t *o = &tbl[k];
        char            left[96];
        if (o->type == CX_OPT_FLAG) {
            snprintf(left, sizeof(left), "--%s", o->name);
        } else if (o->type == CX_OPT_ENUM) {
            snprintf(left, sizeof(left), "--%s %s", o->name, o->choices);
        } else {
            snprintf(left, sizeof(left), "--%s %s", o->name, o->metavar != NULL ? o->metavar : "V");
        }
        fprintf(out, "  %-30s %s", left, o->help != NULL ? o->help : "");
        if (o->def != NULL && o->type != CX_OPT_FLAG) fprintf(out, " [default: %s]", o->def);
        fputc('\n', out);
    }
}

void cx_opt_dump(FILE *out, const cx_opt_t *tbl, size_t n, const void *cfg)
{
    size_t k;
    char   buf[512];
    for (k = 0; k < n; k++) {
        cx_opt_format(&tbl[k], cfg, buf, sizeof(buf));
        fprintf(out, "%s = %s\n", tbl[k].name, buf);
    }
}
