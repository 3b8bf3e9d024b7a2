/*
 * Fixture of the tests that run on the embedded colossus1-mini topology
 * (tests/net, tests/gpu): `topo`, loaded once by the group setup and
 * destroyed by its teardown.  Pass cx_test_fabric_setup / _teardown to
 * cx_test_run_mpi.
 */
#ifndef CX_TEST_FABRIC_H
#define CX_TEST_FABRIC_H

#include "cx_test.h"
#include "cx_topo.h"

static cx_topo_t *topo;

static inline int cx_test_fabric_setup(void **state)
{
    const char *text;
    size_t      len;
    cx_err_t    err;
    (void)state;
    cx_topo_default_yaml(&text, &len);
    return cx_topo_load_string(&topo, "colossus1-mini", text, len, &err) == CX_OK ? 0 : -1;
}

static inline int cx_test_fabric_teardown(void **state)
{
    (void)state;
    cx_topo_destroy(topo);
    return 0;
}

#endif
