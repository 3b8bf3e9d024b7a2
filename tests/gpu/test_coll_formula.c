/*
 * On an uncongested fabric a ring all-reduce takes what the alpha-beta model
 * of that ring says.  Inside one NVLink domain every step waits for the
 * previous one, so T = 2(n-1) (alpha + beta D) with D the wire bytes of a
 * step, alpha = step latency + path latency, beta = 1 / link bandwidth, all
 * read from the topology here, not from the collective engine.  Across
 * domains the NIC hop is the bottleneck and the rest pipelines behind it:
 * T = 2(n-1) beta_nic D_nic + one step's latency; checked at large sizes.
 * Runs as an MPI singleton.
 */
#include <math.h>

#include "cx_test_coll.h"

/* Bandwidth of GPU 0's NVLink (nvlink) or NIC port, and the path latency
 * from GPU 0 to GPU b, from the topology. */
static void hop_from_0(uint64_t b, int nvlink, double *bw, int64_t *path)
{
    cx_gpu_info_t  gi;
    cx_port_info_t pi;
    uint64_t       dev = cx_topo_gpu_device(topo, 0);
    int            hops;
    cx_topo_gpu_info(topo, dev, &gi);
    assert_int_equal(cx_topo_port(topo, dev, (uint32_t)(nvlink ? gi.nvlink_port : gi.nic_port), &pi), CX_OK);
    *bw = pi.bandwidth;
    assert_int_equal(cx_topo_gpu_distance(topo, dev, cx_topo_gpu_device(topo, b), &hops, path), CX_OK);
}

/* The model's ring all-reduce of `bytes` over n GPUs against the formula's
 * `want` seconds: within 2%. */
static void check_ring(uint64_t n, uint64_t bytes, double want, cx_coll_params_t *p)
{
    cx_collbench_row_t row;
    cx_err_t           err;
    double             got, rel;
    assert_int_equal(cx_test_coll(CX_COLL_ALLREDUCE, CX_ALGO_RING, n, bytes, p, &row, &err), CX_OK);
    got = row.time_us * 1e-6;
    rel = fabs(got - want) / want;
    printf("  ring %llu GPUs, %llu MiB: model %.2f us, formula %.2f us (%.3f%%)\n", (unsigned long long)n,
           (unsigned long long)(bytes >> 20), got * 1e6, want * 1e6, 100 * rel);
    assert_true(rel < 0.02);
}

/* The ring all-reduce over each of the groups at each of the sizes against
 * its formula: inside one NVLink domain (the hop to GPU 1: NVLink), or
 * across domains (the hop to GPU 8, same rail, next server: the NIC; 8
 * channels, one per rail). */
static void check_rings(const uint64_t groups[3], const uint64_t sizes[3], int across)
{
    cx_coll_params_t p;
    double           bw;
    int64_t          path;
    size_t           i, k;
    cx_coll_params_defaults(&p);
    hop_from_0(across ? 8 : 1, !across, &bw, &path);
    for (k = 0; k < 3; k++) {
        uint64_t n = groups[k], C = 8;
        for (i = 0; i < 3; i++) {
            double D, alpha, want;
            if (!across) {
                D     = ceil(ceil((double)sizes[i] / (double)n) / p.nvlink_efficiency);
                alpha = (double)(p.nvlink_step_latency + path) * 1e-12;
                want  = 2.0 * (double)(n - 1) * (alpha + D / bw);
            } else {
                D     = ceil(ceil((double)sizes[i] / (double)(n * C)) / p.net_efficiency);
                alpha = (double)(p.net_step_latency + path) * 1e-12;
                want  = 2.0 * (double)(n - 1) * D / bw + alpha;
            }
            check_ring(n, sizes[i], want, &p);
        }
    }
}

static void test_ring_inside_domain(void **state)
{
    static const uint64_t sizes[] = {UINT64_C(64) << 20, UINT64_C(256) << 20, UINT64_C(1) << 30};
    static const uint64_t groups[] = {2, 4, 8};
    (void)state;
    check_rings(groups, sizes, 0);
}

static void test_ring_across_domains(void **state)
{
    static const uint64_t sizes[] = {UINT64_C(256) << 20, UINT64_C(1) << 30, UINT64_C(4) << 30};
    static const uint64_t groups[] = {16, 32, 64};
    (void)state;
    check_rings(groups, sizes, 1);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ring_inside_domain),
        cmocka_unit_test(test_ring_across_domains),
    };
    return cx_test_run_mpi(&argc, &argv, tests, CX_TEST_COUNT(tests), cx_test_fabric_setup, cx_test_fabric_teardown);
}
