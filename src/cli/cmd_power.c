/*
 * colossim power: site power from a topology alone, no run needed.
 *
 *   colossim power site TOPOLOGY [--load SHARE] [--format table|json]
 *       every GPU of the topology at SHARE of full load (default 1 =
 *       compute-bound): IT by component, heat, cooling, facility power,
 *       compared with the site's chillers and supply; assumptions printed.
 *   colossim power params TOPOLOGY
 *       every power parameter, its value and its source.
 *
 * Exit status: 0 ok, 1 bad topology, 2 usage.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cx_cmd.h"
#include "cx_power.h"

static void cx_pm_usage(FILE *out)
{
    fprintf(out, "usage: colossim power site TOPOLOGY [--load SHARE] [--format table|json]\n"
                 "       colossim power params TOPOLOGY\n\n"
                 "site:   IT, heat, cooling and facility power of every GPU of the topology at SHARE of\n"
                 "        full load (1 = all GPUs compute-bound), against the site's chillers and supply\n"
                 "params: the power parameters (topology site: section + defaults) and their sources\n");
}

/* argv[0] is "power"'s first argument's predecessor: the parsing below
 * counts from argv[1] like a main(). */
static int cx_power_cli(int argc, char **argv)
{
    const char          *cmd, *path = NULL, *fmt = "table";
    double               load = 1.0;
    int                  i;
    cx_topo_t           *topo = NULL;
    cx_err_t             err;
    cx_power_params_t    par;
    cx_power_full_load_t f;

    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        cx_pm_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    cmd = argv[1];
    for (i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--load") == 0 && i + 1 < argc) {
            char *end;
            load = strtod(argv[++i], &end);
            if (*end != '\0' || load < 0 || load > 1) {
                fprintf(stderr, "colossim power: --load takes a share 0..1\n");
                return 2;
            }
        } else if (strcmp(argv[i], "--format") == 0 && i + 1 < argc) {
            fmt = argv[++i];
            if (strcmp(fmt, "table") != 0 && strcmp(fmt, "json") != 0) {
                fprintf(stderr, "colossim power: --format table|json\n");
                return 2;
            }
        } else if (argv[i][0] == '-' || path != NULL) {
            fprintf(stderr, "colossim power: unexpected argument '%s'\n", argv[i]);
            cx_pm_usage(stderr);
            return 2;
        } else {
            path = argv[i];
        }
    }
    if (path == NULL || (strcmp(cmd, "site") != 0 && strcmp(cmd, "params") != 0)) {
        cx_pm_usage(stderr);
        return 2;
    }
    cx_err_clear(&err);
    if (cx_topo_load(&topo, path, &err) != CX_OK) {
        cx_err_print(&err);
        return 1;
    }
    cx_power_params_init(&par, topo, 0);
    if (strcmp(cmd, "params") == 0) {
        int fab;
        for (fab = 0; fab < cx_topo_num_fabrics(topo); fab++) {
            cx_power_params_init(&par, topo, fab);
            printf("fabric %s\n", cx_topo_fabric_name(topo, fab));
            cx_power_params_print(&par, stdout);
        }
        cx_topo_destroy(topo);
        return 0;
    }
    cx_power_full_load(topo, load, &f);
    if (strcmp(fmt, "json") == 0) {
        json_object *j = json_object_new_object();
        json_object_object_add(j, "site", json_object_new_string(par.site_name));
        json_object_object_add(j, "load_share", json_object_new_double(load));
        json_object_object_add(j, "gpus", json_object_new_uint64(f.gpus));
        json_object_object_add(j, "racks", json_object_new_uint64(f.racks));
        json_object_object_add(j, "switches", json_object_new_uint64(f.switches));
        json_object_object_add(j, "gpu_mw", json_object_new_double(f.gpu_mw));
        json_object_object_add(j, "it_mw", json_object_new_double(f.it_mw));
        json_object_object_add(j, "heat_mw", json_object_new_double(f.heat_mw));
        json_object_object_add(j, "cooling_mw", json_object_new_double(f.cooling_mw));
        json_object_object_add(j, "facility_mw", json_object_new_double(f.facility_mw));
        json_object_object_add(j, "rack_kw", json_object_new_double(f.rack_kw));
        json_object_object_add(j, "chillers_mw", json_object_new_double(par.chillers_mw));
        json_object_object_add(j, "heat_over_chillers", json_object_new_double(par.chillers_mw > 0 ? f.heat_mw / par.chillers_mw : 0));
        printf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY));
        json_object_put(j);
        cx_topo_destroy(topo);
        return 0;
    }
    printf("site %s (%s): %llu GPUs in %llu racks, %llu Ethernet switches, at %.0f%% load\n", par.site_name,
           path, (unsigned long long)f.gpus, (unsigned long long)f.racks, (unsigned long long)f.switches,
           100.0 * load);
    printf("  GPUs               %8.2f MW\n", f.gpu_mw);
    printf("  NICs               %8.2f MW\n", f.nic_mw);
    printf("  NVSwitch           %8.2f MW\n", f.nvswitch_mw);
    printf("  CPUs               %8.2f MW\n", f.cpu_mw);
    printf("  other per server   %8.2f MW\n", f.other_mw);
    printf("  rack overhead      %8.2f MW\n", f.rack_mw);
    printf("  Ethernet switches  %8.2f MW\n", f.switch_mw);
    printf("  IT                 %8.2f MW   (%.1f kW per full rack of fabric %s)\n", f.it_mw, f.rack_kw,
           cx_topo_fabric_name(topo, 0));
    printf("  heat to remove     %8.2f MW   (IT + %.1f%% distribution losses)\n", f.heat_mw,
           100.0 * par.distribution_loss);
    printf("  cooling            %8.2f MW   (%s)\n", f.cooling_mw, par.use_pue ? "from PUE" : "heat / COP");
    printf("  facility           %8.2f MW\n", f.facility_mw);
    if (par.chillers_mw > 0) {
        double racks_heat = (f.it_mw - f.switch_mw) * (1.0 + par.distribution_loss);
        printf("  vs chillers        %8.2f MW   heat is %.1f%% of the chiller capacity (%+.1f%%)\n", par.chillers_mw,
               100.0 * f.heat_mw / par.chillers_mw, 100.0 * (f.heat_mw / par.chillers_mw - 1.0));
        printf("                                racks alone (no Ethernet fabric): %.2f MW heat, %.1f%% (%+.1f%%)\n",
               racks_heat, 100.0 * racks_heat / par.chillers_mw, 100.0 * (racks_heat / par.chillers_mw - 1.0));
    }
    {
        double supply = (par.grid_ideal ? 0.0 : par.grid_mw) + par.turbine_units * par.turbine_mw_each + par.battery_mw;
        if (!par.grid_ideal || par.turbine_units > 0 || par.battery_mw > 0) {
            printf("  vs supply          %8.2f MW   (grid %.0f + turbines %u x %.1f + battery %.0f): facility is %.1f%%\n",
                   supply, par.grid_ideal ? 0.0 : par.grid_mw, par.turbine_units, par.turbine_mw_each,
                   par.battery_mw, supply > 0 ? 100.0 * f.facility_mw / supply : 0.0);
        }
    }
    printf("\n");
    {
        int fab;
        for (fab = 0; fab < cx_topo_num_fabrics(topo); fab++) {
            cx_power_params_init(&par, topo, fab);
            printf("assumptions, fabric %s:\n", cx_topo_fabric_name(topo, fab));
            cx_power_params_print(&par, stdout);
        }
    }
    cx_topo_destroy(topo);
    return 0;
}

int cx_cmd_power(int argc, char **argv)
{
    /* argv[-1] is the word "power" in the process's argv (main passes
     * argv + 2): hand the parser a main()-style view. */
    if (cx_cli_rank() != 0) return 0;
    return cx_power_cli(argc + 1, argv - 1);
}
