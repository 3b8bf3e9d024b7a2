/* Shared fabric / collective options (see cx_cli_fabric.h). */
#include "cx_cli_fabric.h"

void cx_cli_net_apply(const cx_cli_net_opts_t *o, cx_net_config_t *net)
{
    cx_net_config_defaults(net);
    net->routing            = (cx_routing_t)o->routing;
    net->chunk_bytes        = o->chunk;
    net->nvlink_chunk_bytes = o->nvlink_chunk;
}

void cx_cli_coll_apply(const cx_cli_coll_opts_t *o, cx_coll_params_t *coll)
{
    /* --algo choice index -> algorithm: the choices' order (cx_coll_algos.h). */
    static const uint32_t algo_map[] = {CX_COLL_ALGO_LIST(CX_COLL_ALGO_MAP)};
    cx_coll_params_defaults(coll);
    coll->algo                = algo_map[o->algo];
    coll->proto               = (uint32_t)o->proto;  /* every protocol is a choice, in order */
    coll->pxn                 = o->pxn == 0;
    coll->nvlink_efficiency   = o->nvlink_eff;
    coll->net_efficiency      = o->net_eff;
    coll->nvls_efficiency     = o->nvls_eff;
    coll->nvls_rsag_efficiency = o->nvls_rsag_eff;
    coll->nvlink_step_latency = o->nvlink_lat;
    coll->net_step_latency    = o->net_lat;
}
