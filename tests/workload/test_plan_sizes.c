/*
 * The run plan's memory figures (src/workload/cx_plan.c) count structures
 * private to the GPU module by a constant: keep the constant near the real
 * size, so that the plan follows when cx_gpu_t grows or shrinks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cx_gpu_internal.h"
#include "cx_run_internal.h"

static void test_gpu_state(void **state)
{
    double real = (double)sizeof(cx_gpu_t);
    (void)state;
    /* Within 10%: a field or two may come and go without touching the plan. */
    assert_true(CX_PLAN_GPU_STATE_BYTES > 0.9 * real && CX_PLAN_GPU_STATE_BYTES < 1.1 * real);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gpu_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
