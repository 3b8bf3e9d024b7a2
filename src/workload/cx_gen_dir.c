/*
 * colossim gen: write every GPU's program of a job as replay files, so a
 * job can be inspected, edited or replayed without the generator (format in
 * cx_replay.h).  Each rank writes a contiguous share of the GPUs; rank 0
 * writes the job's YAML first and DIR/replay.yaml last, after every rank
 * finished, so a directory with replay.yaml is complete.  Every file is
 * written as NAME.partial and renamed.
 */
#define _POSIX_C_SOURCE 200809L
#include "cx_run_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cx_agree.h"
#include "cx_file.h"
#include "cx_gen.h"
#include "cx_replay.h"

cx_status_t cx_gen_write_dir(const char *topology_path, const char *workload_path, uint32_t iterations,
                             const char *dir, MPI_Comm comm, uint64_t *n_files_p, cx_err_t *err)
{
    cx_topo_t     *topo = NULL;
    cx_workload_t *w    = NULL;
    char          *wl_text = NULL;
    int            rank, nranks;
    uint32_t       iters, replay_iters = 0;
    uint64_t       g, lo, hi, mine = 0;
    cx_status_t    st;

    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &nranks);
    st = cx_run_load_topo(topology_path, &topo, err);
    if (st == CX_OK) st = cx_run_load_workload(workload_path, &w, &replay_iters, err);
    if (st == CX_OK && replay_iters > 0) {
        st = cx_err_set(err, CX_ERR_INVALID, workload_path, 0, "workload",
                        "is already a replay directory; give a workload YAML");
    }
    if (st == CX_OK) st = cx_workload_check_fit(w, cx_topo_num_gpus(topo), cx_run_domain_size(topo), err);
    /* Before anything is written: only training programs are generated. */
    if (st == CX_OK && w->kind != CX_WL_TRAINING) {
        st = cx_err_set(err, CX_ERR_UNSUPPORTED, w->file, 0, "kind",
                        "colossim gen writes training programs only; run an inference or RL workload directly");
    }
    if (st != CX_OK) goto out;
    iters = iterations > 0 ? iterations : (w->iterations > 0 ? w->iterations : 1);
    if (rank == 0) {
        const char *t;
        size_t      n;
        if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
            st = cx_err_set(err, CX_ERR_IO, dir, 0, "out", "cannot create the directory: %s", strerror(errno));
        }
        if (workload_path != NULL && workload_path[0] != '\0') {
            wl_text = cx_run_slurp(workload_path);
        } else {
            cx_workload_default_yaml(&t, &n);
            wl_text = strdup(t);
        }
        if (st == CX_OK && wl_text == NULL) {
            st = cx_err_set(err, CX_ERR_IO, workload_path, 0, NULL, "cannot read the workload file again");
        }
        if (st == CX_OK) {
            char path[4096];
            snprintf(path, sizeof(path), "%s/workload.yaml", dir);
            st = cx_file_write_text(path, wl_text, err);
        }
    }
    st = cx_agree(comm, st, err); /* rank 0's directory, or its error on every rank */
    if (st != CX_OK) goto out;
    /* Each rank writes a contiguous share of the GPUs. */
    lo = w->gpus * (uint64_t)rank / (uint64_t)nranks;
    hi = w->gpus * (uint64_t)(rank + 1) / (uint64_t)nranks;
    for (g = lo; g < hi && st == CX_OK; g++) {
        cx_gen_t gen;
        char     path[4096];
        cx_replay_file_path(path, sizeof(path), dir, g);
        st = cx_gen_init(&gen, w, g, iters, err);
        if (st == CX_OK) st = cx_replay_write_gen(path, &gen, err);
        if (st == CX_OK) mine++;
    }
    st = cx_agree(comm, st, err); /* the lowest failing rank's file is named */
    /* replay.yaml last: its presence marks a complete directory. */
    if (st == CX_OK && rank == 0) {
        char path[4096], text[256];
        snprintf(path, sizeof(path), "%s/replay.yaml", dir);
        snprintf(text, sizeof(text),
                 "# Written by colossim gen: per-GPU op programs (gpu-NNNNNN.ops, workloads/README.md)\n"
                 "format: colossim-ops-v1\nworkload: workload.yaml\niterations: %u\ngpus: %llu\n",
                 iters, (unsigned long long)w->gpus);
        st = cx_file_write_text(path, text, err);
    }
    st = cx_agree(comm, st, err);
    MPI_Allreduce(&mine, n_files_p, 1, MPI_UINT64_T, MPI_SUM, comm);
out:
    free(wl_text);
    cx_workload_destroy(w);
    cx_topo_destroy(topo);
    return st;
}
