/* Block-growing free-list pool (see cx_pool.h). */
#include "cx_pool.h"

#include <stdlib.h>

cx_status_t cx_pool_init(cx_pool_t *p, size_t obj_size, size_t per_block)
{
    p->obj_size    = (obj_size + 15u) & ~(size_t)15u;
    if (p->obj_size < sizeof(void *)) p->obj_size = sizeof(void *);
    p->per_block   = per_block > 0 ? per_block : 1024;
    p->free_list   = NULL;
    p->blocks      = NULL;
    p->n_blocks    = 0;
    p->cap_blocks  = 0;
    p->in_use      = 0;
    p->peak_in_use = 0;
    p->total       = 0;
    return CX_OK;
}

void cx_pool_destroy(cx_pool_t *p)
{
    size_t i;
    for (i = 0; i < p->n_blocks; i++) free(p->blocks[i]);
    free(p->blocks);
    p->blocks    = NULL;
    p->n_blocks  = p->cap_blocks = 0;
    p->free_list = NULL;
}

cx_status_t cx_pool_grow(cx_pool_t *p)
{
    char  *blk;
    size_t i;
    if (p->n_blocks == p->cap_blocks) {
        size_t ncap = p->cap_blocks ? p->cap_blocks * 2 : 16;
        void **nb   = realloc(p->blocks, ncap * sizeof(*nb));
        if (nb == NULL) return CX_ERR_NOMEM;
        p->blocks     = nb;
        p->cap_blocks = ncap;
    }
    blk = aligned_alloc(16, p->obj_size * p->per_block);
    if (blk == NULL) return CX_ERR_NOMEM;
    p->blocks[p->n_blocks++] = blk;
    /* Thread in reverse so objects come out in address order. */
    for (i = p->per_block; i-- > 0;) {
        void *o      = blk + i * p->obj_size;
        *(void **)o  = p->free_list;
        p->free_list = o;
    }
    p->total += p->per_block;
    /* Next block doubles up to a cap, amortising growth. */
    if (p->per_block < (1u << 16)) p->per_block *= 2;
    return CX_OK;
}
