/*
 * What every cmocka test of colossim opens with (tests/<module>/test_*.c):
 * the headers cmocka needs, in the order it needs them, and the main of a
 * test that runs as an MPI singleton (MPI_Init, the group, MPI_Finalize).
 * Included once per test program; everything here is static inline.
 */
#ifndef CX_TEST_H
#define CX_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <mpi.h>

/* Run the group tests[0..n) between MPI_Init and MPI_Finalize (cmocka's
 * report calls the group "tests", as cmocka_run_group_tests(tests, ...)
 * does).  Returns the number of failed tests: main's exit status. */
static inline int cx_test_run_mpi(int *argc, char ***argv, const struct CMUnitTest *tests, size_t n,
                                  CMFixtureFunction setup, CMFixtureFunction teardown)
{
    int rc;
    MPI_Init(argc, argv);
    rc = _cmocka_run_group_tests("tests", tests, n, setup, teardown);
    MPI_Finalize();
    return rc;
}

#define CX_TEST_COUNT(_a) (sizeof(_a) / sizeof((_a)[0]))

#endif
