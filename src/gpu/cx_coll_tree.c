/*
 * TREE (all-reduce): NCCL's double binary tree: half the data on each of
 * two binary trees over the members, the second the first shifted by one,
 * so a leaf of one is an inner node of the other; each half goes up the
 * tree (reduce) and back down (broadcast) in pipelined pieces.  Channels
 * 2t (up) and 2t+1 (down) carry tree t.  Over several domains of g > 1
 * members it is the cross-domain phase of a hierarchical all-reduce
 * (cx_coll_hier.c), as NCCL's trees are inside a node chains.
 */
#include "cx_coll_impl.h"

/* Binary tree over positions 0..m-1 (root at the middle, recursively):
 * parent and children of position p, -1 when absent. */
static void cx_tree_links(uint32_t m, uint32_t p, int64_t *parent, int64_t *c0, int64_t *c1)
{
    uint32_t lo = 0, hi = m;
    int64_t  par = -1;
    for (;;) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (p == mid) {
            *parent = par;
            *c0     = mid > lo ? (int64_t)(lo + (mid - lo) / 2) : -1;
            *c1     = mid + 1 < hi ? (int64_t)(mid + 1 + (hi - mid - 1) / 2) : -1;
            return;
        }
        par = (int64_t)mid;
        if (p < mid) hi = mid;
        else lo = mid + 1;
    }
}

/* Tree t's links of this member and its up / down channel sizes. */
static void cx_coll_tree_one(cx_coll_ctx_t *x, uint32_t t, uint64_t pieces, uint64_t data)
{
    cx_gpu_t      *gpu = x->gpu;
    cx_coll_run_t *run = x->run;
    const cx_op_t *op  = &run->cur;
    uint32_t       n = op->group_size, me = op->group_index;
    uint32_t       pos = t == 0 ? me : (me + 1) % n, k;
    int64_t        par, c[2];
    uint64_t       w;
    cx_time_t      lat;
    cx_tree_links(n, pos, &par, &c[0], &c[1]);
    /* Back from tree positions to members. */
    if (t == 1) {
        if (par >= 0) par = (par + n - 1) % n;
        for (k = 0; k < 2; k++) if (c[k] >= 0) c[k] = (c[k] + n - 1) % n;
    }
    run->tree_parent[t]   = par;
    run->tree_child[t][0] = c[0];
    run->tree_child[t][1] = c[1];
    run->tree_nchild[t]   = (uint8_t)((c[0] >= 0) + (c[1] >= 0));
    /* Up: receive every child's piece, send to the parent. */
    run->recv_bytes_ch[2 * t] = 0;
    for (k = 0; k < 2; k++) {
        if (c[k] < 0) continue;
        cx_coll_link(x, cx_coll_member(op, (uint64_t)c[k]), gpu->gpu, data, &w, NULL);
        run->recv_bytes_ch[2 * t] += w;
    }
    run->n_recv_ch[2 * t] = run->tree_nchild[t] > 0 ? (uint32_t)pieces : 0;
    run->n_send_ch[2 * t] = par >= 0 ? (uint32_t)pieces : 0;
    if (par >= 0) {
        cx_coll_link(x, gpu->gpu, cx_coll_member(op, (uint64_t)par), data, &w, &lat);
        run->send_bytes_ch[2 * t] = w;
        run->delay_ch[2 * t]      = lat;
        run->next_dev[2 * t]      = cx_gpus_device(gpu->g, cx_coll_member(op, (uint64_t)par));
        /* Down: receive from the parent. */
        cx_coll_link(x, cx_coll_member(op, (uint64_t)par), gpu->gpu, data, &w, NULL);
        run->recv_bytes_ch[2 * t + 1] = w;
        run->n_recv_ch[2 * t + 1]     = (uint32_t)pieces;
    }
    /* Down: send each piece to every child (counted per child). */
    run->n_send_ch[2 * t + 1] = (uint32_t)pieces * run->tree_nchild[t];
}

static void cx_coll_tree_setup(cx_coll_ctx_t *x)
{
    cx_coll_run_t *run = x->run;
    /* Two trees, each with half the data in pieces of <= 1 MiB (at most
     * 1024). */
    uint64_t half   = cx_ceil_div(run->cur.bytes, 2);
    uint64_t pieces = cx_ceil_div(half, CX_COLL_PIECE_BYTES), data;
    uint32_t t;
    if (pieces < 1) pieces = 1;
    if (pieces > 1024) pieces = 1024;
    data        = cx_ceil_div(half, pieces);
    run->n_ch   = 4;
    run->n_send = run->n_recv = (uint32_t)pieces;
    run->tree_piece = data;
    for (t = 0; t < 2; t++) cx_coll_tree_one(x, t, pieces, data);
}

static void cx_coll_tree_start(cx_coll_ctx_t *x, uint32_t g)
{
    if (g > 1) cx_coll_hier_begin(x, g, &cx_coll_algo_tree);
    else cx_coll_phase_setup(x, &cx_coll_algo_tree);
}

/* Down the tree: each piece this member has (from the parent, or reduced
 * here at the root) to every child.  1 if anything left. */
static int cx_coll_tree_down(cx_coll_ctx_t *x, uint32_t t)
{
    cx_coll_run_t *run = x->run;
    cx_gpu_t      *gpu = x->gpu;
    const cx_op_t *op  = &run->cur;
    uint32_t       up = 2 * t, dn = 2 * t + 1, k;
    int            moved = 0;
    if (run->tree_nchild[t] == 0) return 0;
    for (;;) {
        uint32_t piece = run->sent[dn] / run->tree_nchild[t];
        uint32_t avail = run->tree_parent[t] >= 0 ? run->rcvd[dn] : run->rcvd[up];
        if (piece >= run->n_send || piece >= avail) break;
        for (k = 0; k < 2; k++) {
            uint64_t  peer, w;
            cx_time_t lat;
            if (run->tree_child[t][k] < 0) continue;
            peer = cx_coll_member(op, (uint64_t)run->tree_child[t][k]);
            cx_coll_link(x, gpu->gpu, peer, run->tree_piece, &w, &lat);
            cx_coll_sent(run, cx_net_send_ex(x->eng, x->ent, cx_gpus_device(gpu->g, peer), w, op->tag,
                                             CX_COOKIE_COLL | (dn << CX_COOKIE_CH_SHIFT) | piece, lat, 0, 0));
            run->sent[dn]++;
        }
        moved = 1;
    }
    return moved;
}

static int cx_coll_tree_poll(cx_coll_ctx_t *x)
{
    cx_coll_run_t *run = x->run;
    const cx_op_t *op  = &run->cur;
    uint32_t       ch;
    int            moved = 1, done;
    while (moved) {
        uint32_t t;
        moved = 0;
        for (t = 0; t < 2; t++) {
            uint32_t up = 2 * t, dn = 2 * t + 1;
            /* Up: children's pieces in, then to the parent. */
            while (run->rcvd[up] < run->n_recv_ch[up] &&
                   cx_mail_take(x->gpu, op->tag, CX_COOKIE_COLL | (up << CX_COOKIE_CH_SHIFT), CX_SRC_ANY,
                                run->recv_bytes_ch[up])) {
                run->rcvd[up]++;
                moved = 1;
            }
            while (run->sent[up] < run->n_send_ch[up] && (run->tree_nchild[t] == 0 || run->rcvd[up] > run->sent[up])) {
                cx_coll_sent(run, cx_net_send_ex(x->eng, x->ent, run->next_dev[up], run->send_bytes_ch[up], op->tag,
                                                 CX_COOKIE_COLL | (up << CX_COOKIE_CH_SHIFT) | run->sent[up],
                                                 run->delay_ch[up], 0, 0));
                run->sent[up]++;
                moved = 1;
            }
            /* Down: from the parent (the root has the result once its
             * children's pieces are in), then to every child. */
            while (run->rcvd[dn] < run->n_recv_ch[dn] &&
                   cx_mail_take(x->gpu, op->tag, CX_COOKIE_COLL | (dn << CX_COOKIE_CH_SHIFT), CX_SRC_ANY,
                                run->recv_bytes_ch[dn])) {
                run->rcvd[dn]++;
                moved = 1;
            }
            if (cx_coll_tree_down(x, t)) moved = 1;
        }
    }
    done = 1;
    for (ch = 0; ch < 4 && done; ch++) {
        if (run->sent[ch] < run->n_send_ch[ch] || run->rcvd[ch] < run->n_recv_ch[ch]) done = 0;
    }
    return done && cx_coll_tx_clear(x);
}

const cx_coll_algo_def_t cx_coll_algo_tree = {
    CX_ALGO_TREE,       CX_KIND(CX_COLL_ALLREDUCE), CX_GROUP_RAILS | CX_GROUP_SPREAD,
    cx_coll_tree_setup, cx_coll_tree_start,         cx_coll_hier_next,
    cx_coll_tree_poll,
};
