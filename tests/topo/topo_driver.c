/* Test driver: `colossim topo` without the rest of the CLI (no MPI init). */
#include "cx_cmd.h"

int main(int argc, char **argv)
{
    return cx_cmd_topo(argc - 1, argv + 1);
}
