/* Subcommands of the colossim binary.  argv[0] is the first argument after
 * the subcommand name.  Each returns the process exit code. */
#ifndef CX_CMD_H
#define CX_CMD_H

#include <mpi.h>

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

#endif
