/*
 * A 4-ary min-heap of items keyed by (k0, k1, k2), compared lexicographically.
 * The event queue uses k0 = time, k1 = (priority << 48 | source entity),
 * k2 = source sequence: a total order, so ties are broken the same way on any
 * number of ranks.  4-ary: half the depth of a binary heap and children that
 * share cache lines (see libuv's heap-inl.h for the intrusive variant).
 * The heap grows by doubling; nothing here allocates in steady state.
 */
#ifndef CX_HEAP_INL_H
#define CX_HEAP_INL_H

#include <stdint.h>
#include <stdlib.h>

#include "cx_mem.h"
#include "cx_status.h"

typedef struct cx_heap_item {
    int64_t  k0;
    uint64_t k1;
    uint64_t k2;
    void    *ptr;
} cx_heap_item_t;

typedef struct cx_heap {
    cx_heap_item_t *items;
    size_t          size;
    size_t          cap;
} cx_heap_t;

static inline int cx_heap_less(const cx_heap_item_t *a, const cx_heap_item_t *b)
{
    if (a->k0 != b->k0) return a->k0 < b->k0;
    if (a->k1 != b->k1) return a->k1 < b->k1;
    return a->k2 < b->k2;
}

static inline cx_status_t cx_heap_init(cx_heap_t *h, size_t cap)
{
    h->size  = 0;
    h->cap   = cap < 16 ? 16 : cap;
    h->items = malloc(h->cap * sizeof(*h->items));
    return h->items != NULL ? CX_OK : CX_ERR_NOMEM;
}

static inline void cx_heap_destroy(cx_heap_t *h)
{
    free(h->items);
    h->items = NULL;
    h->size = h->cap = 0;
}

static inline cx_status_t cx_heap_grow(cx_heap_t *h)
{
    size_t          ncap = h->cap * 2;
    cx_heap_item_t *n    = realloc(h->items, ncap * sizeof(*n));
    if (n == NULL) return CX_ERR_NOMEM;
    h->items = n;
    h->cap   = ncap;
    cx_mem_advise_huge(n, ncap * sizeof(*n));
    return CX_OK;
}

static inline cx_status_t cx_heap_push(cx_heap_t *h, const cx_heap_item_t *it)
{
    size_t i;
    if (h->size == h->cap && cx_heap_grow(h) != CX_OK) return CX_ERR_NOMEM;
    i = h->size++;
    while (i > 0) {
        size_t p = (i - 1) / 4;
        if (!cx_heap_less(it, &h->items[p])) break;
        h->items[i] = h->items[p];
        i = p;
    }
    h->items[i] = *it;
    return CX_OK;
}

static inline const cx_heap_item_t *cx_heap_top(const cx_heap_t *h)
{
    return h->size > 0 ? &h->items[0] : NULL;
}

/* Restore the order below index i (i's subtrees are heaps): Floyd's
 * heapify calls it from the last parent down to 0. */
static inline void cx_heap_sift_down(cx_heap_t *h, size_t i)
{
    cx_heap_item_t x = h->items[i];
    size_t         n = h->size;
    for (;;) {
        size_t c = 4 * i + 1, best, j, end;
        if (c >= n) break;
        best = c;
        end  = c + 4 < n ? c + 4 : n;
        for (j = c + 1; j < end; j++) {
            if (cx_heap_less(&h->items[j], &h->items[best])) best = j;
        }
        if (!cx_heap_less(&h->items[best], &x)) break;
        h->items[i] = h->items[best];
        i = best;
    }
    h->items[i] = x;
}

/* Remove the minimum into *out.  Returns 0 when empty.  The last item
 * moves to the root and sinks (cx_heap_sift_down). */
static inline int cx_heap_pop(cx_heap_t *h, cx_heap_item_t *out)
{
    size_t n;
    if (h->size == 0) return 0;
    *out = h->items[0];
    n    = --h->size;
    if (n == 0) return 1;
    h->items[0] = h->items[n];
    cx_heap_sift_down(h, 0);
    return 1;
}

#endif
