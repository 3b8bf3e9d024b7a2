/* Process memory figures for the engine statistics and sizing guidance. */
#ifndef CX_MEM_H
#define CX_MEM_H
#include <stddef.h>
#include <stdint.h>
/* Peak resident set size of this process in bytes (getrusage). */
uint64_t cx_mem_peak_rss(void);
/* Ask for transparent huge pages over the whole 2 MiB pages of a large
 * block (GPU, device and port state, the event queue): events touch them at
 * random, and 4 KiB pages cost a TLB miss on most touches beyond a few MB.
 * Speed only; a no-op where THP is off or unknown. */
void cx_mem_advise_huge(void *p, size_t bytes);
/* Wall clock seconds (monotonic). */
double cx_wtime(void);
#endif
