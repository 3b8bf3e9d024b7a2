/* Process memory figures for the engine statistics and sizing guidance. */
#ifndef CX_MEM_H
#define CX_MEM_H
#include <stdint.h>
/* Peak resident set size of this process in bytes (getrusage). */
uint64_t cx_mem_peak_rss(void);
/* Wall clock seconds (monotonic). */
double cx_wtime(void);
#endif
