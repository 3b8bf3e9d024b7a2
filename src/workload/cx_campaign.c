/*
 * The campaign model (cx_campaign.h): component counts of a job, the default
 * failure rates from Llama 3's Table 5, and the Monte-Carlo of a job's wall
 * clock over days.
 *
 * Why a state machine over wall-clock time rather than an expected-value
 * formula: interruptions during a restart, a checkpoint that a failure cuts
 * short, an asynchronous snapshot still draining when the next one is due
 * and planned stops that must first make a checkpoint durable all change
 * what is lost, and they interact.  A seed is a few thousand loop turns per
 * simulated day, so 1,000 seeds of 54 days take well under a second.
 */
#include "cx_campaign.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- the reference job and the default rates ------------------------------
 *
 * Llama 3 405B pre-training, 54 days (1,296 h) on 16,384 H100-80GB, Table 5
 * of arXiv 2407.21783 (419 unexpected interruptions; the paper also counts 47
 * planned ones).  Each cause goes to the component class it names:
 *
 *   class     events  causes
 *   gpu        196    faulty GPU 148, GPU SRAM 19, GPU system processor 17,
 *                     silent data corruption 6, thermal interface + sensor 6
 *   hbm         72    GPU HBM3 memory
 *   software    63    software bug 54, NCCL watchdog timeouts 7, dependency 2
 *   nic          7    NIC
 *   host        46    host maintenance (unplanned) 32, SSD 3, power supply 3,
 *                     server chassis 2, IO expansion board 2, CPU 2, DRAM 2
 *   switch    17.5    network switch / cable 35, split evenly [U: the paper
 *   link      17.5    does not split them]
 *
 * Counts of that job (colossim campaign --topology topologies/llama3-24k.yaml
 * --gpus 16384 prints them): 16,384 GPUs, x 5 HBM stacks, 16,384 processes,
 * 16,384 NIC ports, 2,048 servers, and the switches and links below.
 * A class's rate per component per hour = events / (count x 1,296 h); e.g.
 * GPU 196 / (16,384 x 1,296) = 9.2e-6 /h (an MTBF of 12 years per GPU). */

static const double cx_ref_events[CX_FC_N] = {196.0, 72.0, 63.0, 7.0, 46.0, 17.5, 17.5};
/* switch and link counts: cx_campaign_count on llama3-24k for 16,384 GPUs */
#define CX_REF_SWITCHES 1184.0
#define CX_REF_LINKS    35456.0
static const double cx_ref_counts[CX_FC_N] = {16384.0, 16384.0 * 5.0, 16384.0, 16384.0, 2048.0,
                                              CX_REF_SWITCHES, CX_REF_LINKS};

static const char *const cx_fclass_names[CX_FC_N] = {"gpu", "hbm", "software", "nic", "host", "switch", "link"};
static const char *const cx_fclass_cause_text[CX_FC_N] = {
    "faulty GPU 148, SRAM 19, GPU system processor 17, silent data corruption 6, thermal 6",
    "GPU HBM3 memory 72",
    "software bug 54, NCCL watchdog timeouts 7, dependency 2",
    "NIC 7",
    "host maintenance 32, SSD 3, power supply 3, chassis 2, IO board 2, CPU 2, DRAM 2",
    "half of network switch / cable 35 [U]",
    "half of network switch / cable 35 [U]",
};

const char *cx_fclass_name(int c) { return c >= 0 && c < CX_FC_N ? cx_fclass_names[c] : "?"; }
const char *cx_fclass_causes(int c) { return c >= 0 && c < CX_FC_N ? cx_fclass_cause_text[c] : "?"; }

void cx_campaign_ref(double events[CX_FC_N], double counts[CX_FC_N])
{
    memcpy(events, cx_ref_events, sizeof(cx_ref_events));
    memcpy(counts, cx_ref_counts, sizeof(cx_ref_counts));
}

void cx_campaign_rates_default(double rate_per_hour[CX_FC_N])
{
    int c;
    for (c = 0; c < CX_FC_N; c++) {
        rate_per_hour[c] = cx_ref_events[c] / (cx_ref_counts[c] * CX_CAMPAIGN_REF_DAYS * 24.0);
    }
}

double cx_campaign_hbm_stacks(const cx_gpu_type_t *gt)
{
    double s;
    if (gt == NULL) return 5.0;
    if (strncmp(gt->name, "H100", 4) == 0) return 5.0;
    if (strncmp(gt->name, "H200", 4) == 0) return 6.0;
    if (strncmp(gt->name, "B200", 4) == 0 || strncmp(gt->name, "GB200", 5) == 0 ||
        strncmp(gt->name, "GB300", 5) == 0 || strncmp(gt->name, "B300", 4) == 0)
        return 8.0;
    s = floor((double)gt->hbm_bytes / (16.0 * 1073741824.0) + 0.5);
    return s >= 1.0 ? s : 1.0;
}

/* Port p of switch dev an uplink?  Then *q_p: its parent's index in the fabric. */
static int cx_cp_parent(const cx_topo_t *t, const cx_fabric_info_t *fi, uint64_t dev, uint32_t p, uint64_t *q_p)
{
    cx_port_info_t pi;
    if (cx_topo_port(t, dev, p, &pi) != CX_OK || pi.role != CX_PORT_UP) return 0;
    *q_p = pi.peer_device - fi->first_device;
    return 1;
}

/* ---- component counts ------------------------------------------------------
 * A switch counts when some path between two of the job's GPUs can cross it:
 * it has job GPUs below it and either job GPUs elsewhere (traffic leaves
 * through it) or job GPUs below two of its children (it is their common
 * ancestor).  Below-counts go up tier by tier over the up ports; parallel
 * links to one parent count once. */
cx_status_t cx_campaign_count(const cx_topo_t *t, uint64_t gpus, double hbm_stacks_per_gpu,
                              cx_campaign_counts_t *c_p, cx_err_t *err)
{
    cx_campaign_counts_t c;
    cx_fabric_info_t     fi;
    cx_gpu_info_t        gi;
    uint64_t            *below = NULL, *kids = NULL, *last = NULL, g, d, total = 0;
    uint64_t             nic_ports = 0, nic_links = 0, servers = 0, prev_server = UINT64_MAX;
    double               switches = 0, links = 0;
    int                  tier;

    if (gpus == 0 || gpus > cx_topo_num_gpus(t)) {
        return cx_err_set(err, CX_ERR_RANGE, NULL, 0, "gpus", "the job's %llu GPUs do not fit the topology's %llu",
                          (unsigned long long)gpus, (unsigned long long)cx_topo_num_gpus(t));
    }
    if (!cx_topo_gpus_one_fabric(t, gpus)) {
        return cx_err_set(err, CX_ERR_INVALID, NULL, 0, "gpus", "the job's %llu GPUs span two unconnected fabrics",
                          (unsigned long long)gpus);
    }
    cx_topo_gpu_info(t, cx_topo_gpu_device(t, 0), &gi);
    cx_topo_fabric_info(t, gi.fabric, &fi);
    below = calloc(fi.n_devices, sizeof(uint64_t));
    kids  = calloc(fi.n_devices, sizeof(uint64_t));
    last  = malloc(fi.n_devices * sizeof(uint64_t));
    if (below == NULL || kids == NULL || last == NULL) {
        free(below);
        free(kids);
        free(last);
        return cx_err_set(err, CX_ERR_NOMEM, NULL, 0, NULL, "out of memory");
    }
    for (d = 0; d < fi.n_devices; d++) last[d] = UINT64_MAX;
    for (g = 0; g < gpus; g++) {
        uint64_t dev = cx_topo_gpu_device(t, g);
        uint32_t p;
        cx_topo_gpu_info(t, dev, &gi);
        if (gi.server != prev_server) servers++;
        prev_server = gi.server;
        for (p = 0; p < (uint32_t)gi.n_nic_ports; p++) {
            cx_port_info_t pi;
            if (cx_topo_port(t, dev, (uint32_t)gi.nic_port + p, &pi) != CX_OK) continue;
            nic_ports++;
            nic_links++;
            below[pi.peer_device - fi.first_device]++;
            kids[pi.peer_device - fi.first_device]++;
            total++;
        }
    }
    /* Tier by tier: a switch's below-count flows to each distinct parent. */
    for (tier = 1; tier <= fi.tiers; tier++) {
        for (d = 0; d < fi.n_devices; d++) {
            uint64_t dev = fi.first_device + d, q;
            uint32_t p, np;
            int      used;
            if (cx_topo_device_kind(t, dev) != CX_DEV_SWITCH || cx_topo_device_tier(t, dev) != tier) continue;
            if (below[d] == 0) continue;
            used = below[d] < total || kids[d] >= 2;
            if (used) switches += 1.0;
            np = cx_topo_num_ports(t, dev);
            for (p = 0; p < np; p++) {
                if (!cx_cp_parent(t, &fi, dev, p, &q)) continue;
                if (last[q] != d) {
                    last[q] = d;
                    below[q] += below[d];
                    kids[q]++;
                }
            }
        }
        /* Links between used switches of this tier and the next are counted
         * from below once the parents' figures are known. */
        for (d = 0; d < fi.n_devices && tier < fi.tiers; d++) {
            uint64_t dev = fi.first_device + d, q;
            uint32_t p, np;
            if (cx_topo_device_kind(t, dev) != CX_DEV_SWITCH || cx_topo_device_tier(t, dev) != tier) continue;
            if (below[d] == 0 || !(below[d] < total || kids[d] >= 2)) continue;
            np = cx_topo_num_ports(t, dev);
            for (p = 0; p < np; p++) {
                if (!cx_cp_parent(t, &fi, dev, p, &q)) continue;
                /* The parent is used unless all the job is below one of its
                 * children, which this child then holds entirely. */
                if (below[q] < total || kids[q] >= 2) links += 1.0;
            }
        }
    }
    free(below);
    free(kids);
    free(last);

    memset(&c, 0, sizeof(c));
    c.gpus               = gpus;
    c.hbm_stacks_per_gpu = hbm_stacks_per_gpu > 0 ? hbm_stacks_per_gpu
                                                   : cx_campaign_hbm_stacks(cx_topo_gpu_type(t, gi.gpu_type));
    c.n[CX_FC_GPU]      = (double)gpus;
    c.n[CX_FC_HBM]      = (double)gpus * c.hbm_stacks_per_gpu;
    c.n[CX_FC_SOFTWARE] = (double)gpus;
    c.n[CX_FC_NIC]      = (double)nic_ports;
    c.n[CX_FC_HOST]     = (double)servers;
    c.n[CX_FC_SWITCH]   = switches;
    c.n[CX_FC_LINK]     = (double)nic_links + links;
    *c_p = c;
    return CX_OK;
}

/* ---- checkpoint intervals ------------------------------------------------- */

double cx_campaign_young(double ckpt_s, double mtbf_s)
{
    return sqrt(2.0 * ckpt_s * mtbf_s);
}

double cx_campaign_daly(double ckpt_s, double mtbf_s)
{
    double x;
    if (ckpt_s >= 2.0 * mtbf_s) return mtbf_s;
    x = sqrt(ckpt_s / (2.0 * mtbf_s));
    return sqrt(2.0 * ckpt_s * mtbf_s) * (1.0 + x / 3.0 + ckpt_s / (18.0 * mtbf_s)) - ckpt_s;
}

double cx_campaign_total_rate(const cx_campaign_params_t *p, const cx_campaign_counts_t *c)
{
    double s = 0.0;
    int    k;
    for (k = 0; k < CX_FC_N; k++) s += p->rate_per_hour[k] * c->n[k];
    return s;
}

/* ---- one seed --------------------------------------------------------------- */

typedef struct cx_sim {
    const cx_campaign_params_t *p;
    cx_rng_t  rng;
    double    end;                 /* campaign length, s */
    double    t;
    double    lam;                 /* unexpected interruptions per second */
    double    lam_planned;
    double    cum[CX_FC_N];        /* cumulative rate x count, for the cause */
    double    next_fail, next_planned;
    double    pend;                /* training since the last durable checkpoint */
    double    snap;                /* async: training the in-flight snapshot holds */
    double    durable_at;          /* async: when it is on storage (INFINITY = none) */
    double    since;               /* training since the last checkpoint began */
    cx_campaign_seed_t *o;
} cx_sim_t;

static void cx_sim_event(const cx_sim_t *s, int ev, int cls)
{
    if (s->p->on_event != NULL) s->p->on_event(s->p->event_ctx, s->t, ev, cls, s->o->kept_s, s->o->kept_s + s->pend);
}

static double cx_sim_draw(cx_sim_t *s, double rate)
{
    return rate > 0 ? cx_rng_exp(&s->rng, 1.0 / rate) : INFINITY;
}

/* Interruption at s->t: what was not durable is lost; then detection,
 * restart and reload, started over by any interruption during them. */
static void cx_sim_fail(cx_sim_t *s)
{
    const cx_campaign_params_t *p = s->p;
    double                      down_end;
    for (;;) {
        double u = cx_rng_uniform(&s->rng) * s->cum[CX_FC_N - 1];
        int    k = 0;
        while (k < CX_FC_N - 1 && u >= s->cum[k]) k++;
        s->o->by_class[k]++;
        s->o->interruptions += 1.0;
        cx_sim_event(s, CX_CAMPAIGN_EV_FAIL, k);
        s->o->lost_work_s += s->pend;
        s->pend       = 0;
        s->snap       = 0;
        s->durable_at = INFINITY;
        s->since      = 0;
        s->next_fail  = s->t + cx_sim_draw(s, s->lam);
        down_end      = s->t + p->detect_s + p->restart_s + p->reload_s;
        if (s->next_fail < down_end && s->next_fail < s->end) {
            s->o->downtime_s += s->next_fail - s->t;
            s->t = s->next_fail;
            continue;
        }
        if (down_end > s->end) down_end = s->end;
        s->o->downtime_s += down_end - s->t;
        s->t = down_end;
        cx_sim_event(s, CX_CAMPAIGN_EV_UP, -1);
        break;
    }
    /* Planned stops that fell due while the job was down are absorbed. */
    if (s->next_planned < s->t) s->next_planned = s->t + cx_sim_draw(s, s->lam_planned);
}

/* Stall the job from s->t for dt (checkpoint write or snapshot).  Returns 0
 * if an interruption or the end of the campaign came first (handled). */
static int cx_sim_stall(cx_sim_t *s, double dt)
{
    double until = s->t + dt;
    if (s->next_fail < until && s->next_fail < s->end) {
        s->o->ckpt_s += s->next_fail - s->t;
        s->t = s->next_fail;
        cx_sim_fail(s);
        return 0;
    }
    if (until >= s->end) {
        s->o->ckpt_s += s->end - s->t;
        s->t = s->end;
        return 0;
    }
    s->o->ckpt_s += dt;
    s->t = until;
    return 1;
}

/* A checkpoint is due (or a planned stop needs a durable one: durable = 1). */
static int cx_sim_checkpoint(cx_sim_t *s, int durable)
{
    const cx_campaign_params_t *p = s->p;
    if (p->mode == CX_CKPT_SYNC) {
        if (!cx_sim_stall(s, p->ckpt_stall_s)) return 0;
        s->o->kept_s += s->pend;
        s->pend  = 0;
        s->since = 0;
        cx_sim_event(s, CX_CAMPAIGN_EV_CKPT, -1);
        return 1;
    }
    /* Asynchronous: the previous snapshot must have drained first. */
    if (s->durable_at < INFINITY) {
        if (!cx_sim_stall(s, s->durable_at - s->t)) return 0;
        s->o->kept_s += s->snap;
        s->pend -= s->snap;
        s->snap       = 0;
        s->durable_at = INFINITY;
        cx_sim_event(s, CX_CAMPAIGN_EV_CKPT, -1);
    }
    if (!cx_sim_stall(s, p->ckpt_stall_s)) return 0;
    s->snap       = s->pend;
    s->durable_at = s->t + p->ckpt_drain_s;
    s->since      = 0;
    if (durable) {
        if (!cx_sim_stall(s, p->ckpt_drain_s)) return 0;
        s->o->kept_s += s->snap;
        s->pend -= s->snap;
        s->snap       = 0;
        s->durable_at = INFINITY;
        cx_sim_event(s, CX_CAMPAIGN_EV_CKPT, -1);
    }
    return 1;
}

/* Whole checkpoint cycles that end before the next interruption, planned
 * stop or the end of the campaign, taken at once (what the loop below
 * would do one by one: nothing is drawn in them).  Right after a
 * checkpoint: sync, a cycle is the interval then the write; async, the
 * interval (and the wait for the previous snapshot to drain, if longer)
 * then the snapshot. */
static void cx_sim_skip(cx_sim_t *s)
{
    const cx_campaign_params_t *p = s->p;
    double                      horizon = s->end, cyc, k, wait;
    if (p->on_event != NULL || s->since != 0.0) return;
    if (s->next_fail < horizon) horizon = s->next_fail;
    if (s->next_planned < horizon) horizon = s->next_planned;
    /* Async: a snapshot due before the previous one drained waits for it. */
    wait = p->mode == CX_CKPT_ASYNC && p->ckpt_drain_s > p->interval_s ? p->ckpt_drain_s - p->interval_s : 0.0;
    cyc  = p->interval_s + wait + p->ckpt_stall_s;
    k    = floor((horizon - s->t) / cyc) - 1.0;
    if (k < 1.0) return;
    if (p->mode == CX_CKPT_SYNC) {
        if (s->pend != 0.0) return;
        s->o->kept_s += k * p->interval_s;
    } else {
        if (s->durable_at != s->t + p->ckpt_drain_s || s->pend != s->snap) return;
        s->o->kept_s += s->snap + (k - 1.0) * p->interval_s;
        s->snap = p->interval_s;
        s->pend = p->interval_s;
    }
    s->o->ckpt_s += k * (wait + p->ckpt_stall_s);
    s->t += k * cyc;
    if (p->mode == CX_CKPT_ASYNC) s->durable_at = s->t + p->ckpt_drain_s;
}

void cx_campaign_one(const cx_campaign_params_t *p, const cx_campaign_counts_t *c, uint64_t index,
                     cx_campaign_seed_t *out)
{
    cx_sim_t s;
    double   acc = 0.0, healthy;
    int      k;

    memset(out, 0, sizeof(*out));
    memset(&s, 0, sizeof(s));
    s.p = p;
    s.o = out;
    cx_rng_init(&s.rng, p->seed, index);
    for (k = 0; k < CX_FC_N; k++) {
        acc += p->rate_per_hour[k] * c->n[k] / 3600.0;
        s.cum[k] = acc;
    }
    s.lam          = acc;
    s.lam_planned  = p->planned_per_day / 86400.0;
    s.end          = p->days * 86400.0;
    s.durable_at   = INFINITY;
    s.next_fail    = cx_sim_draw(&s, s.lam);
    s.next_planned = cx_sim_draw(&s, s.lam_planned);

    while (s.t < s.end) {
        double due, ev;
        cx_sim_skip(&s);
        due = s.t + (p->interval_s - s.since);
        ev  = due;
        if (s.next_fail < ev) ev = s.next_fail;
        if (s.next_planned < ev) ev = s.next_planned;
        if (s.durable_at < ev) ev = s.durable_at;
        if (s.end < ev) ev = s.end;
        s.pend += ev - s.t;
        s.since += ev - s.t;
        s.t = ev;
        if (s.t >= s.end) break;
        if (ev == s.next_fail) {
            cx_sim_fail(&s);
        } else if (ev == s.durable_at) {
            out->kept_s += s.snap;
            s.pend -= s.snap;
            s.snap       = 0;
            s.durable_at = INFINITY;
            cx_sim_event(&s, CX_CAMPAIGN_EV_CKPT, -1);
        } else if (ev == s.next_planned) {
            /* Planned: make a checkpoint durable, stop, restart, reload. */
            if (cx_sim_checkpoint(&s, 1)) {
                double dt = p->restart_s + p->reload_s;
                out->planned += 1.0;
                cx_sim_event(&s, CX_CAMPAIGN_EV_PLANNED, -1);
                s.next_planned = s.t + cx_sim_draw(&s, s.lam_planned);
                if (s.next_fail < s.t + dt && s.next_fail < s.end) {
                    out->downtime_s += s.next_fail - s.t;
                    s.t = s.next_fail;
                    cx_sim_fail(&s);
                } else {
                    if (s.t + dt > s.end) dt = s.end - s.t;
                    out->downtime_s += dt;
                    s.t += dt;
                    cx_sim_event(&s, CX_CAMPAIGN_EV_UP, -1);
                }
            } else if (s.next_planned <= s.t) {
                s.next_planned = s.t + cx_sim_draw(&s, s.lam_planned);
            }
        } else {
            cx_sim_checkpoint(&s, 0);
        }
    }
    /* The campaign ends with a final checkpoint: what was trained is kept. */
    out->kept_s += s.pend;
    s.pend = 0;
    cx_sim_event(&s, CX_CAMPAIGN_EV_END, -1);
    healthy = p->healthy_iteration_s > 0 ? p->healthy_iteration_s : p->iteration_s;
    out->ettr    = out->kept_s / s.end;
    out->goodput = out->ettr * (p->iteration_s > 0 ? healthy / p->iteration_s : 1.0);
}

/* ---- all seeds ------------------------------------------------------------------ */

static int cx_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y ? 1 : 0;
}

static void cx_stat_of(double *v, uint64_t n, cx_stat_t *st)
{
    double   sum = 0, sq = 0;
    uint64_t i;
    memset(st, 0, sizeof(*st));
    if (n == 0) return;
    for (i = 0; i < n; i++) sum += v[i];
    st->mean = sum / (double)n;
    for (i = 0; i < n; i++) sq += (v[i] - st->mean) * (v[i] - st->mean);
    st->sd = n > 1 ? sqrt(sq / (double)(n - 1)) : 0.0;
    qsort(v, n, sizeof(double), cx_cmp_double);
    st->p5  = v[(uint64_t)floor(0.05 * (double)(n - 1) + 0.5)];
    st->p50 = v[(uint64_t)floor(0.50 * (double)(n - 1) + 0.5)];
    st->p95 = v[(uint64_t)floor(0.95 * (double)(n - 1) + 0.5)];
}

static cx_status_t cx_campaign_check(const cx_campaign_params_t *p, cx_err_t *err)
{
    int k;
    for (k = 0; k < CX_FC_N; k++) {
        if (!(p->rate_per_hour[k] >= 0) || !isfinite(p->rate_per_hour[k])) {
            return cx_err_set(err, CX_ERR_RANGE, NULL, 0, cx_fclass_name(k),
                              "rate must be a finite number >= 0 per component per hour");
        }
    }
#define CX_CHECK_NONNEG(_f, _name)                                                                     \
    if (!(p->_f >= 0) || !isfinite(p->_f))                                                             \
        return cx_err_set(err, CX_ERR_RANGE, NULL, 0, _name, "must be a finite number >= 0");
    CX_CHECK_NONNEG(planned_per_day, "planned-per-day")
    CX_CHECK_NONNEG(ckpt_stall_s, "checkpoint stall")
    CX_CHECK_NONNEG(ckpt_drain_s, "checkpoint drain")
    CX_CHECK_NONNEG(detect_s, "detect")
    CX_CHECK_NONNEG(restart_s, "restart")
    CX_CHECK_NONNEG(reload_s, "reload")
    CX_CHECK_NONNEG(healthy_iteration_s, "healthy iteration time")
#undef CX_CHECK_NONNEG
    if (!(p->days > 0) || !isfinite(p->days) || p->days > 3650)
        return cx_err_set(err, CX_ERR_RANGE, NULL, 0, "days", "must be in (0, 3650]");
    if (!(p->interval_s > 0) || !isfinite(p->interval_s))
        return cx_err_set(err, CX_ERR_RANGE, NULL, 0, "interval", "must be > 0");
    if (p->interval_s < 1e-3 * p->days * 86400.0 / 1e6)
        return cx_err_set(err, CX_ERR_RANGE, NULL, 0, "interval", "%g s is too short for a %g-day campaign",
                          p->interval_s, p->days);
    if (p->seeds == 0 || p->seeds > 1000000ULL)
        return cx_err_set(err, CX_ERR_RANGE, NULL, 0, "seeds", "must be in [1, 1e6]");
    return CX_OK;
}

cx_status_t cx_campaign_run(const cx_campaign_params_t *p, const cx_campaign_counts_t *c,
                            cx_campaign_result_t *r, cx_err_t *err)
{
    /* Each interruption is a loop turn: a campaign of more than a million
     * is a rate typed wrong, and would not finish. */
    {
        double per_seed = (cx_campaign_total_rate(p, c) / 3600.0 + p->planned_per_day / 86400.0) * p->days * 86400.0;
        if (per_seed > 1e6) {
            return cx_err_set(err, CX_ERR_RANGE, NULL, 0, "rate",
                              "%.3g interruptions per campaign (rates x component counts x %g days): at most 1e6",
                              per_seed, p->days);
        }
    }
    double     *v[8];
    double      cls[CX_FC_N];
    uint64_t    i;
    int         k;
    double      gpuh = (double)c->gpus / 3600.0, days = p->days;
    cx_status_t st   = cx_campaign_check(p, err);
    if (st != CX_OK) return st;
    for (k = 0; k < 8; k++) v[k] = malloc(p->seeds * sizeof(double));
    for (k = 0; k < 8; k++) {
        if (v[k] == NULL) {
            for (k = 0; k < 8; k++) free(v[k]);
            return cx_err_set(err, CX_ERR_NOMEM, NULL, 0, "seeds", "out of memory");
        }
    }
    memset(r, 0, sizeof(*r));
    memset(cls, 0, sizeof(cls));
    for (i = 0; i < p->seeds; i++) {
        cx_campaign_seed_t   o;
        cx_campaign_params_t q    = *p;
        double               wall = days * 86400.0;
        q.on_event = NULL;
        cx_campaign_one(&q, c, i, &o);
        v[0][i] = o.ettr;
        v[1][i] = o.goodput;
        v[2][i] = o.interruptions / days;
        v[3][i] = o.planned / days;
        v[4][i] = (wall - o.kept_s) * gpuh;
        v[5][i] = o.lost_work_s * gpuh;
        v[6][i] = o.downtime_s * gpuh;
        v[7][i] = o.ckpt_s * gpuh;
        for (k = 0; k < CX_FC_N; k++) cls[k] += (double)o.by_class[k];
    }
    cx_stat_of(v[0], p->seeds, &r->ettr);
    cx_stat_of(v[1], p->seeds, &r->goodput);
    cx_stat_of(v[2], p->seeds, &r->interruptions_per_day);
    cx_stat_of(v[3], p->seeds, &r->planned_per_day);
    cx_stat_of(v[4], p->seeds, &r->lost_gpu_hours);
    cx_stat_of(v[5], p->seeds, &r->lost_work_gpu_hours);
    cx_stat_of(v[6], p->seeds, &r->downtime_gpu_hours);
    cx_stat_of(v[7], p->seeds, &r->ckpt_gpu_hours);
    for (k = 0; k < CX_FC_N; k++) r->by_class_per_day[k] = cls[k] / ((double)p->seeds * days);
    r->rate_per_hour = cx_campaign_total_rate(p, c);
    r->mtbf_s        = r->rate_per_hour > 0 ? 3600.0 / r->rate_per_hour : INFINITY;
    for (k = 0; k < 8; k++) free(v[k]);
    return CX_OK;
}
