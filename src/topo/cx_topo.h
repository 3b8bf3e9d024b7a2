/*
 * Fabric description: a parametric model of a GPU training cluster's
 * networks, never an enumeration of devices.  A topology holds one or more
 * disjoint fabrics; each is NVLink domains (HGX board or NVL72 rack, one
 * NVSWITCH device each) of GPUs whose NICs feed a (rail-optimized or not)
 * multi-tier Clos of Ethernet switches.  Devices, ports, peers and routes are
 * computed from the parameters by arithmetic, so every query below is O(1)
 * or O(log n), allocation-free and safe to call from a hot path.
 *
 * Lifecycle: cx_topo_load / cx_topo_load_string -> queries -> cx_topo_destroy.
 *
 * Device numbering (contiguous ranges are good partitions): per fabric, a
 * block tree.  A level-1 block (leaf group) is its NVLink domains in order
 * (each: its GPUs server by server, then its NVSWITCH), then its leaves (one
 * per rail); a level-t block is its level-(t-1) blocks then its tier-t
 * switches; the top tier's switches are spread evenly between the top-level
 * children instead of being put at the end.  Fabrics follow one another.
 */
#ifndef CX_TOPO_H
#define CX_TOPO_H

#include <stddef.h>
#include <stdint.h>

#include "cx_status.h"

typedef struct cx_topo cx_topo_t;

typedef enum { CX_DEV_GPU = 0, CX_DEV_NVSWITCH, CX_DEV_SWITCH } cx_dev_kind_t;

typedef enum {
    CX_PORT_NVLINK = 0, /* GPU <-> NVSwitch */
    CX_PORT_NIC,        /* GPU's scale-out NIC, towards its leaf */
    CX_PORT_DOWN,       /* switch port towards the GPUs */
    CX_PORT_UP          /* switch port towards the top of the Clos */
} cx_port_role_t;

#define CX_TOPO_MAX_TIERS   4
#define CX_TOPO_MAX_FABRICS 8
/* Most equal-cost next hops cx_topo_route can return (= max switch radix). */
#define CX_TOPO_MAX_ROUTE   512

typedef struct cx_port_info {
    uint64_t       peer_device;
    uint32_t       peer_port;
    cx_port_role_t role;
    double         bandwidth;   /* bytes/s, per direction */
    int64_t        latency_ps;  /* transmitter's forwarding latency + cable */
} cx_port_info_t;

typedef struct cx_gpu_info {
    int      gpu_type;        /* index into the catalog: cx_topo_gpu_type() */
    int      fabric;
    uint64_t gpu_index;       /* global GPU number 0..gpus-1 */
    uint64_t server;          /* global server index */
    int      local;           /* index inside the server */
    uint64_t domain;          /* global NVLink domain id */
    int      domain_local;    /* index inside the NVLink domain */
    int      rail;            /* scale-out rail (0 when not rail-optimized) */
    int      nvlink_port;     /* port to the NVSwitch, -1 if none */
    int      nic_port;        /* first NIC port */
    int      n_nic_ports;
} cx_gpu_info_t;

/* Compute-model efficiencies (shares of the dense peak FLOP/s or of HBM
 * bandwidth a kernel class reaches, and a fixed cost per kernel): the
 * catalog's `compute_efficiency:` section is the default for every GPU type;
 * a GPU entry's own `compute_efficiency:` overrides any of its fields. */
typedef struct cx_compute_catalog {
    double  gemm_bf16, gemm_fp8, attention, elementwise, optimizer;   /* FLOP/s shares */
    double  gemm_memory, attention_memory, elementwise_memory, optimizer_memory; /* HBM shares */
    int64_t kernel_overhead_ps;                                       /* per kernel */
} cx_compute_catalog_t;

/* Hardware catalog entry of a GPU type (topologies/hardware.yaml). */
typedef struct cx_gpu_type {
    const char *name;
    double      bf16_flops, fp8_flops;   /* dense, per second */
    uint64_t    hbm_bytes;
    double      hbm_bw;                  /* bytes/s */
    double      nvlink_bw;               /* bytes/s per direction */
    double      tdp_w;
    /* This type's efficiencies: the catalog's defaults with the entry's
     * overrides.  All zero in a type built by hand (tests): the compute
     * model then uses its built-in defaults. */
    cx_compute_catalog_t eff;
} cx_gpu_type_t;

typedef struct cx_topo_summary {
    uint64_t gpus, servers, racks, nvlink_domains, cpu_nics;
    uint64_t gpus_by_type[16];           /* indexed by gpu type */
    uint64_t switches, switches_by_tier[CX_TOPO_MAX_TIERS + 1]; /* [1..max tiers] */
    uint64_t nvswitches, devices, links, nvlinks, fabric_links;
    double   injection_bw;               /* per GPU scale-out, bytes/s (min over fabrics) */
    double   nvlink_bw;                  /* per GPU, bytes/s (min over fabrics) */
    double   bisection_bw;               /* bytes/s per direction, sum over fabrics */
    double   oversubscription[CX_TOPO_MAX_TIERS + 1]; /* worst per tier: down bw / up bw */
    int      tiers;                      /* max over fabrics */
    int      diameter_hops;
    int64_t  min_latency_ps;             /* over distinct GPU pairs */
    int64_t  max_latency_ps;             /* min latency of the farthest pair */
} cx_topo_summary_t;

/* --- lifecycle ------------------------------------------------------------ */
cx_status_t cx_topo_load(cx_topo_t **topo_p, const char *path, cx_err_t *err);
/* name is used in messages and to resolve a relative catalog path. */
cx_status_t cx_topo_load_string(cx_topo_t **topo_p, const char *name, const char *text,
                                size_t len, cx_err_t *err);
void cx_topo_destroy(cx_topo_t *topo);

/* The hardware catalog file the topology read ("" = the embedded copy). */
const char *cx_topo_catalog_path(const cx_topo_t *t);

/* The embedded default topology's YAML (NUL-terminated, static storage). */
void cx_topo_default_yaml(const char **text_p, size_t *len_p);

/* --- queries -------------------------------------------------------------- */
const char   *cx_topo_name(const cx_topo_t *t);
uint64_t      cx_topo_num_devices(const cx_topo_t *t);
uint64_t      cx_topo_num_gpus(const cx_topo_t *t);
int           cx_topo_num_fabrics(const cx_topo_t *t);
const char   *cx_topo_fabric_name(const cx_topo_t *t, int fabric);
cx_dev_kind_t cx_topo_device_kind(const cx_topo_t *t, uint64_t dev);
/* Ethernet tier 1..3(4) for SWITCH, 0 otherwise. */
int           cx_topo_device_tier(const cx_topo_t *t, uint64_t dev);
uint32_t      cx_topo_num_ports(const cx_topo_t *t, uint64_t dev);
/* CX_ERR_RANGE for a bad device/port. */
cx_status_t   cx_topo_port(const cx_topo_t *t, uint64_t dev, uint32_t port, cx_port_info_t *info_p);
/* Device id of global GPU g, and back. */
uint64_t      cx_topo_gpu_device(const cx_topo_t *t, uint64_t gpu);
cx_status_t   cx_topo_gpu_info(const cx_topo_t *t, uint64_t dev, cx_gpu_info_t *info_p);
/* Device id of the NVSwitch of a global NVLink domain, UINT64_MAX if none. */
uint64_t      cx_topo_domain_nvswitch(const cx_topo_t *t, uint64_t domain);
/* 1 if the domain's NVSwitch reduces and multicasts in the switch (NVLS:
 * the catalog's `nvls:`, on unless false; A100's gen2 has none). */
int           cx_topo_domain_nvls(const cx_topo_t *t, uint64_t domain);

int                  cx_topo_num_gpu_types(const cx_topo_t *t);
/* The catalog's default efficiencies (a GPU type's own: cx_topo_gpu_type()->eff). */
const cx_compute_catalog_t *cx_topo_compute_efficiency(const cx_topo_t *t);
const cx_gpu_type_t *cx_topo_gpu_type(const cx_topo_t *t, int type);

/* Equal-cost next-hop ports from `dev` toward GPU device `dst_gpu` (a device
 * id).  in_port may be -1 (injection) and is not needed by up/down routing.
 * Up to the lowest common ancestor (all uplinks returned), then down (the
 * parallel links to the one child on the path).  *n_p = 0 when dev is dst.
 * CX_ERR_NOT_FOUND if dst is unreachable (another fabric).  out_ports must
 * hold CX_TOPO_MAX_ROUTE entries. */
cx_status_t cx_topo_route(const cx_topo_t *t, uint64_t dev, int in_port, uint64_t dst_gpu,
                          uint32_t *out_ports, uint32_t *n_p);

/* Shortest path between two GPU devices: hop count (links) and the sum of
 * port latencies along it.  CX_ERR_NOT_FOUND across fabrics. */
cx_status_t cx_topo_gpu_distance(const cx_topo_t *t, uint64_t src_gpu, uint64_t dst_gpu,
                                 int *hops_p, int64_t *latency_ps_p);

void cx_topo_summary(const cx_topo_t *t, cx_topo_summary_t *s_p);

typedef struct cx_fabric_info {
    const char *name;
    uint64_t    first_device, n_devices, gpus, domains;
    int         tiers, rail_optimized, rails, server_gpus, domain_gpus;
    uint64_t    switches_by_tier[CX_TOPO_MAX_TIERS + 1];
    uint32_t    down_ports[CX_TOPO_MAX_TIERS + 1], up_ports[CX_TOPO_MAX_TIERS + 1];
} cx_fabric_info_t;
cx_status_t cx_topo_fabric_info(const cx_topo_t *t, int fabric, cx_fabric_info_t *info_p);
/* 1 if global GPUs 0..n-1 all belong to one fabric (a job or benchmark on
 * the first n GPUs must not span unconnected fabrics). */
int cx_topo_gpus_one_fabric(const cx_topo_t *t, uint64_t n);

/* --- site (power and facility) ---------------------------------------------
 * The optional `site:` section of a topology file (src/power/cx_power.h
 * documents every parameter, its default and its source).  The loader only
 * validates and stores what the file says: a double < 0 (and units 0) means
 * "not given, use the power model's default". */
typedef struct cx_site {
    int      given;                    /* 1: the file has a site: section */
    char     name[64];
    uint64_t gpus;                     /* GPUs the site is sized for; 0 = the topology's */
    double   gpu_compute, gpu_memory, gpu_comm, gpu_idle, gpu_floor; /* shares of TDP */
    double   nic_w, switch_w, nvswitch_w_per_gpu, cpu_w_per_server, other_w_per_server, rack_w;
    double   cooling_cop, pue, chillers_mw, distribution_loss;
    double   grid_mw, grid_ramp_mw_per_s;
    int64_t  turbine_units;            /* -1 = not given */
    double   turbine_mw_each, turbine_ramp_mw_per_s_each, turbine_min_load;
    double   battery_mw, battery_mwh, battery_rte, battery_soc_min, battery_soc_max, battery_soc_initial;
    double   smoothing_s, recharge_s;
} cx_site_t;

const cx_site_t *cx_topo_site(const cx_topo_t *t);
/* Servers per rack and CPU NICs per server of a fabric (0 for a bad fabric). */
uint32_t cx_topo_fabric_servers_per_rack(const cx_topo_t *t, int fabric);
uint32_t cx_topo_fabric_cpu_nics(const cx_topo_t *t, int fabric);

/* A partition of the devices over ranks as segments of consecutive devices,
 * each owned by one rank.  Contiguous: one segment per rank, balanced by
 * weight (a job GPU 4, its NVSwitch 4, an Ethernet switch or a domain
 * outside the job 1), cut only between NVLink domains or next to Ethernet
 * switches, so a domain and a server's NIC ports stay on one rank.  Cyclic: the fabric's units (a leaf block: its
 * NVLink domains and leaf switches; a switch above the leaves) are dealt
 * round robin, each kind of unit on its own count (leaf blocks running the
 * job, leaf blocks without it, switches of each tier), so every rank holds
 * an equal share of every kind spread over the whole job.  Neighbouring
 * leaf blocks run neighbouring GPUs of the job, which are busy at the same
 * moments: dealt apart, each window's work is shared, where contiguous
 * ranges give each rank whole pipeline stages that are busy at different
 * moments.  Cuts stay above the leaves, so the lookahead is that of the
 * leaf uplinks. */
enum { CX_PART_CONTIGUOUS = 0, CX_PART_CYCLIC = 1, CX_PART_AUTO = 2 };
/* Auto picks cyclic from 2 ranks up to this many (where every rank
 * neighbours every other anyway), and when there are at least two leaf
 * blocks of the job per rank. */
#define CX_PART_CYCLIC_MAX_RANKS 8
typedef struct cx_topo_part {
    int       nranks;
    int       cyclic;        /* 1 when the units were dealt round robin */
    uint64_t  nseg;
    uint64_t *seg_first;     /* nseg + 1 entries; seg_first[nseg] = devices */
    int      *seg_rank;      /* nseg entries */
    int64_t   lookahead_ps;  /* least latency of a cut link; INT64_MAX if none */
} cx_topo_part_t;
/* mode: CX_PART_*.  CX_ERR_INVALID if nranks < 1 or nranks > NVLink
 * domains.  Free with cx_topo_part_free (also after an error). */
cx_status_t cx_topo_part_make(const cx_topo_t *t, int nranks, uint64_t job_gpus, int mode, cx_topo_part_t *p,
                              cx_err_t *err);
/* The partition a run uses: the mode $COLOSSIM_PARTITION asks for
 * (contiguous|cyclic|auto; auto when unset or empty), the same on every
 * rank.  Any other value is CX_ERR_RANGE naming the variable, before
 * anything is built.  job_gpus 0 = every GPU. */
cx_status_t cx_topo_part_make_env(const cx_topo_t *t, int nranks, uint64_t job_gpus, cx_topo_part_t *p,
                                  cx_err_t *err);
const char *cx_topo_part_mode_name(const cx_topo_part_t *p);
void        cx_topo_part_free(cx_topo_part_t *p);
int         cx_topo_part_owner(const cx_topo_part_t *p, uint64_t dev);
/* Per rank (nranks entries each, optional): the ports whose peer is on
 * another rank, and the partition weight (as contiguous ranges balance it). */
void        cx_topo_part_counts(const cx_topo_t *t, const cx_topo_part_t *p, uint64_t job_gpus, uint64_t *cut_links,
                               uint64_t *weight);
/* Neighbours of `rank`: the ranks owning the far end of one of its links.
 * flag[0..nranks-1] is set to 1 for each (not for rank itself); returns
 * how many. */
int         cx_topo_part_neighbours(const cx_topo_t *t, const cx_topo_part_t *p, int rank, int *flag);

#endif
