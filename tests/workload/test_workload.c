/* Unit tests for the workload module: shipped YAML files load; input errors
 * name file:line:field; the generator's 1F1B order, PP send/recv pairing,
 * collective agreement across group members, deadlock freedom (a symbolic
 * executor over every GPU of tiny jobs), FLOP totals against the formulas,
 * O(1) state; the roofline; the replay round trip. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cx_compute.h"
#include "cx_gen.h"
#include "cx_replay.h"
#include "cx_workload.h"

static const char *const shipped[] = {
    "small.yaml", "llama3-8b.yaml", "llama3-70b.yaml", "llama3-405b-8k.yaml",
    "llama3-405b-16k.yaml", "llama3-405b-16k-cp16.yaml", "grok-1.yaml", "deepseek-v3.yaml",
    "gpt3-175b.yaml", "mixtral-8x22b.yaml", NULL};

/* workloads/NAME, which must load (the error printed when it does not). */
static cx_workload_t *load_shipped(const char *name)
{
    char           path[512];
    cx_workload_t *w = NULL;
    cx_err_t       err;
    cx_status_t    st;
    snprintf(path, sizeof(path), "%s/%s", CX_WORKLOADS_DIR, name);
    cx_err_clear(&err);
    st = cx_workload_load(&w, path, &err);
    if (st != CX_OK) cx_err_print(&err);
    assert_int_equal(st, CX_OK);
    assert_non_null(w);
    return w;
}

static void test_shipped_load(void **state)
{
    int i;
    (void)state;
    for (i = 0; shipped[i] != NULL; i++) {
        cx_workload_t *w = load_shipped(shipped[i]);
        double         tot, act;
        cx_workload_params(w, &tot, &act);
        printf("  %-26s gpus %6llu  params %.4gB (active %.4gB)  tokens/iter %.6g  model FLOPs/iter %.4e"
               "  exec %.4e  n_micro %u\n",
               shipped[i], (unsigned long long)w->gpus, tot / 1e9, act / 1e9,
               cx_workload_tokens_per_iteration(w), cx_workload_model_flops_per_iteration(w),
               cx_workload_exec_flops_per_iteration(w), w->d.n_micro);
        cx_workload_destroy(w);
    }
}

static void test_default_yaml_matches_small(void **state)
{
    const char    *text;
    size_t         len;
    cx_workload_t *w = NULL;
    cx_err_t       err;
    (void)state;
    cx_workload_default_yaml(&text, &len);
    assert_true(len > 100);
    assert_int_equal(cx_workload_load_string(&w, "<embedded>", text, len, &err), CX_OK);
    assert_string_equal(w->name, "small");
    assert_int_equal(w->par.tp, 8);
    assert_int_equal(w->par.pp, 2);
    assert_int_equal(cx_workload_check_fit(w, 64, 8, &err), CX_OK);
    assert_int_equal(cx_workload_check_fit(w, 256, 8, &err), CX_OK);
    assert_int_equal(cx_workload_check_fit(w, 32, 8, &err), CX_ERR_INVALID);
    assert_int_equal(cx_workload_check_fit(w, 64, 4, &err), CX_ERR_INVALID);
    assert_non_null(strstr(err.msg, "NVLink"));
    assert_string_equal(err.field, "parallelism.tp");
    assert_true(err.line > 0);
    cx_workload_destroy(w);
}

/* ---- error messages -------------------------------------------------------- */

static const char base_yaml[] =
    "name: t\n"                  /* 1 */
    "gpus: 8\n"                  /* 2 */
    "model:\n"                   /* 3 */
    "  layers: 4\n"              /* 4 */
    "  hidden: 64\n"             /* 5 */
    "  ffn_hidden: 128\n"        /* 6 */
    "  heads: 4\n"               /* 7 */
    "  kv_heads: 2\n"            /* 8 */
    "  vocab: 256\n"             /* 9 */
    "parallelism:\n"             /* 10 */
    "  tp: 2\n"                  /* 11 */
    "  pp: 2\n"                  /* 12 */
    "  dp: 2\n"                  /* 13 */
    "training:\n"                /* 14 */
    "  seq_len: 64\n"            /* 15 */
    "  global_batch_sequences: 8\n"; /* 16 */

/* Load base_yaml with line `line` (1-based) replaced by `repl` (NULL: as is). */
static cx_status_t load_variant(int line, const char *repl, cx_err_t *err)
{
    char           buf[2048];
    const char    *p = base_yaml;
    size_t         n = 0;
    int            l = 1;
    cx_workload_t *w = NULL;
    cx_status_t    st;
    while (*p != '\0') {
        const char *eol = strchr(p, '\n');
        size_t      len = (size_t)(eol - p) + 1;
        if (l == line && repl != NULL) {
            n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s\n", repl);
        } else {
            memcpy(buf + n, p, len);
            n += len;
        }
        p = eol + 1;
        l++;
    }
    buf[n] = '\0';
    cx_err_clear(err);
    st = cx_workload_load_string(&w, "t.yaml", buf, n, err);
    if (st == CX_OK) cx_workload_destroy(w);
    return st;
}

static void expect_error(int line, const char *repl, int want_line, const char *want_field,
                         const char *want_text)
{
    cx_err_t err;
    char     msg[1200];
    assert_int_not_equal(load_variant(line, repl, &err), CX_OK);
    cx_err_format(&err, msg, sizeof(msg));
    printf("    %s\n", msg);
    assert_string_equal(err.file, "t.yaml");
    assert_int_equal(err.line, want_line);
    assert_string_equal(err.field, want_field);
    assert_non_null(strstr(msg, want_text));
}

static void test_errors_name_file_line_field(void **state)
{
    cx_err_t err;
    (void)state;
    assert_int_equal(load_variant(0, NULL, &err), CX_OK);
    expect_error(12, "  pp: 2\n  tpp: 3", 13, "parallelism.tpp", "unknown key");
    expect_error(13, "  dp: 4", 2, "gpus", "tp*cp*pp*dp");
    expect_error(11, "  tp: 8", 11, "parallelism.tp", "heads");
    expect_error(8, "  kv_heads: 3", 8, "model.kv_heads", "kv_heads");
    expect_error(7, "  heads: 6", 7, "model.heads", "head_dim");
    expect_error(12, "  pp: 2\n  virtual_stages: 4", 13, "parallelism.virtual_stages", "divisible");
    expect_error(16, "  global_batch_sequences: 7", 16, "training.global_batch_sequences", "dp");
    expect_error(15, "  seq_len: 64\n  precision: fp16", 16, "training.precision", "bf16");
    expect_error(15, "  seq_len: 0", 15, "training.seq_len", "");
    expect_error(11, "  tp: 2\n  ep: 2", 12, "parallelism.ep", "experts");
    expect_error(16, "  global_batch_tokens: 100", 16, "training.global_batch_tokens", "sequences");
}

/* ---- tiny jobs --------------------------------------------------------------- */

typedef struct {
    int tp, cp, pp, dp, ep, v, layers, micro, experts, top_k, shared, sp, zero;
    const char *recompute;
    int mla;
} tiny_t;

static cx_workload_t *tiny(const tiny_t *t)
{
    char           y[2048], moe[256] = "", mla[256] = "";
    cx_workload_t *w = NULL;
    cx_err_t       err;
    int            gpus = t->tp * t->cp * t->pp * t->dp;
    if (t->experts > 0)
        snprintf(moe, sizeof(moe),
                 "  moe:\n    experts: %d\n    top_k: %d\n    shared_experts: %d\n    ffn_hidden: 64\n"
                 "    dense_layers: 1\n",
                 t->experts, t->top_k, t->shared);
    if (t->mla)
        snprintf(mla, sizeof(mla),
                 "  mla:\n    q_lora_rank: 32\n    kv_lora_rank: 16\n    qk_nope_head_dim: 16\n"
                 "    qk_rope_head_dim: 8\n    v_head_dim: 16\n");
    snprintf(y, sizeof(y),
             "name: tiny\ngpus: %d\nmodel:\n  layers: %d\n  hidden: 64\n  ffn_hidden: 128\n"
             "  heads: 4\n  kv_heads: %d\n  vocab: 256\n%s%s"
             "parallelism:\n  tp: %d\n  cp: %d\n  pp: %d\n  dp: %d\n  ep: %d\n  virtual_stages: %d\n"
             "  sequence_parallel: %s\n  zero_stage: %d\n  dp_bucket_bytes: 1\n"
             "training:\n  seq_len: 64\n  global_batch_sequences: %d\n  micro_batch_size: 1\n"
             "  recompute: %s\n",
             gpus, t->layers, t->mla ? 4 : 2, moe, mla, t->tp, t->cp, t->pp, t->dp, t->ep, t->v,
             t->sp ? "true" : "false", t->zero, t->micro * t->dp, t->recompute);
    if (cx_workload_load_string(&w, "tiny.yaml", y, strlen(y), &err) != CX_OK) cx_err_print(&err);
    assert_non_null(w);
    return w;
}

static const tiny_t T_BASIC = {2, 1, 2, 2, 1, 1, 2, 4, 0, 0, 0, 1, 1, "none", 0};

/* All ops of one GPU (tiny jobs only). */
static cx_op_t *gen_all(const cx_workload_t *w, uint64_t gpu, uint32_t iters, size_t *n_p)
{
    cx_gen_t g;
    cx_err_t err;
    size_t   n = 0, cap = 1024;
    cx_op_t *ops = malloc(cap * sizeof(*ops));
    assert_int_equal(cx_gen_init(&g, w, gpu, iters, &err), CX_OK);
    while (cx_gen_next(&g, &ops[n])) {
        if (++n == cap) {
            cap *= 2;
            ops = realloc(ops, cap * sizeof(*ops));
        }
    }
    *n_p = n;
    return ops;
}

static void append(char *s, size_t cap, const char *t)
{
    size_t n = strlen(s);
    snprintf(s + n, cap - n, "%s%s", n > 0 ? " " : "", t);
}

/* The schedule of a stage: F<mb>/B<mb> for each QKV GEMM of layer `layer`. */
static void schedule_string(const cx_op_t *ops, size_t n, uint32_t layer, char *s, size_t cap)
{
    size_t i;
    s[0] = '\0';
    for (i = 0; i < n; i++) {
        char t[32];
        if (ops[i].kind != CX_OP_COMPUTE || ops[i].block != CX_BLK_QKV || ops[i].layer != layer) continue;
        if (ops[i].phase == CX_PHASE_RECOMPUTE) continue;
        snprintf(t, sizeof(t), "%c%u.%u", ops[i].phase == CX_PHASE_FWD ? 'F' : 'B', ops[i].microbatch,
                 ops[i].chunk);
        append(s, cap, t);
    }
}

static void pp_string(const cx_op_t *ops, size_t n, char *s, size_t cap)
{
    size_t i;
    s[0] = '\0';
    for (i = 0; i < n; i++) {
        char t[32];
        if (ops[i].stream != CX_STREAM_PP || (ops[i].kind != CX_OP_SEND && ops[i].kind != CX_OP_RECV)) continue;
        snprintf(t, sizeof(t), "%c%c%u", ops[i].kind == CX_OP_SEND ? 'S' : 'R',
                 ops[i].phase == CX_PHASE_FWD ? 'a' : 'g', ops[i].microbatch);
        append(s, cap, t);
    }
}

static void test_gen_1f1b_order(void **state)
{
    cx_workload_t *w = tiny(&T_BASIC);
    size_t         n0, n4, i;
    cx_op_t       *a = gen_all(w, 0, 1, &n0);
    cx_op_t       *b = gen_all(w, 4, 1, &n4); /* pp stride = tp*cp*dp = 4 */
    char           s[4096];
    (void)state;
    /* Stage 0 of 2: one warm-up forward, 1F1B, one cool-down backward. */
    schedule_string(a, n0, 0, s, sizeof(s));
    assert_string_equal(s, "F0.0 F1.0 B0.0 F2.0 B1.0 F3.0 B2.0 B3.0");
    schedule_string(b, n4, 1, s, sizeof(s));
    assert_string_equal(s, "F0.0 B0.0 F1.0 B1.0 F2.0 B2.0 F3.0 B3.0");
    pp_string(a, n0, s, sizeof(s));
    assert_string_equal(s, "Sa0 Sa1 Rg0 Sa2 Rg1 Sa3 Rg2 Rg3");
    pp_string(b, n4, s, sizeof(s));
    assert_string_equal(s, "Ra0 Sg0 Ra1 Sg1 Ra2 Sg2 Ra3 Sg3");

    /* Stream 0 of GPU 0 up to the end of the first forward, op by op. */
    s[0] = '\0';
    for (i = 0; i < n0 && !(a[i].kind == CX_OP_SEND); i++) {
        char t[32];
        if (a[i].stream != CX_STREAM_COMPUTE) continue;
        if (a[i].kind == CX_OP_WAIT) snprintf(t, sizeof(t), "w%u", a[i].cls);
        else if (a[i].kind == CX_OP_COMPUTE) snprintf(t, sizeof(t), "%s", cx_block_name(a[i].block));
        else snprintf(t, sizeof(t), "%s", cx_op_kind_name(a[i].kind));
        append(s, sizeof(s), t);
    }
    assert_string_equal(s, "iter_begin embed"
                           " norm1 w1 qkv attn proj w1 norm2 w1 mlp_up mlp_act mlp_down w1");
    /* Stream 1: each TP collective between two waits; SP: AG, RS, AG, RS. */
    s[0] = '\0';
    for (i = 0; i < n0 && strlen(s) < 120; i++) {
        char t[32];
        if (a[i].stream != CX_STREAM_TP) continue;
        if (a[i].kind == CX_OP_WAIT) snprintf(t, sizeof(t), "w%u", a[i].cls);
        else snprintf(t, sizeof(t), "%s", cx_coll_kind_name(a[i].cls));
        append(s, sizeof(s), t);
    }
    assert_non_null(strstr(s, "w0 allgather w0 reducescatter w0 allgather w0 reducescatter w0 allgather"));
    /* Iteration markers bracket the program; the last ops sync every stream. */
    assert_int_equal(a[0].kind, CX_OP_ITER_BEGIN);
    assert_int_equal(a[n0 - 1].kind, CX_OP_ITER_END);
    assert_int_equal(a[n0 - 2].kind, CX_OP_WAIT);
    free(a);
    free(b);
    cx_workload_destroy(w);
}

static void test_gen_interleaved_order(void **state)
{
    tiny_t t = T_BASIC;
    cx_workload_t *w;
    size_t         n;
    cx_op_t       *a;
    char           s[4096];
    (void)state;
    t.v      = 2;
    t.layers = 4;
    w = tiny(&t);
    a = gen_all(w, 0, 1, &n);
    /* Megatron interleaved 1F1B, P=2, v=2, M=4, stage 0: warm-up
     * (P-1)*2 + (v-1)*P = 4 forwards; chunk 0 = layer 0, chunk 1 = layer 2. */
    schedule_string(a, n, 0, s, sizeof(s));
    assert_string_equal(s, "F0.0 F1.0 F2.0 F3.0 B0.0 B1.0 B2.0 B3.0");
    schedule_string(a, n, 2, s, sizeof(s));
    assert_string_equal(s, "F0.1 F1.1 B0.1 B1.1 F2.1 F3.1 B2.1 B3.1");
    s[0] = '\0';
    {
        size_t i;
        for (i = 0; i < n; i++) {
            char u[16];
            if (a[i].kind != CX_OP_COMPUTE || a[i].block != CX_BLK_QKV) continue;
            snprintf(u, sizeof(u), "%c%u.%u", a[i].phase == CX_PHASE_FWD ? 'F' : 'B', a[i].microbatch, a[i].chunk);
            append(s, sizeof(s), u);
        }
    }
    assert_string_equal(s, "F0.0 F1.0 F0.1 F1.1 F2.0 B0.1 F3.0 B1.1 F2.1 B0.0 F3.1 B1.0 B2.1 B3.1 B2.0 B3.0");
    free(a);
    cx_workload_destroy(w);
}

/* ---- whole-job checks ------------------------------------------------------- */

typedef struct {
    uint64_t gpu, a, b, tag, bytes; /* p2p: a = src, b = dst; coll: a = base, b = stride/size */
    uint32_t kind, index, size, extra;
} rec_t;

static int rec_cmp(const void *x, const void *y)
{
    const rec_t *p = x, *q = y;
#define CMP(f) if (p->f != q->f) return p->f < q->f ? -1 : 1
    CMP(a); CMP(b); CMP(tag); CMP(extra); CMP(index); CMP(gpu);
#undef CMP
    return 0;
}

typedef struct {
    cx_op_t *ops;
    size_t   n;
} prog_t;

static prog_t *gen_job(const cx_workload_t *w)
{
    prog_t  *p = calloc(w->gpus, sizeof(*p));
    uint64_t g;
    for (g = 0; g < w->gpus; g++) p[g].ops = gen_all(w, g, 2, &p[g].n);
    return p;
}

static void free_job(const cx_workload_t *w, prog_t *p)
{
    uint64_t g;
    for (g = 0; g < w->gpus; g++) free(p[g].ops);
    free(p);
}

/* Every SEND has exactly one matching RECV (same pair, tag, bytes). */
static void check_p2p(const cx_workload_t *w, const prog_t *p)
{
    size_t   ns = 0, nr = 0, i, total = 0;
    uint64_t g;
    rec_t   *s, *r;
    for (g = 0; g < w->gpus; g++) total += p[g].n;
    s = calloc(total + 1, sizeof(*s));
    r = calloc(total + 1, sizeof(*r));
    for (g = 0; g < w->gpus; g++) {
        for (i = 0; i < p[g].n; i++) {
            const cx_op_t *o = &p[g].ops[i];
            if (o->kind == CX_OP_SEND) s[ns++] = (rec_t){g, g, o->u.peer, o->tag, o->bytes, 0, 0, 0, 0};
            if (o->kind == CX_OP_RECV) r[nr++] = (rec_t){g, o->u.peer, g, o->tag, o->bytes, 0, 0, 0, 0};
        }
    }
    assert_int_equal(ns, nr);
    for (i = 0; i < ns; i++) s[i].gpu = r[i].gpu = 0;
    qsort(s, ns, sizeof(*s), rec_cmp);
    qsort(r, nr, sizeof(*r), rec_cmp);
    for (i = 0; i < ns; i++) {
        assert_int_equal(s[i].a, r[i].a);
        assert_int_equal(s[i].b, r[i].b);
        assert_int_equal(s[i].tag, r[i].tag);
        assert_int_equal(s[i].bytes, r[i].bytes);
        if (i > 0) assert_true(rec_cmp(&s[i - 1], &s[i]) != 0); /* tags unique per pair */
    }
    free(s);
    free(r);
}

/* Every collective instance (group, tag) has each member exactly once, with
 * the same kind and bytes; the member's GPU is base + index * stride.
 * Counts collectives per block kind into counts[] (may be NULL). */
static void check_collectives(const cx_workload_t *w, const prog_t *p, unsigned *counts)
{
    size_t   nc = 0, i, total = 0;
    uint64_t g;
    rec_t   *c;
    for (g = 0; g < w->gpus; g++) total += p[g].n;
    c = calloc(total + 1, sizeof(*c));
    for (g = 0; g < w->gpus; g++) {
        for (i = 0; i < p[g].n; i++) {
            const cx_op_t *o = &p[g].ops[i];
            if (o->kind != CX_OP_COLLECTIVE) continue;
            assert_int_equal(o->u.group_base + (uint64_t)o->group_index * o->group_stride, g);
            assert_true(o->group_index < o->group_size);
            c[nc++] = (rec_t){g, o->u.group_base, ((uint64_t)o->group_stride << 32) | o->group_size,
                              o->tag, o->bytes, o->cls, o->group_index, o->group_size, 0};
            if (counts != NULL) counts[o->block]++;
        }
    }
    qsort(c, nc, sizeof(*c), rec_cmp);
    for (i = 0; i < nc;) {
        size_t j = i;
        while (j < nc && c[j].a == c[i].a && c[j].b == c[i].b && c[j].tag == c[i].tag) {
            assert_int_equal(c[j].index, j - i);
            assert_int_equal(c[j].kind, c[i].kind);
            assert_int_equal(c[j].bytes, c[i].bytes);
            j++;
        }
        assert_int_equal(j - i, c[i].size);
        i = j;
    }
    free(c);
}

/* A symbolic executor: every op takes no time, sends are eager, collectives
 * complete when every member has reached them.  The job must run to the end
 * (no deadlock from stream order, waits, or p2p / collective matching). */
static void check_runs(const cx_workload_t *w, const prog_t *p)
{
    uint64_t G = w->gpus, g;
    size_t  *pos = calloc(G * CX_NUM_STREAMS, sizeof(*pos));
    uint64_t *done = calloc(G * CX_NUM_STREAMS, sizeof(*done));
    int      *arrived = calloc(G * CX_NUM_STREAMS, sizeof(*arrived));
    size_t   total = 0, cap, nsent = 0, ncoll = 0, finished = 0;
    rec_t   *sent, *coll;
    int      progress = 1;
    for (g = 0; g < G; g++) total += p[g].n;
    cap  = total + 1;
    sent = calloc(cap, sizeof(*sent));
    coll = calloc(cap, sizeof(*coll));
    /* pos[g][s]: index into p[g].ops of the next op of stream s. */
    while (progress) {
        progress = 0;
        for (g = 0; g < G; g++) {
            int s;
            for (s = 0; s < CX_NUM_STREAMS; s++) {
                size_t *k = &pos[g * CX_NUM_STREAMS + (unsigned)s];
                for (;;) {
                    const cx_op_t *o;
                    int            ok = 1;
                    size_t         i;
                    while (*k < p[g].n && p[g].ops[*k].stream != s) (*k)++;
                    if (*k == p[g].n) break;
                    o = &p[g].ops[*k];
                    if (o->kind == CX_OP_WAIT) {
                        ok = done[g * CX_NUM_STREAMS + o->cls] >= o->u.wait_count;
                    } else if (o->kind == CX_OP_SEND) {
                        sent[nsent++] = (rec_t){0, g, o->u.peer, o->tag, 0, 0, 0, 0, 0};
                    } else if (o->kind == CX_OP_RECV) {
                        ok = 0;
                        for (i = 0; i < nsent; i++)
                            if (sent[i].a == o->u.peer && sent[i].b == g && sent[i].tag == o->tag) ok = 1;
                    } else if (o->kind == CX_OP_COLLECTIVE) {
                        rec_t *slot = NULL;
                        for (i = 0; i < ncoll; i++)
                            if (coll[i].a == o->u.group_base && coll[i].tag == o->tag &&
                                coll[i].extra == o->group_stride) slot = &coll[i];
                        if (slot == NULL) {
                            slot  = &coll[ncoll++];
                            *slot = (rec_t){0, o->u.group_base, 0, o->tag, 0, 0, 0, o->group_size, o->group_stride};
                        }
                        if (!arrived[g * CX_NUM_STREAMS + (unsigned)s]) {
                            arrived[g * CX_NUM_STREAMS + (unsigned)s] = 1;
                            slot->index++;
                        }
                        ok = slot->index == slot->size;
                    }
                    if (!ok) break;
                    arrived[g * CX_NUM_STREAMS + (unsigned)s] = 0;
                    done[g * CX_NUM_STREAMS + (unsigned)s]++;
                    (*k)++;
                    finished++;
                    progress = 1;
                }
            }
        }
    }
    assert_int_equal(finished, total);
    free(pos);
    free(done);
    free(arrived);
    free(sent);
    free(coll);
}

/* GEMM + attention FLOPs of all GPUs = the executed-FLOPs formula. */
static void check_flops(const cx_workload_t *w, const prog_t *p, uint32_t iters)
{
    double   sum = 0.0, want = cx_workload_exec_flops_per_iteration(w) * iters;
    uint64_t g;
    size_t   i;
    for (g = 0; g < w->gpus; g++)
        for (i = 0; i < p[g].n; i++)
            if (p[g].ops[i].kind == CX_OP_COMPUTE &&
                (p[g].ops[i].cls == CX_CLS_GEMM || p[g].ops[i].cls == CX_CLS_ATTENTION))
                sum += p[g].ops[i].flops;
    assert_true(want > 0.0);
    if (!(sum / want > 0.99 && sum / want < 1.01)) printf("    flops %.6e want %.6e\n", sum, want);
    assert_true(sum / want > 0.99 && sum / want < 1.01);
}

static void run_job_checks(const tiny_t *t, unsigned *counts)
{
    cx_workload_t *w = tiny(t);
    prog_t        *p = gen_job(w);
    check_p2p(w, p);
    check_collectives(w, p, counts);
    check_runs(w, p);
    check_flops(w, p, 2);
    free_job(w, p);
    cx_workload_destroy(w);
}

static void test_job_basic(void **state)
{
    unsigned c[CX_BLK_COUNT] = {0};
    (void)state;
    run_job_checks(&T_BASIC, c);
    /* 8 GPUs, 2 iterations, 4 microbatches, 1 layer per stage, fwd + bwd:
     * 4 TP collectives per layer per pass per GPU. */
    assert_int_equal(c[CX_BLK_TP_ATTN_IN], 8 * 2 * 4 * 2);
    /* ZeRO-1: 1 bucket per layer (bucket 1 byte) + the embedding, per GPU. */
    assert_int_equal(c[CX_BLK_DP_GRAD], 8 * 2 * 1 + 4 * 2);
    assert_int_equal(c[CX_BLK_DP_PARAM], 8 * 2);
}

static void test_job_variants(void **state)
{
    tiny_t t;
    unsigned c[CX_BLK_COUNT];
    (void)state;
    t = T_BASIC; t.sp = 0; t.recompute = "full";           run_job_checks(&t, NULL);
    t = T_BASIC; t.v = 2; t.layers = 4; t.recompute = "selective"; run_job_checks(&t, NULL);
    t = T_BASIC; t.pp = 4; t.dp = 1; t.layers = 8; t.v = 2; t.micro = 8; run_job_checks(&t, NULL);
    t = T_BASIC; t.pp = 3; t.layers = 3; t.micro = 2; t.zero = 0; run_job_checks(&t, NULL);
    t = T_BASIC; t.cp = 2; t.dp = 1;                       run_job_checks(&t, NULL);
    memset(c, 0, sizeof(c));
    t = T_BASIC; t.dp = 4; t.ep = 2; t.experts = 4; t.top_k = 2; t.shared = 1; t.layers = 4;
    run_job_checks(&t, c);
    assert_true(c[CX_BLK_EP_DISPATCH] > 0);
    assert_true(c[CX_BLK_DP_GRAD_EXPERT] > 0);
    t = T_BASIC; t.tp = 1; t.dp = 4; t.ep = 4; t.experts = 8; t.top_k = 2; t.mla = 1; t.layers = 4;
    run_job_checks(&t, NULL);
    t = T_BASIC; t.tp = 1; t.pp = 1; t.dp = 2; run_job_checks(&t, NULL);
}

/* Every shipped workload: the first and the last GPU's programs end with
 * ITER_END; the laptop default passes the whole-job checks. */
static void test_shipped_generate(void **state)
{
    int i;
    (void)state;
    for (i = 0; shipped[i] != NULL; i++) {
        cx_workload_t *w = load_shipped(shipped[i]);
        cx_err_t       err;
        uint64_t       gpus[2], k;
        gpus[0] = 0;
        gpus[1] = w->gpus - 1;
        for (k = 0; k < 2; k++) {
            cx_gen_t g;
            cx_op_t  op, last;
            uint64_t n = 0;
            assert_int_equal(cx_gen_init(&g, w, gpus[k], 1, &err), CX_OK);
            memset(&last, 0, sizeof(last));
            while (cx_gen_next(&g, &op)) {
                last = op;
                n++;
            }
            assert_int_equal(last.kind, CX_OP_ITER_END);
            if (k == 0) printf("    %-26s %llu ops/iteration on GPU 0\n", shipped[i], (unsigned long long)n);
        }
        if (strcmp(shipped[i], "small.yaml") == 0) {
            prog_t *p = gen_job(w);
            check_p2p(w, p);
            check_collectives(w, p, NULL);
            check_flops(w, p, 2);
            free_job(w, p);
        }
        cx_workload_destroy(w);
    }
}

static void test_gen_state_small(void **state)
{
    (void)state;
    assert_true(sizeof(cx_gen_t) < 256);
    assert_int_equal(sizeof(cx_op_t), 64);
}

/* The generator's whole program for a shipped big job, streamed: counts and
 * FLOPs of one GPU of Llama 3 405B without materialising anything. */
static void test_405b(void **state)
{
    cx_workload_t *w = load_shipped("llama3-405b-8k.yaml");
    cx_err_t       err;
    cx_gen_t       g;
    cx_op_t        op;
    double         per_token, want, tot, act, flops = 0.0;
    uint64_t       n = 0;
    (void)state;
    cx_workload_params(w, &tot, &act);
    /* 405B parameters (Llama 3): within 1%. */
    assert_true(tot > 405e9 * 0.99 && tot < 405e9 * 1.01);
    assert_true(cx_workload_tokens_per_iteration(w) == 16777216.0);
    /* Model FLOPs per token: 6 * 405e9 + 12 * L * h * s = 2.430e12 + 0.203e12
     * = 2.633e12 (PaLM App. B).  Our N counts matmul parameters only (no input
     * embedding, no norms: 403.7B), so 2% covers the choice of N. */
    per_token = cx_workload_model_flops_per_iteration(w) / cx_workload_tokens_per_iteration(w);
    want      = 6.0 * 405e9 + 12.0 * 126 * 16384.0 * 8192.0;
    printf("    405B model FLOPs/token %.4e (reference %.4e); per 8K sample %.4e\n", per_token, want,
           per_token * 8192.0);
    assert_true(per_token > want * 0.98 && per_token < want * 1.02);
    /* GPU 0 (first stage): its compute FLOPs = its share of the total. */
    assert_int_equal(cx_gen_init(&g, w, 0, 1, &err), CX_OK);
    while (cx_gen_next(&g, &op)) {
        n++;
        if (op.kind == CX_OP_COMPUTE && (op.cls == CX_CLS_GEMM || op.cls == CX_CLS_ATTENTION)) flops += op.flops;
    }
    printf("    405B GPU 0: %llu ops per iteration, %.4e FLOPs (job average %.4e)\n",
           (unsigned long long)n, flops, cx_workload_exec_flops_per_iteration(w) / (double)w->gpus);
    /* First stage holds 1 + 3*2 = 7 of 126 layers (~ 1/18 vs average 1/16). */
    assert_true(flops > 0.7 * cx_workload_exec_flops_per_iteration(w) / (double)w->gpus);
    assert_true(flops < 1.0 * cx_workload_exec_flops_per_iteration(w) / (double)w->gpus);
    cx_workload_destroy(w);
}

static void test_deepseek_active(void **state)
{
    cx_workload_t *w = load_shipped("deepseek-v3.yaml");
    double         tot, act;
    (void)state;
    cx_workload_params(w, &tot, &act);
    /* 671B total includes the 14B MTP module we leave out; 37B active. */
    assert_true(tot > 640e9 && tot < 680e9);
    assert_true(act > 35e9 && act < 40e9);
    assert_int_equal(cx_workload_layer_is_moe(w, 2), 0);
    assert_int_equal(cx_workload_layer_is_moe(w, 3), 1);
    cx_workload_destroy(w);
}

static void test_compute_roofline(void **state)
{
    cx_gpu_type_t    h100 = {.name = "H100", .bf16_flops = 989e12, .fp8_flops = 1979e12, .hbm_bytes = 80ull << 30,
                             .hbm_bw = 3.35e12, .nvlink_bw = 450e9, .tdp_w = 700};
    cx_compute_eff_t e    = cx_compute_eff_defaults();
    cx_op_t          op;
    int64_t          t;
    (void)state;
    memset(&op, 0, sizeof(op));
    op.kind  = CX_OP_COMPUTE;
    op.cls   = CX_CLS_GEMM;
    op.flops = 1e12;
    op.bytes = 1000;
    t = cx_compute_time_ps(&h100, &op, &e);
    /* Compute bound: overhead + 1e12 / (989e12 * gemm efficiency) s. */
    {
        double want = (double)e.overhead_ps + 1e12 / (989e12 * e.flops[CX_CLS_GEMM]) * 1e12;
        assert_true(fabs((double)t - want) <= 1.0);
    }
    op.flags = CX_OP_F_FP8;
    assert_true(cx_compute_time_ps(&h100, &op, &e) < t);
    op.cls   = CX_CLS_ELEMENTWISE;
    op.flops = 1e6;
    op.bytes = 3350000000ull; /* 1 ms at full bandwidth, 1.25 ms at 0.8 */
    t = cx_compute_time_ps(&h100, &op, NULL);
    assert_true(t > 1250000000 && t < 1253000000);
    op.kind = CX_OP_WAIT;
    assert_int_equal(cx_compute_time_ps(&h100, &op, NULL), 0);
}

static void test_replay_roundtrip(void **state)
{
    cx_workload_t *w = tiny(&T_BASIC);
    size_t         n, i;
    cx_op_t       *ops = gen_all(w, 4, 2, &n), op;
    cx_replay_t   *r   = NULL;
    cx_err_t       err;
    char           path[] = "/tmp/cx_replay_test.ops";
    cx_gen_t       g;
    FILE          *f;
    (void)state;
    assert_int_equal(cx_replay_write_ops(path, 4, ops, n, &err), CX_OK);
    assert_int_equal(cx_replay_open(&r, path, &err), CX_OK);
    assert_int_equal(cx_replay_gpu(r), 4);
    assert_int_equal(cx_replay_num_ops(r), n);
    for (i = 0; i < n; i++) {
        assert_int_equal(cx_replay_next(r, &op, &err), 1);
        assert_memory_equal(&op, &ops[i], sizeof(op));
    }
    assert_int_equal(cx_replay_next(r, &op, &err), 0);
    cx_replay_close(r);
    /* Streamed from the generator: same bytes. */
    assert_int_equal(cx_gen_init(&g, w, 4, 2, &err), CX_OK);
    assert_int_equal(cx_replay_write_gen(path, &g, &err), CX_OK);
    assert_int_equal(cx_replay_open(&r, path, &err), CX_OK);
    for (i = 0; i < n; i++) {
        assert_int_equal(cx_replay_next(r, &op, &err), 1);
        assert_memory_equal(&op, &ops[i], sizeof(op));
    }
    cx_replay_close(r);
    /* Truncated file: a clear error. */
    {
        unsigned char buf[64 + 64 * 3 + 10];
        f = fopen(path, "rb");
        assert_non_null(f);
        assert_int_equal(fread(buf, sizeof(buf), 1, f), 1);
        fclose(f);
        f = fopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(buf, sizeof(buf), 1, f), 1);
        fclose(f);
    }
    /* ... refused as it is opened, before any run (issue 17). */
    assert_int_equal(cx_replay_open(&r, path, &err), CX_ERR_PARSE);
    assert_non_null(strstr(err.msg, "truncated"));
    /* Not a replay file. */
    assert_int_equal(cx_replay_open(&r, CX_WORKLOADS_DIR "/small.yaml", &err), CX_ERR_PARSE);
    remove(path);
    free(ops);
    cx_workload_destroy(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped_load),
        cmocka_unit_test(test_default_yaml_matches_small),
        cmocka_unit_test(test_errors_name_file_line_field),
        cmocka_unit_test(test_gen_1f1b_order),
        cmocka_unit_test(test_gen_interleaved_order),
        cmocka_unit_test(test_job_basic),
        cmocka_unit_test(test_job_variants),
        cmocka_unit_test(test_shipped_generate),
        cmocka_unit_test(test_gen_state_small),
        cmocka_unit_test(test_405b),
        cmocka_unit_test(test_deepseek_active),
        cmocka_unit_test(test_compute_roofline),
        cmocka_unit_test(test_replay_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
