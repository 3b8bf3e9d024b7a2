/*
 * The chunk-level timing engine (see cx_net.h for the model).
 *
 * Hot path: cx_net_transmit (one per chunk per hop).  It reads only the
 * cached port figures, does integer time arithmetic and schedules one event.
 * Route choices that need state (adaptive, spray) use only the transmitting
 * device's own ports, so they are deterministic and rank-count-invariant.
 */
#include "cx_net.h"
#include "cx_net_faults.h"

#include "cx_mem.h"
#include "cx_schema.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* NVLS reductions in progress on one NVSwitch: per member, chunks arrived. */
/* NVLS slots per NVSwitch: every group of >= 3 GPUs of its domain may have
 * a reduction in flight and a fast member may open the next one, so twice
 * the groups that fit, and at least 8 (an 8-GPU HGX board: 8; NVL72: 48).
 * Sized at set-up for the largest local domain: no run can run out. */
#define CX_NVLS_SLOTS_MIN 8u
static uint32_t cx_nvls_slots_for(uint32_t domain_gpus)
{
    uint32_t n = 2u * (domain_gpus / 3u);
    return n > CX_NVLS_SLOTS_MIN ? n : CX_NVLS_SLOTS_MIN;
}
#define CX_NVLS_MEMBERS 72
typedef struct cx_nvls_slot {
    uint64_t tag;
    uint64_t group;                      /* packed (base, stride, size): groups of one
                                          * collective share a tag, and several may
                                          * share an NVSwitch */
    uint32_t cookie;
    uint32_t used;
    uint32_t sent;                       /* chunks multicast so far */
    uint32_t count[CX_NVLS_MEMBERS];     /* chunks arrived per member */
} cx_nvls_slot_t;

/* A switch's round-robin cursor of one flow. */
struct cx_net_rr {
    uint64_t  flow;
    cx_time_t last;   /* last use; 0 = free */
    uint32_t  next;
    uint32_t  pad;
};

struct cx_net {
    cx_engine_t      *eng;
    const cx_topo_t  *topo;
    cx_net_config_t   cfg;
    uint64_t          count;     /* local devices (in id order: cx_engine_local_id) */
    cx_net_dev_t     *devs;
    cx_net_port_t    *ports;     /* all local ports, devs[i].ports points inside */
    cx_nvls_slot_t   *nvls;      /* nvls_slots per local NVSwitch */
    uint32_t          nvls_slots;
    struct cx_net_rr *rr;        /* CX_NET_RR_SLOTS per local Ethernet switch */
    cx_net_recv_fn    on_recv;
    cx_net_txdone_fn  on_txdone;
    cx_net_faults_t  *faults;    /* injected faults, NULL = none */
    cx_time_t         bin_ps;    /* link binning width, 0 = off */
    cx_net_bin_fn     bin_fn;
    void             *bin_ctx;
    cx_net_hop_fn     hop_fn;    /* debug: every chunk hop */
    void             *hop_ctx;
};

static void cx_net_handle_switch_chunk(cx_engine_t *eng, cx_entity_t *self, const cx_event_t *ev);

static const cx_handler_fn    cx_net_switch_handlers[] = {cx_net_handle_switch_chunk};
static const cx_entity_type_t cx_net_switch_type = {"switch", cx_net_switch_handlers, 1};

const char *cx_routing_name(cx_routing_t r)
{
    static const char *names[] = {"ecmp", "adaptive", "spray"};
    return (unsigned)r < 3 ? names[r] : "?";
}

void cx_net_config_defaults(cx_net_config_t *cfg)
{
    cfg->chunk_bytes        = CX_NET_DEFAULT_CHUNK_BYTES;
    cfg->nvlink_chunk_bytes = 0;
    cfg->nvls_chunk_bytes   = UINT64_C(16) << 20;
    cfg->routing            = CX_ROUTE_ADAPTIVE;
    /* Sweep on colossus1-mini, permutation of 256 MiB flows, 1,024 GPUs,
     * 1 MiB chunks: throughput 0.87 / 0.95 / 0.95 / 0.94 for a slack of
     * 1 / 2 / 4 / 8 MiB. */
    cfg->adaptive_slack_bytes = CX_NET_DEFAULT_ADAPTIVE_SLACK_BYTES;
}

const cx_topo_t *cx_net_topo(const cx_net_t *net) { return net->topo; }
const cx_net_config_t *cx_net_get_config(const cx_net_t *net) { return &net->cfg; }
uint64_t cx_net_local_count(const cx_net_t *net) { return net->count; }
cx_net_dev_t *cx_net_local_dev_at(cx_net_t *net, uint64_t i) { return &net->devs[i]; }

cx_net_dev_t *cx_net_local_dev(cx_net_t *net, uint64_t dev)
{
    uint64_t i = cx_engine_local_index(net->eng, dev);
    return i != UINT64_MAX ? &net->devs[i] : NULL;
}

/* Where a GPU's NVLink domain lies, so that routes inside it need no topo
 * query on the hot path (cx_net_inject, cx_net_transmit_nvlink). */
static void cx_net_cache_domain(const cx_topo_t *topo, cx_net_dev_t *d)
{
    uint32_t p;
    d->nvl_port = -1;
    if (d->kind == CX_DEV_GPU) {
        cx_gpu_info_t    gi;
        cx_fabric_info_t fi;
        cx_topo_gpu_info(topo, d->dev, &gi);
        if (gi.nvlink_port < 0 || cx_topo_fabric_info(topo, gi.fabric, &fi) != CX_OK) return;
        d->nvl_port  = gi.nvlink_port;
        d->dom_first = d->dev - (uint64_t)gi.domain_local;
        d->dom_n     = (uint32_t)fi.domain_gpus;
    } else if (d->kind == CX_DEV_NVSWITCH && d->n_ports > 0) {
        for (p = 0; p < d->n_ports; p++) {
            if (d->ports[p].peer_dev != d->ports[0].peer_dev + p) return;
        }
        d->dom_first = d->ports[0].peer_dev;
        d->dom_n     = d->n_ports;
    }
}

cx_status_t cx_net_create(cx_net_t **net_p, cx_engine_t *eng, const cx_topo_t *topo,
                          const cx_net_config_t *cfg, const cx_entity_type_t *gpu_type,
                          cx_net_recv_fn on_recv, cx_net_txdone_fn on_txdone, cx_err_t *err)
{
    cx_net_t *net;
    uint64_t  i, n_ports = 0, pi = 0, n_nvs = 0, ni = 0, n_sw = 0, si = 0;

    if (cfg->chunk_bytes == 0 || cfg->chunk_bytes > UINT32_MAX ||
        cfg->nvlink_chunk_bytes > UINT32_MAX || cfg->nvls_chunk_bytes == 0 ||
        cfg->nvls_chunk_bytes > UINT32_MAX) {
        return cx_err_set(err, CX_ERR_RANGE, NULL, 0, "chunk-bytes",
                          "chunk sizes must be in [1 B, 4 GiB) (NVLink: 0 = whole message)");
    }
    if (gpu_type == NULL || gpu_type->n_handlers < CX_NET_N_KINDS ||
        gpu_type->handlers[CX_NET_EV_CHUNK] != cx_net_handle_chunk ||
        gpu_type->handlers[CX_NET_EV_TX_DONE] != cx_net_handle_txdone) {
        return cx_err_set(err, CX_ERR_INTERNAL, NULL, 0, NULL,
                          "GPU entity type must start with net's handlers");
    }
    net = calloc(1, sizeof(*net));
    if (net == NULL) return cx_err_set(err, CX_ERR_NOMEM, NULL, 0, NULL, "out of memory");
    net->eng       = eng;
    net->topo      = topo;
    net->cfg       = *cfg;
    if (net->cfg.nvlink_chunk_bytes == 0) net->cfg.nvlink_chunk_bytes = UINT32_MAX;
    net->count     = cx_engine_local_count(eng);
    net->on_recv   = on_recv;
    net->on_txdone = on_txdone;

    for (i = 0; i < net->count; i++) {
        uint64_t dev = cx_engine_local_id(eng, i);
        n_ports += cx_topo_num_ports(topo, dev);
        if (cx_topo_device_kind(topo, dev) == CX_DEV_NVSWITCH) n_nvs++;
        if (cx_topo_device_kind(topo, dev) == CX_DEV_SWITCH) n_sw++;
    }
    net->devs  = calloc(net->count > 0 ? net->count : 1, sizeof(*net->devs));
    net->ports = calloc(n_ports > 0 ? n_ports : 1, sizeof(*net->ports));
    cx_mem_advise_huge(net->devs, (net->count > 0 ? net->count : 1) * sizeof(*net->devs));
    cx_mem_advise_huge(net->ports, (n_ports > 0 ? n_ports : 1) * sizeof(*net->ports));
    net->nvls_slots = CX_NVLS_SLOTS_MIN;
    for (i = 0; i < net->count; i++) {
        if (cx_topo_device_kind(topo, cx_engine_local_id(eng, i)) == CX_DEV_NVSWITCH) {
            uint32_t k = cx_nvls_slots_for(cx_topo_num_ports(topo, cx_engine_local_id(eng, i)));
            if (k > net->nvls_slots) net->nvls_slots = k;
        }
    }
    net->nvls  = calloc((n_nvs > 0 ? n_nvs : 1) * net->nvls_slots, sizeof(*net->nvls));
    net->rr    = calloc((n_sw > 0 ? n_sw : 1) * CX_NET_RR_SLOTS, sizeof(*net->rr));
    if (net->devs == NULL || net->ports == NULL || net->nvls == NULL || net->rr == NULL) {
        cx_net_destroy(net);
        return cx_err_set(err, CX_ERR_NOMEM, NULL, 0, NULL, "out of memory for %llu ports",
                          (unsigned long long)n_ports);
    }
    for (i = 0; i < net->count; i++) {
        cx_net_dev_t *d = &net->devs[i];
        uint32_t      p;
        d->net     = net;
        d->dev     = cx_engine_local_id(eng, i);
        d->n_ports = cx_topo_num_ports(topo, d->dev);
        d->ports   = &net->ports[pi];
        d->kind    = (uint16_t)cx_topo_device_kind(topo, d->dev);
        d->tier    = (uint16_t)cx_topo_device_tier(topo, d->dev);
        pi += d->n_ports;
        if (d->kind == CX_DEV_NVSWITCH) d->nvls = &net->nvls[(uint64_t)net->nvls_slots * ni++];
        if (d->kind == CX_DEV_SWITCH) d->rr_slots = &net->rr[CX_NET_RR_SLOTS * si++];
        for (p = 0; p < d->n_ports; p++) {
            cx_port_info_t info;
            cx_net_port_t *np = &d->ports[p];
            if (cx_topo_port(topo, d->dev, p, &info) != CX_OK || info.bandwidth <= 0) {
                cx_net_destroy(net);
                return cx_err_set(err, CX_ERR_INTERNAL, NULL, 0, NULL,
                                  "device %llu port %u has no valid link",
                                  (unsigned long long)d->dev, p);
            }
            np->peer_dev    = info.peer_device;
            np->peer_port   = info.peer_port;
            np->role        = (uint16_t)info.role;
            np->ps_per_byte = 1e12 / info.bandwidth;
            np->latency     = info.latency_ps;
        }
        cx_net_cache_domain(topo, d);
        cx_engine_set_entity(eng, d->dev, d->kind == CX_DEV_GPU ? gpu_type : &cx_net_switch_type, d);
    }
    *net_p = net;
    return CX_OK;
}

void cx_net_destroy(cx_net_t *net)
{
    if (net == NULL) return;
    free(net->rr);
    cx_net_faults_destroy(net->faults);
    free(net->nvls);
    free(net->ports);
    free(net->devs);
    free(net);
}

/* Link binning: the chunk occupies the port over [start, end); its bytes go
 * to the bins it overlaps, in proportion.  Bins only move forward on a port
 * (each chunk starts after the previous one ended), so one open bin per port
 * suffices; a bin is handed over when the port moves past it. */
static void cx_net_bin_add(cx_net_dev_t *d, uint32_t port, int64_t b, uint64_t bytes)
{
    cx_net_port_t *p = &d->ports[port];
    if (b != p->bin) {
        if (p->bin >= 0 && p->bin_bytes > 0) d->net->bin_fn(d->net->bin_ctx, d, port, p->bin, p->bin_bytes);
        p->bin       = b;
        p->bin_bytes = 0;
    }
    p->bin_bytes += bytes;
}

static void cx_net_bin_chunk(cx_net_dev_t *d, uint32_t port, cx_time_t start, cx_time_t end, uint64_t bytes)
{
    cx_time_t w = d->net->bin_ps;
    int64_t   b, b_end;
    uint64_t  left = bytes;
    if (start < 0) start = 0;
    if (end <= start) {
        cx_net_bin_add(d, port, end / w, bytes);
        return;
    }
    b     = start / w;
    b_end = (end - 1) / w;
    for (; b < b_end; b++) {
        cx_time_t lo   = b * w > start ? b * w : start;
        uint64_t  part = (uint64_t)((double)bytes * (double)((b + 1) * w - lo) / (double)(end - start));
        if (part > left) part = left;
        cx_net_bin_add(d, port, b, part);
        left -= part;
    }
    cx_net_bin_add(d, port, b_end, left);
}

/* Put a chunk on port `port` of device d whose tail arrived now (ser_in =
 * its serialization on the incoming link; 0 at injection).  Returns the tail
 * departure time. */
/* Queue a chunk whose tail reached d at `now` on port `port`: the port's
 * FIFO state, link bins and hop hook.  Returns the tail departure; *ser_p
 * = its serialization on the port. */
static cx_time_t cx_net_book(cx_net_dev_t *d, uint32_t port, const cx_net_chunk_t *c, cx_time_t now,
                             cx_time_t *ser_p)
{
    cx_net_port_t *p   = &d->ports[port];
    cx_time_t      ser = (cx_time_t)llround((double)c->bytes * p->ps_per_byte);
    cx_time_t      dep = now;

    if (p->fault) ser = cx_net_faults_ser(d->net->faults, d->dev, port, ser, now);
    if (now - c->ser_in_ps + ser > dep) dep = now - c->ser_in_ps + ser;
    if (p->busy_until + ser > dep) dep = p->busy_until + ser;
    p->busy_until = dep;
    p->bytes_tx += c->bytes;
    p->chunks_tx++;
    if (d->net->bin_ps > 0) cx_net_bin_chunk(d, port, dep - ser, dep, c->bytes);
    if (d->net->hop_fn != NULL) d->net->hop_fn(d->net->hop_ctx, d, port, c, dep - ser, dep, dep + p->latency);
    *ser_p = ser;
    return dep;
}

/* The chunk as it reaches the peer of port p after serialization ser. */
static void cx_net_hop(cx_net_chunk_t *out, const cx_net_chunk_t *c, const cx_net_port_t *p, cx_time_t ser)
{
    *out           = *c;
    out->ser_in_ps = ser;
    out->in_port   = p->peer_port;
    out->hops      = (uint16_t)(c->hops + 1);
}

static cx_time_t cx_net_transmit_at(cx_engine_t *eng, cx_entity_t *self, cx_net_dev_t *d,
                                    uint32_t port, const cx_net_chunk_t *c, cx_time_t now)
{
    cx_net_port_t *p = &d->ports[port];
    cx_time_t      ser;
    cx_time_t      dep = cx_net_book(d, port, c, now, &ser);
    cx_event_t    *ev  = cx_event_new(eng, self, p->peer_dev, dep + p->latency, CX_NET_EV_CHUNK, 0);
    cx_net_hop(CX_EVENT_DATA(ev, cx_net_chunk_t), c, p, ser);
    cx_event_send(eng, ev);
    return dep;
}

/* A GPU-to-GPU chunk inside an NVLink domain sent with CX_NET_SEND_SOLE:
 * the NVSwitch is a non-blocking crossbar on the GPU's own rank, so its
 * out port is booked now for the time the chunk will reach it, and the
 * chunk travels to the peer GPU as one event instead of two.  Exact when
 * the peer receives from this GPU only (a ring's neighbour); were other
 * GPUs sending to it at once, its NVSwitch port would serve them in the
 * order they were sent rather than the order they arrive.  Returns the
 * tail departure from the GPU; a plain hop when the switch is not local. */
static cx_time_t cx_net_transmit_nvlink(cx_engine_t *eng, cx_entity_t *self, cx_net_dev_t *d,
                                        uint32_t port, const cx_net_chunk_t *c, cx_time_t now)
{
    cx_net_port_t  *p  = &d->ports[port];
    cx_net_dev_t   *sw = cx_net_local_dev(d->net, p->peer_dev);
    cx_net_chunk_t  at_sw;
    cx_time_t       ser, dep;
    uint32_t        ports[CX_TOPO_MAX_ROUTE], n = 0;

    if (sw != NULL && sw->kind == CX_DEV_NVSWITCH && c->dst_dev - sw->dom_first < sw->dom_n) {
        ports[0] = (uint32_t)(c->dst_dev - sw->dom_first);
    } else if (sw == NULL || sw->kind != CX_DEV_NVSWITCH ||
               cx_topo_route(d->net->topo, sw->dev, (int)p->peer_port, c->dst_dev, ports, &n) != CX_OK ||
               n != 1) {
        return cx_net_transmit_at(eng, self, d, port, c, now);
    }
    dep = cx_net_book(d, port, c, now, &ser);
    cx_net_hop(&at_sw, c, p, ser);
    cx_net_transmit_at(eng, cx_engine_entity(eng, sw->dev), sw, ports[0], &at_sw, dep + p->latency);
    return dep;
}

static cx_time_t cx_net_transmit(cx_engine_t *eng, cx_entity_t *self, cx_net_dev_t *d, uint32_t port,
                                 const cx_net_chunk_t *c)
{
    return cx_net_transmit_at(eng, self, d, port, c, cx_engine_now(eng));
}

/* The flow's next round-robin position at this device (see cx_net.h). */
static uint32_t cx_net_rr_next(cx_net_dev_t *d, const cx_net_chunk_t *c, cx_time_t now)
{
    uint64_t          h = cx_mix64(c->flow ^ (d->dev * 0x9E3779B97F4A7C15ULL));
    struct cx_net_rr *r = NULL, *victim = NULL;
    uint32_t          i, base;
    if (d->rr_slots == NULL) return (uint32_t)(h + c->index);  /* GPU NICs: per-message order */
    base = (uint32_t)((h >> 32) % CX_NET_RR_SLOTS);
    for (i = 0; i < CX_NET_RR_PROBE; i++) {
        struct cx_net_rr *e = &d->rr_slots[(base + i) % CX_NET_RR_SLOTS];
        if (e->last != 0 && e->flow == c->flow) {
            r = e;
            break;
        }
        if (victim == NULL || e->last < victim->last) victim = e;
    }
    if (r == NULL) {
        r       = victim;
        r->flow = c->flow;
        r->next = (uint32_t)h;
    }
    r->last = now + 1;
    return r->next++;
}

/* Adaptive: the earliest free port; among those within adaptive_slack_bytes
 * of serialization of it, the first in the flow's round-robin order. */
static uint32_t cx_net_pick_adaptive(cx_net_dev_t *d, const uint32_t *ports, uint32_t n, const cx_net_chunk_t *c,
                                     cx_time_t now)
{
    uint32_t  i, start, best;
    cx_time_t best_t = d->ports[ports[0]].busy_until, slack;
    for (i = 1; i < n; i++) {
        if (d->ports[ports[i]].busy_until < best_t) best_t = d->ports[ports[i]].busy_until;
    }
    slack = (cx_time_t)((double)d->net->cfg.adaptive_slack_bytes * d->ports[ports[0]].ps_per_byte);
    start = cx_net_rr_next(d, c, now) % n;
    best  = ports[start];
    for (i = 0; i < n; i++) {
        uint32_t q = ports[(start + i) % n];
        if (d->ports[q].busy_until <= best_t + slack) {
            best = q;
            break;
        }
    }
    return best;
}

/* Pick one of n equal-cost ports (no default: a new routing mode must be
 * handled here, -Wswitch says where). */
static uint32_t cx_net_pick(cx_net_dev_t *d, const uint32_t *ports, uint32_t n, const cx_net_chunk_t *c,
                            cx_time_t now)
{
    if (n == 1) return ports[0];
    switch (d->net->cfg.routing) {
    case CX_ROUTE_ECMP:
        return ports[cx_mix64(c->flow ^ (d->dev * 0x9E3779B97F4A7C15ULL)) % n];
    case CX_ROUTE_SPRAY:
        return ports[cx_net_rr_next(d, c, now) % n];
    case CX_ROUTE_ADAPTIVE:
        return cx_net_pick_adaptive(d, ports, n, c, now);
    }
    cx_fatal("routing mode %d unknown", (int)d->net->cfg.routing);
    return ports[0];
}

static void cx_net_forward(cx_engine_t *eng, cx_entity_t *self, cx_net_dev_t *d, const cx_net_chunk_t *c)
{
    uint32_t ports[CX_TOPO_MAX_ROUTE];
    uint32_t n = 0;
    if (cx_topo_route(d->net->topo, d->dev, (int)c->in_port, c->dst_dev, ports, &n) != CX_OK || n == 0) {
        cx_fatal("no route from device %llu to GPU device %llu", (unsigned long long)d->dev,
                 (unsigned long long)c->dst_dev);
    }
    if (d->net->faults != NULL) n = cx_net_faults_filter(d->net->faults, d, c->dst_dev, ports, n, cx_engine_now(eng));
    cx_net_transmit(eng, self, d, cx_net_pick(d, ports, n, c, cx_engine_now(eng)), c);
}

/* An NVLS contribution reached the NVSwitch: count it; multicast every chunk
 * that now has all members' contributions. */
static void cx_net_nvls_arrive(cx_engine_t *eng, cx_entity_t *self, cx_net_dev_t *d, const cx_net_chunk_t *c)
{
    const cx_topo_t *topo   = d->net->topo;
    uint64_t         base   = c->flow >> 24;
    uint32_t         stride = (uint32_t)((c->flow >> 12) & 0xFFFu);
    uint32_t         size   = (uint32_t)(c->flow & 0xFFFu);
    uint64_t         csize  = d->net->cfg.nvls_chunk_bytes;
    uint32_t         n_chunks = (uint32_t)((c->msg_bytes + csize - 1) / csize);
    cx_nvls_slot_t  *slot = NULL, *free_slot = NULL;
    cx_gpu_info_t    gi;
    uint32_t         m, i, lo;

    if (d->nvls == NULL || size == 0 || size > CX_NVLS_MEMBERS) {
        cx_fatal("NVLS reduction of %u members at device %llu is not possible", size,
                 (unsigned long long)d->dev);
    }
    if (c->flags & CX_NET_FLAG_NVLS_MC) {
        /* All-gather: nothing to wait for; multicast this chunk now. */
        cx_net_chunk_t out = *c;
        out.flags = 0;
        out.flow  = 0;
        for (i = 0; i < size; i++) {
            uint32_t ports[CX_TOPO_MAX_ROUTE], n = 0;
            out.dst_dev = cx_topo_gpu_device(topo, base + (uint64_t)i * stride);
            if (cx_topo_route(topo, d->dev, -1, out.dst_dev, ports, &n) != CX_OK || n == 0) {
                cx_fatal("NVSwitch %llu has no port to GPU device %llu", (unsigned long long)d->dev,
                         (unsigned long long)out.dst_dev);
            }
            cx_net_transmit(eng, self, d, ports[0], &out);
        }
        return;
    }
    for (i = 0; i < d->net->nvls_slots; i++) {
        cx_nvls_slot_t *s = &d->nvls[i];
        if (s->used && s->tag == c->tag && s->cookie == c->cookie && s->group == c->flow) slot = s;
        else if (!s->used && free_slot == NULL) free_slot = s;
    }
    if (slot == NULL) {
        if (free_slot == NULL) cx_fatal("NVSwitch %llu: more than %u NVLS reductions at once (internal: "
                                        "slots are sized for twice the groups its domain holds)",
                                        (unsigned long long)d->dev, d->net->nvls_slots);
        slot = free_slot;
        memset(slot, 0, sizeof(*slot));
        slot->used   = 1;
        slot->tag    = c->tag;
        slot->group  = c->flow;
        slot->cookie = c->cookie;
    }
    cx_topo_gpu_info(topo, c->src_dev, &gi);
    m = (uint32_t)((gi.gpu_index - base) / (stride > 0 ? stride : 1));
    if (m >= size) cx_fatal("NVLS contribution from GPU %llu outside its group", (unsigned long long)gi.gpu_index);
    slot->count[m]++;
    lo = slot->count[0];
    for (i = 1; i < size; i++) if (slot->count[i] < lo) lo = slot->count[i];
    while (slot->sent < lo) {
        cx_net_chunk_t out = *c;
        uint64_t       off = (uint64_t)slot->sent * csize;
        out.flags = 0;
        out.flow  = 0;
        out.bytes = (uint32_t)(c->msg_bytes - off < csize ? c->msg_bytes - off : csize);
        out.index = slot->sent;
        for (i = 0; i < size; i++) {
            uint32_t ports[CX_TOPO_MAX_ROUTE], n = 0;
            /* Reduce-scatter: only the chunk's owner gets it. */
            if ((c->flags & CX_NET_FLAG_NVLS_RS) && i != cx_net_nvls_owner(slot->sent, n_chunks, size)) continue;
            out.dst_dev = cx_topo_gpu_device(topo, base + (uint64_t)i * stride);
            if (cx_topo_route(topo, d->dev, -1, out.dst_dev, ports, &n) != CX_OK || n == 0) {
                cx_fatal("NVSwitch %llu has no port to GPU device %llu", (unsigned long long)d->dev,
                         (unsigned long long)out.dst_dev);
            }
            cx_net_transmit(eng, self, d, ports[0], &out);
        }
        slot->sent++;
    }
    if (slot->sent == n_chunks) slot->used = 0;
}

static void cx_net_handle_switch_chunk(cx_engine_t *eng, cx_entity_t *self, const cx_event_t *ev)
{
    const cx_net_chunk_t *c = CX_EVENT_CDATA(ev, cx_net_chunk_t);
    if ((c->flags & CX_NET_FLAG_NVLS_ANY) && c->dst_dev == ((cx_net_dev_t *)self->state)->dev) {
        cx_net_nvls_arrive(eng, self, self->state, c);
        return;
    }
    cx_net_forward(eng, self, self->state, c);
}

void cx_net_handle_chunk(cx_engine_t *eng, cx_entity_t *self, const cx_event_t *ev)
{
    cx_net_dev_t         *d = self->state;
    const cx_net_chunk_t *c = CX_EVENT_CDATA(ev, cx_net_chunk_t);
    if (c->dst_dev != d->dev) {
        cx_fatal("GPU device %llu got a chunk for %llu: GPUs do not forward",
                 (unsigned long long)d->dev, (unsigned long long)c->dst_dev);
    }
    if (d->net->on_recv != NULL) d->net->on_recv(eng, d, c);
}

void cx_net_handle_txdone(cx_engine_t *eng, cx_entity_t *self, const cx_event_t *ev)
{
    cx_net_dev_t *d = self->state;
    if (d->net->on_txdone != NULL) d->net->on_txdone(eng, d, CX_EVENT_CDATA(ev, cx_net_txdone_t));
}

/* Cut a message into chunks on the GPU's out port(s) toward `route_to`
 * (a GPU device, or the NVSwitch for NVLS); schedule TX_DONE if asked.
 * Returns when the last chunk leaves the GPU. */
static cx_time_t cx_net_inject(cx_engine_t *eng, cx_entity_t *src, cx_net_chunk_t *c, uint64_t route_to,
                               cx_time_t delay, unsigned flags)
{
    cx_net_dev_t   *d   = src->state;
    cx_net_t       *net = d->net;
    cx_net_txdone_t td;
    uint32_t        ports[CX_TOPO_MAX_ROUTE];
    uint32_t        n = 0;
    uint64_t        left = c->msg_bytes, chunk;
    cx_time_t       start = cx_engine_now(eng) + (delay > 0 ? delay : 0);
    cx_time_t       last  = start;

    c->inject_ps = start;
    c->in_port   = UINT32_MAX;
    if (route_to == d->dev || c->msg_bytes == 0) {
        /* Local (or empty) message: delivered as one chunk. */
        c->bytes = (uint32_t)(c->msg_bytes > UINT32_MAX ? UINT32_MAX : c->msg_bytes);
        cx_engine_send(eng, src, d->dev, start, CX_NET_EV_CHUNK, 0, c, sizeof(*c));
    } else {
        if (c->flags & CX_NET_FLAG_NVLS_ANY) {
            /* NVLS: straight up the GPU's NVLink port. */
            if (d->nvl_port < 0) cx_fatal("GPU device %llu has no NVLink port for NVLS", (unsigned long long)d->dev);
            ports[0] = (uint32_t)d->nvl_port;
            n        = 1;
        } else if (route_to - d->dom_first < d->dom_n) {
            ports[0] = (uint32_t)d->nvl_port;  /* a GPU of its own NVLink domain */
            n        = 1;
        } else if (cx_topo_route(net->topo, d->dev, -1, route_to, ports, &n) != CX_OK || n == 0) {
            cx_fatal("no route from GPU device %llu to GPU device %llu", (unsigned long long)d->dev,
                     (unsigned long long)route_to);
        } else if (net->faults != NULL) {
            n = cx_net_faults_filter(net->faults, d, route_to, ports, n, start);
        }
        chunk = d->ports[ports[0]].role != CX_PORT_NVLINK ? net->cfg.chunk_bytes
                : (c->flags & CX_NET_FLAG_NVLS_ANY)       ? net->cfg.nvls_chunk_bytes
                                                          : net->cfg.nvlink_chunk_bytes;
        while (left > 0) {
            uint32_t port;
            c->bytes = (uint32_t)(left < chunk ? left : chunk);
            left -= c->bytes;
            port = cx_net_pick(d, ports, n, c, start);
            last = (flags & CX_NET_SEND_SOLE) && d->ports[port].role == CX_PORT_NVLINK &&
                           !(c->flags & CX_NET_FLAG_NVLS_ANY)
                       ? cx_net_transmit_nvlink(eng, src, d, port, c, start)
                       : cx_net_transmit_at(eng, src, d, port, c, start);
            c->index++;
        }
    }
    if (flags & CX_NET_SEND_TXDONE) {
        td.tag       = c->tag;
        td.dst_dev   = c->dst_dev;
        td.msg_bytes = c->msg_bytes;
        td.cookie    = c->cookie;
        td.pad       = 0;
        cx_engine_send(eng, src, d->dev, last, CX_NET_EV_TX_DONE, 0, &td, sizeof(td));
    }
    return last;
}

void cx_net_send(cx_engine_t *eng, cx_entity_t *src, uint64_t dst_dev, uint64_t bytes,
                 uint64_t tag, uint32_t cookie, cx_time_t delay)
{
    cx_net_send_aux(eng, src, dst_dev, bytes, tag, cookie, delay, 0);
}

void cx_net_send_aux(cx_engine_t *eng, cx_entity_t *src, uint64_t dst_dev, uint64_t bytes,
                     uint64_t tag, uint32_t cookie, cx_time_t delay, uint32_t aux)
{
    cx_net_send_ex(eng, src, dst_dev, bytes, tag, cookie, delay, aux, CX_NET_SEND_TXDONE);
}

cx_time_t cx_net_send_ex(cx_engine_t *eng, cx_entity_t *src, uint64_t dst_dev, uint64_t bytes,
                         uint64_t tag, uint32_t cookie, cx_time_t delay, uint32_t aux, unsigned flags)
{
    cx_net_dev_t  *d = src->state;
    cx_net_chunk_t c;
    memset(&c, 0, sizeof(c));
    c.src_dev   = d->dev;
    c.dst_dev   = dst_dev;
    c.tag       = tag;
    c.msg_bytes = bytes;
    c.flow      = cx_mix64(d->dev * 0xD1B54A32D192ED03ULL + dst_dev) ^ cx_mix64((uint64_t)cookie + 1);
    c.cookie    = cookie;
    c.aux       = aux;
    return cx_net_inject(eng, src, &c, dst_dev, delay, flags);
}

cx_time_t cx_net_send_nvls(cx_engine_t *eng, cx_entity_t *src, uint64_t group_base, uint32_t stride,
                           uint32_t size, uint64_t bytes, uint64_t tag, uint32_t cookie, cx_time_t delay,
                           uint16_t mode)
{
    cx_net_dev_t  *d = src->state;
    cx_net_chunk_t c;
    cx_gpu_info_t  gi;
    uint64_t       sw;
    if (stride > 0xFFFu || size > 0xFFFu || group_base >= (UINT64_C(1) << 40)) {
        cx_fatal("NVLS group (base %llu, stride %u, size %u) out of range",
                 (unsigned long long)group_base, stride, size);
    }
    cx_topo_gpu_info(d->net->topo, d->dev, &gi);
    sw = cx_topo_domain_nvswitch(d->net->topo, gi.domain);
    if (sw == UINT64_MAX) cx_fatal("GPU device %llu has no NVSwitch for NVLS", (unsigned long long)d->dev);
    memset(&c, 0, sizeof(c));
    c.src_dev   = d->dev;
    c.dst_dev   = sw;
    c.tag       = tag;
    c.msg_bytes = bytes;
    c.flow      = (group_base << 24) | ((uint64_t)stride << 12) | size;
    c.cookie    = cookie;
    c.flags     = mode;
    return cx_net_inject(eng, src, &c, sw, delay, 0);
}

void cx_net_set_link_bins(cx_net_t *net, cx_time_t width_ps, cx_net_bin_fn fn, void *ctx)
{
    uint64_t i;
    uint32_t p;
    net->bin_ps  = fn != NULL && width_ps > 0 ? width_ps : 0;
    net->bin_fn  = fn;
    net->bin_ctx = ctx;
    for (i = 0; i < net->count; i++) {
        for (p = 0; p < net->devs[i].n_ports; p++) {
            net->devs[i].ports[p].bin       = -1;
            net->devs[i].ports[p].bin_bytes = 0;
        }
    }
}

void cx_net_set_hop_hook(cx_net_t *net, cx_net_hop_fn fn, void *ctx)
{
    net->hop_fn  = fn;
    net->hop_ctx = ctx;
}

void cx_net_flush_link_bins(cx_net_t *net)
{
    uint64_t i;
    uint32_t p;
    if (net->bin_ps <= 0) return;
    for (i = 0; i < net->count; i++) {
        for (p = 0; p < net->devs[i].n_ports; p++) {
            cx_net_port_t *pp = &net->devs[i].ports[p];
            if (pp->bin >= 0 && pp->bin_bytes > 0) net->bin_fn(net->bin_ctx, &net->devs[i], p, pp->bin, pp->bin_bytes);
            pp->bin       = -1;
            pp->bin_bytes = 0;
        }
    }
}

int cx_net_port_class(const cx_net_dev_t *d, const cx_net_port_t *p)
{
    switch ((cx_port_role_t)p->role) {
    case CX_PORT_NVLINK: return d->kind == CX_DEV_GPU ? 0 : 1;
    case CX_PORT_NIC:    return 2;
    case CX_PORT_UP:     return 4;
    case CX_PORT_DOWN:   return d->tier <= 1 ? 3 : 5;
    }
    return 5;
}

/* The trace schema's link class labels (header only: net links no trace code). */
static const char *const cx_net_class_names[] = {CX_SCHEMA_LINK_CLASS_LABELS(CX_SCHEMA_LABEL_STR)};
_Static_assert(sizeof(cx_net_class_names) / sizeof(cx_net_class_names[0]) == CX_NET_CLASSES,
               "a link class label per class (cx_schema.h)");

const char *cx_net_class_name(int cls)
{
    return cls >= 0 && cls < CX_NET_CLASSES ? cx_net_class_names[cls] : "?";
}

cx_status_t cx_net_set_faults(cx_net_t *net, const cx_net_fault_t *f, size_t n, cx_err_t *err)
{
    uint64_t    i;
    uint32_t    p;
    cx_status_t st;
    cx_net_faults_destroy(net->faults);
    net->faults = NULL;
    if (n == 0) return CX_OK;
    st = cx_net_faults_create(&net->faults, net->topo, f, n, err);
    if (st != CX_OK) return st;
    for (i = 0; i < net->count; i++) {
        for (p = 0; p < net->devs[i].n_ports; p++) {
            net->devs[i].ports[p].fault = (uint16_t)cx_net_faults_hits(net->faults, net->devs[i].dev, p);
        }
    }
    return CX_OK;
}

cx_time_t cx_net_port_fault_extra(const cx_net_t *net, uint64_t dev, uint32_t port)
{
    return cx_net_faults_extra(net->faults, dev, port);
}
