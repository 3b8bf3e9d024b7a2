/* cx_topo: counts against hand-computed figures, link symmetry, routing of
 * every GPU pair in the mini topologies, partition invariants, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cx_topo.h"

static cx_topo_t *load(const char *file)
{
    char       path[1024];
    cx_topo_t *t = NULL;
    cx_err_t   err;
    snprintf(path, sizeof(path), "%s/%s", CX_TOPO_DIR, file);
    if (cx_topo_load(&t, path, &err) != CX_OK) {
        cx_err_print(&err);
        fail();
    }
    return t;
}

/* Every port's peer points back at it with the same bandwidth; kinds count. */
static void check_links(const cx_topo_t *t, const cx_topo_summary_t *s)
{
    uint64_t dev, n = cx_topo_num_devices(t), gpus = 0, nvs = 0, sw[CX_TOPO_MAX_TIERS + 1] = {0};
    uint64_t ports = 0;
    for (dev = 0; dev < n; dev++) {
        uint32_t p, np = cx_topo_num_ports(t, dev);
        switch (cx_topo_device_kind(t, dev)) {
        case CX_DEV_GPU: gpus++; break;
        case CX_DEV_NVSWITCH: nvs++; break;
        case CX_DEV_SWITCH: sw[cx_topo_device_tier(t, dev)]++; break;
        }
        for (p = 0; p < np; p++) {
            cx_port_info_t a, b;
            assert_int_equal(cx_topo_port(t, dev, p, &a), CX_OK);
            assert_true(a.peer_device < n);
            assert_int_equal(cx_topo_port(t, a.peer_device, a.peer_port, &b), CX_OK);
            assert_true(b.peer_device == dev);
            assert_int_equal(b.peer_port, p);
            assert_true(a.bandwidth == b.bandwidth);
            assert_true(a.latency_ps > 0);
            ports++;
        }
        assert_int_equal(cx_topo_port(t, dev, np, &(cx_port_info_t){0}), CX_ERR_RANGE);
    }
    assert_true(gpus == s->gpus);
    assert_true(nvs == s->nvswitches);
    for (int i = 1; i <= CX_TOPO_MAX_TIERS; i++) assert_true(sw[i] == s->switches_by_tier[i]);
    assert_true(ports == 2 * s->links);
    assert_true(n == s->devices);
}

/* Follow cx_topo_route from every GPU to every GPU (strided for big ones). */
static void check_routes(const cx_topo_t *t, const cx_topo_summary_t *s, uint64_t stride)
{
    uint64_t g, h, ng = cx_topo_num_gpus(t);
    uint32_t outs[CX_TOPO_MAX_ROUTE], n;
    for (g = 0; g < ng; g += stride) {
        uint64_t src = cx_topo_gpu_device(t, g);
        cx_gpu_info_t gi;
        assert_int_equal(cx_topo_gpu_info(t, src, &gi), CX_OK);
        assert_true(gi.gpu_index == g);
        for (h = 0; h < ng; h++) {
            uint64_t      dst = cx_topo_gpu_device(t, h), cur = src;
            int           hops = 0, dh;
            int64_t       lat = 0, dl;
            int           in = -1;
            cx_gpu_info_t hi;
            assert_int_equal(cx_topo_gpu_info(t, dst, &hi), CX_OK);
            if (hi.fabric != gi.fabric) continue; /* disjoint fabrics */
            for (;;) {
                cx_port_info_t pi;
                assert_int_equal(cx_topo_route(t, cur, in, dst, outs, &n), CX_OK);
                if (n == 0) break;
                assert_int_equal(cx_topo_port(t, cur, outs[(g * 31 + h * 7 + (uint64_t)hops) % n], &pi),
                                 CX_OK);
                lat += pi.latency_ps;
                cur = pi.peer_device;
                in  = (int)pi.peer_port;
                hops++;
                assert_true(hops <= s->diameter_hops);
            }
            assert_true(cur == dst);
            assert_int_equal(cx_topo_gpu_distance(t, src, dst, &dh, &dl), CX_OK);
            assert_int_equal(dh, hops);
            assert_true(dl == lat);
            if (g != h) assert_true(dl >= s->min_latency_ps && dl <= s->max_latency_ps);
        }
    }
}

/* Partition: contiguous, domains and NIC ports never straddle, lookahead > 0. */
static void check_partition(const cx_topo_t *t, int nranks)
{
    cx_topo_part_t p;
    uint64_t       g, ng = cx_topo_num_gpus(t);
    int            r;
    cx_err_t       err;
    assert_int_equal(cx_topo_part_make(t, nranks, UINT64_MAX, CX_PART_CONTIGUOUS, &p, &err), CX_OK);
    assert_true(!p.cyclic && p.nseg == (uint64_t)nranks);
    assert_true(p.seg_first[0] == 0 && p.seg_first[nranks] == cx_topo_num_devices(t));
    for (r = 0; r < nranks; r++) assert_true(p.seg_rank[r] == r && p.seg_first[r] < p.seg_first[r + 1]);
    if (nranks > 1) assert_true(p.lookahead_ps > 0 && p.lookahead_ps < INT64_MAX);
    for (g = 0; g < ng; g++) {
        uint64_t      dev = cx_topo_gpu_device(t, g);
        cx_gpu_info_t gi;
        uint64_t      nvs;
        assert_int_equal(cx_topo_gpu_info(t, dev, &gi), CX_OK);
        nvs = cx_topo_domain_nvswitch(t, gi.domain);
        if (nvs != UINT64_MAX) assert_int_equal(cx_topo_part_owner(&p, dev), cx_topo_part_owner(&p, nvs));
        if (g > 0 && gi.local != 0) { /* same server as the previous GPU */
            uint64_t prev = cx_topo_gpu_device(t, g - 1);
            assert_int_equal(cx_topo_part_owner(&p, dev), cx_topo_part_owner(&p, prev));
        }
    }
    cx_topo_part_free(&p);
}

/* The cyclic partition (leaf blocks dealt round robin): segments cover the
 * devices in order; a domain, a server and a leaf switch with the servers
 * below it stay on one rank; every rank owns devices; lookahead > 0.
 * Returns the lookahead. */
static int64_t check_partition_cyclic(const cx_topo_t *t, int nranks)
{
    cx_topo_part_t p;
    uint64_t       g, k, dev, ng = cx_topo_num_gpus(t), nd = cx_topo_num_devices(t);
    uint64_t      *owned = calloc((size_t)nranks, sizeof(uint64_t));
    int64_t        la;
    int            r;
    cx_err_t       err;
    assert_int_equal(cx_topo_part_make(t, nranks, UINT64_MAX, CX_PART_CYCLIC, &p, &err), CX_OK);
    assert_true(p.cyclic && p.nseg >= (uint64_t)nranks && p.seg_first[0] == 0 && p.seg_first[p.nseg] == nd);
    for (k = 0; k < p.nseg; k++) {
        assert_true(p.seg_first[k] < p.seg_first[k + 1]);
        assert_true(p.seg_rank[k] >= 0 && p.seg_rank[k] < nranks);
        if (k > 0) assert_true(p.seg_rank[k] != p.seg_rank[k - 1]); /* merged */
        owned[p.seg_rank[k]] += p.seg_first[k + 1] - p.seg_first[k];
    }
    for (r = 0; r < nranks; r++) assert_true(owned[r] > 0);
    for (g = 0; g < ng; g++) {
        cx_gpu_info_t gi;
        uint64_t      nvs;
        dev = cx_topo_gpu_device(t, g);
        assert_int_equal(cx_topo_gpu_info(t, dev, &gi), CX_OK);
        nvs = cx_topo_domain_nvswitch(t, gi.domain);
        if (nvs != UINT64_MAX) assert_int_equal(cx_topo_part_owner(&p, dev), cx_topo_part_owner(&p, nvs));
        if (g > 0 && gi.local != 0) {
            assert_int_equal(cx_topo_part_owner(&p, dev), cx_topo_part_owner(&p, cx_topo_gpu_device(t, g - 1)));
        }
    }
    for (dev = 0; dev < nd; dev++) {
        cx_port_info_t pi;
        /* A leaf's first port leads down to a GPU of its own block. */
        if (cx_topo_device_kind(t, dev) != CX_DEV_SWITCH || cx_topo_device_tier(t, dev) != 1) continue;
        assert_int_equal(cx_topo_port(t, dev, 0, &pi), CX_OK);
        if (cx_topo_device_kind(t, pi.peer_device) == CX_DEV_GPU) {
            assert_int_equal(cx_topo_part_owner(&p, dev), cx_topo_part_owner(&p, pi.peer_device));
        }
    }
    la = p.lookahead_ps;
    assert_true(la > 0 && la < INT64_MAX);
    cx_topo_part_free(&p);
    free(owned);
    return la;
}

/* load, and its summary into *s. */
static cx_topo_t *load_summary(const char *file, cx_topo_summary_t *s)
{
    cx_topo_t *t = load(file);
    cx_topo_summary(t, s);
    return t;
}

/* What holds in every topology: link symmetry (when links), the routes of
 * every stride-th GPU pair, and a partition into each rank count of parts
 * (0 ends the list). */
static void check_all(const cx_topo_t *t, const cx_topo_summary_t *s, int links, uint64_t stride, const int *parts)
{
    if (links) check_links(t, s);
    check_routes(t, s, stride);
    for (; *parts != 0; parts++) {
        check_partition(t, *parts);
        if (*parts > 1 && *parts <= 16) check_partition_cyclic(t, *parts);
    }
}

static void test_colossus1_mini(void **state)
{
    static const int  parts[] = {1, 2, 3, 7, 128, 0};
    cx_topo_summary_t s;
    cx_topo_t        *t = load_summary("colossus1-mini.yaml", &s);
    cx_err_t          err;
    uint64_t          dev, first_core = UINT64_MAX;
    (void)state;
    /* 1024 GPUs; leaves: 128 servers / 16 per leaf group x 8 rails = 64;
     * spines: 4 pods x 16 = 64; cores: 16 planes x 16/4 = 64. */
    assert_true(s.gpus == 1024 && s.servers == 128 && s.racks == 16);
    assert_true(s.nvlink_domains == 128 && s.nvswitches == 128 && s.cpu_nics == 128);
    assert_true(s.switches_by_tier[1] == 64 && s.switches_by_tier[2] == 64);
    assert_true(s.switches_by_tier[3] == 64 && s.switches == 192);
    assert_true(s.devices == 1024 + 128 + 192);
    /* links: 1024 NVLink + 1024 NIC + 64*16 leaf up + 64*16 spine up */
    assert_true(s.links == 1024 + 1024 + 1024 + 1024);
    assert_true(s.injection_bw == 50e9);
    assert_true(s.bisection_bw == 512 * 50e9);
    assert_int_equal(s.diameter_hops, 6);
    assert_int_equal(s.min_latency_ps, 550000);
    assert_true(s.gpus_by_type[0] == 1024);
    check_all(t, &s, 1, 1, parts);
    {
        cx_topo_part_t p;
        assert_int_equal(cx_topo_part_make(t, 129, UINT64_MAX, CX_PART_CONTIGUOUS, &p, &err), CX_ERR_INVALID);
        cx_topo_part_free(&p);
    }
    /* core switches are spread, not all at the end */
    for (dev = 0; dev < s.devices; dev++) {
        if (cx_topo_device_kind(t, dev) == CX_DEV_SWITCH && cx_topo_device_tier(t, dev) == 3) {
            first_core = dev;
            break;
        }
    }
    assert_true(first_core < s.devices / 2);
    /* GPU info: rails and local indices */
    {
        cx_gpu_info_t gi;
        uint32_t      outs[CX_TOPO_MAX_ROUTE], n;
        assert_int_equal(cx_topo_gpu_info(t, cx_topo_gpu_device(t, 13), &gi), CX_OK);
        assert_true(gi.server == 1 && gi.local == 5 && gi.rail == 5 && gi.domain == 1);
        assert_int_equal(gi.nvlink_port, 0);
        assert_int_equal(gi.nic_port, 1);
        /* leaf going up returns all 16 uplinks */
        {
            cx_port_info_t pi;
            assert_int_equal(cx_topo_port(t, cx_topo_gpu_device(t, 0), 1, &pi), CX_OK);
            assert_int_equal(pi.role, CX_PORT_NIC);
            assert_int_equal(cx_topo_route(t, pi.peer_device, 0, cx_topo_gpu_device(t, 1023), outs, &n),
                             CX_OK);
            assert_int_equal(n, 16);
        }
    }
    cx_topo_destroy(t);
}

static void test_colossus2_mini(void **state)
{
    static const int  parts[] = {1, 4, 0};
    cx_topo_summary_t s;
    cx_topo_t        *t = load_summary("colossus2-mini.yaml", &s);
    (void)state;
    assert_true(s.gpus == 288 && s.nvlink_domains == 4 && s.racks == 4 && s.servers == 72);
    assert_true(s.switches_by_tier[1] == 36 && s.switches_by_tier[2] == 8);
    assert_true(s.injection_bw == 100e9);
    assert_true(s.bisection_bw == 144 * 100e9);
    assert_int_equal(s.diameter_hops, 4);
    check_all(t, &s, 1, 1, parts);
    cx_topo_destroy(t);
}

static void test_llama3(void **state)
{
    static const int  parts[] = {16, 0};
    cx_topo_summary_t s;
    cx_topo_t        *t = load_summary("llama3-24k.yaml", &s);
    (void)state;
    /* 24,576 GPUs / 16 per ToR = 1,536 ToRs; 8 pods x 16 cluster switches;
     * 16 planes x 28/7 aggregation switches. */
    assert_true(s.gpus == 24576 && s.servers == 3072 && s.nvlink_domains == 3072);
    assert_true(s.switches_by_tier[1] == 1536 && s.switches_by_tier[2] == 128);
    assert_true(s.switches_by_tier[3] == 64);
    /* bisection limited by pod uplinks: 8 x 16 x 28 x 50 GB/s / 2 */
    assert_true(s.bisection_bw == 8.0 * 16 * 28 * 50e9 / 2);
    assert_true(s.oversubscription[1] == 1.0);
    assert_true(s.oversubscription[2] > 6.85 && s.oversubscription[2] < 6.86);
    assert_int_equal(s.diameter_hops, 6);
    check_all(t, &s, 1, 997, parts);
    /* Cyclic at 2 and 4 ranks cuts only ToR uplinks: the ToR's forwarding
     * latency (Generic-400G, 700 ns) + the tier-2 cable (150 ns), where
     * contiguous ranges at 4 cut between a ToR and its servers (715 ns). */
    assert_int_equal(check_partition_cyclic(t, 2), 850000);
    assert_int_equal(check_partition_cyclic(t, 4), 850000);
    cx_topo_destroy(t);
}

static void test_big_ones(void **state)
{
    static const char *const files[] = {"colossus1-hall.yaml", "colossus1.yaml", "colossus2.yaml"};
    static const int         parts[] = {64, 0};
    size_t                   i;
    (void)state;
    for (i = 0; i < 3; i++) {
        cx_topo_summary_t s;
        cx_topo_t        *t = load_summary(files[i], &s);
        check_all(t, &s, 0, s.gpus / 7 + 1, parts);
        cx_topo_destroy(t);
    }
}

static void test_multi_fabric(void **state)
{
    cx_topo_summary_t s;
    cx_topo_t        *t = load_summary("colossus1.yaml", &s);
    uint32_t          outs[CX_TOPO_MAX_ROUTE], n;
    int               hops;
    int64_t           lat;
    (void)state;
    assert_int_equal(cx_topo_num_fabrics(t), 2);
    assert_true(s.gpus == 196608 + 31104);
    assert_true(s.gpus_by_type[0] == 98304 && s.gpus_by_type[1] == 98304 && s.gpus_by_type[3] == 31104);
    assert_int_equal(cx_topo_route(t, cx_topo_gpu_device(t, 0), -1, cx_topo_gpu_device(t, 200000),
                                   outs, &n), CX_ERR_NOT_FOUND);
    assert_int_equal(cx_topo_gpu_distance(t, cx_topo_gpu_device(t, 0), cx_topo_gpu_device(t, 200000),
                                          &hops, &lat), CX_ERR_NOT_FOUND);
    cx_topo_destroy(t);
}

static void test_embedded_default(void **state)
{
    const char *text;
    size_t      len;
    cx_topo_t  *t = NULL;
    cx_err_t    err;
    (void)state;
    cx_topo_default_yaml(&text, &len);
    assert_true(len > 100 && text[len] == '\0');
    assert_int_equal(cx_topo_load_string(&t, "<embedded>", text, len, &err), CX_OK);
    assert_true(cx_topo_num_gpus(t) == 1024);
    cx_topo_destroy(t);
}

static void expect_error(const char *text, int line, const char *field, const char *msg)
{
    cx_topo_t *t = NULL;
    cx_err_t   err;
    assert_int_not_equal(cx_topo_load_string(&t, "x.yaml", text, strlen(text), &err), CX_OK);
    assert_null(t);
    assert_string_equal(err.file, "x.yaml");
    assert_int_equal(err.line, line);
    assert_string_equal(err.field, field);
    if (strstr(err.msg, msg) == NULL) fail_msg("message '%s' lacks '%s'", err.msg, msg);
}

#define HEAD "fabrics:\n  - name: f\n    gpus: [{type: H100-SXM, count: %s}]\n" \
             "    server: {gpus: 8}\n    nvlink: {domain_gpus: 8, switch: NVSwitch-gen3}\n" \
             "    nic: ConnectX-7\n    rail_optimized: true\n    tiers:\n"

static void test_errors(void **state)
{
    /* HEAD with the GPU count and these tiers: the line, field and words of the error. */
    static const struct {
        const char *count, *tiers;
        int         line;
        const char *field, *msg;
    } bad[] = {
        {"1600", "      - {switch: SN5600-400G, down: 100, up: 100}\n      - {switch: SN5600-400G}\n", 9,
         "fabrics[0].tiers[0]", "radix 128"},
        {"1000", "      - {switch: SN5600-400G, down: 16, up: 16}\n      - {switch: SN5600-400G}\n", 3,
         "fabrics[0].gpus", "whole leaf groups"},
        {"1024", "      - {switch: SN5600-400G, down: 16, up: 16}\n      - {switch: SN5600-400G, group: 12, up: 16}\n"
                 "      - {switch: SN5600-400G}\n", 10, "fabrics[0].tiers[1].group", "do not divide"},
        {"1024", "      - {switch: SN5600-400G, down: 16, up: 16}\n      - {switch: SN9999}\n", 10,
         "fabrics[0].tiers[1].switch", "unknown switch"},
        {"1024", "      - {switch: SN5600-400G, down: 16, up: 16}\n      - {switch: SN5600-400G, parallel_links: 3}\n", 9,
         "fabrics[0].tiers[0]", "parallel links"},
        {"1020", "      - {switch: SN5600-400G, down: 16, up: 16}\n      - {switch: SN5600-400G}\n", 3,
         "fabrics[0].gpus[0].count", "NVLink domains"},
        {"1024", "      - {switch: SN5600-400G, down: 16, up: 16, speed: 1}\n", 9, "fabrics[0].tiers[0].speed",
         "unknown key"},
        {"1024", "      - {switch: SN5600-400G, down: 16, up: 16, link_bandwidth: -400Gbps}\n"
                 "      - {switch: SN5600-400G}\n", 9, "fabrics[0].tiers[0].link_bandwidth", "is not a bandwidth"},
    };
    char   buf[2048];
    size_t i;
    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(buf, sizeof(buf), HEAD "%s", bad[i].count, bad[i].tiers);
        expect_error(buf, bad[i].line, bad[i].field, bad[i].msg);
    }
    snprintf(buf, sizeof(buf), "fabrics:\n  - name: f\n    gpus: [{type: H900, count: 1024}]\n"
                               "    server: {gpus: 8}\n    nvlink: {domain_gpus: 8, switch: NVSwitch-gen3}\n"
                               "    nic: ConnectX-7\n    rail_optimized: true\n    tiers:\n"
                               "      - {switch: SN5600-400G, down: 16, up: 16}\n      - {switch: SN5600-400G}\n");
    expect_error(buf, 3, "fabrics[0].gpus[0].type", "unknown GPU 'H900'");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_colossus1_mini), cmocka_unit_test(test_colossus2_mini),
        cmocka_unit_test(test_llama3),         cmocka_unit_test(test_big_ones),
        cmocka_unit_test(test_multi_fabric),   cmocka_unit_test(test_embedded_default),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
