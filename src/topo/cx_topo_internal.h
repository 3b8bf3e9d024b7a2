/*
 * Internal representation of a topology: per fabric a handful of integers
 * (counts, radices, block sizes) from which every device, port and route is
 * computed.  See cx_topo.c for the numbering scheme.
 */
#ifndef CX_TOPO_INTERNAL_H
#define CX_TOPO_INTERNAL_H

#include "cx_topo.h"

#define CX_NAME_MAX      64
#define CX_CAT_MAX       16

typedef struct cx_cat_nic {
    char    name[CX_NAME_MAX];
    double  bw;
    int64_t latency_ps;
} cx_cat_nic_t;

typedef struct cx_cat_switch {
    char     name[CX_NAME_MAX];
    uint32_t radix;
    double   port_bw;
    int64_t  latency_ps;
    int      nvls;       /* NVSwitch: in-switch reduction / multicast (gen3 on; gen2 none) */
} cx_cat_switch_t;

typedef struct cx_catalog {
    int             n_gpus, n_nics, n_switches;
    cx_gpu_type_t   gpus[CX_CAT_MAX];
    char            gpu_names[CX_CAT_MAX][CX_NAME_MAX];
    int64_t         gpu_nvlink_latency_ps[CX_CAT_MAX];
    cx_cat_nic_t    nics[CX_CAT_MAX];
    cx_cat_switch_t switches[CX_CAT_MAX];
    int64_t         cable_ps[CX_TOPO_MAX_TIERS + 1];   /* [t]: cable below tier t */
    cx_compute_catalog_t eff;
} cx_catalog_t;

typedef struct cx_tier {
    int      sw_type;        /* catalog switch */
    uint32_t radix, down, up;
    uint32_t w;              /* parallel links child -> each switch (t >= 2) */
    uint64_t c;              /* switches per plane in a block (t >= 2) */
    uint64_t nc;             /* child switches per plane per block (t >= 2) */
    uint64_t m;              /* switches per switching block (m_1 = 1) */
    uint64_t nblk;           /* switching blocks in the fabric */
    uint64_t leaves_per_blk; /* leaves under one block */
    double   bw_below;       /* link bandwidth to the tier below */
    int64_t  lat_down, lat_up, sw_lat, cable_below;
} cx_tier_t;

typedef struct cx_fabric {
    char      name[CX_NAME_MAX];
    uint64_t  base, ndev;                 /* device id range */
    uint64_t  gpu_base, dom_base, server_base;
    uint64_t  ngpus, ndom, nleaves;
    uint32_t  gps, gpd, ns;               /* GPUs/server, GPUs/domain, NVSwitch per domain */
    uint32_t  R, kk, U1;                  /* rails, GPUs per rail per domain, domains per leaf */
    uint32_t  per_rack, cpu_nics;
    int       rail_optimized;
    int       T;
    cx_tier_t tier[CX_TOPO_MAX_TIERS + 1];
    /* layout */
    uint64_t  k[CX_TOPO_MAX_TIERS + 1], S[CX_TOPO_MAX_TIERS + 1];
    uint64_t  sw[CX_TOPO_MAX_TIERS + 1], cnt[CX_TOPO_MAX_TIERS + 1];
    /* GPU types by domain ranges */
    int       n_types;
    uint64_t  type_end_dom[CX_CAT_MAX];
    int       type_idx[CX_CAT_MAX];
    int       nic_type, nvswitch_type;
    double    nic_bw, nvl_bw;
    int64_t   lat_nic, lat_nvl_gpu, lat_nvl_sw;
} cx_fabric_t;

struct cx_topo {
    char         name[CX_NAME_MAX];
    cx_catalog_t cat;
    int          n_fabrics;
    cx_fabric_t  fab[CX_TOPO_MAX_FABRICS];
    uint64_t     ndev, ngpus, ndom;
    cx_site_t    site;          /* optional site: section (power) */
    char         catalog_path[1024]; /* the catalog file read; "" = the embedded copy */
};

#endif
