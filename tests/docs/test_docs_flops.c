/*
 * workloads/README.md's "Shipped files" table against the workload code: for
 * every row, the tokens per iteration and both model FLOPs figures (the MFU
 * one, causal attention halved; and attention in full) must be what
 * cx_workload computes for that file, to the 4 digits the table shows.
 *
 *   test_docs_flops WORKLOADS_DIR
 *
 * Prints one line per row; exits 1 naming every row that disagrees.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cx_workload.h"

/* "| `small.yaml` | 64 | ... | 262,144 | 3.993e15; 4.415e15 | ..." */
static int check_row(const char *dir, char *line, int *rows)
{
    char          *cells[8], *p = line, file[256], path[512], want_c[32], want_f[32], got_c[32], got_f[32];
    int            n = 0, bad = 0;
    cx_workload_t *w;
    cx_err_t       err;
    double         tokens;
    long long      want_tokens = 0;
    const char    *q;
    while (n < 8 && (p = strchr(p, '|')) != NULL) {
        *p++ = '\0';
        cells[n++] = p;
    }
    if (n < 7) return 0;
    if (sscanf(cells[0], " `%255[^`]`", file) != 1) return 0;
    for (q = cells[3]; *q != '\0' && *q != '|'; q++)
        if (*q >= '0' && *q <= '9') want_tokens = want_tokens * 10 + (*q - '0');
    if (sscanf(cells[4], " %31[^;]; %31[^ |]", want_c, want_f) != 2) {
        printf("FAIL %s: model FLOPs cell '%s' is not 'MFU; full'\n", file, cells[4]);
        return 1;
    }
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    if (cx_workload_load(&w, path, &err) != CX_OK) {
        printf("FAIL %s: the table names a workload that does not load\n", file);
        return 1;
    }
    tokens = cx_workload_tokens_per_iteration(w);
    /* The table writes 4 significant digits as 1.234e19. */
    snprintf(got_c, sizeof(got_c), "%.3e", cx_workload_model_flops_causal_per_iteration(w));
    snprintf(got_f, sizeof(got_f), "%.3e", cx_workload_model_flops_per_iteration(w));
    for (p = got_c; (p = strstr(p, "e+")) != NULL;) memmove(p + 1, p + 2, strlen(p + 2) + 1);
    for (p = got_f; (p = strstr(p, "e+")) != NULL;) memmove(p + 1, p + 2, strlen(p + 2) + 1);
    if (strcmp(got_c, want_c) != 0 || strcmp(got_f, want_f) != 0 || (double)want_tokens != tokens) {
        printf("FAIL %s: table says tokens %lld, FLOPs %s; %s, the code %.0f, %s; %s\n", file, want_tokens, want_c,
               want_f, tokens, got_c, got_f);
        bad = 1;
    } else {
        printf("ok   %s: tokens %.0f, model FLOPs %s (MFU); %s (attention in full)\n", file, tokens, got_c, got_f);
    }
    cx_workload_destroy(w);
    (*rows)++;
    return bad;
}

int main(int argc, char **argv)
{
    char  path[512], line[4096];
    FILE *f;
    int   bad = 0, rows = 0, in_table = 0;
    if (argc != 2) {
        fprintf(stderr, "usage: test_docs_flops WORKLOADS_DIR\n");
        return 2;
    }
    snprintf(path, sizeof(path), "%s/README.md", argv[1]);
    f = fopen(path, "r");
    if (f == NULL) {
        printf("FAIL cannot read %s\n", path);
        return 1;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "## Shipped files", 16) == 0) in_table = 1;
        else if (strncmp(line, "## ", 3) == 0) in_table = 0;
        if (in_table && strncmp(line, "| `", 3) == 0) bad |= check_row(argv[1], line, &rows);
    }
    fclose(f);
    if (rows < 10) {
        printf("FAIL only %d table rows found in %s\n", rows, path);
        return 1;
    }
    printf("%s: %d rows checked\n", bad ? "FAIL" : "PASS", rows);
    return bad;
}
