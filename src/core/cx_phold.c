/* PHOLD model: one entity type, one handler (see cx_phold.h). */
#include "cx_phold.h"

#include <math.h>
#include <stdlib.h>

typedef struct cx_phold_ctx {
    uint64_t  lps;
    cx_time_t lookahead;
    double    extra_mean_ps;  /* M - L */
    double    remote;
} cx_phold_ctx_t;

static cx_time_t cx_phold_delay(cx_engine_t *eng, cx_entity_t *self, const cx_phold_ctx_t *c)
{
    double u = ((double)(cx_entity_rand(eng, self) >> 11) + 1.0) * 0x1.0p-53;  /* (0, 1] */
    return c->lookahead + (cx_time_t)llround(-c->extra_mean_ps * log(u));
}

static void cx_phold_handle(cx_engine_t *eng, cx_entity_t *self, const cx_event_t *ev)
{
    const cx_phold_ctx_t *c   = self->state;
    cx_eid_t              dst = cx_engine_entity_id(eng, self);
    cx_time_t             t;
    (void)ev;
    if (c->remote > 0.0 && cx_entity_uniform(eng, self) < c->remote) {
        dst = cx_entity_rand(eng, self) % c->lps;
    }
    t = cx_engine_now(eng) + cx_phold_delay(eng, self, c);
    cx_event_send(eng, cx_event_new(eng, self, dst, t, 0, 0));
}

static const cx_handler_fn    cx_phold_handlers[] = {cx_phold_handle};
static const cx_entity_type_t cx_phold_type = {"phold-lp", cx_phold_handlers, 1};

cx_status_t cx_phold_run(const cx_phold_config_t *cfg, MPI_Comm comm, cx_engine_stats_t *stats_p,
                         cx_err_t *err)
{
    cx_engine_config_t ecfg = {0};
    cx_engine_t       *eng;
    cx_phold_ctx_t     ctx;
    cx_status_t        st;
    uint64_t           i, k;

    if (cfg->lps == 0) return cx_err_set(err, CX_ERR_INVALID, NULL, 0, "lps", "must be > 0");
    if (cfg->lookahead <= 0)
        return cx_err_set(err, CX_ERR_INVALID, NULL, 0, "lookahead", "must be > 0");
    if (cfg->mean < cfg->lookahead)
        return cx_err_set(err, CX_ERR_INVALID, NULL, 0, "mean", "must be >= lookahead");
    if (cfg->remote < 0.0 || cfg->remote > 1.0)
        return cx_err_set(err, CX_ERR_INVALID, NULL, 0, "remote", "must be in [0, 1]");

    ctx.lps           = cfg->lps;
    ctx.lookahead     = cfg->lookahead;
    ctx.extra_mean_ps = (double)(cfg->mean - cfg->lookahead);
    ctx.remote        = cfg->remote;

    ecfg.comm             = comm;
    ecfg.n_entities       = cfg->lps;
    ecfg.lookahead        = cfg->lookahead;
    ecfg.end_time         = cfg->end;
    ecfg.seed             = cfg->seed;
    ecfg.progress_seconds = cfg->progress_seconds;
    ecfg.progress_label   = "phold";
    st = cx_engine_create(&eng, &ecfg, err);
    if (st != CX_OK) return st;

    for (i = 0; i < cx_engine_local_count(eng); i++) {
        cx_eid_t id = cx_engine_local_id(eng, i);
        cx_engine_set_entity(eng, id, &cx_phold_type, &ctx);
    }
    for (i = 0; i < cx_engine_local_count(eng); i++) {
        cx_eid_t     id = cx_engine_local_id(eng, i);
        cx_entity_t *e  = cx_engine_entity(eng, id);
        for (k = 0; k < cfg->start_events; k++) {
            cx_event_send(eng, cx_event_new(eng, e, id, cx_phold_delay(eng, e, &ctx), 0, 0));
        }
    }
    st = cx_engine_run(eng, err);
    if (st == CX_OK) *stats_p = *cx_engine_stats(eng);
    cx_engine_destroy(eng);
    return st;
}
