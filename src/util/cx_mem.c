/* Memory and clock readings for statistics (never used for simulation decisions). */
#define _GNU_SOURCE
#include "cx_mem.h"

#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

uint64_t cx_mem_peak_rss(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
    return (uint64_t)ru.ru_maxrss * 1024u;
}

double cx_wtime(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void cx_mem_advise_huge(void *p, size_t bytes)
{
#ifdef MADV_HUGEPAGE
    const uintptr_t huge = (uintptr_t)2 << 20;
    uintptr_t       lo   = ((uintptr_t)p + huge - 1) & ~(huge - 1);
    uintptr_t       hi   = ((uintptr_t)p + bytes) & ~(huge - 1);
    /* Only the whole 2 MiB pages inside the block; a refusal (THP off)
     * changes nothing but speed. */
    if (p != NULL && hi > lo) (void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
#else
    (void)p;
    (void)bytes;
#endif
}
