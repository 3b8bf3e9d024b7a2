/*
 * colossim power: site power from a topology alone, no run needed.
 *
 *   colossim power site TOPOLOGY [--load SHARE] [--format text|json]
 *       every GPU of the topology at SHARE of full load (default 1 =
 *       compute-bound): IT by component, heat, cooling, facility power,
 *       compared with the site's chillers and supply; assumptions printed.
 *   colossim power params TOPOLOGY
 *       every power parameter, its value and its source.
 *
 * Exit status: 0 ok, 1 bad topology, 2 usage.  --help / -h anywhere prints
 * the usage on stdout and exits 0; `--format table` is the old name of
 * `text` (accepted, with a note on stderr).
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cx_cmd.h"
#include "cx_power.h"

static void cx_pm_usage(FILE *out)
{
    fprintf(out, "usage: colossim power site TOPOLOGY [--load SHARE] [--format text|json]\n"
                 "       colossim power params TOPOLOGY\n\n"
                 "site:   IT, heat, cooling and facility power of every GPU of the topology at SHARE of\n"
                 "        full load (0..1, default 1 = all GPUs compute-bound), against the site's\n"
                 "        chillers and supply, then every assumption with its source\n"
                 "params: the power parameters (topology site: section + defaults) and their sources\n"
                 "TOPOLOGY: a topology YAML, e.g. topologies/colossus2.yaml\n");
}

static void cx_pm_legend(FILE *out)
{
    fprintf(out, "sources: [P] primary (vendor datasheet, paper), [S] secondary (press), [U] unverified\n"
                 "         guess; set any value in the topology's site: section (TDP: hardware catalog)\n");
}

/* The options of a subcommand: TOPOLOGY, --load, --format.  0 ok, else the exit status. */
static int cx_pm_args(int argc, char **argv, const char *cmd, const char **path, double *load, const char **fmt)
{
    int i;
    for (i = 2; i < argc; i++) {
        const char *opt = argv[i], *val = NULL, *eq = strchr(opt, '=');
        char        name[32];
        if (opt[0] == '-' && opt[1] == '-') {
            size_t l = eq != NULL ? (size_t)(eq - opt) : strlen(opt);
            snprintf(name, sizeof(name), "%.*s", (int)(l < sizeof(name) ? l : sizeof(name) - 1), opt);
            if (strcmp(name, "--load") == 0 || strcmp(name, "--format") == 0) {
                if (eq != NULL)
                    val = eq + 1;
                else if (i + 1 < argc)
                    val = argv[++i];
                else {
                    fprintf(stderr, "colossim power %s: option %s needs a value\n", cmd, name);
                    return 2;
                }
            }
        } else {
            name[0] = '\0';
        }
        if (strcmp(name, "--load") == 0 && strcmp(cmd, "site") == 0) {
            /* cx_parse_double: decimal and finite ("nan" passed the range test and printed "nan MW") */
            if (cx_parse_double(val, load) != CX_OK || *load < 0 || *load > 1) {
                fprintf(stderr, "colossim power site: --load '%s': expected a share 0..1\n", val);
                return 2;
            }
        } else if (strcmp(name, "--format") == 0 && strcmp(cmd, "site") == 0) {
            *fmt = val;
            if (strcmp(*fmt, "table") == 0) {
                fprintf(stderr, "colossim power site: --format table is now --format text\n");
                *fmt = "text";
            }
            if (strcmp(*fmt, "text") != 0 && strcmp(*fmt, "json") != 0) {
                fprintf(stderr, "colossim power site: --format '%s': expected text or json\n", *fmt);
                return 2;
            }
        } else if (opt[0] == '-') {
            fprintf(stderr, "colossim power %s: unknown option '%s' (see colossim power --help)\n", cmd, opt);
            return 2;
        } else if (*path != NULL) {
            fprintf(stderr, "colossim power %s: one TOPOLOGY only ('%s' and '%s')\n", cmd, *path, opt);
            return 2;
        } else {
            *path = opt;
        }
    }
    if (*path == NULL) {
        fprintf(stderr, "colossim power %s: missing TOPOLOGY (a topology YAML, e.g. topologies/colossus2.yaml)\n",
                cmd);
        cx_pm_usage(stderr);
        return 2;
    }
    return 0;
}

/* Every fabric's parameters, each under "<head>fabric NAME<tail>", then the legend. */
static void cx_pm_params(const cx_topo_t *topo, const char *head, const char *tail)
{
    cx_power_params_t par;
    int               fab;
    for (fab = 0; fab < cx_topo_num_fabrics(topo); fab++) {
        cx_power_params_init(&par, topo, fab);
        printf("%sfabric %s%s\n", head, cx_topo_fabric_name(topo, fab), tail);
        cx_power_params_print(&par, stdout);
    }
    cx_pm_legend(stdout);
}

static void cx_pm_site_json(const cx_power_params_t *par, const cx_power_full_load_t *f, double load)
{
    json_object *j = json_object_new_object();
    json_object_object_add(j, "site", json_object_new_string(par->site_name));
    json_object_object_add(j, "load_share", json_object_new_double(load));
    json_object_object_add(j, "gpus", json_object_new_uint64(f->gpus));
    json_object_object_add(j, "racks", json_object_new_uint64(f->racks));
    json_object_object_add(j, "switches", json_object_new_uint64(f->switches));
    json_object_object_add(j, "gpu_mw", json_object_new_double(f->gpu_mw));
    json_object_object_add(j, "it_mw", json_object_new_double(f->it_mw));
    json_object_object_add(j, "heat_mw", json_object_new_double(f->heat_mw));
    json_object_object_add(j, "cooling_mw", json_object_new_double(f->cooling_mw));
    json_object_object_add(j, "facility_mw", json_object_new_double(f->facility_mw));
    json_object_object_add(j, "rack_kw", json_object_new_double(f->rack_kw));
    json_object_object_add(j, "chillers_mw", json_object_new_double(par->chillers_mw));
    json_object_object_add(j, "heat_over_chillers",
                           json_object_new_double(par->chillers_mw > 0 ? f->heat_mw / par->chillers_mw : 0));
    printf("%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY));
    json_object_put(j);
}

static void cx_pm_site_text(const cx_topo_t *topo, const char *path, const cx_power_params_t *par,
                            const cx_power_full_load_t *f, double load)
{
    double supply = (par->grid_ideal ? 0.0 : par->grid_mw) + par->turbine_units * par->turbine_mw_each + par->battery_mw;
    printf("site %s (%s): %llu GPUs in %llu racks, %llu Ethernet switches, at %.0f%% load\n", par->site_name,
           path, (unsigned long long)f->gpus, (unsigned long long)f->racks, (unsigned long long)f->switches,
           100.0 * load);
    printf("  GPUs               %8.2f MW\n", f->gpu_mw);
    printf("  NICs               %8.2f MW\n", f->nic_mw);
    printf("  NVSwitch           %8.2f MW\n", f->nvswitch_mw);
    printf("  CPUs               %8.2f MW\n", f->cpu_mw);
    printf("  other per server   %8.2f MW\n", f->other_mw);
    printf("  rack overhead      %8.2f MW\n", f->rack_mw);
    printf("  Ethernet switches  %8.2f MW\n", f->switch_mw);
    printf("  IT                 %8.2f MW   (%.1f kW per full rack of fabric %s)\n", f->it_mw, f->rack_kw,
           cx_topo_fabric_name(topo, 0));
    printf("  heat to remove     %8.2f MW   (IT + %.1f%% distribution losses)\n", f->heat_mw,
           100.0 * par->distribution_loss);
    printf("  cooling            %8.2f MW   (%s)\n", f->cooling_mw, par->use_pue ? "from PUE" : "heat / COP");
    printf("  facility           %8.2f MW\n", f->facility_mw);
    if (par->chillers_mw > 0) {
        double racks_heat = (f->it_mw - f->switch_mw) * (1.0 + par->distribution_loss);
        printf("  vs chillers        %8.2f MW   heat is %.1f%% of the chiller capacity (%+.1f%%)\n", par->chillers_mw,
               100.0 * f->heat_mw / par->chillers_mw, 100.0 * (f->heat_mw / par->chillers_mw - 1.0));
        printf("                                racks alone (no Ethernet fabric): %.2f MW heat, %.1f%% (%+.1f%%)\n",
               racks_heat, 100.0 * racks_heat / par->chillers_mw, 100.0 * (racks_heat / par->chillers_mw - 1.0));
    }
    if (!par->grid_ideal || par->turbine_units > 0 || par->battery_mw > 0) {
        printf("  vs supply          %8.2f MW   (grid %.0f + turbines %u x %.1f + battery %.0f): facility is %.1f%%\n",
               supply, par->grid_ideal ? 0.0 : par->grid_mw, par->turbine_units, par->turbine_mw_each,
               par->battery_mw, supply > 0 ? 100.0 * f->facility_mw / supply : 0.0);
    }
    printf("\n");
    cx_pm_params(topo, "assumptions, ", ":");
}

/* argv[0] is "power"'s first argument's predecessor: the parsing below
 * counts from argv[1] like a main(). */
static int cx_power_cli(int argc, char **argv)
{
    const char          *cmd, *path = NULL, *fmt = "text";
    double               load = 1.0;
    int                  i, rc;
    cx_topo_t           *topo = NULL;
    cx_err_t             err;
    cx_power_params_t    par;
    cx_power_full_load_t f;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            cx_pm_usage(stdout);
            return 0;
        }
    }
    if (argc < 2) {
        fprintf(stderr, "colossim power: missing subcommand: site or params\n");
        cx_pm_usage(stderr);
        return 2;
    }
    cmd = argv[1];
    if (strcmp(cmd, "site") != 0 && strcmp(cmd, "params") != 0) {
        fprintf(stderr, "colossim power: unknown subcommand '%s' (site or params)\n", cmd);
        cx_pm_usage(stderr);
        return 2;
    }
    rc = cx_pm_args(argc, argv, cmd, &path, &load, &fmt);
    if (rc != 0) return rc;
    cx_err_clear(&err);
    if (cx_topo_load(&topo, path, &err) != CX_OK) {
        cx_err_print(&err);
        return 1;
    }
    if (strcmp(cmd, "params") == 0) {
        cx_pm_params(topo, "", "");
    } else {
        cx_power_params_init(&par, topo, 0);
        cx_power_full_load(topo, load, &f);
        if (strcmp(fmt, "json") == 0)
            cx_pm_site_json(&par, &f, load);
        else
            cx_pm_site_text(topo, path, &par, &f, load);
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
