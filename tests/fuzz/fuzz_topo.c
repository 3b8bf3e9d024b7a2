/* Fuzz target: a topology YAML (cx_topo_load_string with the embedded
 * catalog), then the queries `colossim topo` makes. */
#include "fuzz_main.h"

#include <stdlib.h>
#include <string.h>

#include "cx_topo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cx_topo_t        *t = NULL;
    cx_err_t          err;
    cx_topo_summary_t s;
    uint64_t          d, n;
    if (cx_topo_load_string(&t, "<fuzz>", (const char *)data, size, &err) != CX_OK) return 0;
    cx_topo_summary(t, &s);
    n = cx_topo_num_devices(t);
    for (d = 0; d < n && d < 64; d++) {
        uint32_t       p, np = cx_topo_num_ports(t, d);
        cx_port_info_t pi;
        for (p = 0; p < np && p < 8; p++) (void)cx_topo_port(t, d, p, &pi);
    }
    if (n > 0) {
        uint32_t       np = cx_topo_num_ports(t, n - 1);
        cx_port_info_t pi;
        if (np > 0) (void)cx_topo_port(t, n - 1, np - 1, &pi);
    }
    cx_topo_destroy(t);
    return 0;
}
