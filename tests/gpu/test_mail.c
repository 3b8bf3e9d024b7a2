/* The GPU mailbox (src/gpu/cx_mail.c): keys beyond the 64-slot table spill
 * into a growable list instead of aborting the run, every key's bytes add
 * up in one place, and takes find keys wherever they are. */
#include "cx_test.h"

#include <stdlib.h>

#include "cx_gpu_internal.h"

#define N_KEYS 300u

static uint64_t key_src(uint32_t i) { return 1000u + i % 7u; }

static int in_table(const cx_gpu_t *gpu, uint64_t tag)
{
    uint32_t k;
    for (k = 0; k < CX_MAILBOX_CAP; k++) {
        if (gpu->mail[k].used && gpu->mail[k].tag == tag) return 1;
    }
    return 0;
}

static int in_spill(const cx_gpu_t *gpu, uint64_t tag)
{
    uint32_t k;
    for (k = 0; k < gpu->n_spill; k++) {
        if (gpu->spill[k].tag == tag) return 1;
    }
    return 0;
}

static void test_mail_spills_and_sums(void **state)
{
    cx_gpu_t *gpu = calloc(1, sizeof(*gpu));
    uint32_t  i, spilled = UINT32_MAX;
    (void)state;
    assert_non_null(gpu);
    /* More keys than the table holds: none is lost, none aborts. */
    for (i = 0; i < N_KEYS; i++) cx_mail_add(gpu, i, 0, key_src(i), i + 1);
    assert_int_equal(gpu->n_spill, N_KEYS - CX_MAILBOX_CAP);
    for (i = 0; i < N_KEYS && spilled == UINT32_MAX; i++) {
        if (in_spill(gpu, i)) spilled = i;
    }
    assert_true(spilled < N_KEYS);
    /* Free table slots, then add to a spilled key: its bytes stay in one
     * entry (a second one in the table would split them). */
    for (i = 0; i < N_KEYS; i++) {
        if (in_table(gpu, i)) assert_true(cx_mail_take(gpu, i, 0, key_src(i), i + 1));
    }
    assert_false(in_table(gpu, spilled));
    cx_mail_add(gpu, spilled, 0, key_src(spilled), 5);
    assert_false(in_table(gpu, spilled));
    assert_false(cx_mail_take(gpu, spilled, 0, key_src(spilled), spilled + 7)); /* more than it holds */
    assert_true(cx_mail_take(gpu, spilled, 0, key_src(spilled), spilled + 6));  /* exactly all */
    assert_false(cx_mail_take(gpu, spilled, 0, key_src(spilled), 1));
    /* The rest, in two parts each; a wrong source or cookie finds nothing. */
    for (i = 0; i < N_KEYS; i++) {
        if (!in_spill(gpu, i)) continue;
        assert_false(cx_mail_take(gpu, i, 1, key_src(i), 1));
        assert_false(cx_mail_take(gpu, i, 0, key_src(i) + 1, 1));
        if (i > 0) assert_true(cx_mail_take(gpu, i, 0, key_src(i), i));
        assert_true(cx_mail_take(gpu, i, 0, key_src(i), 1));
    }
    assert_int_equal(gpu->n_spill, 0);
    for (i = 0; i < CX_MAILBOX_CAP; i++) assert_false(gpu->mail[i].used);
    /* New keys go to the table again. */
    cx_mail_add(gpu, 7, 0, 9, 3);
    assert_true(in_table(gpu, 7));
    assert_true(cx_mail_take(gpu, 7, 0, 9, 3));
    cx_mail_release(gpu);
    assert_null(gpu->spill);
    free(gpu);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mail_spills_and_sums),
    };
    return cx_test_run_mpi(&argc, &argv, tests, CX_TEST_COUNT(tests), NULL, NULL);
}
