/* Critical-path walk over /ops/gpu_ops (cxa_cpath.c). */
#ifndef CXA_CPATH_H
#define CXA_CPATH_H
#include "cxa.h"

enum { CXA_CP_COMPUTE = 0, CXA_CP_COLL, CXA_CP_P2P, CXA_CP_WAIT, CXA_CP_IDLE, CXA_CP_NCAT };
#define CXA_CP_NBLOCK 64

typedef struct cxa_ops cxa_ops_t;

typedef struct cxa_cpath {
    int64_t  cat[CXA_CP_NCAT];      /* ps charged per category; sum = end_ps - start_ps */
    int64_t  block[CXA_CP_NBLOCK];  /* compute on the path per block */
    uint64_t gpu_hops;              /* times the path moved to another GPU */
    uint32_t end_gpu, start_gpu;
    int64_t  end_ps, start_ps;
} cxa_cpath_t;

/* All ops in memory, indexed; NULL + message on error. */
cxa_ops_t *cxa_ops_load(const cxa_file_t *f, uint32_t gpus);
void       cxa_ops_free(cxa_ops_t *o);
/* Walk back from `gpu`'s end of `iteration` until t_stop. 0 ok, -1 no end marker. */
int        cxa_cpath_walk(const cxa_ops_t *o, uint32_t gpu, uint32_t iteration, int64_t t_stop, cxa_cpath_t *p);

#endif
