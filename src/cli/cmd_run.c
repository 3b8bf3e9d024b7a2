/* colossim run: placeholder until the workload layer lands. */
#include <stdio.h>

#include "cx_cmd.h"

int cx_cmd_run(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    if (cx_cli_rank() == 0) fprintf(stderr, "colossim: error: 'run' is not available yet\n");
    return 2;
}
