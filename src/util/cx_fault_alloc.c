/*
 * A fault-injecting allocator for the debug build (cmake -DCX_FAULT_ALLOC=ON;
 * after Lua's ltests.c): colossim's own calls to malloc, calloc and realloc
 * are linked to these wrappers (-Wl,--wrap), so a test can make one
 * allocation site fail and check that the run ends with a message instead
 * of a crash.  Sites are numbered by first use (the caller's return
 * address); libraries (MPI, HDF5, libyaml) allocate unwrapped.
 *
 *   CX_ALLOC_FAIL_SITE=K   the first call from the K-th site returns NULL
 *   CX_ALLOC_REPORT=1      at exit, print "cx_alloc: N sites" and the failed
 *                          site as "cx_alloc: failed site K at OFFSET" (an
 *                          offset in the executable, for addr2line -e)
 * tests/fault_alloc.py walks every site of a run this way.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t k, size_t n);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t k, size_t n);
void *__wrap_realloc(void *p, size_t n);

#define CX_FA_MAX_SITES 4096

static const void *cx_fa_sites[CX_FA_MAX_SITES];
static int         cx_fa_n, cx_fa_fail_at = -1, cx_fa_failed = -1, cx_fa_init, cx_fa_report;
static const void *cx_fa_failed_addr;

static void cx_fa_atexit(void)
{
    Dl_info di;
    fprintf(stderr, "cx_alloc: %d sites\n", cx_fa_n);
    if (cx_fa_failed >= 0) {
        uintptr_t off = (uintptr_t)cx_fa_failed_addr;
        if (dladdr(cx_fa_failed_addr, &di) != 0) off -= (uintptr_t)di.dli_fbase;
        fprintf(stderr, "cx_alloc: failed site %d at 0x%lx\n", cx_fa_failed + 1, (unsigned long)off);
    }
}

/* 1: this call (from ret) is the one to fail. */
static int cx_fa_fail(const void *ret)
{
    int i;
    if (!cx_fa_init) {
        const char *k = getenv("CX_ALLOC_FAIL_SITE"), *r = getenv("CX_ALLOC_REPORT");
        cx_fa_init    = 1;
        cx_fa_fail_at = k != NULL ? atoi(k) - 1 : -1;
        cx_fa_report  = r != NULL && r[0] == '1';
        if (cx_fa_report) atexit(cx_fa_atexit);
    }
    for (i = 0; i < cx_fa_n; i++) {
        if (cx_fa_sites[i] == ret) break;
    }
    if (i == cx_fa_n) {
        if (cx_fa_n == CX_FA_MAX_SITES) return 0;
        cx_fa_sites[cx_fa_n++] = ret;
        if (i == cx_fa_fail_at) {
            cx_fa_failed      = i;
            cx_fa_failed_addr = ret;
            return 1;
        }
    }
    return 0;
}

void *__wrap_malloc(size_t n)
{
    return cx_fa_fail(__builtin_return_address(0)) ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t k, size_t n)
{
    return cx_fa_fail(__builtin_return_address(0)) ? NULL : __real_calloc(k, n);
}

void *__wrap_realloc(void *p, size_t n)
{
    return cx_fa_fail(__builtin_return_address(0)) ? NULL : __real_realloc(p, n);
}
