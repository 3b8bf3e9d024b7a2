/* Subcommands of the colossim binary.  argv[0] is the first argument after
 * the subcommand name.  Each returns the process exit code. */
#ifndef CX_CMD_H
#define CX_CMD_H

#include <mpi.h>
#include <stddef.h>

#include "cx_util.h"

int cx_cmd_run(int argc, char **argv);
int cx_cmd_gen(int argc, char **argv);
int cx_cmd_power(int argc, char **argv);
int cx_cmd_topo(int argc, char **argv);
int cx_cmd_bench(int argc, char **argv);
int cx_cmd_campaign(int argc, char **argv);
int cx_cmd_chakra(int argc, char **argv);
int cx_cmd_bench_phold(int argc, char **argv);

/* Shared by commands: rank of MPI_COMM_WORLD. */
int cx_cli_rank(void);
int cx_cli_nranks(void);

/* The start of every command (cx_cli_opts.c): the table's defaults into o,
 * then argv[0..argc) on top.  Returns CX_CLI_GO to go on, else the exit
 * status: 2 after a bad option (its message printed on rank 0), 0 after
 * --help (usage, then the table's lines, on rank 0).  With usage NULL the
 * caller reads the help flag and prints its own help.  _pos: positional
 * arguments as cx_opt_parse takes them. */
#define CX_CLI_GO (-1)
int cx_cli_options(const cx_opt_t *tbl, size_t n, int argc, char **argv, void *o, const char *usage);
int cx_cli_options_pos(const cx_opt_t *tbl, size_t n, int argc, char **argv, void *o, const char *usage,
                       const char **pos, int max_pos, int *n_pos_p);
#define CX_NOPTS(_t) (sizeof(_t) / sizeof((_t)[0]))

/* Option entries several commands take, with one help text: _type is the
 * command's option struct, with the member the option names. */
#define CX_CLI_OPT_TOPOLOGY(_type)                                                              \
    {"topology", CX_OPT_STRING, offsetof(_type, topology), NULL, 0, 0, NULL, "FILE",            \
     "topology YAML (default: embedded colossus1-mini)"}
#define CX_CLI_OPT_WORKLOAD(_type)                                                              \
    {"workload", CX_OPT_STRING, offsetof(_type, workload), NULL, 0, 0, NULL, "FILE",            \
     "workload YAML (default: embedded small job)"}
#define CX_CLI_OPT_SEED(_type, _help) \
    {"seed", CX_OPT_UINT, offsetof(_type, seed), "1", CX_OPT_UNBOUNDED, NULL, "S", _help}
#define CX_CLI_OPT_FORMAT(_type, _choices, _help) \
    {"format", CX_OPT_ENUM, offsetof(_type, format), "text", 0, 0, _choices, NULL, _help}
#define CX_CLI_OPT_PROGRESS(_type)                                                              \
    {"progress", CX_OPT_DOUBLE, offsetof(_type, progress), "5", 0, 1e6, NULL, "SEC",            \
     "progress line period on rank 0 (0 = off)"}
#define CX_CLI_OPT_HELP(_type) {"help", CX_OPT_FLAG, offsetof(_type, help), NULL, 0, 0, NULL, NULL, "this help"}

#endif
