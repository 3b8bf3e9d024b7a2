/*
 * The event queue: a time-bucketed front end to the 4-ary heap that pops
 * items in exactly the heap's order, (k0, k1, k2) lexicographic, but keeps
 * the heap it pops from small.
 *
 * A run of a large job holds ~10^5-10^6 pending events: kernel ends
 * milliseconds ahead and chunk arrivals a microsecond ahead.  In one heap of
 * that size every pop sifts ~10 levels through tens of MB (a cache miss
 * per level), and a profile of a 98k-GPU run put 20% of its time there.
 * Here (a calendar queue in the style of Brown 1988, with the sorted part a
 * heap):
 *
 *   near     a heap of every item with k0 < t0 (the items about to run);
 *   buckets  nb unsorted lists of blocks; bucket cur + j holds k0 in
 *            [t0 + j*w, t0 + (j+1)*w): pushing appends (no comparison);
 *            the width w adapts to the events' density (see below);
 *   far      a heap of every item with k0 >= t0 + nb*w (long kernels).
 *
 * When near runs empty, the first non-empty bucket becomes the new near
 * (copied and heapified in O(n)), t0 moves past it, and far items that now
 * fall inside the horizon move into the freed buckets.  Every item in near
 * is earlier than every item elsewhere, so the pop order is the heap's: the
 * engine's results do not depend on w or nb, only its speed does.
 */
#ifndef CX_BQ_INL_H
#define CX_BQ_INL_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cx_heap_inl.h"
#include "cx_log.h"
#include "cx_pool.h"

/* Bucket width and count: 1 us x 16384 buckets = a 16 ms horizon to start
 * with.  The width adapts to the events' density (a calendar queue's
 * resize): every CX_BQ_ADAPT_REFILLS refills, if a bucket held fewer than
 * CX_BQ_ITEMS_LO items on average the width grows 8x (a PHOLD with delays
 * of a second would otherwise find one event per bucket, every pop a
 * refill); above CX_BQ_ITEMS_HI it shrinks 8x.  The order never depends on
 * the width. */
#define CX_BQ_WIDTH_PS  INT64_C(1000000)
#define CX_BQ_BUCKETS   16384u
#define CX_BQ_ADAPT_REFILLS 64u
#define CX_BQ_ITEMS_LO  16u
#define CX_BQ_ITEMS_HI  4096u
#define CX_BQ_WIDTH_MIN INT64_C(1024)
#define CX_BQ_WIDTH_MAX (INT64_C(1) << 46)
/* Buckets are lists of 512-byte blocks from one pool (cx_pool), so the
 * memory held is the pending items plus at most one part-filled block per
 * non-empty bucket, whatever the bursts. */
#define CX_BQ_BLOCK_ITEMS 15u
#define CX_BQ_SLAB_BLOCKS 128u

typedef struct cx_bq_block {
    struct cx_bq_block *next;
    uint32_t            n, pad;
    cx_heap_item_t      v[CX_BQ_BLOCK_ITEMS];
} cx_bq_block_t;

typedef struct cx_bq_bucket {
    cx_bq_block_t *head, *tail;
    size_t         n;
} cx_bq_bucket_t;

typedef struct cx_bq {
    cx_heap_t       near, far;
    cx_bq_bucket_t *b;       /* nb buckets, circular from cur */
    uint64_t       *used;    /* one bit per physical bucket: n > 0 */
    cx_pool_t       blocks;  /* the buckets' blocks */
    uint32_t        nb, cur;
    int64_t         w, t0;
    size_t          size;    /* items in near + buckets + far */
    uint64_t        refills, refilled;  /* since the last width check */
} cx_bq_t;

static inline cx_status_t cx_bq_init(cx_bq_t *q, int64_t width, uint32_t nb)
{
    memset(q, 0, sizeof(*q));
    if (width <= 0 || nb < 64 || (nb & (nb - 1)) != 0) return CX_ERR_INVALID;
    q->w    = width;
    q->nb   = nb;
    q->b    = calloc(nb, sizeof(*q->b));
    q->used = calloc(nb / 64, sizeof(*q->used));
    if (q->b == NULL || q->used == NULL || cx_heap_init(&q->near, 4096) != CX_OK ||
        cx_heap_init(&q->far, 4096) != CX_OK ||
        cx_pool_init(&q->blocks, sizeof(cx_bq_block_t), CX_BQ_SLAB_BLOCKS) != CX_OK) {
        free(q->b);
        free(q->used);
        cx_heap_destroy(&q->near);
        cx_heap_destroy(&q->far);
        return CX_ERR_NOMEM;
    }
    return CX_OK;
}

static inline void cx_bq_destroy(cx_bq_t *q)
{
    cx_pool_destroy(&q->blocks);
    free(q->b);
    free(q->used);
    cx_heap_destroy(&q->near);
    cx_heap_destroy(&q->far);
    memset(q, 0, sizeof(*q));
}

/* Bytes held (for the memory figures). */
static inline size_t cx_bq_bytes(const cx_bq_t *q)
{
    return (q->near.cap + q->far.cap) * sizeof(cx_heap_item_t) + q->nb * sizeof(*q->b) + q->nb / 8 +
           q->blocks.total * q->blocks.obj_size;
}

static inline cx_status_t cx_bq_append(cx_bq_t *q, uint32_t phys, const cx_heap_item_t *it)
{
    cx_bq_bucket_t *b = &q->b[phys];
    if (b->tail == NULL || b->tail->n == CX_BQ_BLOCK_ITEMS) {
        cx_bq_block_t *blk = cx_pool_get(&q->blocks);
        if (blk == NULL) return CX_ERR_NOMEM;
        blk->next = NULL;
        blk->n    = 0;
        if (b->tail == NULL) b->head = blk;
        else b->tail->next = blk;
        b->tail = blk;
    }
    b->tail->v[b->tail->n++] = *it;
    b->n++;
    q->used[phys >> 6] |= UINT64_C(1) << (phys & 63);
    return CX_OK;
}

static inline cx_status_t cx_bq_push(cx_bq_t *q, const cx_heap_item_t *it)
{
    cx_status_t st;
    if (it->k0 < q->t0) {
        st = cx_heap_push(&q->near, it);
    } else {
        uint64_t j = (uint64_t)(it->k0 - q->t0) / (uint64_t)q->w;
        st = j < q->nb ? cx_bq_append(q, (uint32_t)((q->cur + j) & (q->nb - 1)), it) : cx_heap_push(&q->far, it);
    }
    if (st == CX_OK) q->size++;
    return st;
}

/* Move the far items that fall before the horizon into their buckets. */
static inline cx_status_t cx_bq_pull_far(cx_bq_t *q)
{
    uint64_t span = (uint64_t)q->nb * (uint64_t)q->w;
    while (q->far.size > 0 && (uint64_t)(q->far.items[0].k0 - q->t0) < span) {
        cx_heap_item_t it;
        uint64_t       j;
        cx_heap_pop(&q->far, &it);
        j = (uint64_t)(it.k0 - q->t0) / (uint64_t)q->w;
        if (cx_bq_append(q, (uint32_t)((q->cur + j) & (q->nb - 1)), &it) != CX_OK) return CX_ERR_NOMEM;
    }
    return CX_OK;
}

/* Buckets ahead of cur (logical index) up to the first used one; nb if none. */
static inline uint32_t cx_bq_first_used(const cx_bq_t *q)
{
    uint32_t j = 0;
    while (j < q->nb) {
        uint32_t phys = (q->cur + j) & (q->nb - 1);
        uint64_t word = q->used[phys >> 6] >> (phys & 63);
        if (word != 0) {
            j += (uint32_t)__builtin_ctzll(word);
            return j < q->nb ? j : q->nb;
        }
        j += 64 - (phys & 63);
    }
    return q->nb;
}

/* A new bucket width: every bucketed item goes back to far and the buckets
 * restart at t0 (near, all earlier than t0, is untouched). */
static inline cx_status_t cx_bq_rewidth(cx_bq_t *q, int64_t w)
{
    uint32_t i, k;
    for (i = 0; i < q->nb; i++) {
        cx_bq_bucket_t *b = &q->b[i];
        while (b->head != NULL) {
            cx_bq_block_t *blk = b->head;
            for (k = 0; k < blk->n; k++) {
                if (cx_heap_push(&q->far, &blk->v[k]) != CX_OK) return CX_ERR_NOMEM;
            }
            b->head = blk->next;
            cx_pool_put(&q->blocks, blk);
        }
        b->tail = NULL;
        b->n    = 0;
    }
    memset(q->used, 0, (q->nb / 64) * sizeof(*q->used));
    q->w   = w;
    q->cur = 0;
    return cx_bq_pull_far(q);
}

/* Count a refill of n items; every CX_BQ_ADAPT_REFILLS, adapt the width. */
static inline cx_status_t cx_bq_adapt(cx_bq_t *q, size_t n)
{
    uint64_t avg;
    int64_t  w = q->w;
    q->refilled += n;
    if (++q->refills < CX_BQ_ADAPT_REFILLS) return CX_OK;
    avg         = q->refilled / q->refills;
    q->refills  = 0;
    q->refilled = 0;
    if (avg < CX_BQ_ITEMS_LO && w <= CX_BQ_WIDTH_MAX / 8) w *= 8;
    else if (avg > CX_BQ_ITEMS_HI && w >= CX_BQ_WIDTH_MIN * 8) w /= 8;
    return w != q->w ? cx_bq_rewidth(q, w) : CX_OK;
}

/* near is empty and items are pending: make the earliest bucket the new near. */
static inline cx_status_t cx_bq_refill(cx_bq_t *q)
{
    for (;;) {
        uint32_t        j = cx_bq_first_used(q), phys;
        cx_bq_bucket_t *b;
        size_t          i;
        if (j == q->nb) {
            /* Only far items: restart the buckets at the earliest one. */
            q->t0 = q->far.items[0].k0;
            if (cx_bq_pull_far(q) != CX_OK) return CX_ERR_NOMEM;
            continue;
        }
        phys = (q->cur + j) & (q->nb - 1);
        b    = &q->b[phys];
        while (q->near.cap < b->n) {
            if (cx_heap_grow(&q->near) != CX_OK) return CX_ERR_NOMEM;
        }
        q->near.size = 0;
        while (b->head != NULL) {
            cx_bq_block_t *blk = b->head;
            memcpy(q->near.items + q->near.size, blk->v, (size_t)blk->n * sizeof(*blk->v));
            q->near.size += blk->n;
            b->head = blk->next;
            cx_pool_put(&q->blocks, blk);
        }
        b->tail = NULL;
        b->n    = 0;
        for (i = q->near.size >= 2 ? (q->near.size - 2) / 4 + 1 : 0; i-- > 0;) cx_heap_sift_down(&q->near, i);
        q->used[phys >> 6] &= ~(UINT64_C(1) << (phys & 63));
        /* The items' data will be read one after the other, each a cache
         * miss when read: start all the loads now, so they overlap. */
        for (i = 0; i < q->near.size; i++) __builtin_prefetch(q->near.items[i].ptr);
        q->t0 += (int64_t)(j + 1) * q->w;
        q->cur = (q->cur + j + 1) & (q->nb - 1);
        if (cx_bq_pull_far(q) != CX_OK) return CX_ERR_NOMEM;
        return cx_bq_adapt(q, q->near.size);
    }
}

/* Earliest pending item, or NULL when empty.  May reorganise (not const);
 * running out of memory while it does is fatal, as in a push. */
static inline const cx_heap_item_t *cx_bq_top(cx_bq_t *q)
{
    if (q->near.size == 0) {
        if (q->size == 0) return NULL;
        if (cx_bq_refill(q) != CX_OK) cx_fatal("out of memory reorganising the event queue");
    }
    return &q->near.items[0];
}

/* Remove the earliest item into *out.  Returns 0 when empty. */
static inline int cx_bq_pop(cx_bq_t *q, cx_heap_item_t *out)
{
    if (cx_bq_top(q) == NULL) return 0;
    cx_heap_pop(&q->near, out);
    q->size--;
    return 1;
}

#endif
