/*
 * Fixed-size object pool: a free list threaded through free objects, grown in
 * large blocks so the data path (event alloc/free) never calls malloc in the
 * steady state.  Not thread-safe: one pool per rank (per thread).
 */
#ifndef CX_POOL_H
#define CX_POOL_H

#include <stddef.h>

#include "cx_status.h"

typedef struct cx_pool {
    size_t obj_size;      /* rounded up to 16 bytes */
    size_t per_block;     /* objects per growth block */
    void  *free_list;
    void **blocks;
    size_t n_blocks;
    size_t cap_blocks;
    size_t in_use;        /* objects handed out and not returned */
    size_t peak_in_use;
    size_t total;         /* objects ever carved from blocks */
} cx_pool_t;

cx_status_t cx_pool_init(cx_pool_t *p, size_t obj_size, size_t per_block);
void        cx_pool_destroy(cx_pool_t *p);
/* Grow by one block; called by cx_pool_get when the free list is empty. */
cx_status_t cx_pool_grow(cx_pool_t *p);

static inline void *cx_pool_get(cx_pool_t *p)
{
    void *o = p->free_list;
    if (o == NULL) {
        if (cx_pool_grow(p) != CX_OK) return NULL;
        o = p->free_list;
    }
    p->free_list = *(void **)o;
    if (++p->in_use > p->peak_in_use) p->peak_in_use = p->in_use;
    return o;
}

static inline void cx_pool_put(cx_pool_t *p, void *o)
{
    *(void **)o  = p->free_list;
    p->free_list = o;
    p->in_use--;
}

#endif
