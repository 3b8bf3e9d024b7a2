/*
 * Fabric and collective options shared by `run` and the benchmarks: one
 * place for their names, defaults, bounds and help, and for turning them
 * into the net and collective configuration.  Defaults come from the
 * libraries' own default macros, so the command line and the library
 * cannot disagree.
 *
 * Use: embed cx_cli_net_opts_t (and cx_cli_coll_opts_t) in a command's
 * option struct and put CX_CLI_NET_OPTS(type, member) (and
 * CX_CLI_COLL_OPTS) in its option table.
 */
#ifndef CX_CLI_FABRIC_H
#define CX_CLI_FABRIC_H

#include <stddef.h>

#include "cx_gpu.h"
#include "cx_net.h"
#include "cx_util.h"

#define CX_CLI_STR_(_x) #_x
#define CX_CLI_STR(_x)  CX_CLI_STR_(_x)

typedef struct cx_cli_net_opts {
    int      routing;
    uint64_t chunk, nvlink_chunk;
} cx_cli_net_opts_t;

typedef struct cx_cli_coll_opts {
    int     algo;
    int     proto;  /* index into CX_COLL_PROTO_CHOICES = cx_coll_proto_t */
    int     pxn;    /* index into the option's choices "on|off": 0 = on, 1 = off */
    double  nvlink_eff, net_eff, nvls_eff, nvls_rsag_eff;
    int64_t nvlink_lat, net_lat;
} cx_cli_coll_opts_t;

#define CX_CLI_OFF(_type, _member, _sub, _field) (offsetof(_type, _member) + offsetof(_sub, _field))

/* _chunk: the default scale-out chunk (a macro from cx_net.h). */
#define CX_CLI_NET_OPTS(_type, _m, _chunk)                                                             \
    {"routing", CX_OPT_ENUM, CX_CLI_OFF(_type, _m, cx_cli_net_opts_t, routing), "adaptive", 0, 0,       \
     CX_ROUTING_CHOICES, NULL, "uplink choice in the Clos (ecmp: per-flow hash; adaptive: least loaded, "\
     "as Spectrum-X; spray: per-flow round robin)"},                                                  \
    {"chunk-bytes", CX_OPT_BYTES, CX_CLI_OFF(_type, _m, cx_cli_net_opts_t, chunk),                      \
     CX_CLI_STR(_chunk), 64, 4294967295.0, NULL, "B",                                                  \
     "scale-out chunk size: the speed/fidelity knob (down to an MTU for packet-level studies)"},      \
    {"nvlink-chunk-bytes", CX_OPT_BYTES, CX_CLI_OFF(_type, _m, cx_cli_net_opts_t, nvlink_chunk), "0", 0, \
     4294967295.0, NULL, "B", "chunk size inside an NVLink domain (0 = whole message, exact in a "     \
     "non-blocking NVSwitch)"}

/* A collective efficiency: a share of a link's bandwidth in [0.01, 1]. */
#define CX_CLI_EFF_OPT(_type, _m, _name, _field, _def, _help)                                          \
    {_name, CX_OPT_DOUBLE, CX_CLI_OFF(_type, _m, cx_cli_coll_opts_t, _field), CX_CLI_STR(_def), 0.01, 1, \
     NULL, "E", _help}

#define CX_CLI_COLL_OPTS(_type, _m)                                                                    \
    {"algo", CX_OPT_ENUM, CX_CLI_OFF(_type, _m, cx_cli_coll_opts_t, algo), "auto", 0, 0,                \
     CX_COLL_ALGO_CHOICES, NULL, CX_COLL_ALGO_HELP},                                                    \
    {"proto", CX_OPT_ENUM, CX_CLI_OFF(_type, _m, cx_cli_coll_opts_t, proto), "auto", 0, 0,              \
     CX_COLL_PROTO_CHOICES, NULL, CX_COLL_PROTO_HELP},                                                  \
    {"pxn", CX_OPT_ENUM, CX_CLI_OFF(_type, _m, cx_cli_coll_opts_t, pxn), "on", 0, 0, "on|off", NULL,      \
     "all-to-all across rails through NVLink to the peer's rail GPU first (NCCL PXN)"},               \
    CX_CLI_EFF_OPT(_type, _m, "nvlink-efficiency", nvlink_eff, CX_COLL_DEFAULT_NVLINK_EFF,             \
                   "share of NVLink bandwidth a ring step reaches (NCCL protocol overhead)"),          \
    CX_CLI_EFF_OPT(_type, _m, "net-efficiency", net_eff, CX_COLL_DEFAULT_NET_EFF,                      \
                   "share of NIC bandwidth a step across nodes reaches"),                             \
    CX_CLI_EFF_OPT(_type, _m, "nvls-efficiency", nvls_eff, CX_COLL_DEFAULT_NVLS_EFF,                   \
                   "share of NVLink bandwidth with in-switch reduction (NVLS)"),                      \
    CX_CLI_EFF_OPT(_type, _m, "nvls-rsag-efficiency", nvls_rsag_eff, CX_COLL_DEFAULT_NVLS_RSAG_EFF,    \
                   "share of NVLink bandwidth of an NVLS reduce-scatter or all-gather"),               \
    {"nvlink-step-latency", CX_OPT_TIME, CX_CLI_OFF(_type, _m, cx_cli_coll_opts_t, nvlink_lat),         \
     CX_CLI_STR(CX_COLL_DEFAULT_NVLINK_LAT_NS) "ns", 0, 1e15, NULL, "T",                               \
     "software latency per collective step inside a domain"},                                         \
    {"net-step-latency", CX_OPT_TIME, CX_CLI_OFF(_type, _m, cx_cli_coll_opts_t, net_lat),               \
     CX_CLI_STR(CX_COLL_DEFAULT_NET_LAT_NS) "ns", 0, 1e15, NULL, "T",                                  \
     "software latency per collective step across nodes"}

/* Library defaults, then the options on top. */
void cx_cli_net_apply(const cx_cli_net_opts_t *o, cx_net_config_t *net);
void cx_cli_coll_apply(const cx_cli_coll_opts_t *o, cx_coll_params_t *coll);

#endif
