/* Unit tests for util: 4-ary heap order and ties, the bucketed event queue
 * against the heap, pool reuse, counter RNG, option table parsing and its
 * error messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cx_bq_inl.h"
#include "cx_util.h"

static void test_heap_order_and_ties(void **state)
{
    cx_heap_t      h;
    cx_heap_item_t it, prev;
    uint64_t       i, n = 5000;
    cx_rng_t       r;
    (void)state;
    assert_int_equal(cx_heap_init(&h, 4), CX_OK);
    cx_rng_init(&r, 42, 0);
    for (i = 0; i < n; i++) {
        /* Few distinct times, so ties on k0 and k1 are frequent. */
        it.k0  = (int64_t)cx_rng_below(&r, 7);
        it.k1  = cx_rng_below(&r, 3);
        it.k2  = i;
        it.ptr = NULL;
        assert_int_equal(cx_heap_push(&h, &it), CX_OK);
    }
    assert_int_equal(h.size, n);
    assert_true(cx_heap_pop(&h, &prev));
    for (i = 1; i < n; i++) {
        assert_true(cx_heap_pop(&h, &it));
        /* Strictly increasing in the lexicographic key: a total order. */
        assert_true(cx_heap_less(&prev, &it));
        prev = it;
    }
    assert_false(cx_heap_pop(&h, &it));
    cx_heap_destroy(&h);
}

static void test_heap_tie_break_exact(void **state)
{
    cx_heap_t      h;
    cx_heap_item_t it;
    static const uint64_t k1s[] = {5, 1, 3, 1, 0};
    static const uint64_t k2s[] = {0, 9, 2, 4, 7};
    static const uint64_t want_k1[] = {0, 1, 1, 3, 5};
    static const uint64_t want_k2[] = {7, 4, 9, 2, 0};
    int i;
    (void)state;
    cx_heap_init(&h, 16);
    for (i = 0; i < 5; i++) {
        it.k0 = 100; it.k1 = k1s[i]; it.k2 = k2s[i]; it.ptr = NULL;
        cx_heap_push(&h, &it);
    }
    for (i = 0; i < 5; i++) {
        assert_true(cx_heap_pop(&h, &it));
        assert_int_equal(it.k1, want_k1[i]);
        assert_int_equal(it.k2, want_k2[i]);
    }
    cx_heap_destroy(&h);
}

/* The bucketed queue pops exactly the heap's order under a simulation's
 * pattern (each pop schedules later items: at once, within a bucket, a few
 * buckets ahead, beyond the horizon, far beyond it) with a small geometry so
 * the buckets wrap, far items move in and empty stretches are jumped. */
static void test_bq_matches_heap(void **state)
{
    cx_bq_t        q;
    cx_heap_t      h;
    cx_heap_item_t a, b;
    cx_rng_t       r;
    uint64_t       i, seq = 0, pops = 0, jumps = 0, grew = 0;
    int64_t        w;
    (void)state;
    assert_int_equal(cx_bq_init(&q, 0, 64), CX_ERR_INVALID);
    assert_int_equal(cx_bq_init(&q, 100, 100), CX_ERR_INVALID);
    assert_int_equal(cx_bq_init(&q, 100, 64), CX_OK);
    assert_int_equal(cx_heap_init(&h, 16), CX_OK);
    cx_rng_init(&r, 7, 0);
    assert_null(cx_bq_top(&q));
    assert_false(cx_bq_pop(&q, &a));
    for (i = 0; i < 300; i++) {
        a.k0 = (int64_t)cx_rng_below(&r, 20000);
        a.k1 = cx_rng_below(&r, 4);
        a.k2 = seq++;
        a.ptr = NULL;
        assert_int_equal(cx_bq_push(&q, &a), CX_OK);
        assert_int_equal(cx_heap_push(&h, &a), CX_OK);
    }
    while (h.size > 0) {
        uint64_t k, n;
        w = q.w;
        assert_int_equal(q.size, h.size);
        assert_non_null(cx_bq_top(&q));
        assert_int_equal(cx_bq_top(&q)->k0, h.items[0].k0);
        assert_true(cx_bq_pop(&q, &a));
        assert_true(cx_heap_pop(&h, &b));
        assert_int_equal(a.k0, b.k0);
        assert_int_equal(a.k1, b.k1);
        assert_int_equal(a.k2, b.k2);
        grew += q.w > w;
        pops++;
        if (pops > 200000) continue;          /* then drain */
        n = cx_rng_below(&r, 4);              /* mean 1.5 children: grows, then drained */
        for (k = 0; k < n; k++) {
            uint64_t kind = cx_rng_below(&r, 16);
            int64_t  d    = kind < 3    ? 0
                            : kind < 9  ? (int64_t)cx_rng_below(&r, 100)
                            : kind < 13 ? (int64_t)cx_rng_below(&r, 1000)
                            : kind < 15 ? 6400 + (int64_t)cx_rng_below(&r, 20000)
                                        : 1000000 + (int64_t)cx_rng_below(&r, 5000000);
            jumps += kind == 15;
            a.k0  = b.k0 + d;
            a.k1  = cx_rng_below(&r, 4);
            a.k2  = seq++;
            assert_int_equal(cx_bq_push(&q, &a), CX_OK);
            assert_int_equal(cx_heap_push(&h, &a), CX_OK);
        }
        if (h.size > 4000) pops = 200000;     /* bound the test */
    }
    assert_true(jumps > 0);
    assert_true(grew > 0);    /* sparse stretches widened the buckets */
    assert_int_equal(q.size, 0);
    assert_null(cx_bq_top(&q));
    /* Empty, then one item far ahead: the jump path alone. */
    a.k0 = INT64_C(1) << 60;
    a.k1 = 1;
    a.k2 = 2;
    assert_int_equal(cx_bq_push(&q, &a), CX_OK);
    assert_true(cx_bq_pop(&q, &b));
    assert_int_equal(b.k0, a.k0);
    assert_int_equal(b.k2, 2);
    assert_true(cx_bq_bytes(&q) > 0);
    cx_bq_destroy(&q);
    cx_heap_destroy(&h);
}

/* Crowded buckets narrow: CX_BQ_ADAPT_REFILLS buckets of more than
 * CX_BQ_ITEMS_HI items each, popped in order, leave the width 8x smaller. */
static void test_bq_narrows(void **state)
{
    const int64_t  w0 = INT64_C(1) << 20;
    const uint64_t per = CX_BQ_ITEMS_HI + 4;
    cx_bq_t        q;
    cx_heap_item_t a, prev;
    uint64_t       r, i, n = 0;
    (void)state;
    assert_int_equal(cx_bq_init(&q, w0, 64), CX_OK);
    for (r = 0; r < CX_BQ_ADAPT_REFILLS; r++) {
        for (i = 0; i < per; i++) {
            a.k0  = (int64_t)r * w0 + (int64_t)((i * 7919) % per);
            a.k1  = 0;
            a.k2  = n++;
            a.ptr = NULL;
            assert_int_equal(cx_bq_push(&q, &a), CX_OK);
        }
    }
    assert_true(cx_bq_pop(&q, &prev));
    for (i = 1; i < n; i++) {
        assert_true(cx_bq_pop(&q, &a));
        assert_true(cx_heap_less(&prev, &a));
        prev = a;
    }
    assert_int_equal(q.w, w0 / 8);
    assert_false(cx_bq_pop(&q, &a));
    cx_bq_destroy(&q);
}

static void test_pool_reuse(void **state)
{
    cx_pool_t p;
    void     *a, *b, *c;
    size_t    total;
    (void)state;
    cx_pool_init(&p, 100, 4);
    assert_int_equal(p.obj_size, 112);
    a = cx_pool_get(&p);
    b = cx_pool_get(&p);
    assert_non_null(a);
    assert_non_null(b);
    assert_ptr_not_equal(a, b);
    total = p.total;
    cx_pool_put(&p, a);
    c = cx_pool_get(&p);
    assert_ptr_equal(a, c);            /* LIFO reuse, no new memory */
    assert_int_equal(p.total, total);
    assert_int_equal(p.in_use, 2);
    assert_int_equal(p.peak_in_use, 2);
    cx_pool_put(&p, b);
    cx_pool_put(&p, c);
    assert_int_equal(p.in_use, 0);
    cx_pool_destroy(&p);
}

static void test_pool_growth(void **state)
{
    cx_pool_t p;
    void     *objs[1000];
    int       i;
    (void)state;
    cx_pool_init(&p, 128, 8);
    for (i = 0; i < 1000; i++) {
        objs[i] = cx_pool_get(&p);
        assert_non_null(objs[i]);
        memset(objs[i], 0xab, 128);
    }
    assert_true(p.total >= 1000);
    assert_true(p.n_blocks < 12);      /* blocks double: few mallocs */
    for (i = 0; i < 1000; i++) cx_pool_put(&p, objs[i]);
    assert_int_equal(p.in_use, 0);
    assert_int_equal(p.peak_in_use, 1000);
    cx_pool_destroy(&p);
}

static void test_rng_reproducible_and_order_free(void **state)
{
    cx_rng_t a, b, c;
    uint64_t seq_a[64];
    int      i;
    (void)state;
    cx_rng_init(&a, 7, 12);
    for (i = 0; i < 64; i++) seq_a[i] = cx_rng_next(&a);
    /* Same stream again, interleaved with another stream: same values. */
    cx_rng_init(&b, 7, 12);
    cx_rng_init(&c, 7, 13);
    for (i = 0; i < 64; i++) {
        (void)cx_rng_next(&c);
        assert_int_equal(cx_rng_next(&b), seq_a[i]);
    }
    /* The draw is a pure function of (seed, stream, index). */
    assert_int_equal(cx_rng_u64(7, 12, 10), seq_a[10]);
    /* Different seed or stream: different values. */
    assert_int_not_equal(cx_rng_u64(8, 12, 0), seq_a[0]);
    assert_int_not_equal(cx_rng_u64(7, 13, 0), seq_a[0]);
}

static void test_rng_distribution(void **state)
{
    cx_rng_t r;
    int      i, n = 200000, buckets[10] = {0};
    double   sum = 0, esum = 0;
    (void)state;
    cx_rng_init(&r, 1, 99);
    for (i = 0; i < n; i++) {
        double u = cx_rng_uniform(&r);
        assert_true(u >= 0.0 && u < 1.0);
        buckets[(int)(u * 10)]++;
        sum += u;
        esum += cx_rng_exp(&r, 2.0);
    }
    for (i = 0; i < 10; i++) assert_true(buckets[i] > n / 10 - 800 && buckets[i] < n / 10 + 800);
    assert_true(sum / n > 0.495 && sum / n < 0.505);
    assert_true(esum / n > 1.97 && esum / n < 2.03);
    for (i = 0; i < 1000; i++) assert_true(cx_rng_below(&r, 3) < 3);
}

typedef struct {
    uint64_t lps;
    int64_t  end;
    double   p;
    int      mode;
    uint64_t bytes;
    int      flag;
    const char *name;
} opts_t;

static const cx_opt_t opt_tbl[] = {
    {"lps", CX_OPT_UINT, offsetof(opts_t, lps), "16", 1, 1000, NULL, "N", "lps"},
    {"end", CX_OPT_TIME, offsetof(opts_t, end), "1ms", 1, 1e18, NULL, "T", "end"},
    {"p", CX_OPT_DOUBLE, offsetof(opts_t, p), "0.5", 0, 1, NULL, "P", "prob"},
    {"mode", CX_OPT_ENUM, offsetof(opts_t, mode), "ecmp", 0, 0, "ecmp|adaptive|spray", NULL, "routing"},
    {"bytes", CX_OPT_BYTES, offsetof(opts_t, bytes), "1M", CX_OPT_UNBOUNDED, NULL, "B", "size"},
    {"flag", CX_OPT_FLAG, offsetof(opts_t, flag), NULL, 0, 0, NULL, NULL, "a flag"},
    {"name", CX_OPT_STRING, offsetof(opts_t, name), "x", 0, 0, NULL, "S", "a name"},
};
#define NOPT (sizeof(opt_tbl) / sizeof(opt_tbl[0]))

static void test_opt_defaults_and_parse(void **state)
{
    opts_t      o;
    cx_err_t    err;
    const char *pos[2];
    int         npos = -1;
    char       *argv[] = {"--lps", "100", "--end=2.5us", "--mode", "spray", "--flag",
                          "file.yaml", "--bytes", "64KiB", "--name", "abc"};
    (void)state;
    assert_int_equal(cx_opt_defaults(opt_tbl, NOPT, &o, &err), CX_OK);
    assert_int_equal(o.lps, 16);
    assert_int_equal(o.end, INT64_C(1000000000));
    assert_int_equal(o.mode, 0);
    assert_int_equal(o.bytes, 1048576);
    assert_int_equal(o.flag, 0);
    assert_int_equal(cx_opt_parse(opt_tbl, NOPT, 11, argv, &o, pos, 2, &npos, &err), CX_OK);
    assert_int_equal(o.lps, 100);
    assert_int_equal(o.end, 2500000);
    assert_int_equal(o.mode, 2);
    assert_int_equal(o.flag, 1);
    assert_int_equal(o.bytes, 65536);
    assert_string_equal(o.name, "abc");
    assert_int_equal(npos, 1);
    assert_string_equal(pos[0], "file.yaml");
}

static void expect_parse_error(int argc, char **argv, const char *needle)
{
    opts_t   o;
    cx_err_t err;
    char     buf[1024];
    cx_opt_defaults(opt_tbl, NOPT, &o, &err);
    cx_err_clear(&err);
    assert_int_not_equal(cx_opt_parse(opt_tbl, NOPT, argc, argv, &o, NULL, 0, NULL, &err), CX_OK);
    cx_err_format(&err, buf, sizeof(buf));
    if (strstr(buf, needle) == NULL) fail_msg("message '%s' lacks '%s'", buf, needle);
}

static void test_opt_errors(void **state)
{
    char *a1[] = {"--nope", "3"};
    char *a2[] = {"--lps", "abc"};
    char *a3[] = {"--lps", "5000"};
    char *a4[] = {"--mode", "random"};
    char *a5[] = {"--end", "3 parsecs"};
    char *a6[] = {"--lps"};
    char *a7[] = {"stray"};
    char *a8[] = {"--p", "1.5"};
    (void)state;
    expect_parse_error(2, a1, "unknown option '--nope'");
    expect_parse_error(2, a2, "--lps: 'abc' is not a non-negative integer");
    expect_parse_error(2, a3, "outside [1, 1000]");
    expect_parse_error(2, a4, "is not one of ecmp|adaptive|spray");
    expect_parse_error(2, a5, "is not a time with unit");
    expect_parse_error(1, a6, "needs a value");
    expect_parse_error(1, a7, "unexpected argument 'stray'");
    expect_parse_error(2, a8, "outside [0, 1]");
}

static void test_parse_units(void **state)
{
    uint64_t b;
    int64_t  t;
    (void)state;
    assert_int_equal(cx_parse_bytes("4096", &b), CX_OK);
    assert_int_equal(b, 4096);
    assert_int_equal(cx_parse_bytes("2G", &b), CX_OK);
    assert_int_equal(b, UINT64_C(2147483648));
    assert_int_equal(cx_parse_bytes("1.5K", &b), CX_OK);
    assert_int_equal(b, 1536);
    assert_int_not_equal(cx_parse_bytes("1.3", &b), CX_OK);
    assert_int_not_equal(cx_parse_bytes("-4", &b), CX_OK);
    assert_int_equal(cx_parse_time_ps("1", &t), CX_OK);
    assert_int_equal(t, INT64_C(1000000000000));
    assert_int_equal(cx_parse_time_ps("250ns", &t), CX_OK);
    assert_int_equal(t, 250000);
    assert_int_not_equal(cx_parse_time_ps("5 fortnights", &t), CX_OK);
}

static void test_err_format(void **state)
{
    cx_err_t e;
    char     buf[512];
    (void)state;
    cx_err_set(&e, CX_ERR_INVALID, "topo.yaml", 12, "fabric.tiers[1].radix", "must be > %d", 0);
    cx_err_format(&e, buf, sizeof(buf));
    assert_string_equal(buf, "topo.yaml:12: 'fabric.tiers[1].radix': must be > 0");
    cx_err_set(&e, CX_ERR_INVALID, NULL, 0, NULL, "plain");
    cx_err_format(&e, buf, sizeof(buf));
    assert_string_equal(buf, "plain");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_heap_order_and_ties),
        cmocka_unit_test(test_heap_tie_break_exact),
        cmocka_unit_test(test_bq_matches_heap),
        cmocka_unit_test(test_bq_narrows),
        cmocka_unit_test(test_pool_reuse),
        cmocka_unit_test(test_pool_growth),
        cmocka_unit_test(test_rng_reproducible_and_order_free),
        cmocka_unit_test(test_rng_distribution),
        cmocka_unit_test(test_opt_defaults_and_parse),
        cmocka_unit_test(test_opt_errors),
        cmocka_unit_test(test_parse_units),
        cmocka_unit_test(test_err_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
