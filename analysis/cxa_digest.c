/*
 * digest: a 64-bit hash of the trace's table content that does not depend
 * on row order, so runs at 1, 2, 4 ranks (whose rows are interleaved
 * differently, SCHEMA.md) compare equal.
 *
 *   row hash   h = S ^ len; for each 8-byte little-endian word w of the row's
 *              packed bytes (last word zero-padded): h = mix64(h ^ w);
 *              finally mix64(h ^ len).   mix64 = splitmix64's finalizer.
 *   table      sum of row hashes mod 2^64 (OpenMP reduction), then
 *              T = mix64(mix64(fnv1a(path, column names and sizes)) ^ sum ^ mix64(rows))
 *   file       D = 0; for each table in byte order of its path:
 *              D = mix64(D ^ T)
 * Every dataset outside /meta is included (/meta holds wall time, rank
 * count, command line: they differ between equal runs).
 */
#define _POSIX_C_SOURCE 200809L
#include "cxa.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

static inline uint64_t cxa_mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

static inline uint64_t cxa_row_hash(const unsigned char *p, size_t len)
{
    uint64_t h = 0x243f6a8885a308d3ULL ^ (uint64_t)len, w;
    size_t   i;
    for (i = 0; i + 8 <= len; i += 8) {
        memcpy(&w, p + i, 8);
        h = cxa_mix64(h ^ w);
    }
    if (i < len) {
        w = 0;
        memcpy(&w, p + i, len - i);
        h = cxa_mix64(h ^ w);
    }
    return cxa_mix64(h ^ (uint64_t)len);
}

typedef struct cxa_names {
    char **v;
    size_t n, cap;
} cxa_names_t;

static herr_t cxa_visit(hid_t obj, const char *name, const H5O_info_t *info, void *op_data)
{
    cxa_names_t *nm = op_data;
    (void)obj;
    if (info->type != H5O_TYPE_DATASET) return 0;
    if (strcmp(name, "meta") == 0 || strncmp(name, "meta/", 5) == 0) return 0;
    if (nm->n == nm->cap) {
        size_t cap = nm->cap ? nm->cap * 2 : 16;
        char **v   = realloc(nm->v, cap * sizeof(char *));
        if (v == NULL) return -1;
        nm->v   = v;
        nm->cap = cap;
    }
    nm->v[nm->n] = malloc(strlen(name) + 2);
    if (nm->v[nm->n] == NULL) return -1;
    nm->v[nm->n][0] = '/';
    strcpy(nm->v[nm->n] + 1, name);
    nm->n++;
    return 0;
}

static int cxa_strcmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Hash one table; 0 ok. */
static int cxa_digest_table(const cxa_file_t *f, const char *path, uint64_t *rows_p, uint64_t *hash_p)
{
    cxa_table_t    t;
    cxa_blocks_t   b;
    uint64_t       sum = 0, name_h;
    int            i, rc;
    if (cxa_table_open(f, path, 1, &t) != 0) return -1;
    t.raw = 1; /* a hash of the values as they are, absurd ones too */
    if (cxa_blocks_init(&b, &t, 64u << 20) != 0) {
        cxa_error(f->path, "out of memory");
        cxa_table_close(&t);
        return -1;
    }
    while ((rc = cxa_blocks_next(&b)) > 0) {
        const unsigned char *buf = b.buf;
        uint64_t             s = 0;
        long                 r, nr = (long)b.n;
        size_t               rs = t.row_size;
#pragma omp parallel for reduction(+ : s) schedule(static)
        for (r = 0; r < nr; r++) s += cxa_row_hash(buf + (size_t)r * rs, rs);
        sum += s;
    }
    if (rc < 0) {
        cxa_blocks_free(&b);
        cxa_table_close(&t);
        return -1;
    }
    name_h = cx_schema_fnv1a(CX_SCHEMA_FNV_BASIS, path, strlen(path));
    for (i = 0; i < t.ncols; i++) {
        uint64_t sz = t.cols[i].size;
        name_h      = cx_schema_fnv1a(name_h, t.cols[i].name, strlen(t.cols[i].name) + 1);
        name_h      = cx_schema_fnv1a(name_h, &sz, sizeof(sz));
        name_h      = cx_schema_fnv1a(name_h, &t.cols[i].cls, 1);
    }
    *rows_p = t.rows;
    *hash_p = cxa_mix64(cxa_mix64(name_h) ^ sum ^ cxa_mix64(t.rows));
    cxa_blocks_free(&b);
    cxa_table_close(&t);
    return 0;
}

int cxa_cmd_digest(int argc, char **argv)
{
    cxa_args_t   a;
    cxa_format_t fmt;
    cxa_file_t   f;
    cxa_names_t  nm;
    uint64_t     d = 0, *rows, *hash;
    size_t       i;
    int          rc = CXA_EXIT_OK;
    rc = cxa_cmd_start("digest", argc, argv, "format",
                       "usage: colossim-analyze digest FILE [--format table|json]\n"
                       "  64-bit hash of every table outside /meta, independent of row order\n"
                       "  (equal for runs at any rank count).  Last line: 'digest HEX'.\n",
                       &a, &fmt);
    if (rc >= 0) return rc;
    rc = CXA_EXIT_OK;
    if (cxa_open(&f, a.pos[0]) != 0) return CXA_EXIT_FILE;
    memset(&nm, 0, sizeof(nm));
    if (H5Ovisit(f.fid, H5_INDEX_NAME, H5_ITER_INC, cxa_visit, &nm) < 0) {
        cxa_error(f.path, "cannot list the datasets (damaged file)");
        cxa_close(&f);
        return CXA_EXIT_FILE;
    }
    if (nm.n == 0) {
        cxa_error(f.path, "no tables outside /meta: nothing to digest");
        cxa_close(&f);
        return CXA_EXIT_FILE;
    }
    qsort(nm.v, nm.n, sizeof(char *), cxa_strcmp);
    rows = calloc(nm.n, sizeof(uint64_t));
    hash = calloc(nm.n, sizeof(uint64_t));
    if (rows == NULL || hash == NULL) {
        cxa_error(f.path, "out of memory");
        rc = CXA_EXIT_FILE;
    }
    for (i = 0; rc == CXA_EXIT_OK && i < nm.n; i++) {
        if (cxa_digest_table(&f, nm.v[i], &rows[i], &hash[i]) != 0)
            rc = CXA_EXIT_FILE;
        else
            d = cxa_mix64(d ^ hash[i]);
    }
    if (rc == CXA_EXIT_OK) {
        char hex[24];
        snprintf(hex, sizeof(hex), "%016llx", (unsigned long long)d);
        if (fmt == CXA_FMT_JSON) {
            json_object *j = json_object_new_object(), *tabs = json_object_new_object();
            for (i = 0; i < nm.n; i++) {
                json_object *o = json_object_new_object();
                char         th[24];
                snprintf(th, sizeof(th), "%016llx", (unsigned long long)hash[i]);
                json_object_object_add(o, "rows", json_object_new_uint64(rows[i]));
                json_object_object_add(o, "digest", json_object_new_string(th));
                json_object_object_add(tabs, nm.v[i], o);
            }
            json_object_object_add(j, "file", json_object_new_string(f.path));
            json_object_object_add(j, "tables", tabs);
            json_object_object_add(j, "digest", json_object_new_string(hex));
            printf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
            json_object_put(j);
        } else {
            for (i = 0; i < nm.n; i++)
                printf("%-28s %12llu rows  %016llx\n", nm.v[i], (unsigned long long)rows[i],
                       (unsigned long long)hash[i]);
            printf("digest %s\n", hex);
        }
    }
    for (i = 0; i < nm.n; i++) free(nm.v[i]);
    free(nm.v);
    free(rows);
    free(hash);
    cxa_close(&f);
    return rc;
}
