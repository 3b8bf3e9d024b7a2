/* Compute efficiencies per GPU type (issue 14 item 5): the catalog's
 * compute_efficiency: section is every type's default, a GPU entry's own
 * compute_efficiency: overrides any field and must say what it rests on
 * (source).  The shipped catalog: H100 (and every type without overrides)
 * holds exactly the default section, so H100 results cannot move; the A100s
 * hold their own GEMM share.  Bad overrides: one file:line:field error. */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <math.h>

#include "cx_topo.h"

static char g_dir[256];

static const cx_gpu_type_t *type_named(const cx_topo_t *t, const char *name)
{
    int i;
    for (i = 0; i < cx_topo_num_gpu_types(t); i++) {
        if (strcmp(cx_topo_gpu_type(t, i)->name, name) == 0) return cx_topo_gpu_type(t, i);
    }
    fail_msg("no GPU type %s in the catalog", name);
    return NULL;
}

static int eff_equal(const cx_compute_catalog_t *a, const cx_compute_catalog_t *b)
{
    return a->gemm_bf16 == b->gemm_bf16 && a->gemm_fp8 == b->gemm_fp8 && a->attention == b->attention &&
           a->elementwise == b->elementwise && a->optimizer == b->optimizer &&
           a->gemm_memory == b->gemm_memory && a->attention_memory == b->attention_memory &&
           a->elementwise_memory == b->elementwise_memory && a->optimizer_memory == b->optimizer_memory &&
           a->kernel_overhead_ps == b->kernel_overhead_ps;
}

static void test_shipped_catalog(void **state)
{
    char                        path[1024];
    cx_topo_t                  *t = NULL;
    cx_err_t                    err;
    const cx_compute_catalog_t *def;
    const cx_gpu_type_t        *a40, *a80, *h100, *h800;
    (void)state;
    snprintf(path, sizeof(path), "%s/dgx-a100-4k.yaml", CX_TOPO_DIR);
    if (cx_topo_load(&t, path, &err) != CX_OK) {
        cx_err_print(&err);
        fail();
    }
    def  = cx_topo_compute_efficiency(t);
    h100 = type_named(t, "H100-SXM");
    h800 = type_named(t, "H800-SXM");
    a40  = type_named(t, "A100-SXM4-40GB");
    a80  = type_named(t, "A100-SXM4-80GB");
    /* The H100 calibration: the default section, as before per-type figures. */
    assert_true(def->gemm_bf16 == 0.61 && def->gemm_fp8 == 0.60 && def->attention == 0.55);
    assert_true(def->kernel_overhead_ps == 2000000);
    assert_true(eff_equal(&h100->eff, def));
    assert_true(eff_equal(&type_named(t, "GB200")->eff, def));
    assert_true(eff_equal(&h800->eff, def));
    /* H800: the H100's compute, NVLink 200 GB/s per direction. */
    assert_true(h800->bf16_flops == h100->bf16_flops && h800->hbm_bw == h100->hbm_bw);
    assert_true(h800->nvlink_bw == 200e9 && h100->nvlink_bw == 450e9);
    /* A100: 312 TF, 1.555 / 2.039 TB/s, 300 GB/s, 400 W, its own GEMM share. */
    assert_true(a40->bf16_flops == 312e12 && a80->bf16_flops == 312e12 && a80->fp8_flops == 312e12);
    assert_true(fabs(a40->hbm_bw - 1.555e12) < 1.0 && fabs(a80->hbm_bw - 2.039e12) < 1.0);
    assert_true(a80->nvlink_bw == 300e9 && a80->tdp_w == 400);
    assert_true(a80->eff.gemm_bf16 == 0.65 && a80->eff.gemm_fp8 == 0.65);
    assert_true(a80->eff.attention == def->attention && a80->eff.elementwise_memory == def->elementwise_memory);
    assert_true(a80->eff.kernel_overhead_ps == def->kernel_overhead_ps);
    assert_true(eff_equal(&a40->eff, &a80->eff));
    cx_topo_destroy(t);
}

/* A two-type catalog whose second GPU entry carries `override` (YAML lines
 * at 4 spaces), and a 16-GPU topology using both types. */
static cx_status_t load_with(const char *override, cx_topo_t **t_p, cx_err_t *err)
{
    char  cat[512], topo[512];
    FILE *f;
    snprintf(cat, sizeof(cat), "%s/hw.yaml", g_dir);
    snprintf(topo, sizeof(topo), "%s/topo.yaml", g_dir);
    f = fopen(cat, "w");
    assert_non_null(f);
    fprintf(f, "compute_efficiency: {gemm_bf16: 0.5, kernel_overhead: 3us}\n"
               "gpus:\n"
               "  - {name: G1, bf16_tflops: 100, fp8_tflops: 200, hbm: 80GB, hbm_bandwidth: 2TB/s,\n"
               "     nvlink_bandwidth: 300GB/s, tdp_w: 400}\n"
               "  - name: G2\n"
               "    bf16_tflops: 100\n"
               "    fp8_tflops: 200\n"
               "    hbm: 80GB\n"
               "    hbm_bandwidth: 2TB/s\n"
               "    nvlink_bandwidth: 300GB/s\n"
               "    tdp_w: 400\n"
               "%s"
               "nics: [{name: N, bandwidth: 200Gbps, latency: 1us}]\n"
               "switches:\n"
               "  - {name: S, radix: 16, port_bandwidth: 200Gbps, latency: 100ns}\n"
               "  - {name: NVS, radix: 8, port_bandwidth: 300GB/s, latency: 300ns}\n",
            override);
    fclose(f);
    f = fopen(topo, "w");
    assert_non_null(f);
    fprintf(f, "name: two-types\ncatalog: hw.yaml\nfabrics:\n"
               "  - name: f\n"
               "    gpus: [{type: G1, count: 8}, {type: G2, count: 8}]\n"
               "    server: {gpus: 8}\n"
               "    nvlink: {domain_gpus: 8, switch: NVS}\n"
               "    nic: N\n"
               "    tiers: [{name: leaf, switch: S, down: 16}]\n");
    fclose(f);
    return cx_topo_load(t_p, topo, err);
}

static void test_override(void **state)
{
    cx_topo_t *t = NULL;
    cx_err_t   err;
    (void)state;
    assert_int_equal(load_with("    compute_efficiency:\n"
                               "      attention: 0.7\n"
                               "      source: \"a test\"\n", &t, &err), CX_OK);
    /* G1: the file's default section over the built-in figures. */
    assert_true(cx_topo_gpu_type(t, 0)->eff.gemm_bf16 == 0.5);
    assert_true(cx_topo_gpu_type(t, 0)->eff.attention == 0.55);
    assert_true(cx_topo_gpu_type(t, 0)->eff.kernel_overhead_ps == 3000000);
    /* G2: its override, the rest from the file's default section. */
    assert_true(cx_topo_gpu_type(t, 1)->eff.attention == 0.7);
    assert_true(cx_topo_gpu_type(t, 1)->eff.gemm_bf16 == 0.5);
    assert_true(cx_topo_gpu_type(t, 1)->eff.kernel_overhead_ps == 3000000);
    assert_true(cx_topo_gpu_type(t, 1)->eff.optimizer_memory == 0.75);
    cx_topo_destroy(t);
}

/* One bad override: refused with the catalog file, the line and the field. */
static void expect_error(const char *override, cx_status_t st, int line, const char *field, const char *msg)
{
    cx_topo_t *t = NULL;
    cx_err_t   err;
    char       buf[1024];
    memset(&err, 0, sizeof(err));
    assert_int_equal(load_with(override, &t, &err), st);
    cx_err_format(&err, buf, sizeof(buf));
    print_message("refused: %s\n", buf);
    assert_non_null(strstr(err.file, "hw.yaml"));
    assert_int_equal(err.line, line);
    assert_non_null(strstr(err.field, field));
    if (msg != NULL) assert_non_null(strstr(err.msg, msg));
}

static void test_bad_overrides(void **state)
{
    (void)state;
    expect_error("    compute_efficiency: {gemm_bf16: 1.5, source: x}\n", CX_ERR_RANGE, 12, "gemm_bf16", NULL);
    expect_error("    compute_efficiency: {attention: 0, source: x}\n", CX_ERR_RANGE, 12, "attention", NULL);
    expect_error("    compute_efficiency:\n      gemm_bf16: 0.7\n      gem_fp8: 0.6\n      source: x\n",
                 CX_ERR_INVALID, 14, "gem_fp8", "unknown");
    expect_error("    compute_efficiency: {gemm_bf16: 0.7}\n", CX_ERR_INVALID, 12, "source", NULL);
    expect_error("    compute_efficiency: {gemm_bf16: 0.7, source: \"\"}\n", CX_ERR_INVALID, 12, "source",
                 "rest on");
    expect_error("    compute_efficiency: {kernel_overhead: 2s, source: x}\n", CX_ERR_RANGE, 12,
                 "kernel_overhead", NULL);
    expect_error("    compute_efficiency: 0.7\n", CX_ERR_INVALID, 12, "compute_efficiency", NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped_catalog),
        cmocka_unit_test(test_override),
        cmocka_unit_test(test_bad_overrides),
    };
    char tmpl[] = "/tmp/cx_catalog_eff_XXXXXX";
    int  rc;
    if (mkdtemp(tmpl) == NULL) return 1;
    snprintf(g_dir, sizeof(g_dir), "%s", tmpl);
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    {
        char p[512];
        snprintf(p, sizeof(p), "%s/hw.yaml", g_dir);
        unlink(p);
        snprintf(p, sizeof(p), "%s/topo.yaml", g_dir);
        unlink(p);
        rmdir(g_dir);
    }
    return rc;
}
