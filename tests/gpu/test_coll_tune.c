/*
 * The collective tuner (src/gpu/cx_coll_tune.c) on colossus1-mini: auto
 * runs the algorithm whose estimated time (cx_coll_predict, with its own
 * protocol) is the least of those that cover the collective, and runs it
 * exactly as asking for it would; NVLS pays NCCL's 23 us latency, so small
 * all-reduces in one domain stay on the ring; across domains auto picks the
 * hierarchical all-reduce where the model says it is faster than the ring.
 */
#include <math.h>

#include "cx_coll_impl.h"
#include "cx_test_coll.h"

static cx_collbench_row_t row(int kind, uint32_t algo, uint64_t gpus, uint64_t bytes)
{
    cx_coll_params_t   p;
    cx_collbench_row_t r;
    cx_err_t           err;
    cx_coll_params_defaults(&p);
    assert_int_equal(cx_test_coll(kind, algo, gpus, bytes, &p, &r, &err), CX_OK);
    printf("  %-13s %-6s %5llu GPUs %11llu B: %10.2f us busbw %7.2f GB/s (%s, proto %u)\n", cx_coll_kind_name(kind),
           cx_coll_algo_name((int)algo), (unsigned long long)gpus, (unsigned long long)bytes, r.time_us, r.busbw_gbps,
           cx_coll_algo_name((int)r.algo), r.proto);
    return r;
}

/* The op of a bench row: the first gpus GPUs, 8 per NVLink domain. */
static void bench_op(int kind, uint64_t gpus, uint64_t bytes, cx_op_t *op, uint32_t *g, cx_coll_links_t *l)
{
    uint64_t n = gpus;
    memset(op, 0, sizeof(*op));
    op->cls          = (uint8_t)kind;
    op->bytes        = bytes;
    op->group_size   = (uint32_t)n;
    op->group_stride = 1;
    *g               = n < 8 ? (uint32_t)n : 8;
    cx_coll_links_of(topo, cx_topo_gpu_device(topo, 0), cx_topo_gpu_device(topo, 1),
                     *g < n ? cx_topo_gpu_device(topo, *g) : UINT64_MAX, l);
}

/* The algorithm with the least estimate among those NCCL would weigh. */
static uint32_t least(const cx_op_t *op, uint32_t g, const cx_coll_links_t *l, double *t_p)
{
    static const uint32_t cand[] = {CX_ALGO_RING, CX_ALGO_TREE, CX_ALGO_NVLS, CX_ALGO_HIER};
    cx_coll_params_t      p;
    uint32_t              i, best = CX_ALGO_RING, proto;
    double                best_t = HUGE_VAL;
    cx_coll_params_defaults(&p);
    for (i = 0; i < 4; i++) {
        double t;
        if (cx_coll_pick(&p, l, cand[i], op, g, &proto) != cand[i]) continue;  /* does not cover it */
        t = cx_coll_predict(&p, l, cand[i], proto, op, g);
        printf("    estimate %-5s %12.2f us\n", cx_coll_algo_name((int)cand[i]), t * 1e6);
        if (t < best_t) {
            best   = cand[i];
            best_t = t;
        }
    }
    *t_p = best_t;
    return best;
}

/* auto = the least estimate, run as asking for it runs it. */
static void test_auto_follows_model(void **state)
{
    static const struct {
        int      kind;
        uint64_t gpus, bytes;
    } cases[] = {
        {CX_COLL_ALLREDUCE, 8, 1024},           {CX_COLL_ALLREDUCE, 8, 4 << 20},
        {CX_COLL_ALLREDUCE, 8, 256 << 20},      {CX_COLL_ALLREDUCE, 64, 1024},
        {CX_COLL_ALLREDUCE, 64, 32 << 20},      {CX_COLL_ALLREDUCE, 64, 256 << 20},
        {CX_COLL_ALLREDUCE, 64, UINT64_C(2) << 30}, {CX_COLL_REDUCESCATTER, 8, 64 << 20},
        {CX_COLL_ALLGATHER, 8, 1024},           {CX_COLL_ALLGATHER, 64, 64 << 20},
        {CX_COLL_ALLREDUCE, 1024, 1 << 20},     {CX_COLL_ALLREDUCE, 1024, 256 << 20},
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cx_op_t            op;
        cx_coll_links_t    l;
        uint32_t           g, want;
        double             t;
        cx_collbench_row_t a, b;
        bench_op(cases[i].kind, cases[i].gpus, cases[i].bytes, &op, &g, &l);
        want = least(&op, g, &l, &t);
        a    = row(cases[i].kind, CX_ALGO_AUTO, cases[i].gpus, cases[i].bytes);
        b    = row(cases[i].kind, want, cases[i].gpus, cases[i].bytes);
        assert_int_equal(a.algo, want);
        assert_int_equal(a.digest, b.digest);
        assert_true(a.time_us == b.time_us);
    }
}

/* NVLS pays NCCL's latency: >= 23 us at 1 KiB in one domain, where the ring
 * takes less, so auto runs the ring; at 256 MiB NVLS (~480 GB/s busbw). */
static void test_nvls_latency(void **state)
{
    cx_collbench_row_t nv, a;
    (void)state;
    nv = row(CX_COLL_ALLREDUCE, CX_ALGO_NVLS, 8, 1024);
    assert_true(nv.time_us >= 23.0);
    a = row(CX_COLL_ALLREDUCE, CX_ALGO_AUTO, 8, 1024);
    assert_int_equal(a.algo, CX_ALGO_RING);
    assert_true(a.time_us < nv.time_us);
    nv = row(CX_COLL_REDUCESCATTER, CX_ALGO_NVLS, 8, 1024);
    assert_true(nv.time_us >= 23.0);
    a = row(CX_COLL_ALLREDUCE, CX_ALGO_AUTO, 8, 256 << 20);
    assert_int_equal(a.algo, CX_ALGO_NVLS);
    assert_true(a.busbw_gbps > 460);
}

/* Across 8 domains at 2 GiB the model says hier < ring: auto is hier, with
 * hier's bus bandwidth, above the ring's. */
static void test_hier_picked(void **state)
{
    cx_coll_params_t   p;
    cx_op_t            op;
    cx_coll_links_t    l;
    uint32_t           g, ph, pr;
    cx_collbench_row_t a, h, r;
    (void)state;
    cx_coll_params_defaults(&p);
    bench_op(CX_COLL_ALLREDUCE, 64, UINT64_C(2) << 30, &op, &g, &l);
    cx_coll_pick(&p, &l, CX_ALGO_HIER, &op, g, &ph);
    cx_coll_pick(&p, &l, CX_ALGO_RING, &op, g, &pr);
    assert_true(cx_coll_predict(&p, &l, CX_ALGO_HIER, ph, &op, g) < cx_coll_predict(&p, &l, CX_ALGO_RING, pr, &op, g));
    a = row(CX_COLL_ALLREDUCE, CX_ALGO_AUTO, 64, UINT64_C(2) << 30);
    h = row(CX_COLL_ALLREDUCE, CX_ALGO_HIER, 64, UINT64_C(2) << 30);
    r = row(CX_COLL_ALLREDUCE, CX_ALGO_RING, 64, UINT64_C(2) << 30);
    assert_int_equal(a.algo, CX_ALGO_HIER);
    assert_true(a.busbw_gbps == h.busbw_gbps);
    assert_true(h.busbw_gbps > r.busbw_gbps);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auto_follows_model),
        cmocka_unit_test(test_nvls_latency),
        cmocka_unit_test(test_hier_picked),
    };
    return cx_test_run_mpi(&argc, &argv, tests, CX_TEST_COUNT(tests), cx_test_fabric_setup, cx_test_fabric_teardown);
}
