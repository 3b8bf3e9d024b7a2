/*
 * Replay traces (format in cx_replay.h): the writer, the streaming reader,
 * replay directories, and the op sources a run's GPUs read their programs
 * from, the generator or replay files.  A source instance serves one stream
 * of one GPU and reads the whole program, keeping that stream's ops, so no
 * stream waits on another's look-ahead (cx_gpu.h, cx_op_source_t).
 */
#include "cx_replay.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cx_run_internal.h"
#include "cx_yaml.h"

static const unsigned char magic[8] = {'C', 'X', 'O', 'P', 'S', 0, 0, 1};

struct cx_replay {
    FILE    *f;
    uint64_t gpu, n_ops, read;
    char     path[CX_ERR_FILE_MAX];
};

/* The records are the in-memory cx_op_t; the format is little-endian. */
static int host_is_le(void)
{
    const uint16_t one = 1;
    return *(const unsigned char *)&one == 1;
}

static void put_header(unsigned char *h, uint64_t gpu, uint64_t n)
{
    uint32_t v = CX_REPLAY_VERSION, rs = (uint32_t)sizeof(cx_op_t);
    memset(h, 0, 64);
    memcpy(h, magic, 8);
    memcpy(h + 8, &v, 4);
    memcpy(h + 12, &rs, 4);
    memcpy(h + 16, &gpu, 8);
    memcpy(h + 24, &n, 8);
}

typedef struct { const cx_op_t *ops; size_t n, i; cx_gen_t *g; } src_t;

static int src_next(src_t *s, cx_op_t *op)
{
    if (s->g != NULL) return cx_gen_next(s->g, op);
    if (s->i == s->n) return 0;
    *op = s->ops[s->i++];
    return 1;
}

static cx_status_t write_src(const char *path, uint64_t gpu, src_t *s, cx_err_t *err)
{
    char          tmp[CX_ERR_FILE_MAX + 16];
    unsigned char h[64];
    cx_op_t       op;
    uint64_t      n = 0;
    FILE         *f;
    if (!host_is_le())
        return cx_err_set(err, CX_ERR_UNSUPPORTED, path, 0, NULL, "replay files need a little-endian host");
    snprintf(tmp, sizeof(tmp), "%s.partial", path);
    f = fopen(tmp, "wb");
    if (f == NULL) return cx_err_set(err, CX_ERR_IO, tmp, 0, NULL, "cannot create: %s", strerror(errno));
    put_header(h, gpu, 0);
    if (fwrite(h, 64, 1, f) != 1) goto err_write;
    while (src_next(s, &op)) {
        if (fwrite(&op, sizeof(op), 1, f) != 1) goto err_write;
        n++;
    }
    put_header(h, gpu, n);
    if (fseek(f, 0, SEEK_SET) != 0 || fwrite(h, 64, 1, f) != 1) goto err_write;
    if (fclose(f) != 0) {
        f = NULL;
        goto err_write;
    }
    if (rename(tmp, path) != 0) {
        remove(tmp);
        return cx_err_set(err, CX_ERR_IO, path, 0, NULL, "cannot rename %s: %s", tmp, strerror(errno));
    }
    return CX_OK;
err_write:
    if (f != NULL) fclose(f);
    remove(tmp);
    return cx_err_set(err, CX_ERR_IO, tmp, 0, NULL, "write failed: %s", strerror(errno));
}

cx_status_t cx_replay_write_ops(const char *path, uint64_t gpu, const cx_op_t *ops, size_t n,
                                cx_err_t *err)
{
    src_t s = {ops, n, 0, NULL};
    return write_src(path, gpu, &s, err);
}

cx_status_t cx_replay_write_gen(const char *path, cx_gen_t *g, cx_err_t *err)
{
    src_t s = {NULL, 0, 0, g};
    return write_src(path, g->gpu, &s, err);
}

cx_status_t cx_replay_open(cx_replay_t **r_p, const char *path, cx_err_t *err)
{
    unsigned char h[64];
    uint32_t      v, rs;
    cx_replay_t  *r;
    FILE         *f = fopen(path, "rb");
    if (f == NULL) return cx_err_set(err, CX_ERR_IO, path, 0, NULL, "cannot open: %s", strerror(errno));
    if (fread(h, 64, 1, f) != 1 || memcmp(h, magic, 8) != 0) {
        fclose(f);
        return cx_err_set(err, CX_ERR_PARSE, path, 0, "header", "not a colossim replay file (bad magic)");
    }
    memcpy(&v, h + 8, 4);
    memcpy(&rs, h + 12, 4);
    if (v != CX_REPLAY_VERSION || rs != sizeof(cx_op_t) || !host_is_le()) {
        fclose(f);
        return cx_err_set(err, CX_ERR_PARSE, path, 0, "header",
                          "unsupported replay file: version %u, record size %u (want %u, %u)", v, rs,
                          CX_REPLAY_VERSION, (unsigned)sizeof(cx_op_t));
    }
    r = calloc(1, sizeof(*r));
    if (r == NULL) {
        fclose(f);
        return cx_err_set(err, CX_ERR_NOMEM, path, 0, NULL, "out of memory");
    }
    r->f = f;
    memcpy(&r->gpu, h + 16, 8);
    memcpy(&r->n_ops, h + 24, 8);
    snprintf(r->path, sizeof(r->path), "%s", path);
    *r_p = r;
    return CX_OK;
}

int cx_replay_next(cx_replay_t *r, cx_op_t *op, cx_err_t *err)
{
    if (r->read == r->n_ops) return 0;
    if (fread(op, sizeof(*op), 1, r->f) != 1) {
        cx_err_set(err, CX_ERR_PARSE, r->path, 0, "records", "truncated: record %llu of %llu missing",
                   (unsigned long long)r->read, (unsigned long long)r->n_ops);
        return -1;
    }
    r->read++;
    return 1;
}

uint64_t cx_replay_gpu(const cx_replay_t *r) { return r->gpu; }
uint64_t cx_replay_num_ops(const cx_replay_t *r) { return r->n_ops; }

void cx_replay_close(cx_replay_t *r)
{
    if (r == NULL) return;
    fclose(r->f);
    free(r);
}

/* ---- replay directories ------------------------------------------------- */

void cx_replay_file_path(char *buf, size_t len, const char *dir, uint64_t gpu)
{
    snprintf(buf, len, "%s/gpu-%06llu.ops", dir, (unsigned long long)gpu);
}

cx_status_t cx_replay_dir_load(const char *dir, cx_workload_t **w_p, uint32_t *iterations_p,
                               cx_err_t *err)
{
    char           f[4096];
    cx_yaml_doc_t *doc = NULL;
    int64_t        it = 0, gpus = 0;
    const char    *fmt = NULL;
    static const char *const keys[] = {"format", "workload", "iterations", "gpus", NULL};
    cx_status_t    st;
    snprintf(f, sizeof(f), "%s/replay.yaml", dir);
    st = cx_yaml_load_file(&doc, f, err);
    if (st == CX_OK) st = cx_yaml_check_keys(cx_yaml_root(doc), keys, err);
    if (st == CX_OK) st = cx_yaml_get_string(cx_yaml_root(doc), "format", 1, &fmt, err);
    if (st == CX_OK && strcmp(fmt, "colossim-ops-v1") != 0) {
        st = cx_yaml_error(cx_yaml_get(cx_yaml_root(doc), "format"), CX_ERR_UNSUPPORTED, err,
                           "unknown replay format '%s' (expected colossim-ops-v1)", fmt);
    }
    if (st == CX_OK) st = cx_yaml_get_int(cx_yaml_root(doc), "iterations", 1, 1, 1000000, &it, err);
    if (st == CX_OK) st = cx_yaml_get_int(cx_yaml_root(doc), "gpus", 1, 1, INT64_C(1) << 40, &gpus, err);
    cx_yaml_free(doc);
    if (st != CX_OK) return st;
    snprintf(f, sizeof(f), "%s/workload.yaml", dir);
    st = cx_workload_load(w_p, f, err);
    if (st != CX_OK) return st;
    if ((uint64_t)gpus != (*w_p)->gpus) {
        uint64_t wg = (*w_p)->gpus;
        cx_workload_destroy(*w_p);
        *w_p = NULL;
        return cx_err_set(err, CX_ERR_INVALID, f, 0, "gpus", "replay.yaml says %lld GPUs, the workload %llu",
                          (long long)gpus, (unsigned long long)wg);
    }
    *iterations_p = (uint32_t)it;
    return CX_OK;
}

/* ---- op sources of a run ------------------------------------------------ */

/* One stream's op source: the generator, or a replay file, filtered to the
 * stream. */
typedef struct cx_run_src {
    cx_gen_t     gen;
    cx_replay_t *replay;
    uint64_t     gpu;
    int          stream;
    int          active;
} cx_run_src_t;

static cx_status_t cx_run_src_init(void *state, const void *ctx, uint64_t gpu, int stream, cx_err_t *err)
{
    cx_run_src_t       *s = state;
    const cx_run_ctx_t *c = ctx;
    s->stream = stream;
    s->gpu    = gpu;
    s->replay = NULL;
    s->active = gpu < c->w->gpus;
    if (!s->active) return CX_OK;
    if (c->replay_dir != NULL) {
        char path[4096];
        cx_status_t st;
        cx_replay_file_path(path, sizeof(path), c->replay_dir, gpu);
        st = cx_replay_open(&s->replay, path, err);
        if (st == CX_OK && cx_replay_gpu(s->replay) != gpu) {
            st = cx_err_set(err, CX_ERR_INVALID, path, 0, "gpu", "holds the program of GPU %llu, not %llu",
                            (unsigned long long)cx_replay_gpu(s->replay), (unsigned long long)gpu);
        }
        return st;
    }
    return cx_gen_init(&s->gen, c->w, gpu, c->iterations, err);
}

static int cx_run_src_next(void *state, cx_op_t *op)
{
    cx_run_src_t *s = state;
    if (!s->active) return 0;
    if (s->replay != NULL) {
        cx_err_t err;
        int      r;
        while ((r = cx_replay_next(s->replay, op, &err)) == 1) {
            if (op->stream == s->stream) return 1;
        }
        if (r < 0) {
            char msg[CX_ERR_FILE_MAX + CX_ERR_MSG_MAX + 64];
            cx_err_format(&err, msg, sizeof(msg));
            cx_fatal("replay of GPU %llu failed mid-run: %s", (unsigned long long)s->gpu, msg);
        }
        cx_replay_close(s->replay);
        s->replay = NULL;
        s->active = 0;
        return 0;
    }
    while (cx_gen_next(&s->gen, op)) {
        if (op->stream == s->stream) return 1;
    }
    s->active = 0;
    return 0;
}

/* Replay files still open at the end (a stopped run). */
static void cx_run_src_close_one(void *state)
{
    cx_run_src_t *s = state;
    if (s->replay != NULL) cx_replay_close(s->replay);
    s->replay = NULL;
    s->active = 0;
}

void cx_run_src_setup(cx_op_source_t *src, const cx_run_ctx_t *c)
{
    src->state_size = sizeof(cx_run_src_t);
    src->init       = cx_run_src_init;
    src->next       = cx_run_src_next;
    src->ctx        = c;
}

void cx_run_src_close_all(cx_gpus_t *g)
{
    cx_gpus_foreach_source(g, cx_run_src_close_one);
}
