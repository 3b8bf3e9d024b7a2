/* Memory and clock readings for statistics (never used for simulation decisions). */
#define _POSIX_C_SOURCE 200809L
#include "cx_mem.h"

#include <stdio.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

uint64_t cx_mem_peak_rss(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
    return (uint64_t)ru.ru_maxrss * 1024u;
}

uint64_t cx_mem_current_rss(void)
{
    FILE         *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, rss = 0;
    long          page;
    if (f == NULL) return 0;
    if (fscanf(f, "%lu %lu", &size, &rss) != 2) rss = 0;
    fclose(f);
    page = sysconf(_SC_PAGESIZE);
    return (uint64_t)rss * (uint64_t)(page > 0 ? page : 4096);
}

double cx_wtime(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
