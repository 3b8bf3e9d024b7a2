/*
 * colossim run's trace: the tables a run writes (one row struct and field
 * descriptor table each; the structs are in cx_run_internal.h), the
 * observers that fill them while the engine runs (per op, per link bin, per
 * chunk hop), and /meta, which makes a trace self-describing: the
 * configuration, the input files as given, and the summary.
 *
 * The observers run inside event handlers: they only append rows to
 * per-rank buffers (cx_trace_table_append), no allocation of their own.
 */
#define _POSIX_C_SOURCE 200809L
#include "cx_run_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cx_collbench.h"
#include "cx_file.h"
#include "cx_schema.h"

/* ---- trace rows ------------------------------------------------------- */

/* The columns: src/trace/cx_schema.h, the one definition of the schema. */
static const cx_trace_field_t cx_row_op_fields[]   = CX_SCHEMA_FIELDS(OPS, cx_row_op_t);
static const cx_trace_field_t cx_row_iter_fields[] = CX_SCHEMA_FIELDS(ITER, cx_row_iter_t);
static const cx_trace_field_t cx_row_coll_fields[] = CX_SCHEMA_FIELDS(COLL, cx_row_coll_t);
static const cx_trace_field_t cx_row_bin_fields[]  = CX_SCHEMA_FIELDS(BINS, cx_row_bin_t);
static const cx_trace_field_t cx_row_port_fields[] = CX_SCHEMA_FIELDS(PORTS, cx_row_port_t);
static const cx_trace_field_t cx_row_hop_fields[]  = CX_SCHEMA_FIELDS(HOPS, cx_row_hop_t);

#define CX_NFIELDS(_f) (sizeof(_f) / sizeof((_f)[0]))

const char *cx_run_level_name(int level)
{
    static const char *names[] = {"summary", "ops", "links", "chunks"};
    return level >= 0 && level < 4 ? names[level] : "?";
}

/* ---- observers ---------------------------------------------------------- */

static void cx_run_on_hop(void *vctx, const cx_net_dev_t *d, uint32_t port, const cx_net_chunk_t *ch,
                          cx_time_t start, cx_time_t end, cx_time_t arrive)
{
    cx_run_ctx_t *c = vctx;
    cx_row_hop_t  r;
    r.dev       = d->dev;
    r.port      = port;
    r.src_dev   = ch->src_dev;
    r.dst_dev   = ch->dst_dev;
    r.tag       = ch->tag;
    r.cookie    = ch->cookie;
    r.index     = ch->index;
    r.bytes     = ch->bytes;
    r.start_ps  = start;
    r.end_ps    = end;
    r.arrive_ps = arrive;
    cx_trace_table_append(c->t_hops, &r, 1);
}

static void cx_run_on_link_bin(void *vctx, const cx_net_dev_t *d, uint32_t port, int64_t bin, uint64_t bytes)
{
    cx_run_ctx_t *c = vctx;
    cx_row_bin_t  r;
    memset(&r, 0, sizeof(r));
    r.dev      = d->dev;
    r.port     = port;
    r.cls      = (uint8_t)cx_net_port_class(d, &d->ports[port]);
    r.tier     = (uint8_t)d->tier;
    r.start_ps = bin * c->bin_ps;
    r.bytes    = bytes;
    cx_trace_table_append(c->t_bins, &r, 1);
}


void cx_run_observe(void *vctx, const cx_op_record_t *rec)
{
    cx_run_ctx_t  *c  = vctx;
    const cx_op_t *op = &rec->op;
    cx_run_acc_t  *a;
    cx_time_t      dt = rec->end - rec->start;
    uint32_t       it = op->iteration;
    uint64_t       gg;

    c->ops_done++;
    if (rec->gpu < c->gpu_lo || rec->gpu - c->gpu_lo >= c->gpu_n) {
        cx_fatal("op observed for GPU %llu outside this rank's GPUs", (unsigned long long)rec->gpu);
    }
    a = &c->acc[rec->gpu - c->gpu_lo];
    /* Rows name global GPUs (a scenario's job GPU -> its place). */
    gg = c->place == NULL ? rec->gpu : c->place[rec->gpu / c->place_block] + rec->gpu % c->place_block;
    if (c->power != NULL) { /* power hook: by global GPU (a scenario's jobs share one model) */
        if (c->place == NULL) {
            cx_power_observe(c->power, rec);
        } else {
            cx_op_record_t pr = *rec;
            pr.gpu            = gg;
            cx_power_observe(c->power, &pr);
        }
    }
    switch ((cx_op_kind_t)op->kind) {
    case CX_OP_ITER_BEGIN:
        a->it_begin   = rec->start;
        a->it_compute = a->it_comm = a->it_pp = 0;
        if (it < c->iterations && rec->start < c->iter_begin_min[it]) c->iter_begin_min[it] = rec->start;
        break;
    case CX_OP_ITER_END:
        if (it < c->iterations && rec->end > c->iter_end_max[it]) c->iter_end_max[it] = rec->end;
        a->done_compute += a->it_compute;
        a->done_comm += a->it_comm;
        a->done_pp += a->it_pp;
        a->last_compute = a->it_compute;
        a->last_comm    = a->it_comm;
        a->last_pp      = a->it_pp;
        a->done_iters   = it + 1;
        {
            cx_row_iter_t r;
            memset(&r, 0, sizeof(r));
            r.gpu             = gg;
            r.iteration       = it;
            r.begin_ps        = a->it_begin;
            r.end_ps          = rec->end;
            r.compute_ps      = a->it_compute;
            r.exposed_comm_ps = a->it_comm;
            r.pp_wait_ps      = a->it_pp;
            if (c->t_iter != NULL) cx_trace_table_append(c->t_iter, &r, 1);
        }
        break;
    case CX_OP_COMPUTE:
        if (op->stream == CX_STREAM_COMPUTE) {
            a->compute += dt;
            a->it_compute += dt;
        }
        break;
    case CX_OP_WAIT:
        if (op->stream == CX_STREAM_COMPUTE) {
            if (op->cls == CX_STREAM_TP || op->cls == CX_STREAM_DP) {
                a->wait_comm += dt;
                a->it_comm += dt;
            } else if (op->cls == CX_STREAM_PP) {
                a->wait_pp += dt;
                a->it_pp += dt;
            }
        }
        break;
    case CX_OP_COLLECTIVE:
        if (op->group_index == 0 && c->t_coll != NULL) {
            cx_row_coll_t r;
            double        t = (double)dt * 1e-12;
            memset(&r, 0, sizeof(r));
            r.gpu          = gg;
            r.kind         = op->cls;
            r.algo         = (uint8_t)rec->algo;
            r.proto        = (uint8_t)rec->proto;
            r.channels     = (uint8_t)rec->channels;
            r.stream       = op->stream;
            r.phase        = op->phase;
            r.block        = op->block;
            r.layer        = op->layer;
            r.iteration    = op->iteration;
            r.microbatch   = op->microbatch;
            r.group_base   = op->u.group_base;
            r.group_size   = op->group_size;
            r.group_stride = op->group_stride;
            r.bytes        = op->bytes;
            r.tag          = op->tag;
            r.start_ps     = rec->start;
            r.end_ps       = rec->end;
            r.busbw_gbps   = t > 0 ? (double)op->bytes / t * 1e-9 *
                                         cx_coll_busbw_factor(op->cls, op->group_size) : 0.0;
            cx_trace_table_append(c->t_coll, &r, 1);
        }
        break;
    default:
        break;
    }
    if (c->level >= CX_TRACE_LEVEL_OPS && c->t_ops != NULL) {
        cx_row_op_t r;
        memset(&r, 0, sizeof(r));
        r.gpu          = gg;
        r.start_ps     = rec->start;
        r.end_ps       = rec->end;
        r.bytes        = op->bytes;
        r.flops        = op->flops;
        r.tag          = op->tag;
        r.peer         = op->u.peer;
        r.microbatch   = op->microbatch;
        r.iteration    = op->iteration;
        r.group_size   = op->group_size;
        r.group_stride = op->group_stride;
        r.layer        = op->layer;
        r.stream       = op->stream;
        r.kind         = op->kind;
        r.cls          = op->cls;
        r.phase        = op->phase;
        r.block        = op->block;
        r.algo         = (uint8_t)rec->algo;
        cx_trace_table_append(c->t_ops, &r, 1);
    }
}

/* ---- tables ------------------------------------------------------------- */

/* One table of the schema: its path and meaning from cx_schema.h. */
static cx_status_t cx_run_table(cx_trace_t *tr, const char *path, const cx_trace_field_t *fields, size_t n,
                                size_t row_size, cx_trace_table_t **tbl, cx_err_t *err)
{
    return cx_trace_table_define(tr, path, fields, n, row_size, cx_schema_table(path)->what, tbl, err);
}

cx_status_t cx_run_trace_define(cx_trace_t *tr, const cx_run_config_t *cfg, cx_net_t *net,
                                cx_run_ctx_t *c, cx_err_t *err)
{
    cx_status_t st;
    st = cx_run_table(tr, CX_SCHEMA_T_ITER, cx_row_iter_fields, CX_NFIELDS(cx_row_iter_fields),
                      sizeof(cx_row_iter_t), &c->t_iter, err);
    if (st == CX_OK)
        st = cx_run_table(tr, CX_SCHEMA_T_COLL, cx_row_coll_fields, CX_NFIELDS(cx_row_coll_fields),
                          sizeof(cx_row_coll_t), &c->t_coll, err);
    if (st == CX_OK && cfg->trace_level >= CX_TRACE_LEVEL_OPS)
        st = cx_run_table(tr, CX_SCHEMA_T_OPS, cx_row_op_fields, CX_NFIELDS(cx_row_op_fields), sizeof(cx_row_op_t),
                          &c->t_ops, err);
    if (st == CX_OK && cfg->trace_level >= CX_TRACE_LEVEL_LINKS) {
        st = cx_run_table(tr, CX_SCHEMA_T_BINS, cx_row_bin_fields, CX_NFIELDS(cx_row_bin_fields),
                          sizeof(cx_row_bin_t), &c->t_bins, err);
        if (st == CX_OK)
            st = cx_run_table(tr, CX_SCHEMA_T_PORTS, cx_row_port_fields, CX_NFIELDS(cx_row_port_fields),
                              sizeof(cx_row_port_t), &c->t_ports, err);
        c->bin_ps = cfg->link_bin_ps;
        cx_net_set_link_bins(net, cfg->link_bin_ps, cx_run_on_link_bin, c);
    }
    if (st == CX_OK && cfg->trace_level >= CX_TRACE_LEVEL_CHUNKS) {
        st = cx_run_table(tr, CX_SCHEMA_T_HOPS, cx_row_hop_fields, CX_NFIELDS(cx_row_hop_fields),
                          sizeof(cx_row_hop_t), &c->t_hops, err);
        cx_net_set_hop_hook(net, cx_run_on_hop, c);
    }
    return st;
}

/* The tables the run appends to while it goes (/links/ports is written
 * after the run); NULL where the trace level has none. */
#define CX_RUN_LIVE_TABLES 5
static void cx_run_trace_live(const cx_run_ctx_t *c, cx_trace_table_t *live[CX_RUN_LIVE_TABLES])
{
    live[0] = c->t_iter;
    live[1] = c->t_coll;
    live[2] = c->t_ops;
    live[3] = c->t_bins;
    live[4] = c->t_hops;
}

uint64_t cx_run_trace_pending(void *vctx)
{
    cx_trace_table_t *live[CX_RUN_LIVE_TABLES];
    uint64_t          bytes = 0;
    int               i;
    cx_run_trace_live(vctx, live);
    for (i = 0; i < CX_RUN_LIVE_TABLES; i++) {
        if (live[i] != NULL) {
            bytes += (uint64_t)cx_trace_table_rows_buffered(live[i]) * cx_trace_table_packed_row_size(live[i]);
        }
    }
    return bytes;
}

int cx_run_trace_flush(void *vctx)
{
    cx_run_ctx_t     *c = vctx;
    cx_trace_table_t *live[CX_RUN_LIVE_TABLES];
    int               i;
    cx_run_trace_live(c, live);
    for (i = 0; i < CX_RUN_LIVE_TABLES; i++) {
        /* Every rank defined the same tables: every rank makes the same
         * collective calls. */
        if (live[i] != NULL && cx_trace_table_write(live[i], &c->flush_err) != CX_OK) return 1;
    }
    c->flushes++;
    return 0;
}

void cx_run_trace_ports(cx_run_ctx_t *c, cx_net_t *net)
{
    uint64_t i;
    cx_net_flush_link_bins(net);
    for (i = 0; i < cx_net_local_count(net); i++) {
        cx_net_dev_t *nd = cx_net_local_dev_at(net, i);
        uint64_t      d  = nd->dev;
        uint32_t      p;
        for (p = 0; p < nd->n_ports; p++) {
            cx_net_port_t *pp = &nd->ports[p];
            cx_row_port_t  r;
            /* Switch ports always (idle uplinks matter for ECMP
             * imbalance); other ports when they carried traffic. */
            if (pp->bytes_tx == 0 && nd->kind != CX_DEV_SWITCH) continue;
            memset(&r, 0, sizeof(r));
            r.dev        = d;
            r.port       = p;
            r.peer_dev   = pp->peer_dev;
            r.peer_port  = pp->peer_port;
            r.cls        = (uint8_t)cx_net_port_class(nd, pp);
            r.tier       = (uint8_t)nd->tier;
            r.bandwidth  = 1e12 / pp->ps_per_byte;
            r.latency_ps = pp->latency;
            r.bytes      = pp->bytes_tx;
            r.chunks     = pp->chunks_tx;
            cx_trace_table_append(c->t_ports, &r, 1);
        }
    }
}

/* ---- /meta -------------------------------------------------------------- */

/* An input file as given, NUL-terminated (NULL when unreadable); also used
 * by `colossim gen` to copy the workload file. */
char *cx_run_slurp(const char *path)
{
    char    *buf = NULL;
    size_t   len;
    cx_err_t e;
    return cx_file_read_all(path, "input file", 0, &buf, &len, &e) == CX_OK ? buf : NULL;
}

static cx_status_t cx_run_write_meta(cx_trace_t *tr, const cx_run_config_t *cfg, const cx_run_summary_t *s,
                                     const char *topo_text, const char *wl_text, cx_err_t *err)
{
    cx_status_t st = CX_OK;
#define CX_M(_call) do { if (st == CX_OK) st = (_call); } while (0)
    CX_M(cx_trace_meta_set_text(tr, "topology_yaml", topo_text != NULL ? topo_text : "", "application/yaml", err));
    CX_M(cx_trace_meta_set_text(tr, "workload_yaml", wl_text != NULL ? wl_text : "", "application/yaml", err));
    CX_M(cx_trace_meta_set_text(tr, "options", cfg->options_text != NULL ? cfg->options_text : "", "text/plain", err));
    if (st == CX_OK) { /* the schema, for readers of this trace (colossim_plot.py's labels) */
        char *schema = cx_schema_text();
        st           = cx_trace_meta_set_text(tr, "schema", schema != NULL ? schema : "", "text/tab-separated-values", err);
        free(schema);
    }
    CX_M(cx_trace_meta_set_string(tr, "command_line", cfg->command_line != NULL ? cfg->command_line : "", err));
    CX_M(cx_trace_meta_set_string(tr, "topology", s->topology, err));
    CX_M(cx_trace_meta_set_string(tr, "workload", s->workload, err));
    CX_M(cx_trace_meta_set_string(tr, "gpu_type", s->gpu_type, err));
    CX_M(cx_trace_meta_set_int64(tr, "seed", (int64_t)cfg->seed, err));
    CX_M(cx_trace_meta_set_int64(tr, "trace_level", cfg->trace_level, err));
    CX_M(cx_trace_meta_set_int64(tr, "link_bin_ps", cfg->trace_level >= CX_TRACE_LEVEL_LINKS ? cfg->link_bin_ps : 0, err));
    CX_M(cx_trace_meta_set_int64(tr, "gpus", (int64_t)s->gpus, err));
    CX_M(cx_trace_meta_set_int64(tr, "iterations", s->iterations, err));
    CX_M(cx_trace_meta_set_int64(tr, "iterations_requested", s->iterations_requested, err));
    CX_M(cx_trace_meta_set_int64(tr, "trace_flushes", (int64_t)s->trace_flushes, err));
    CX_M(cx_trace_meta_set_double(tr, "iteration_seconds", s->iteration_seconds, err));
    CX_M(cx_trace_meta_set_double(tr, "first_iteration_seconds", s->first_iteration_seconds, err));
    CX_M(cx_trace_meta_set_double(tr, "tokens_per_iteration", s->tokens_per_iteration, err));
    CX_M(cx_trace_meta_set_double(tr, "tokens_per_second", s->tokens_per_second, err));
    CX_M(cx_trace_meta_set_double(tr, "model_flops_per_iteration", s->model_flops_per_iteration, err));
    CX_M(cx_trace_meta_set_double(tr, "model_flops_noncausal_per_iteration", s->model_flops_noncausal_per_iteration, err));
    CX_M(cx_trace_meta_set_double(tr, "tflops_per_gpu", s->tflops_per_gpu, err));
    CX_M(cx_trace_meta_set_double(tr, "peak_flops_per_gpu", s->peak_flops_per_gpu, err));
    CX_M(cx_trace_meta_set_double(tr, "mfu", s->mfu, err));
    CX_M(cx_trace_meta_set_double(tr, "mfu_noncausal", s->mfu_noncausal, err));
    CX_M(cx_trace_meta_set_double(tr, "compute_share", s->compute_share, err));
    CX_M(cx_trace_meta_set_double(tr, "exposed_comm_share", s->exposed_comm_share, err));
    CX_M(cx_trace_meta_set_double(tr, "bubble_share", s->bubble_share, err));
    CX_M(cx_trace_meta_set_int64(tr, "engine_events", (int64_t)s->engine.events, err));
    CX_M(cx_trace_meta_set_int64(tr, "engine_windows", (int64_t)s->engine.windows, err));
    CX_M(cx_trace_meta_set_int64(tr, "engine_remote_events", (int64_t)s->engine.remote_events, err));
    CX_M(cx_trace_meta_set_double(tr, "wall_seconds", s->engine.wall_seconds, err));
    CX_M(cx_trace_meta_set_double(tr, "engine_sync_share", s->engine.sync_share, err));
    CX_M(cx_trace_meta_set_int64(tr, "engine_peak_rss_max_bytes", (int64_t)s->engine.peak_rss_max, err));
    {
        char dig[24];
        snprintf(dig, sizeof(dig), "%016llx", (unsigned long long)s->engine.digest);
        CX_M(cx_trace_meta_set_string(tr, "engine_digest", dig, err));
    }
#undef CX_M
    return st;
}

cx_status_t cx_run_trace_write_meta(cx_trace_t *tr, const cx_run_config_t *cfg,
                                    const cx_run_summary_t *s, int rank, cx_err_t *err)
{
    char       *topo_text = NULL, *wl_text = NULL;
    cx_status_t st;
    if (rank == 0) {
        if (cfg->topology_path != NULL && cfg->topology_path[0] != '\0') topo_text = cx_run_slurp(cfg->topology_path);
        if (cfg->workload_path != NULL && cfg->workload_path[0] != '\0') wl_text = cx_run_slurp(cfg->workload_path);
    }
    if (topo_text == NULL && rank == 0) {
        const char *t;
        size_t      n;
        cx_topo_default_yaml(&t, &n);
        topo_text = strdup(cfg->topology_path != NULL && cfg->topology_path[0] != '\0' ? "" : t);
    }
    if (wl_text == NULL && rank == 0) {
        const char *t;
        size_t      n;
        cx_workload_default_yaml(&t, &n);
        wl_text = strdup(cfg->workload_path != NULL && cfg->workload_path[0] != '\0' ? "" : t);
    }
    st = cx_run_write_meta(tr, cfg, s, topo_text, wl_text, err);
    free(topo_text);
    free(wl_text);
    /* --faults: the file as given (every rank makes the call; rank 0's text). */
    if (st == CX_OK && cfg->faults_path != NULL && cfg->faults_path[0] != '\0') {
        char *ft = rank == 0 ? cx_run_slurp(cfg->faults_path) : NULL;
        st       = cx_trace_meta_set_text(tr, "faults_yaml", ft != NULL ? ft : "", "application/yaml", err);
        if (st == CX_OK) st = cx_trace_meta_set_int64(tr, "faults", (int64_t)s->faults, err);
        if (st == CX_OK) st = cx_trace_meta_set_int64(tr, "fault_stop_ps", s->fault_stop_ps, err);
        free(ft);
    }
    return st;
}
