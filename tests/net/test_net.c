/*
 * The link timing engine against the analytic time of one message with no
 * contention: chunks leave the GPU back to back (serialization of each on
 * the injection link), cut through every switch (equal link speeds: no
 * store-and-forward delay), and each hop adds its port latency.  So the last
 * byte arrives at  sum_k ser(chunk_k) + sum_hops latency,  to the picosecond.
 * Paths: inside an NVLink domain, same rail across servers (leaf), across
 * rails (spine), across pods (core).  Runs as an MPI singleton.
 */
#include <math.h>

#include "cx_net.h"
#include "cx_test_fabric.h"
#include "cx_traffic.h"

static cx_time_t  last_arrival;
static uint64_t   bytes_arrived;
static int        txdone_seen;

static void on_recv(cx_engine_t *eng, cx_net_dev_t *gpu, const cx_net_chunk_t *c)
{
    (void)gpu;
    last_arrival = cx_engine_now(eng);
    bytes_arrived += c->bytes;
}

static void on_txdone(cx_engine_t *eng, cx_net_dev_t *gpu, const cx_net_txdone_t *d)
{
    (void)eng; (void)gpu; (void)d;
    txdone_seen++;
}

static const cx_handler_fn    gpu_handlers[] = {cx_net_handle_chunk, cx_net_handle_txdone};
static const cx_entity_type_t gpu_type       = {"gpu", gpu_handlers, 2};

/* Send `bytes` from GPU a to GPU b; return the arrival of the last byte. */
static cx_time_t send_one(uint64_t a, uint64_t b, uint64_t bytes, const cx_net_config_t *cfg)
{
    cx_engine_config_t tmpl;
    cx_engine_t       *eng;
    cx_net_t          *net;
    cx_err_t           err;
    int64_t            la;
    memset(&tmpl, 0, sizeof(tmpl));
    tmpl.seed = 1;
    assert_int_equal(cx_net_engine_create(&eng, topo, 0, MPI_COMM_WORLD, &tmpl, &la, &err), CX_OK);
    assert_int_equal(cx_net_create(&net, eng, topo, cfg, &gpu_type, on_recv, on_txdone, &err), CX_OK);
    last_arrival  = -1;
    bytes_arrived = 0;
    txdone_seen   = 0;
    cx_net_send(eng, cx_engine_entity(eng, cx_topo_gpu_device(topo, a)), cx_topo_gpu_device(topo, b), bytes,
                7, 0, 0);
    assert_int_equal(cx_engine_run(eng, &err), CX_OK);
    assert_int_equal(bytes_arrived, bytes);
    assert_int_equal(txdone_seen, 1);
    cx_net_destroy(net);
    cx_engine_destroy(eng);
    return last_arrival;
}

static cx_time_t analytic(uint64_t a, uint64_t b, uint64_t bytes, uint64_t chunk, int *hops_p)
{
    cx_gpu_info_t  gi;
    cx_port_info_t pi;
    uint64_t       dev = cx_topo_gpu_device(topo, a), left = bytes;
    int64_t        path = 0;
    cx_time_t      ser = 0;
    double         ps_per_byte;
    cx_topo_gpu_info(topo, dev, &gi);
    assert_int_equal(cx_topo_gpu_distance(topo, dev, cx_topo_gpu_device(topo, b), hops_p, &path), CX_OK);
    /* First hop: NVLink inside the HGX board (8 GPUs), the NIC otherwise. */
    cx_topo_port(topo, dev, (uint32_t)(a / 8 == b / 8 ? gi.nvlink_port : gi.nic_port), &pi);
    ps_per_byte = 1e12 / pi.bandwidth;
    while (left > 0) {
        uint64_t c = left < chunk ? left : chunk;
        ser += (cx_time_t)llround((double)c * ps_per_byte);
        left -= c;
    }
    return ser + path;
}

static void test_one_message_exact(void **state)
{
    static const struct { uint64_t a, b; const char *what; } paths[] = {
        {0, 5, "NVLink inside the HGX board"},
        {0, 8, "same rail, next server (leaf)"},
        {0, 9, "across rails (spine)"},
        {0, 1000, "across pods (core)"},
    };
    static const uint64_t sizes[] = {4096, 1048576, 5000000, 64u << 20};
    cx_net_config_t cfg;
    size_t          i, k;
    (void)state;
    cx_net_config_defaults(&cfg);
    for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
            int       hops;
            uint64_t  chunk = paths[i].b / 8 == paths[i].a / 8 ? UINT32_MAX /* whole message */ : cfg.chunk_bytes;
            cx_time_t want  = analytic(paths[i].a, paths[i].b, sizes[k], chunk, &hops);
            cx_time_t got   = send_one(paths[i].a, paths[i].b, sizes[k], &cfg);
            printf("  %-32s %2d hops %9llu B: %lld ps (analytic %lld)\n", paths[i].what, hops,
                   (unsigned long long)sizes[k], (long long)got, (long long)want);
            assert_int_equal(got, want);
        }
    }
}

static void test_small_chunks_same_time_shape(void **state)
{
    /* MTU-sized chunks: more events, same analytic time. */
    cx_net_config_t cfg;
    int             hops;
    (void)state;
    cx_net_config_defaults(&cfg);
    cfg.chunk_bytes = 4096;
    assert_int_equal(send_one(0, 1000, 1 << 20, &cfg), analytic(0, 1000, 1 << 20, 4096, &hops));
}

static void test_two_flows_share_a_link(void **state)
{
    /* Two GPUs of one server to the same remote GPU: the last downlink is
     * shared, so the pair takes twice the serialization of one. */
    cx_engine_config_t tmpl;
    cx_engine_t       *eng;
    cx_net_t          *net;
    cx_net_config_t    cfg;
    cx_err_t           err;
    int64_t            la;
    uint64_t           bytes = 64u << 20;
    cx_time_t          one;
    int                hops;
    (void)state;
    cx_net_config_defaults(&cfg);
    one = analytic(0, 16, bytes, cfg.chunk_bytes, &hops);
    memset(&tmpl, 0, sizeof(tmpl));
    assert_int_equal(cx_net_engine_create(&eng, topo, 0, MPI_COMM_WORLD, &tmpl, &la, &err), CX_OK);
    assert_int_equal(cx_net_create(&net, eng, topo, &cfg, &gpu_type, on_recv, on_txdone, &err), CX_OK);
    bytes_arrived = 0;
    cx_net_send(eng, cx_engine_entity(eng, cx_topo_gpu_device(topo, 0)), cx_topo_gpu_device(topo, 16), bytes, 1, 0, 0);
    cx_net_send(eng, cx_engine_entity(eng, cx_topo_gpu_device(topo, 8)), cx_topo_gpu_device(topo, 16), bytes, 2, 0, 0);
    assert_int_equal(cx_engine_run(eng, &err), CX_OK);
    assert_int_equal(bytes_arrived, 2 * bytes);
    printf("  two flows into one NIC: %lld ps, one alone %lld ps\n", (long long)last_arrival, (long long)one);
    assert_true(last_arrival >= 2 * (one - 3 * CX_PS_PER_US));
    assert_true(last_arrival <= 2 * one);
    cx_net_destroy(net);
    cx_engine_destroy(eng);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_message_exact),
        cmocka_unit_test(test_small_chunks_same_time_shape),
        cmocka_unit_test(test_two_flows_share_a_link),
    };
    return cx_test_run_mpi(&argc, &argv, tests, CX_TEST_COUNT(tests), cx_test_fabric_setup, cx_test_fabric_teardown);
}
