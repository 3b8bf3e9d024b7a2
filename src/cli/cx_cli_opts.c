/*
 * The start every command shares (cx_cmd.h): the option table's defaults,
 * then argv on top, one error message or the help text, each printed once
 * (rank 0), and the exit status the commands agree on (2: usage).
 */
#include <stdio.h>
#include <string.h>

#include "cx_cmd.h"

/* The table's "help" flag as set by argv (0 when the table has none). */
static int cx_cli_help_asked(const cx_opt_t *tbl, size_t n, const void *o)
{
    size_t i;
    for (i = 0; i < n; i++) {
        if (tbl[i].type == CX_OPT_FLAG && strcmp(tbl[i].name, "help") == 0)
            return *(const int *)((const char *)o + tbl[i].offset);
    }
    return 0;
}

int cx_cli_options_pos(const cx_opt_t *tbl, size_t n, int argc, char **argv, void *o, const char *usage,
                       const char **pos, int max_pos, int *n_pos_p)
{
    cx_err_t err;
    int      rank = cx_cli_rank();

    cx_err_clear(&err);
    if (cx_opt_defaults(tbl, n, o, &err) != CX_OK ||
        cx_opt_parse(tbl, n, argc, argv, o, pos, max_pos, n_pos_p, &err) != CX_OK) {
        if (rank == 0) cx_err_print(&err);
        return 2;
    }
    if (usage != NULL && cx_cli_help_asked(tbl, n, o)) {
        if (rank == 0) {
            fputs(usage, stdout);
            cx_opt_help(stdout, tbl, n);
        }
        return 0;
    }
    return CX_CLI_GO;
}

int cx_cli_options(const cx_opt_t *tbl, size_t n, int argc, char **argv, void *o, const char *usage)
{
    return cx_cli_options_pos(tbl, n, argc, argv, o, usage, NULL, 0, NULL);
}
