/*
 * Replay traces (format in cx_replay.h): the writer, the streaming reader,
 * replay directories, and the op sources a run's GPUs read their programs
 * from, the generator or replay files.  A source instance serves one stream
 * of one GPU and reads the whole program, keeping that stream's ops, so no
 * stream waits on another's look-ahead (cx_gpu.h, cx_op_source_t).
 */
#include "cx_replay.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cx_file.h"
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
    uint64_t      n_ops;
    size_t        size;
    cx_replay_t  *r;
    FILE         *f;
    cx_status_t   st = cx_file_open_input(path, "replay file", 0, &f, &size, err);
    if (st != CX_OK) return st;
    if (size < 64 || fread(h, 64, 1, f) != 1 || memcmp(h, magic, 8) != 0) {
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
    /* The header's op count must be what the file holds: a truncated file or
     * a wrong count is refused here, before any run starts. */
    memcpy(&n_ops, h + 24, 8);
    if ((size - 64) % sizeof(cx_op_t) != 0 || n_ops != (size - 64) / sizeof(cx_op_t)) {
        fclose(f);
        return cx_err_set(err, CX_ERR_PARSE, path, 0, "n_ops",
                          "the header says %llu ops but the file holds %llu bytes of records (%.2f ops): "
                          "truncated or a wrong op count", (unsigned long long)n_ops,
                          (unsigned long long)(size - 64), (double)(size - 64) / (double)sizeof(cx_op_t));
    }
    r = calloc(1, sizeof(*r));
    if (r == NULL) {
        fclose(f);
        return cx_err_set(err, CX_ERR_NOMEM, path, 0, NULL, "out of memory");
    }
    r->f = f;
    memcpy(&r->gpu, h + 16, 8);
    r->n_ops = n_ops;
    snprintf(r->path, sizeof(r->path), "%s", path);
    *r_p = r;
    return CX_OK;
}

static cx_status_t cx_replay_bad(const cx_replay_t *r, uint64_t i, const char *field, cx_err_t *err,
                                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static cx_status_t cx_replay_bad(const cx_replay_t *r, uint64_t i, const char *field, cx_err_t *err,
                                 const char *fmt, ...)
{
    char    f[64];
    va_list ap;
    snprintf(f, sizeof(f), "records[%llu].%s", (unsigned long long)i, field);
    va_start(ap, fmt);
    cx_err_vset(err, CX_ERR_INVALID, r->path, 0, f, fmt, ap);
    va_end(ap);
    return CX_ERR_INVALID;
}

cx_status_t cx_replay_check(cx_replay_t *r, uint64_t gpu, uint64_t job_gpus, uint32_t iterations,
                            cx_err_t *err)
{
    uint64_t    seen[CX_NUM_STREAMS] = {0, 0, 0, 0}, i;
    cx_op_t     op;
    cx_status_t st = CX_OK;

    if (r->gpu != gpu) {
        return cx_err_set(err, CX_ERR_INVALID, r->path, 0, "gpu", "holds the program of GPU %llu, not %llu",
                          (unsigned long long)r->gpu, (unsigned long long)gpu);
    }
    if (fseek(r->f, 64, SEEK_SET) != 0) {
        return cx_err_set(err, CX_ERR_IO, r->path, 0, NULL, "cannot seek: %s", strerror(errno));
    }
    for (i = 0; i < r->n_ops && st == CX_OK; i++) {
        if (fread(&op, sizeof(op), 1, r->f) != 1) {
            st = cx_err_set(err, CX_ERR_PARSE, r->path, 0, "records", "truncated: record %llu of %llu missing",
                            (unsigned long long)i, (unsigned long long)r->n_ops);
            break;
        }
        if (op.kind >= CX_OP_KIND_COUNT) {
            st = cx_replay_bad(r, i, "kind", err, "op kind %d is not one of 0..%d", op.kind, CX_OP_KIND_COUNT - 1);
        } else if (op.stream >= CX_NUM_STREAMS) {
            st = cx_replay_bad(r, i, "stream", err, "stream %d is not one of 0..%d", op.stream, CX_NUM_STREAMS - 1);
        } else if (op.phase >= CX_PHASE_COUNT) {
            st = cx_replay_bad(r, i, "phase", err, "phase %d is not one of 0..%d", op.phase, CX_PHASE_COUNT - 1);
        } else if (op.block >= CX_BLK_COUNT) {
            st = cx_replay_bad(r, i, "block", err, "block %d is not one of 0..%d", op.block, CX_BLK_COUNT - 1);
        } else if (op.bytes > CX_OP_MAX_BYTES) {
            st = cx_replay_bad(r, i, "bytes", err, "%llu bytes is over the limit of %llu (1 TiB) per op",
                               (unsigned long long)op.bytes, (unsigned long long)CX_OP_MAX_BYTES);
        } else if (!(op.flops >= 0.0 && op.flops <= CX_OP_MAX_FLOPS)) {
            st = cx_replay_bad(r, i, "flops", err, "%g FLOPs is outside [0, %g] per op", op.flops, CX_OP_MAX_FLOPS);
        } else if (op.kind == CX_OP_COMPUTE && (op.flags & CX_OP_F_MEASURED) &&
                   op.u.duration_ps > (uint64_t)CX_OP_MAX_DURATION_PS) {
            st = cx_replay_bad(r, i, "duration", err, "a measured kernel of %.6g s is over the limit of 10^4 s",
                               (double)op.u.duration_ps * 1e-12);
        }
        if (st != CX_OK) break;
        switch (op.kind) {
        case CX_OP_COMPUTE:
            if (op.cls >= CX_CLS_COUNT)
                st = cx_replay_bad(r, i, "cls", err, "compute class %d is not one of 0..%d", op.cls, CX_CLS_COUNT - 1);
            break;
        case CX_OP_SEND:
        case CX_OP_RECV:
            if (op.u.peer >= job_gpus || op.u.peer == gpu)
                st = cx_replay_bad(r, i, "peer", err, "peer GPU %llu is not another GPU of the job's %llu",
                                   (unsigned long long)op.u.peer, (unsigned long long)job_gpus);
            break;
        case CX_OP_COLLECTIVE:
            if (op.cls >= CX_COLL_COUNT) {
                st = cx_replay_bad(r, i, "cls", err, "collective kind %d is not one of 0..%d", op.cls,
                                   CX_COLL_COUNT - 1);
            } else if (op.algo >= CX_ALGO_COUNT) {
                st = cx_replay_bad(r, i, "algo", err, "algorithm %d is not one of 0..%d", op.algo, CX_ALGO_COUNT - 1);
            } else if (op.group_size < 1 || op.group_size > job_gpus) {
                st = cx_replay_bad(r, i, "group_size", err, "group of %u GPUs in a job of %llu",
                                   op.group_size, (unsigned long long)job_gpus);
            } else if (op.group_index >= op.group_size) {
                st = cx_replay_bad(r, i, "group_index", err, "member %u of a group of %u", op.group_index,
                                   op.group_size);
            } else if (op.group_size > 1 && op.group_stride < 1) {
                st = cx_replay_bad(r, i, "group_stride", err, "stride %u in a group of %u", op.group_stride,
                                   op.group_size);
            } else if (op.u.group_base >= job_gpus ||
                       (uint64_t)(op.group_size - 1) * op.group_stride >= job_gpus - op.u.group_base) {
                st = cx_replay_bad(r, i, "group_base", err, "the group from GPU %llu reaches past the job's %llu GPUs",
                                   (unsigned long long)op.u.group_base, (unsigned long long)job_gpus);
            } else if (op.u.group_base + (uint64_t)op.group_index * op.group_stride != gpu) {
                st = cx_replay_bad(r, i, "group_index", err, "member %u of the group is GPU %llu, not this file's",
                                   op.group_index, (unsigned long long)(op.u.group_base +
                                                                        (uint64_t)op.group_index * op.group_stride));
            }
            break;
        case CX_OP_WAIT:
            if (op.cls >= CX_NUM_STREAMS) {
                st = cx_replay_bad(r, i, "cls", err, "waits on stream %d, not one of 0..%d", op.cls, CX_NUM_STREAMS - 1);
            } else if (op.u.wait_count > seen[op.cls]) {
                st = cx_replay_bad(r, i, "wait_count", err,
                                   "waits for %llu ops of a stream that has issued %llu so far (it would never end)",
                                   (unsigned long long)op.u.wait_count, (unsigned long long)seen[op.cls]);
            }
            break;
        case CX_OP_ITER_BEGIN:
        case CX_OP_ITER_END:
            if (op.iteration >= iterations)
                st = cx_replay_bad(r, i, "iteration", err, "iteration %u of a replay of %u iterations (replay.yaml)",
                                   op.iteration, iterations);
            break;
        default:
            break;
        }
        seen[op.stream]++;
    }
    if (fseek(r->f, 64 + (long)(r->read * sizeof(cx_op_t)), SEEK_SET) != 0 && st == CX_OK) {
        st = cx_err_set(err, CX_ERR_IO, r->path, 0, NULL, "cannot seek: %s", strerror(errno));
    }
    return st;
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
        if (st != CX_OK && s->replay != NULL) {
            /* cx_gpus_create does not close the sources of a failed init. */
            cx_replay_close(s->replay);
            s->replay = NULL;
            s->active = 0;
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
    if (cx_gen_next_stream(&s->gen, (uint32_t)s->stream, op)) return 1;
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

cx_status_t cx_run_replay_check(const cx_run_ctx_t *c, cx_err_t *err)
{
    uint64_t    gpu, end = c->gpu_lo + c->gpu_n;
    cx_status_t st = CX_OK;
    if (c->replay_dir == NULL) return CX_OK;
    if (end > c->w->gpus) end = c->w->gpus;
    for (gpu = c->gpu_lo; gpu < end && st == CX_OK; gpu++) {
        char         path[4096];
        cx_replay_t *r = NULL;
        /* Another rank's GPU inside this rank's span (a cyclic partition). */
        if (c->acc[gpu - c->gpu_lo].done_iters == UINT32_MAX) continue;
        cx_replay_file_path(path, sizeof(path), c->replay_dir, gpu);
        st = cx_replay_open(&r, path, err);
        if (st == CX_OK) st = cx_replay_check(r, gpu, c->w->gpus, c->iterations, err);
        cx_replay_close(r);
    }
    return st;
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
