/* cmocka tests of the campaign model (src/workload/cx_campaign.h): the
 * default rates give back Table 5, the checkpoint-interval formulas, a
 * campaign with no interruption, seeds independent of how many run, and
 * component counts of a topology. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cx_campaign.h"
#include "cx_run_internal.h"

static void test_default_rates(void **state)
{
    double ev[CX_FC_N], n[CX_FC_N], r[CX_FC_N], sum = 0.0;
    int    k;
    (void)state;
    cx_campaign_ref(ev, n);
    cx_campaign_rates_default(r);
    for (k = 0; k < CX_FC_N; k++) {
        double back = r[k] * n[k] * CX_CAMPAIGN_REF_DAYS * 24.0;
        assert_true(fabs(back - ev[k]) < 1e-9 * ev[k]);
        sum += back;
    }
    assert_true(fabs(sum - CX_CAMPAIGN_REF_UNEXPECTED) < 1e-6);
}

static void test_intervals(void **state)
{
    (void)state;
    assert_true(fabs(cx_campaign_young(2.0, 1e4) - 200.0) < 1e-9);
    /* Daly: sqrt(2CM) (1 + sqrt(C/2M)/3 + C/18M) - C */
    assert_true(fabs(cx_campaign_daly(2.0, 1e4) - (200.0 * (1.0 + sqrt(1e-4) / 3.0 + 2.0 / 18e4) - 2.0)) < 1e-9);
    assert_true(cx_campaign_daly(3e4, 1e4) == 1e4);   /* C >= 2M: M */
}

static void params_quiet(cx_campaign_params_t *p)
{
    memset(p, 0, sizeof(*p));
    p->days         = 1.0;
    p->iteration_s  = 1.0;
    p->interval_s   = 3590.0;
    p->ckpt_stall_s = 10.0;
    p->seeds        = 3;
    p->seed         = 9;
}

static void test_no_failures(void **state)
{
    cx_campaign_params_t p;
    cx_campaign_counts_t c;
    cx_campaign_result_t r;
    cx_err_t             err;
    (void)state;
    params_quiet(&p);
    memset(&c, 0, sizeof(c));
    c.gpus = 8;
    assert_int_equal(cx_campaign_run(&p, &c, &r, &err), CX_OK);
    /* 24 whole cycles of 3,590 s training + 10 s checkpoint in a day. */
    assert_true(fabs(r.ettr.mean - 3590.0 / 3600.0) < 1e-12);
    assert_true(r.interruptions_per_day.mean == 0.0 && r.ettr.sd == 0.0);
    assert_true(fabs(r.ckpt_gpu_hours.mean - 8.0 * 24 * 10.0 / 3600.0) < 1e-9);
    p.mode         = CX_CKPT_ASYNC;
    p.ckpt_stall_s = 0.5;
    p.ckpt_drain_s = 100.0;
    p.interval_s   = 3599.5;
    assert_int_equal(cx_campaign_run(&p, &c, &r, &err), CX_OK);
    assert_true(fabs(r.ettr.mean - 3599.5 / 3600.0) < 1e-12);
    p.interval_s = 0.0;
    assert_int_equal(cx_campaign_run(&p, &c, &r, &err), CX_ERR_RANGE);
    p.interval_s       = 60.0;
    p.rate_per_hour[0] = NAN;
    assert_int_equal(cx_campaign_run(&p, &c, &r, &err), CX_ERR_RANGE);
}

static void test_seed_independence(void **state)
{
    cx_campaign_params_t p;
    cx_campaign_counts_t c;
    cx_campaign_result_t r1, r50;
    cx_campaign_seed_t   a, b;
    cx_err_t             err;
    (void)state;
    params_quiet(&p);
    p.days = 20.0;
    p.interval_s = 600.0;
    cx_campaign_rates_default(p.rate_per_hour);
    memset(&c, 0, sizeof(c));
    c.gpus         = 16384;
    c.n[CX_FC_GPU] = 16384;
    c.n[CX_FC_HOST] = 2048;
    cx_campaign_one(&p, &c, 7, &a);
    cx_campaign_one(&p, &c, 7, &b);
    assert_memory_equal(&a, &b, sizeof(a));
    /* Seed 0 alone and seed 0 among 50: the same campaign. */
    p.seeds = 1;
    assert_int_equal(cx_campaign_run(&p, &c, &r1, &err), CX_OK);
    cx_campaign_one(&p, &c, 0, &a);
    assert_true(r1.ettr.mean == a.ettr);
    p.seeds = 50;
    assert_int_equal(cx_campaign_run(&p, &c, &r50, &err), CX_OK);
    assert_true(r50.ettr.p5 <= r50.ettr.p50 && r50.ettr.p50 <= r50.ettr.p95 && r50.ettr.sd > 0);
    assert_true(r50.interruptions_per_day.mean > 0);
}

static void test_counts(void **state)
{
    cx_topo_t           *t = NULL;
    cx_campaign_counts_t c64, c1024;
    cx_err_t             err;
    (void)state;
    assert_int_equal(cx_run_load_topo(NULL, &t, &err), CX_OK);   /* colossus1-mini: 1,024 H100, 8 rails */
    assert_int_equal(cx_campaign_count(t, 64, 0, &c64, &err), CX_OK);
    assert_int_equal(cx_campaign_count(t, 1024, 0, &c1024, &err), CX_OK);
    assert_true(c64.n[CX_FC_GPU] == 64 && c64.n[CX_FC_HBM] == 64 * 5 && c64.n[CX_FC_HOST] == 8);
    assert_true(c1024.n[CX_FC_HOST] == 128 && c1024.n[CX_FC_NIC] == 1024);
    /* The whole fabric carries the full job: all 192 switches; a slice, fewer. */
    assert_true(c1024.n[CX_FC_SWITCH] == 192);
    assert_true(c64.n[CX_FC_SWITCH] > 0 && c64.n[CX_FC_SWITCH] < 192);
    assert_true(c64.n[CX_FC_LINK] < c1024.n[CX_FC_LINK]);
    assert_int_equal(cx_campaign_count(t, 5000, 0, &c64, &err), CX_ERR_RANGE);
    cx_topo_destroy(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_rates),  cmocka_unit_test(test_intervals),
        cmocka_unit_test(test_no_failures),    cmocka_unit_test(test_seed_independence),
        cmocka_unit_test(test_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
