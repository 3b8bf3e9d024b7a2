/*
 * net: one timing engine for every link of the fabric.
 *
 * Every topology device (GPU, NVSwitch domain, Ethernet switch) is one kernel
 * entity with the same id as its topo device id, so the topo partition is the
 * engine partition.  A message is cut into chunks; each unidirectional port
 * is a FIFO server: a chunk whose tail reaches a device at t leaves on the
 * chosen out port with its tail at
 *     max(t, t - ser_in + ser_out, busy_until + ser_out)
 * (cut-through: it may start leaving once its head has arrived, never
 * finishes before its tail arrived) and reaches the peer `latency` later.
 * Knowing the departure at enqueue time, no "port free" events are needed:
 * one event per chunk per hop.
 *
 * Routing is arithmetic (cx_topo_route gives the equal-cost next hops); the
 * uplink is picked per mode: ECMP (hash of the flow, so flows collide as in
 * standard Ethernet), spray (round-robin per chunk: each switch keeps a
 * round-robin cursor per flow in a CX_NET_RR_SLOTS-entry table (probing
 * CX_NET_RR_PROBE slots; when all are taken the least recently used flow
 * is evicted), started at a
 * per-switch, per-flow phase, so every flow spreads evenly over the equal
 * paths at every hop and flows that start together do not move in
 * lock-step), adaptive (as Spectrum-X: the least-loaded port per chunk,
 * i.e. the one that can start sending it first; among ports within
 * adaptive_slack_bytes of serialization of the least loaded, the flow's
 * round-robin order decides, so a flow's chunks spread over the paths as per-packet adaptive
 * routing spreads packets).
 *
 * GPU entities are shared with the layer above: their handler table starts
 * with net's handlers (kinds 0 .. CX_NET_N_KINDS-1), the upper layer's follow.
 * The entity state of every device is its cx_net_dev_t; the upper layer hangs
 * its per-GPU state on dev->upper.
 */
#ifndef CX_NET_H
#define CX_NET_H

#include "cx_core.h"
#include "cx_topo.h"

/* Event kinds reserved by net on every device entity. */
enum {
    CX_NET_EV_CHUNK   = 0,  /* a chunk's tail arrives at this device */
    CX_NET_EV_TX_DONE = 1,  /* GPU: the last chunk of a message left the GPU */
    CX_NET_N_KINDS    = 2
};

typedef enum { CX_ROUTE_ECMP = 0, CX_ROUTE_ADAPTIVE, CX_ROUTE_SPRAY } cx_routing_t;
#define CX_NET_RR_SLOTS 256
#define CX_NET_RR_PROBE 8
#define CX_ROUTING_CHOICES "ecmp|adaptive|spray"
const char *cx_routing_name(cx_routing_t r);

typedef struct cx_net_config {
    uint64_t     chunk_bytes;         /* scale-out chunk (default 1 MiB) */
    uint64_t     nvlink_chunk_bytes;  /* chunk inside an NVLink domain; 0 (default) = the
                                       * whole message: exact for one flow through a
                                       * non-blocking NVSwitch, and no event per slice */
    uint64_t     nvls_chunk_bytes;    /* NVLS reduction pipeline unit (default 16 MiB):
                                       * the switch multicasts chunk k once every member's
                                       * chunk k has arrived */
    cx_routing_t routing;
    /* adaptive: a port counts as busier only when it frees up later than the
     * least loaded one by more than the time it takes to send this many
     * bytes (default 2 MiB: a fixed queue-depth threshold, as a switch's
     * congestion signal is, whatever the chunk size). */
    uint64_t     adaptive_slack_bytes;
} cx_net_config_t;

/* Default scale-out chunk: 4 MiB.  Chunks per message is the main
 * events/fidelity knob: against 1 MiB it halves the events of a Llama 3
 * 405B step and moves its iteration time by 0.1%, leaves ring busbw
 * unchanged, but spreads a flow over fewer paths, so adaptive routing of a
 * permutation of 256 MiB flows reaches 0.86 instead of 0.95 of line rate.
 * Routing studies (bench traffic) default to 1 MiB. */
#define CX_NET_DEFAULT_CHUNK_BYTES 4194304
#define CX_NET_ROUTING_CHUNK_BYTES 1048576
#define CX_NET_DEFAULT_ADAPTIVE_SLACK_BYTES 2097152
void cx_net_config_defaults(cx_net_config_t *cfg);

/* One chunk in flight: the payload of a CX_NET_EV_CHUNK event (80 bytes). */
typedef struct cx_net_chunk {
    uint64_t src_dev;     /* sending GPU device */
    uint64_t dst_dev;     /* receiving GPU device */
    uint64_t tag;         /* opaque to net: the upper layer's matching key */
    uint64_t msg_bytes;   /* whole message */
    uint64_t flow;        /* flow id for ECMP hashing; NVLS: packed group */
    int64_t  ser_in_ps;   /* serialization time on the link it arrived on */
    int64_t  inject_ps;   /* when the message was handed to net */
    uint32_t bytes;       /* this chunk */
    uint32_t in_port;     /* port it arrived on */
    uint16_t hops;
    uint16_t flags;
    uint32_t cookie;      /* opaque to net */
    uint32_t index;       /* chunk number inside its message */
    uint32_t aux;         /* opaque to net (cx_net_send_aux) */
} cx_net_chunk_t;

/* TX_DONE payload. */
typedef struct cx_net_txdone {
    uint64_t tag;
    uint64_t dst_dev;
    uint64_t msg_bytes;
    uint32_t cookie;
    uint32_t pad;
} cx_net_txdone_t;

typedef struct cx_net     cx_net_t;
typedef struct cx_net_dev cx_net_dev_t;

/* Per out-port state plus the port's static figures cached from topo. */
typedef struct cx_net_port {
    cx_time_t busy_until;   /* tail departure of the last chunk queued */
    uint64_t  bytes_tx;
    uint64_t  chunks_tx;
    int64_t   bin;          /* link binning: current time bin, -1 = none yet */
    uint64_t  bin_bytes;    /* bytes whose tail left in that bin */
    uint64_t  peer_dev;
    uint32_t  peer_port;
    uint16_t  role;         /* cx_port_role_t */
    uint16_t  fault;        /* 1: a fault hits this port at some time (cx_net_set_faults) */
    double    ps_per_byte;
    cx_time_t latency;
} cx_net_port_t;

struct cx_net_dev {
    cx_net_t      *net;
    uint64_t       dev;
    cx_net_port_t *ports;
    uint32_t       n_ports;
    uint32_t       pad;
    struct cx_net_rr *rr_slots; /* switches: CX_NET_RR_SLOTS per-flow round-robin cursors */
    uint16_t       kind;     /* cx_dev_kind_t */
    uint16_t       tier;
    int32_t        nvl_port; /* GPU: port to its NVSwitch, -1 if none */
    uint32_t       dom_n;    /* GPU / NVSwitch: GPUs of its NVLink domain, device ids
                              * dom_first .. + dom_n - 1 (NVSwitch: port i leads to
                              * dom_first + i); 0 = ask topo */
    uint64_t       dom_first;
    void          *upper;    /* GPU: the upper layer's state */
    struct cx_nvls_slot *nvls; /* NVSwitch: in-switch reductions in progress */
};

/* Called on the destination GPU for every chunk delivered to it. */
typedef void (*cx_net_recv_fn)(cx_engine_t *eng, cx_net_dev_t *gpu, const cx_net_chunk_t *c);
/* Called on the source GPU when a message's last chunk has left it. */
typedef void (*cx_net_txdone_fn)(cx_engine_t *eng, cx_net_dev_t *gpu, const cx_net_txdone_t *d);

/* Create net state for every device this rank owns and attach entities:
 * switches get net's own type, GPUs get `gpu_type`, whose handlers[0..1]
 * must be cx_net_handle_chunk and cx_net_handle_txdone.  The engine must use
 * the topo partition.  Not collective. */
cx_status_t cx_net_create(cx_net_t **net_p, cx_engine_t *eng, const cx_topo_t *topo,
                          const cx_net_config_t *cfg, const cx_entity_type_t *gpu_type,
                          cx_net_recv_fn on_recv, cx_net_txdone_fn on_txdone, cx_err_t *err);
void cx_net_destroy(cx_net_t *net);

/* Net's handlers for GPU entity types. */
void cx_net_handle_chunk(cx_engine_t *eng, cx_entity_t *self, const cx_event_t *ev);
void cx_net_handle_txdone(cx_engine_t *eng, cx_entity_t *self, const cx_event_t *ev);

/* Hand a message to net from GPU `src` (its entity) to the GPU device
 * dst_dev; its first byte may leave `delay` after now (software latency).
 * A send to itself is delivered at once.  TX_DONE follows when the last
 * chunk has left the GPU. */
void cx_net_send(cx_engine_t *eng, cx_entity_t *src, uint64_t dst_dev, uint64_t bytes,
                 uint64_t tag, uint32_t cookie, cx_time_t delay);
/* The same with a 32-bit word for the upper layer carried in every chunk
 * (cx_net_chunk_t.aux), e.g. where a relaying GPU should forward it. */
void cx_net_send_aux(cx_engine_t *eng, cx_entity_t *src, uint64_t dst_dev, uint64_t bytes,
                     uint64_t tag, uint32_t cookie, cx_time_t delay, uint32_t aux);
/* The same with flags:
 *   CX_NET_SEND_TXDONE  schedule TX_DONE.  Without it the send costs no
 *       such event: the return value says when the last chunk leaves the
 *       GPU, and a sender that must wait for that wakes itself.
 *   CX_NET_SEND_SOLE    the receiver gets nothing from any other GPU while
 *       this message is in flight (a ring's or a chain's neighbour): inside
 *       an NVLink domain the NVSwitch hop is then booked at send time and
 *       the message costs one event per chunk instead of two. */
#define CX_NET_SEND_TXDONE 1u
#define CX_NET_SEND_SOLE   2u
cx_time_t cx_net_send_ex(cx_engine_t *eng, cx_entity_t *src, uint64_t dst_dev, uint64_t bytes,
                         uint64_t tag, uint32_t cookie, cx_time_t delay, uint32_t aux, unsigned flags);

/* NVLS: send `bytes` from a GPU to its NVLink domain's switch as its share of
 * an in-switch reduction over the group base + i * stride (global GPU
 * indices, i < size, all in the sender's domain).  When chunk k has arrived
 * from every member, the switch sends the reduced chunk k to every member
 * (a multicast), tagged (tag, cookie).  Each member thus sends `bytes` and
 * receives `bytes`.  No TX_DONE: returns when the last byte leaves the GPU. */
#define CX_NET_FLAG_NVLS    1u  /* reduce, result to every member (all-reduce) */
#define CX_NET_FLAG_NVLS_RS 2u  /* reduce, chunk k only to its owner (reduce-scatter) */
#define CX_NET_FLAG_NVLS_MC 4u  /* no reduction: each chunk multicast at once (all-gather) */
#define CX_NET_FLAG_NVLS_ANY (CX_NET_FLAG_NVLS | CX_NET_FLAG_NVLS_RS | CX_NET_FLAG_NVLS_MC)
/* Owner of NVLS chunk k of n in a group of size members (reduce-scatter):
 * chunks are split into size equal runs. */
static inline uint32_t cx_net_nvls_owner(uint32_t k, uint32_t n_chunks, uint32_t size)
{
    return (uint32_t)(((uint64_t)k * size) / (n_chunks > 0 ? n_chunks : 1));
}
/* mode: one of the CX_NET_FLAG_NVLS* flags. */
cx_time_t cx_net_send_nvls(cx_engine_t *eng, cx_entity_t *src, uint64_t group_base, uint32_t stride,
                           uint32_t size, uint64_t bytes, uint64_t tag, uint32_t cookie, cx_time_t delay,
                           uint16_t mode);

const cx_topo_t *cx_net_topo(const cx_net_t *net);
/* The effective configuration (NVLink whole-message chunking resolved). */
const cx_net_config_t *cx_net_get_config(const cx_net_t *net);
cx_net_dev_t    *cx_net_local_dev(cx_net_t *net, uint64_t dev);
/* Local devices: count, and the i-th in id order (0 <= i < count). */
uint64_t         cx_net_local_count(const cx_net_t *net);
cx_net_dev_t    *cx_net_local_dev_at(cx_net_t *net, uint64_t i);

/* Time-binned link bytes: every chunk's bytes count in the bin of the time
 * its tail leaves the port; when a port moves on to a later bin, the closed
 * bin is handed to fn (only bins with traffic).  width_ps > 0.  Set before
 * the run; cx_net_flush_link_bins hands over the bins still open. */
typedef void (*cx_net_bin_fn)(void *ctx, const cx_net_dev_t *d, uint32_t port, int64_t bin,
                              uint64_t bytes);
void cx_net_set_link_bins(cx_net_t *net, cx_time_t width_ps, cx_net_bin_fn fn, void *ctx);
void cx_net_flush_link_bins(cx_net_t *net);

/* Debug: called for every chunk put on a port (every hop), with the time
 * its first byte starts leaving, its last byte leaves, and it arrives. */
typedef void (*cx_net_hop_fn)(void *ctx, const cx_net_dev_t *d, uint32_t port, const cx_net_chunk_t *c,
                              cx_time_t start, cx_time_t end, cx_time_t arrive);
void cx_net_set_hop_hook(cx_net_t *net, cx_net_hop_fn fn, void *ctx);

/* Injected faults (colossim run --faults): each entry is one direction of
 * one port, from time `at` on: down (carries nothing: routing picks among
 * the equal-cost ports that are up and from whose far end the destination
 * is still reachable, so ECMP re-hashes over what is left, adaptive and
 * spray spread over it), or degraded (bandwidth x factor, 0 < factor <= 1;
 * several multiply).  The list is global (every rank passes the same);
 * call before the run.  A destination left with no path at all is the
 * caller's to foresee (it stops the job at that time): net then keeps the
 * route it had. */
typedef struct cx_net_fault {
    uint64_t  dev;
    uint32_t  port;
    uint32_t  down;
    double    factor;
    cx_time_t at;
} cx_net_fault_t;
cx_status_t cx_net_set_faults(cx_net_t *net, const cx_net_fault_t *f, size_t n, cx_err_t *err);
/* Extra serialization time a degraded local port has spent so far (what it
 * took beyond its nominal bandwidth); 0 for a healthy port. */
cx_time_t   cx_net_port_fault_extra(const cx_net_t *net, uint64_t dev, uint32_t port);

/* Link statistics over this rank's ports, per tier of the transmitting end
 * (index 0 = GPU/NVLink ports ... see cx_net_port_class). */
#define CX_NET_CLASSES 6
/* 0 GPU->NVSwitch, 1 NVSwitch->GPU, 2 GPU NIC->leaf, 3 leaf->GPU (down to NIC),
 * 4 switch up-links, 5 switch down-links between switches */
int         cx_net_port_class(const cx_net_dev_t *d, const cx_net_port_t *p);
const char *cx_net_class_name(int cls);

#endif
