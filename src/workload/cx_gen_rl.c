/*
 * One GPU's program of an RL post-training job (cx_infer.h, "RL"), built a
 * unit at a time in program order for every stream, so the run's per-stream
 * sources can count what the WAITs refer to.
 *
 * Trainer GPU t (job GPUs 0 .. T-1), RL step i:
 *   receive step i's samples from its rollout GPU(s)    (RECV, PP stream)
 *   one training iteration: the training generator's program, labelled
 *     iteration i, its WAIT counts shifted by the ops before it
 *   if a rollout step still needs them: broadcast the new weights to its
 *     rollout GPU(s) (BROADCAST, DP stream)
 * Rollout GPU j (job GPUs T .. T+R-1), RL step i:
 *   ITER_BEGIN i; if i > staleness: take part in the broadcast of trainer
 *   step i - 1 - staleness; generate (the inference pass of step i's
 *   requests); reward; send the samples; ITER_END i.
 * Pairing (one of T, R divides the other, f = the ratio): T < R: trainer t
 * broadcasts to rollouts j = t + q T (one group: t, t + T, ..., stride T)
 * and receives their samples; T >= R: rollout j pairs with trainers
 * t = j + q R, one broadcast group of two each (root t), carrying 1/f of
 * the weights.
 */
#include "cx_infer.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cx_rng.h"
#include "cx_util.h"

enum { T_RECV = 0, T_TRAIN_INIT, T_TRAIN, T_BCAST, T_NEXT };
enum { R_BEGIN = 0, R_BCAST, R_GEN, R_REWARD, R_SEND, R_END };

uint64_t cx_rl_step_seed(const cx_wl_rl_t *r, uint32_t step)
{
    return cx_rng_u64(r->rollout.seed, 0x524Cu, step);
}

void cx_rl_cursor_init(cx_rl_cursor_t *c, const cx_workload_t *w, uint64_t gpu, cx_infer_steps_fn steps,
                       const void *steps_ctx)
{
    memset(c, 0, sizeof(*c));
    c->w         = w;
    c->gpu       = gpu;
    c->steps     = steps;
    c->steps_ctx = steps_ctx;
    c->trainer   = gpu < w->rl->n_train;
}

static uint64_t sample_tag(uint32_t step)
{
    return cx_op_tag(step, 0xFFFFu, 0xFFFu, CX_PHASE_NONE, CX_BLK_SYNC);
}

/* An op of RL step `step` with the labels every RL op sets (no microbatch);
 * the caller adds what its kind carries. */
static cx_op_t rl_op(int kind, int stream, int cls, int phase, int block, uint16_t layer, uint32_t step)
{
    cx_op_t op;
    memset(&op, 0, sizeof(op));
    op.kind       = (uint8_t)kind;
    op.stream     = (uint8_t)stream;
    op.cls        = (uint8_t)cls;
    op.phase      = (uint8_t)phase;
    op.block      = (uint8_t)block;
    op.layer      = layer;
    op.microbatch = CX_OP_NO_MB;
    op.iteration  = step;
    return op;
}

/* Weights broadcast number q of trainer step `step` between trainer t and
 * rollout j (job GPU T + j), as member `index`. */
static void bcast(const cx_rl_cursor_t *c, cx_op_t *ops, uint32_t *n, uint64_t *counts, uint32_t step, uint64_t t,
                  uint64_t j, uint32_t q, uint32_t index)
{
    const cx_wl_rl_t *r  = c->w->rl;
    cx_op_t           op = rl_op(CX_OP_COLLECTIVE, CX_STREAM_DP, CX_COLL_BROADCAST, CX_PHASE_OPT, CX_BLK_DP_PARAM,
                                 (uint16_t)(CX_RL_LAYER + q), step);
    op.bytes       = r->weights_bytes;
    op.u.group_base = t;
    if (r->n_train < r->n_roll) {
        op.group_stride = (uint32_t)r->n_train;
        op.group_size   = (uint32_t)(r->n_roll / r->n_train + 1);
    } else {
        op.group_stride = (uint32_t)(r->n_train + j - t);
        op.group_size   = 2;
    }
    op.group_index = index;
    op.tag         = cx_op_tag(step, 0xFFFFu, CX_RL_LAYER + q, CX_PHASE_OPT, CX_BLK_DP_PARAM);
    cx_infer_emit(ops, n, counts, &op);
}

static void p2p(cx_op_t *ops, uint32_t *n, uint64_t *counts, int kind, uint32_t step, uint64_t peer, uint64_t bytes)
{
    cx_op_t op = rl_op(kind, CX_STREAM_PP, 0, CX_PHASE_NONE, CX_BLK_SYNC, CX_OP_NO_LAYER, step);
    op.bytes      = bytes;
    op.u.peer     = peer;
    op.tag        = sample_tag(step);
    cx_infer_emit(ops, n, counts, &op);
}

/* The next op of the step's training program, relabelled; 0 at its end. */
static int train_op(cx_rl_cursor_t *c, cx_op_t *ops, uint32_t *n, uint64_t *counts)
{
    cx_op_t op;
    if (!cx_gen_next(&c->gen, &op)) return 0;
    if (op.kind == CX_OP_WAIT) op.u.wait_count += c->base[op.cls];
    op.iteration = c->step;
    if (op.tag != 0) op.tag = (op.tag & ~(UINT64_C(0xFFFFF) << 44)) | ((uint64_t)(c->step & 0xFFFFFu) << 44);
    ops[(*n)++] = op;
    counts[op.stream]++;
    return 1;
}

static int trainer_unit(cx_rl_cursor_t *c, cx_op_t *ops, uint32_t *n, uint64_t *counts)
{
    const cx_wl_rl_t *r = c->w->rl;
    uint64_t          t = c->gpu, T = r->n_train, R = r->n_roll, q;
    cx_err_t          err;
    for (;;) {
        if (c->step >= c->w->iterations) return 0;
        switch (c->phase) {
        case T_RECV:
            if (T < R) {
                for (q = 0; q < R / T; q++) p2p(ops, n, counts, CX_OP_RECV, c->step, T + t + q * T, r->sample_bytes);
            } else {
                p2p(ops, n, counts, CX_OP_RECV, c->step, T + t % R, r->sample_bytes);
            }
            c->phase = T_TRAIN_INIT;
            return 1;
        case T_TRAIN_INIT:
            if (cx_gen_init(&c->gen, r->trainer, t, 1, &err) != CX_OK) cx_fatal("RL trainer generator: %s", err.msg);
            memcpy(c->base, counts, sizeof(c->base));
            c->phase = T_TRAIN;
            break;
        case T_TRAIN:
            if (train_op(c, ops, n, counts)) return 1;
            c->phase = T_BCAST;
            break;
        case T_BCAST:
            c->phase = T_NEXT;
            bcast(c, ops, n, counts, c->step, t, T < R ? t : t % R, T < R ? 0u : (uint32_t)(t / R), 0);
            return 1;
        default:
            c->phase = T_RECV;
            c->step++;
        }
    }
}

static void marker(cx_op_t *ops, uint32_t *n, uint64_t *counts, int kind, uint32_t step)
{
    cx_op_t op = rl_op(kind, CX_STREAM_COMPUTE, 0, CX_PHASE_NONE, CX_BLK_NONE, CX_OP_NO_LAYER, step);
    cx_infer_emit(ops, n, counts, &op);
}

static void reward(const cx_rl_cursor_t *c, cx_op_t *ops, uint32_t *n, uint64_t *counts)
{
    const cx_wl_rl_t *r       = c->w->rl;
    double            samples = (double)r->rollout.requests / (double)r->n_roll;
    cx_op_t           op = rl_op(CX_OP_COMPUTE, CX_STREAM_COMPUTE, CX_CLS_GEMM, CX_PHASE_NONE, CX_BLK_LOSS,
                                 CX_OP_NO_LAYER, c->step);
    if (r->reward_seconds > 0) {
        op.flags |= CX_OP_F_MEASURED;
        op.u.duration_ps = (uint64_t)llround(r->reward_seconds * samples * 1e12);
    } else {
        op.flops = r->reward_flops * samples;
    }
    cx_infer_emit(ops, n, counts, &op);
}

/* The weights of trainer step s, received by rollout GPU j. */
static void bcast_recv(const cx_rl_cursor_t *c, cx_op_t *ops, uint32_t *n, uint64_t *counts, uint32_t s, uint64_t j)
{
    const cx_wl_rl_t *r = c->w->rl;
    uint64_t          T = r->n_train, R = r->n_roll, q;
    if (T < R) {
        bcast(c, ops, n, counts, s, j % T, j, 0, (uint32_t)(1 + j / T));
    } else {
        for (q = 0; q < T / R; q++) bcast(c, ops, n, counts, s, j + q * R, j, (uint32_t)q, 1);
    }
}

static int rollout_unit(cx_rl_cursor_t *c, cx_op_t *ops, uint32_t *n, uint64_t *counts)
{
    const cx_wl_rl_t *r = c->w->rl;
    uint64_t          j = c->gpu - r->n_train, T = r->n_train, R = r->n_roll, q;
    uint32_t          steps = c->w->iterations;
    for (;;) {
        if (c->step >= steps) {
            /* After the last step: the broadcasts of the trainer's last
             * steps, which no rollout step waits for (the trainer sends its
             * weights after every step). */
            uint32_t s = (steps > r->staleness + 1 ? steps - r->staleness - 1 : 0) + c->q;
            if (s >= steps) return 0;
            bcast_recv(c, ops, n, counts, s, j);
            c->q++;
            return 1;
        }
        switch (c->phase) {
        case R_BEGIN:
            marker(ops, n, counts, CX_OP_ITER_BEGIN, c->step);
            c->phase = R_BCAST;
            return 1;
        case R_BCAST: {
            uint64_t               ns;
            uint32_t               inst = (uint32_t)(j / r->rollout.tp / r->rollout.ep);
            const cx_infer_step_t *st   = c->steps(c->steps_ctx, c->step, inst, &ns);
            cx_infer_pass_init(&c->pass, c->w, &r->rollout, j, T, st, ns, c->step);
            c->phase = R_GEN;
            if (c->step > r->staleness) {
                bcast_recv(c, ops, n, counts, c->step - r->staleness - 1, j);
                return 1;
            }
            break;
        }
        case R_GEN:
            if (cx_infer_pass_unit(&c->pass, ops, n, counts)) return 1;
            c->phase = R_REWARD;
            break;
        case R_REWARD:
            reward(c, ops, n, counts);
            c->phase = R_SEND;
            return 1;
        case R_SEND:
            if (T < R) {
                p2p(ops, n, counts, CX_OP_SEND, c->step, j % T, r->sample_bytes);
            } else {
                for (q = 0; q < T / R; q++) p2p(ops, n, counts, CX_OP_SEND, c->step, j + q * R, r->sample_bytes);
            }
            c->phase = R_END;
            return 1;
        default:
            marker(ops, n, counts, CX_OP_ITER_END, c->step);
            c->phase = R_BEGIN;
            c->step++;
            return 1;
        }
    }
}

int cx_rl_cursor_unit(cx_rl_cursor_t *c, cx_op_t *ops, uint32_t *n, uint64_t counts[CX_NUM_STREAMS])
{
    return c->trainer ? trainer_unit(c, ops, n, counts) : rollout_unit(c, ops, n, counts);
}
