/* Fuzz target: a hardware catalog (written where the embedded default
 * topology's `catalog: hardware.yaml` finds it), then the summary. */
#include "fuzz_main.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cx_topo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char       dir[64], cat[96], topo[96];
    cx_topo_t        *t = NULL;
    cx_err_t          err;
    cx_topo_summary_t s;
    const char       *text;
    size_t            len;
    FILE             *f;
    if (dir[0] == '\0') {
        snprintf(dir, sizeof(dir), "/tmp/cx-fuzz-cat-%ld", (long)getpid());
        mkdir(dir, 0700);
        snprintf(cat, sizeof(cat), "%s/hardware.yaml", dir);
        snprintf(topo, sizeof(topo), "%s/topo.yaml", dir);
    }
    f = fopen(cat, "wb");
    if (f == NULL) return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    cx_topo_default_yaml(&text, &len);
    if (cx_topo_load_string(&t, topo, text, len, &err) == CX_OK) {
        cx_topo_summary(t, &s);
        cx_topo_destroy(t);
    }
    return 0;
}
