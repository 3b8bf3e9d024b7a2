/*
 * RING (all-reduce 2(n-1) steps, reduce-scatter and all-gather n-1 steps,
 * each moving bytes / (n * channels) per channel).  When the group spans
 * several NVLink domains with g members each, channel c's ring visits the
 * members of every domain starting at local index c, alternating direction
 * from one domain to the next ("snake", cx_coll_ring_member), so every
 * inter-domain hop of channel c joins two GPUs of the same local index: the
 * same rail, as NCCL's rail-aligned rings do.  There is one channel per
 * rail, so every NIC carries one channel.  Step s+1 of a channel may leave
 * only when step s has arrived (the data must be reduced or forwarded
 * first).
 * CHAIN (broadcast, reduce: NCCL runs them on the ring): a pipeline along
 * the ring in pieces, from member 0 (broadcast) or ending at member 0
 * (reduce: each member adds its part to a piece before passing it on).
 */
#include "cx_coll_impl.h"

/* Steps per channel and payload per step. */
static uint64_t cx_coll_ring_steps(cx_coll_run_t *run, uint32_t C)
{
    const cx_op_t *op = &run->cur;
    uint32_t       n  = op->group_size;
    uint64_t       bytes = op->bytes, pieces;
    switch ((cx_coll_kind_t)op->cls) {
    case CX_COLL_ALLREDUCE:
        run->n_send = run->n_recv = 2 * (n - 1);
        run->dep    = 1;
        return cx_ceil_div(bytes, (uint64_t)n * C);
    case CX_COLL_REDUCESCATTER:
    case CX_COLL_ALLGATHER:
        run->n_send = run->n_recv = n - 1;
        run->dep    = 1;
        return cx_ceil_div(bytes, (uint64_t)n * C);
    case CX_COLL_BROADCAST:
    case CX_COLL_REDUCE:
    case CX_COLL_ALLTOALL:  /* not covered (pairwise) */
    case CX_COLL_COUNT:
        break;
    }
    /* Pipelined chain: filling the pipe costs (n - 1) pieces, so pieces of
     * 64 KiB (at most 1024 per channel): a piece's step latency overlaps the
     * sends queued before it, so small pieces cost little but events, and a
     * long chain runs near the ring's speed (issue 14 item 3; was 1 MiB). */
    pieces = cx_ceil_div(bytes, (uint64_t)C * CX_COLL_CHAIN_PIECE_BYTES);
    if (pieces < 1) pieces = 1;
    if (pieces > 1024) pieces = 1024;
    run->dep    = 2;
    run->n_send = run->n_recv = (uint32_t)pieces;
    return cx_ceil_div(bytes, pieces * C);
}

static void cx_coll_ring_setup(cx_coll_ctx_t *x)
{
    cx_gpu_t      *gpu = x->gpu;
    cx_coll_run_t *run = x->run;
    const cx_op_t *op  = &run->cur;
    uint32_t       n = op->group_size, me = op->group_index, g = cx_coll_per_domain(gpu->g, op);
    uint32_t       C = cx_coll_ring_channels(&gpu->g->cfg.coll, n, g), ch;
    uint64_t       data;

    run->n_ch = (uint8_t)C;
    data      = cx_coll_ring_steps(run, C);
    for (ch = 0; ch < C; ch++) {
        uint32_t  pos  = cx_coll_ring_pos(me, g, n, ch);
        uint64_t  next = cx_coll_member(op, cx_coll_ring_member((pos + 1) % n, g, n, ch));
        uint64_t  prev = cx_coll_member(op, cx_coll_ring_member((pos + n - 1) % n, g, n, ch));
        uint64_t  w;
        cx_time_t lat;
        run->next_dev[ch] = cx_gpus_device(gpu->g, next);
        cx_coll_link(x, gpu->gpu, next, data, &w, &lat);
        run->send_bytes_ch[ch] = w;
        run->delay_ch[ch]      = lat;
        cx_coll_link(x, prev, gpu->gpu, data, &w, NULL);
        run->recv_bytes_ch[ch] = w;
        if (run->dep == 2) {
            /* Broadcast starts at member 0; reduce ends there. */
            uint32_t root = cx_coll_ring_pos(0, g, n, ch);
            uint32_t head = op->cls == CX_COLL_REDUCE ? (root + 1) % n : root;
            uint32_t idx  = (pos + n - head) % n;   /* place in the chain */
            run->n_send_ch[ch] = idx == n - 1 ? 0 : run->n_send;
            run->n_recv_ch[ch] = idx == 0 ? 0 : run->n_recv;
        } else {
            run->n_send_ch[ch] = run->n_send;
            run->n_recv_ch[ch] = run->n_recv;
        }
    }
}

/* A chain's head has every piece at once.  Queued all at once, its pieces
 * of one channel would hold its links while the pieces it forwards for the
 * other channels wait behind them (the NVLink and NIC times then add up).
 * So a head sends a channel's next piece only when the previous one is
 * about to have left (its last byte leaves when the next one's step
 * latency ends), as NCCL's few buffer slots per channel pace it; else it
 * wakes itself then. */
static int cx_coll_chain_head_ready(cx_coll_ctx_t *x, uint32_t ch)
{
    cx_coll_run_t *run = x->run;
    cx_time_t      at  = run->tx_ch[ch] - run->delay_ch[ch];
    cx_time_t      now = cx_engine_now(x->eng);
    if (run->sent[ch] == 0 || at <= now) return 1;
    /* One wake-up at a time: the earliest pending one looks at every
     * channel again. */
    if (run->head_wake <= now || run->head_wake > at) {
        run->head_wake = at;
        cx_engine_send(x->eng, x->ent, cx_engine_entity_id(x->eng, x->ent), at, CX_GPU_EV_KICK, 0, NULL, 0);
    }
    return 0;
}

static int cx_coll_ring_poll(cx_coll_ctx_t *x)
{
    cx_coll_run_t *run = x->run;
    const cx_op_t *op  = &run->cur;
    cx_time_t      tx;
    uint32_t       ch;
    int            moved = 1, done;
    while (moved) {
        moved = 0;
        for (ch = 0; ch < run->n_ch; ch++) {
            while (run->rcvd[ch] < run->n_recv_ch[ch]) {
                uint32_t cookie = CX_COOKIE_COLL | (ch << CX_COOKIE_CH_SHIFT);
                if (!cx_mail_take(x->gpu, op->tag, cookie, CX_SRC_ANY, run->recv_bytes_ch[ch])) break;
                run->rcvd[ch]++;
                moved = 1;
            }
            while (run->sent[ch] < run->n_send_ch[ch]) {
                uint32_t st = run->sent[ch];
                /* Ring: step s forwards what step s-1 brought.  Chain: piece s
                 * leaves a non-root member after it has arrived. */
                if (run->dep == 1 && run->rcvd[ch] < st) break;
                if (run->dep == 2 && run->n_recv_ch[ch] > 0 && run->rcvd[ch] <= st) break;
                if (run->dep == 2 && run->n_recv_ch[ch] == 0 && !cx_coll_chain_head_ready(x, ch)) break;
                tx = cx_net_send_ex(x->eng, x->ent, run->next_dev[ch], run->send_bytes_ch[ch], op->tag,
                                    CX_COOKIE_COLL | (ch << CX_COOKIE_CH_SHIFT) | st, run->delay_ch[ch], 0,
                                    CX_NET_SEND_SOLE);
                cx_coll_sent(run, tx);
                run->tx_ch[ch] = tx;
                run->sent[ch]++;
                moved = 1;
            }
        }
    }
    done = 1;
    for (ch = 0; ch < run->n_ch && done; ch++) {
        if (run->sent[ch] < run->n_send_ch[ch] || run->rcvd[ch] < run->n_recv_ch[ch]) done = 0;
    }
    return done && cx_coll_tx_clear(x);
}

const cx_coll_algo_def_t cx_coll_algo_ring = {
    CX_ALGO_RING,
    CX_KIND(CX_COLL_ALLREDUCE) | CX_KIND(CX_COLL_REDUCESCATTER) | CX_KIND(CX_COLL_ALLGATHER) |
        CX_KIND(CX_COLL_BROADCAST) | CX_KIND(CX_COLL_REDUCE),
    CX_GROUP_ANY,
    cx_coll_ring_setup,
    NULL,
    NULL,
    cx_coll_ring_poll,
};
