/*
 * The GPU's mailbox: messages that arrived before the op that consumes them
 * (a RECV, or a collective step) asked for them, keyed by (tag, cookie,
 * source) with their byte counts summed.  Open addressing with linear
 * probing over CX_MAILBOX_CAP slots (a power of two) and backward-shift
 * deletion, so a lookup touches a few entries.  A GPU that holds more keys
 * at once (a replayed trace's many outstanding receives, say) spills the
 * rest into a growable list searched after the table: slower, never fatal.
 * A key lives in one place: while the list holds entries, a new key goes
 * to a free table slot only if the list does not hold it.
 */
#include "cx_gpu_internal.h"

static uint32_t cx_mail_home(uint64_t tag, uint32_t cookie, uint64_t src)
{
    return (uint32_t)(cx_mix64(tag ^ cx_mix64(src + cookie)) & (CX_MAILBOX_CAP - 1));
}

static cx_mail_t *cx_mail_spilled(cx_gpu_t *gpu, uint64_t tag, uint32_t cookie, uint64_t src)
{
    uint32_t k;
    for (k = 0; k < gpu->n_spill; k++) {
        cx_mail_t *m = &gpu->spill[k];
        if (m->tag == tag && m->cookie == cookie && m->src == src) return m;
    }
    return NULL;
}

static cx_mail_t *cx_mail_find(cx_gpu_t *gpu, uint64_t tag, uint32_t cookie, uint64_t src)
{
    uint32_t i = cx_mail_home(tag, cookie, src), k;
    for (k = 0; k < CX_MAILBOX_CAP; k++, i = (i + 1) & (CX_MAILBOX_CAP - 1)) {
        cx_mail_t *m = &gpu->mail[i];
        if (!m->used) break;
        if (m->tag == tag && m->cookie == cookie && m->src == src) return m;
    }
    return gpu->n_spill > 0 ? cx_mail_spilled(gpu, tag, cookie, src) : NULL;
}

static void cx_mail_spill(cx_gpu_t *gpu, uint64_t tag, uint32_t cookie, uint64_t src, uint64_t bytes)
{
    cx_mail_t *m = cx_mail_spilled(gpu, tag, cookie, src);
    if (m == NULL) {
        if (gpu->n_spill == gpu->cap_spill) {
            uint32_t   ncap = gpu->cap_spill ? gpu->cap_spill * 2 : 64;
            cx_mail_t *nv   = realloc(gpu->spill, (size_t)ncap * sizeof(*nv));
            if (nv == NULL || gpu->cap_spill >= UINT32_MAX / 2) {
                cx_fatal("GPU %llu: out of memory holding %u messages that arrived before being consumed",
                         (unsigned long long)gpu->gpu, gpu->n_spill + CX_MAILBOX_CAP);
            }
            gpu->spill     = nv;
            gpu->cap_spill = ncap;
        }
        m         = &gpu->spill[gpu->n_spill++];
        m->used   = 1;
        m->tag    = tag;
        m->cookie = cookie;
        m->src    = src;
        m->bytes  = 0;
    }
    m->bytes += bytes;
}

void cx_mail_release(cx_gpu_t *gpu)
{
    free(gpu->spill);
    gpu->spill   = NULL;
    gpu->n_spill = gpu->cap_spill = 0;
}

void cx_mail_add(cx_gpu_t *gpu, uint64_t tag, uint32_t cookie, uint64_t src, uint64_t bytes)
{
    uint32_t i = cx_mail_home(tag, cookie, src), k;
    for (k = 0; k < CX_MAILBOX_CAP; k++, i = (i + 1) & (CX_MAILBOX_CAP - 1)) {
        cx_mail_t *m = &gpu->mail[i];
        if (!m->used) {
            if (gpu->n_spill > 0 && cx_mail_spilled(gpu, tag, cookie, src) != NULL) break;
            m->used   = 1;
            m->tag    = tag;
            m->cookie = cookie;
            m->src    = src;
            m->bytes  = bytes;
            return;
        }
        if (m->tag == tag && m->cookie == cookie && m->src == src) {
            m->bytes += bytes;
            return;
        }
    }
    cx_mail_spill(gpu, tag, cookie, src, bytes);
}

int cx_mail_take(cx_gpu_t *gpu, uint64_t tag, uint32_t cookie, uint64_t src, uint64_t bytes)
{
    cx_mail_t *m = cx_mail_find(gpu, tag, cookie, src);
    uint32_t   hole, j;
    if (m == NULL || m->bytes < bytes) return 0;
    m->bytes -= bytes;
    if (m->bytes > 0) return 1;
    if (m < gpu->mail || m >= gpu->mail + CX_MAILBOX_CAP) {
        *m = gpu->spill[--gpu->n_spill];  /* from the list: swap-remove */
        return 1;
    }
    /* Delete: shift later entries of the probe run back into the hole. */
    hole    = (uint32_t)(m - gpu->mail);
    m->used = 0;
    for (j = (hole + 1) & (CX_MAILBOX_CAP - 1); gpu->mail[j].used; j = (j + 1) & (CX_MAILBOX_CAP - 1)) {
        cx_mail_t *e    = &gpu->mail[j];
        uint32_t   home = cx_mail_home(e->tag, e->cookie, e->src);
        /* e may move to the hole if its home is not in (hole, j]. */
        if (((j - home) & (CX_MAILBOX_CAP - 1)) >= ((j - hole) & (CX_MAILBOX_CAP - 1))) {
            gpu->mail[hole] = *e;
            e->used         = 0;
            hole            = j;
        }
    }
    return 1;
}
