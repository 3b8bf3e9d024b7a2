/*
 * Site power model: parameters with their defaults and sources, rack and
 * facility power, full-load sizing of a whole topology, and the supply
 * dispatch (grid, gas turbines, battery).  Pure functions, no MPI.
 *
 * Sources: [P] primary (vendor datasheet, paper), [S] secondary (press),
 * [U] unverified guess, a parameter so it can be changed.  Every source
 * string names where the figure comes from; `colossim power site` prints
 * this legend with them.
 */
#include "cx_power.h"

#include <math.h>
#include <string.h>

/* Parameter slots in cx_power_params_t.src[]. */
enum {
    S_SITE_GPUS, S_COMPUTE, S_MEMORY, S_COMM, S_IDLE, S_FLOOR, S_NIC, S_SWITCH, S_NVSW, S_CPU, S_OTHER,
    S_RACK, S_COOL, S_CHILLERS, S_LOSS, S_GRID, S_GRID_RAMP, S_TURB, S_TURB_MW, S_TURB_RAMP, S_TURB_MIN,
    S_BAT, S_BAT_MWH, S_RTE, S_SOC_MIN, S_SOC_MAX, S_SOC_INIT, S_SMOOTH, S_RECHARGE, S_TDP, S_NSRC
};

#define CX_FROM_FILE "topology site: section"

/* Take the file's value when given (>= 0), else the default with its source. */
static void cx_pick(cx_power_params_t *p, int slot, double *dst, double given, double def, const char *src)
{
    if (given >= 0.0) {
        *dst        = given;
        p->src[slot] = CX_FROM_FILE;
    } else {
        *dst        = def;
        p->src[slot] = src;
    }
}

void cx_power_params_init(cx_power_params_t *p, const cx_topo_t *topo, int fabric)
{
    const cx_site_t *s = cx_topo_site(topo);
    cx_fabric_info_t fi;
    cx_gpu_info_t    gi;
    int              nvl72;
    uint64_t         dev;

    memset(p, 0, sizeof(*p));
    if (cx_topo_fabric_info(topo, fabric, &fi) != CX_OK) cx_topo_fabric_info(topo, 0, &fi);
    dev = cx_topo_gpu_device(topo, 0);
    {
        /* First GPU of the fabric. */
        uint64_t g = 0, f;
        for (f = 0; f < (uint64_t)fabric && (int)f < cx_topo_num_fabrics(topo); f++) {
            cx_fabric_info_t o;
            cx_topo_fabric_info(topo, (int)f, &o);
            g += o.gpus;
        }
        dev = cx_topo_gpu_device(topo, g);
    }
    cx_topo_gpu_info(topo, dev, &gi);
    snprintf(p->site_name, sizeof(p->site_name), "%s", s->given && s->name[0] ? s->name : cx_topo_name(topo));
    p->site_given       = s->given;
    p->site_gpus        = s->gpus > 0 ? s->gpus : cx_topo_num_gpus(topo);
    p->src[S_SITE_GPUS] = s->gpus > 0 ? CX_FROM_FILE : "all GPUs of the topology";
    p->tdp_w            = cx_topo_gpu_type(topo, gi.gpu_type)->tdp_w;
    /* H100 / H200 SXM 700 W and B200 1000 W are NVIDIA's datasheet
     * figures; GB200 / GB300 per-GPU TDPs come from the press. */
    p->src[S_TDP]       = strncmp(cx_topo_gpu_type(topo, gi.gpu_type)->name, "GB", 2) == 0
                              ? "hardware catalog tdp_w, [S] press figures for Grace Blackwell GPUs"
                              : "hardware catalog tdp_w, [P] NVIDIA datasheet";
    snprintf(p->gpu_type, sizeof(p->gpu_type), "%s", cx_topo_gpu_type(topo, gi.gpu_type)->name);
    p->server_gpus      = (uint32_t)fi.server_gpus;
    p->domain_gpus      = (uint32_t)fi.domain_gpus;
    p->servers_per_rack = cx_topo_fabric_servers_per_rack(topo, fabric);
    p->nics_per_server  = (uint32_t)fi.server_gpus * (uint32_t)(gi.n_nic_ports > 0 ? gi.n_nic_ports : 1) +
                         cx_topo_fabric_cpu_nics(topo, fabric);
    nvl72 = fi.domain_gpus > 8;

    /* GPU states, shares of TDP. */
    cx_pick(p, S_COMPUTE, &p->gpu_share[CX_PW_COMPUTE], s->gpu_compute, 1.00,
            "[U] large BF16 GEMMs hold H100/B200-class GPUs at their power limit (TDP)");
    cx_pick(p, S_MEMORY, &p->gpu_share[CX_PW_MEMORY], s->gpu_memory, 0.70,
            "[U] HBM-bound kernels: tensor cores mostly idle, HBM and SMs busy");
    cx_pick(p, S_COMM, &p->gpu_share[CX_PW_COMM], s->gpu_comm, 0.45,
            "[U] NCCL kernels on a few SMs, NVLink/NIC and HBM traffic");
    cx_pick(p, S_IDLE, &p->gpu_share[CX_PW_IDLE], s->gpu_idle, 0.15,
            "[U] clocks up, context resident, waiting (H100 ~100 W of 700)");
    cx_pick(p, S_FLOOR, &p->gpu_floor, s->gpu_floor, 0.0,
            "off; GB300 power smoothing holds a floor (NVIDIA GB300 NVL72 power smoothing) [P, value U]");
    /* IT beyond the GPUs. */
    cx_pick(p, S_NIC, &p->nic_w, s->nic_w, 30.0,
            "[U] ConnectX-7/8 / BlueField-3 SuperNIC with its optics, per port");
    cx_pick(p, S_SWITCH, &p->switch_w, s->switch_w, 2000.0,
            "[U] Spectrum-4 SN5600 with 64 x 800G (128 x 400G) optics, per switch");
    cx_pick(p, S_NVSW, &p->nvswitch_w_per_gpu, s->nvswitch_w_per_gpu, nvl72 ? 90.0 : 45.0,
            nvl72 ? "[U] NVL72: 9 NVLink switch trays (~0.7 kW each) per 72 GPUs"
                  : "[U] HGX: 4 NVSwitch gen3 chips (~90 W each) per 8 GPUs");
    cx_pick(p, S_CPU, &p->cpu_w_per_server, s->cpu_w_per_server, nvl72 ? 600.0 : 700.0,
            nvl72 ? "[U] 2 Grace per compute tray x 300 W (GB200 superchip 2.7 kW = 2 x 1.2 kW + Grace) [S]"
                  : "[P] 2 x Xeon Platinum 8480+ at 350 W TDP (HGX H100 host)");
    cx_pick(p, S_OTHER, &p->other_w_per_server, s->other_w_per_server, nvl72 ? 400.0 : 800.0,
            nvl72 ? "[U] tray DRAM-less board, NVMe, BMC, DPU, fans, PSU losses"
                  : "[U] DRAM, NVMe, fans, BMC, PSU losses (DGX H100 max 10.2 kW [P] incl. air fans)");
    cx_pick(p, S_RACK, &p->rack_w, s->rack_w, nvl72 ? 3000.0 : 1500.0,
            nvl72 ? "[U] power shelves, CDU pumps, fans: with the above a full NVL72 rack is ~116 kW vs ~120 kW [S]"
                  : "[U] CDU pumps, rack fans, PDU losses (liquid-cooled Supermicro rack)");
    /* Cooling. */
    p->use_pue = s->pue >= 0.0;
    if (p->use_pue) {
        p->pue          = s->pue;
        p->src[S_COOL]  = CX_FROM_FILE;
    } else {
        cx_pick(p, S_COOL, &p->cooling_cop, s->cooling_cop, 4.0,
                "[U] chilled-water plant, electric COP ~4 (air-cooled chillers 3-4)");
    }
    cx_pick(p, S_CHILLERS, &p->chillers_mw, s->chillers_mw, 0.0, "not limited");
    cx_pick(p, S_LOSS, &p->distribution_loss, s->distribution_loss, 0.03,
            "[U] transformers, UPS and distribution losses, share of IT");
    /* Supply. */
    p->grid_ideal = s->grid_mw < 0.0;
    cx_pick(p, S_GRID, &p->grid_mw, s->grid_mw, 0.0, "no grid: section: an ideal grid takes any load");
    cx_pick(p, S_GRID_RAMP, &p->grid_ramp_mw_per_s, s->grid_ramp_mw_per_s, 0.0, "unlimited");
    p->turbine_units  = s->turbine_units > 0 ? (uint32_t)s->turbine_units : 0;
    p->src[S_TURB]    = s->turbine_units >= 0 ? CX_FROM_FILE : "none";
    cx_pick(p, S_TURB_MW, &p->turbine_mw_each, s->turbine_mw_each, 2.5,
            "[S] press reports of Colossus 1's early gas turbines, 2.5 MW each");
    cx_pick(p, S_TURB_RAMP, &p->turbine_ramp_mw_per_s_each, s->turbine_ramp_mw_per_s_each,
            p->turbine_mw_each * 0.20 / 60.0, "[U] 20% of rating per minute");
    cx_pick(p, S_TURB_MIN, &p->turbine_min_load, s->turbine_min_load, 0.30,
            "[U] minimum stable load, share of rating");
    cx_pick(p, S_BAT, &p->battery_mw, s->battery_mw, 0.0, "none");
    cx_pick(p, S_BAT_MWH, &p->battery_mwh, s->battery_mwh, 0.0, "none");
    cx_pick(p, S_RTE, &p->battery_rte, s->battery_rte, 0.92, "[U] Li-ion BESS (Megapack class) AC round trip");
    cx_pick(p, S_SOC_MIN, &p->battery_soc_min, s->battery_soc_min, 0.05, "[U]");
    cx_pick(p, S_SOC_MAX, &p->battery_soc_max, s->battery_soc_max, 0.95, "[U]");
    cx_pick(p, S_SOC_INIT, &p->battery_soc_initial, s->battery_soc_initial, 0.50, "[U]; also the recharge target");
    cx_pick(p, S_SMOOTH, &p->smoothing_s, s->smoothing_s, 30.0,
            "[U] turbines/grid follow a 30 s moving average of the load");
    cx_pick(p, S_RECHARGE, &p->recharge_s, s->recharge_s, 600.0,
            "[U] battery steered back to its target state of charge over ~10 min");
}

/* Sources of a group of parameters, each named once, "; "-separated. */
static const char *cx_src_join(const char *const *src, int n, char *buf, size_t len)
{
    size_t used = 0;
    int    i, j;
    buf[0] = '\0';
    for (i = 0; i < n; i++) {
        for (j = 0; j < i && strcmp(src[j], src[i]) != 0; j++) {
        }
        if (j < i) continue;
        used += (size_t)snprintf(buf + used, used < len ? len - used : 0, "%s%s", used ? "; " : "", src[i]);
        if (used >= len) break;
    }
    return buf;
}

void cx_power_params_print(const cx_power_params_t *p, FILE *out)
{
    static const char *const st[] = {"compute-bound", "memory-bound", "communicating", "idle"};
    int k;
    fprintf(out, "power parameters: site %s%s, %llu GPUs; GPU %s, TDP %.0f W  (%s)\n", p->site_name,
            p->site_given ? "" : " (no site: section, defaults)", (unsigned long long)p->site_gpus,
            p->gpu_type, p->tdp_w, p->src[S_TDP]);
    fprintf(out, "  site GPUs                %llu  (%s)\n", (unsigned long long)p->site_gpus, p->src[S_SITE_GPUS]);
    for (k = 0; k < CX_PW_NSTATES; k++) {
        fprintf(out, "  GPU %-20s %.2f x TDP = %.0f W  (%s)\n", st[k], p->gpu_share[k], p->gpu_share[k] * p->tdp_w,
                p->src[S_COMPUTE + k]);
    }
    fprintf(out, "  GPU power floor          %.2f x TDP  (%s)\n", p->gpu_floor, p->src[S_FLOOR]);
    fprintf(out, "  NIC port                 %.0f W x %u per server  (%s)\n", p->nic_w, p->nics_per_server, p->src[S_NIC]);
    fprintf(out, "  NVSwitch per GPU         %.0f W  (%s)\n", p->nvswitch_w_per_gpu, p->src[S_NVSW]);
    fprintf(out, "  CPUs per server          %.0f W  (%s)\n", p->cpu_w_per_server, p->src[S_CPU]);
    fprintf(out, "  other per server         %.0f W  (%s)\n", p->other_w_per_server, p->src[S_OTHER]);
    fprintf(out, "  rack overhead            %.0f W  (%s)\n", p->rack_w, p->src[S_RACK]);
    fprintf(out, "  Ethernet switch          %.0f W  (%s)\n", p->switch_w, p->src[S_SWITCH]);
    if (p->use_pue)
        fprintf(out, "  cooling                  PUE %.3f  (%s)\n", p->pue, p->src[S_COOL]);
    else
        fprintf(out, "  cooling                  heat / COP %.2f  (%s)\n", p->cooling_cop, p->src[S_COOL]);
    fprintf(out, "  chiller capacity         %s%.0f MW  (%s)\n", p->chillers_mw > 0 ? "" : "-", p->chillers_mw,
            p->src[S_CHILLERS]);
    fprintf(out, "  distribution loss        %.1f%% of IT  (%s)\n", 100.0 * p->distribution_loss, p->src[S_LOSS]);
    if (p->grid_ideal)
        fprintf(out, "  grid                     ideal  (%s)\n", p->src[S_GRID]);
    else
        fprintf(out, "  grid                     %.0f MW, ramp %s%.3g MW/s  (%s; ramp %s)\n", p->grid_mw,
                p->grid_ramp_mw_per_s > 0 ? "" : "unlimited ", p->grid_ramp_mw_per_s, p->src[S_GRID],
                p->src[S_GRID_RAMP]);
    {
        const char *turb[4] = {p->src[S_TURB], p->src[S_TURB_MW], p->src[S_TURB_RAMP], p->src[S_TURB_MIN]};
        const char *bat[3]  = {p->src[S_BAT], p->src[S_BAT_MWH], p->src[S_RTE]};
        char        tb[512], bb[512];
        fprintf(out, "  gas turbines             %u x %.1f MW, ramp %.3g MW/s each, min load %.0f%%  (%s)\n",
                p->turbine_units, p->turbine_mw_each, p->turbine_ramp_mw_per_s_each, 100.0 * p->turbine_min_load,
                cx_src_join(turb, 4, tb, sizeof(tb)));
        fprintf(out, "  battery                  %.0f MW / %.0f MWh, RTE %.2f, SoC %.2f..%.2f from %.2f  (%s)\n",
                p->battery_mw, p->battery_mwh, p->battery_rte, p->battery_soc_min, p->battery_soc_max,
                p->battery_soc_initial, cx_src_join(bat, 3, bb, sizeof(bb)));
    }
    fprintf(out, "  dispatch                 smoothing %.0f s (%s), recharge %.0f s (%s)\n", p->smoothing_s,
            p->src[S_SMOOTH], p->recharge_s, p->src[S_RECHARGE]);
}

double cx_power_rack_static_w(const cx_power_params_t *p, uint64_t n_gpus)
{
    uint64_t gps     = p->server_gpus > 0 ? p->server_gpus : 8;
    uint64_t servers = (n_gpus + gps - 1) / gps;
    double   nics    = (double)servers * (double)p->nics_per_server * (double)n_gpus / (double)(servers * gps);
    return nics * p->nic_w + (double)n_gpus * p->nvswitch_w_per_gpu +
           (double)servers * (p->cpu_w_per_server + p->other_w_per_server) + p->rack_w;
}

double cx_power_facility_mw(const cx_power_params_t *p, double it_mw, double *cooling_mw_p)
{
    double fac, cool;
    if (p->use_pue) {
        fac  = it_mw * p->pue;
        cool = fac - it_mw * (1.0 + p->distribution_loss);
        if (cool < 0) cool = 0;
    } else {
        cool = it_mw * (1.0 + p->distribution_loss) / p->cooling_cop;
        fac  = it_mw * (1.0 + p->distribution_loss) + cool;
    }
    if (cooling_mw_p != NULL) *cooling_mw_p = cool;
    return fac;
}

void cx_power_full_load(const cx_topo_t *topo, double load_share, cx_power_full_load_t *f)
{
    cx_topo_summary_t ts;
    int               fab;
    cx_power_params_t p0;
    memset(f, 0, sizeof(*f));
    cx_topo_summary(topo, &ts);
    cx_power_params_init(&p0, topo, 0);
    for (fab = 0; fab < cx_topo_num_fabrics(topo); fab++) {
        cx_fabric_info_t  fi;
        cx_power_params_t p;
        uint64_t          servers, racks, per_rack;
        double            gpu_w, share;
        cx_topo_fabric_info(topo, fab, &fi);
        cx_power_params_init(&p, topo, fab);
        per_rack = p.servers_per_rack > 0 ? p.servers_per_rack : 1;
        servers  = fi.gpus / (uint64_t)fi.server_gpus;
        racks    = (servers + per_rack - 1) / per_rack;
        share    = load_share * p.gpu_share[CX_PW_COMPUTE] + (1.0 - load_share) * p.gpu_share[CX_PW_IDLE];
        if (share < p.gpu_floor) share = p.gpu_floor;
        gpu_w    = share * p.tdp_w;
        f->gpus += fi.gpus;
        f->servers += servers;
        f->racks += racks;
        f->gpu_mw += (double)fi.gpus * gpu_w * 1e-6;
        f->nic_mw += (double)servers * p.nics_per_server * p.nic_w * 1e-6;
        f->nvswitch_mw += (double)fi.gpus * p.nvswitch_w_per_gpu * 1e-6;
        f->cpu_mw += (double)servers * p.cpu_w_per_server * 1e-6;
        f->other_mw += (double)servers * p.other_w_per_server * 1e-6;
        f->rack_mw += (double)racks * p.rack_w * 1e-6;
        if (fab == 0) {
            uint64_t rg = per_rack * (uint64_t)fi.server_gpus;
            f->rack_kw = ((double)rg * gpu_w + cx_power_rack_static_w(&p, rg)) * 1e-3;
        }
    }
    f->switches  = ts.switches;
    f->switch_mw = (double)ts.switches * p0.switch_w * 1e-6;
    f->it_mw     = f->gpu_mw + f->nic_mw + f->nvswitch_mw + f->cpu_mw + f->other_mw + f->rack_mw + f->switch_mw;
    f->heat_mw   = f->it_mw * (1.0 + p0.distribution_loss);
    f->facility_mw = cx_power_facility_mw(&p0, f->it_mw, &f->cooling_mw);
}

static double cx_clamp(double x, double lo, double hi)
{
    return x < lo ? lo : x > hi ? hi : x;
}

void cx_power_dispatch_run(const cx_power_params_t *p, const double *load, const double *heat, size_t n,
                           double dt, cx_power_dispatch_t *d)
{
    double   alpha = p->smoothing_s > 0 ? 1.0 - exp(-dt / p->smoothing_s) : 1.0;
    double   e     = p->battery_mwh, sq = sqrt(p->battery_rte), dth = dt / 3600.0;
    double   s, g, t, soc = p->battery_soc_initial, rmax = 0.0, tmin, tmax, tramp, gcap;
    uint32_t on    = 0;
    size_t   k;

    d->turbines_committed     = 0;
    d->ramp_limit_mw_per_s    = 0;
    d->battery_discharged_mwh = d->battery_cycles = 0;
    d->soc_lo = d->soc_hi     = soc;
    d->unserved_bins = d->excess_bins = d->chiller_bins = 0;
    d->max_unserved_mw = d->max_excess_mw = 0;
    if (n == 0) return;
    gcap = p->grid_ideal ? INFINITY : p->grid_mw;
    /* Commitment: enough units for the peak of the smoothed residual. */
    s = load[0];
    for (k = 0; k < n; k++) {
        double r;
        s += alpha * (load[k] - s);
        r = (k == 0 ? load[0] : s) - (p->grid_ideal ? 0.0 : gcap);
        if (!p->grid_ideal && r > rmax) rmax = r;
    }
    if (p->turbine_units > 0 && p->turbine_mw_each > 0 && rmax > 0) {
        on = (uint32_t)ceil(rmax / p->turbine_mw_each - 1e-9);
        if (on > p->turbine_units) on = p->turbine_units;
    }
    d->turbines_committed  = on;
    tmin                   = on * p->turbine_mw_each * p->turbine_min_load;
    tmax                   = on * p->turbine_mw_each;
    tramp                  = on * p->turbine_ramp_mw_per_s_each;
    d->ramp_limit_mw_per_s = tramp + (p->grid_ideal ? 0.0 : p->grid_ramp_mw_per_s);
    /* Steady state at the first bin's load. */
    s = load[0];
    g = p->grid_ideal ? 0.0 : fmin(gcap, load[0]);
    t = cx_clamp(load[0] - g, tmin, tmax);
    for (k = 0; k < n; k++) {
        double want, gt, tt, need, b = 0, un = 0, ex = 0;
        s += alpha * (load[k] - s);
        want = s + (e > 0 && p->recharge_s > 0 ? (p->battery_soc_initial - soc) * e / (p->recharge_s / 3600.0) : 0.0);
        if (p->grid_ideal) {
            tt = cx_clamp(want, tmin, tmax);
            t += tramp > 0 ? cx_clamp(tt - t, -tramp * dt, tramp * dt) : tt - t;
            if (on == 0) t = 0;
            g    = load[k] - t;
            need = 0;
        } else {
            gt = cx_clamp(want, 0.0, gcap);
            g += p->grid_ramp_mw_per_s > 0 ? cx_clamp(gt - g, -p->grid_ramp_mw_per_s * dt, p->grid_ramp_mw_per_s * dt)
                                           : gt - g;
            tt = cx_clamp(want - g, tmin, tmax);
            if (on > 0) t += tramp > 0 ? cx_clamp(tt - t, -tramp * dt, tramp * dt) : tt - t;
            need = load[k] - g - t;
        }
        if (need > 0) {
            double pm = e > 0 ? fmin(p->battery_mw, (soc - p->battery_soc_min) * e * sq / dth) : 0.0;
            if (pm < 0) pm = 0;
            b   = fmin(need, pm);
            un  = need - b;
            if (e > 0) soc -= b * dth / sq / e;
            d->battery_discharged_mwh += b * dth;
        } else if (need < 0) {
            double pm = e > 0 ? fmin(p->battery_mw, (p->battery_soc_max - soc) * e / sq / dth) : 0.0;
            if (pm < 0) pm = 0;
            b   = -fmin(-need, pm);
            ex  = -need + b;
            if (e > 0) soc -= b * dth * sq / e;
        }
        if (un > 1e-9) {
            d->unserved_bins++;
            if (un > d->max_unserved_mw) d->max_unserved_mw = un;
        } else {
            un = 0;
        }
        if (ex > 1e-9) {
            d->excess_bins++;
            if (ex > d->max_excess_mw) d->max_excess_mw = ex;
        } else {
            ex = 0;
        }
        if (heat != NULL && p->chillers_mw > 0 && heat[k] > p->chillers_mw) d->chiller_bins++;
        if (soc < d->soc_lo) d->soc_lo = soc;
        if (soc > d->soc_hi) d->soc_hi = soc;
        if (d->grid != NULL) d->grid[k] = g;
        if (d->turbines != NULL) d->turbines[k] = t;
        if (d->battery != NULL) d->battery[k] = b;
        if (d->soc != NULL) d->soc[k] = e > 0 ? soc : 0.0;
        if (d->unserved != NULL) d->unserved[k] = un;
        if (d->excess != NULL) d->excess[k] = ex;
    }
    d->battery_cycles = e > 0 ? d->battery_discharged_mwh / e : 0.0;
}
