/* Temporary: replaced by cmd_topo.c from the topo module owner. */
#include <stdio.h>
#include "cx_cmd.h"
int cx_cmd_topo(int argc, char **argv)
{
    (void)argc; (void)argv;
    fprintf(stderr, "colossim: error: 'topo' is not available yet\n");
    return 2;
}
