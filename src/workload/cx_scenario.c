/*
 * The `scenario:` YAML kind: parsing, the jobs' workloads, and placement on
 * whole NVLink domains of the first fabric (cx_scenario.h).  Every check
 * that can fail on the file happens here, before anything is built, and
 * names the file, the line and the field.
 */
#define _POSIX_C_SOURCE 200809L
#include "cx_scenario.h"

#include "cx_run_kind.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cx_rng.h"
#include "cx_yaml.h"

void cx_scenario_destroy(cx_scenario_t *s)
{
    uint32_t i;
    if (s == NULL) return;
    for (i = 0; i < s->n; i++) {
        cx_workload_destroy(s->jobs[i].w);
        free(s->jobs[i].place);
    }
    free(s->jobs);
    free(s);
}

/* path relative to the directory of the file `base`, unless absolute. */
static void cx_scen_resolve(char *out, size_t len, const char *base, const char *path)
{
    const char *slash = strrchr(base, '/');
    if (path[0] == '/' || slash == NULL) {
        snprintf(out, len, "%s", path);
    } else {
        snprintf(out, len, "%.*s/%s", (int)(slash - base), base, path);
    }
}

/* `racks: [r, ...]`: whole racks (servers_per_rack x server GPUs each, a
 * whole number of domains), their domains in order until the job is
 * placed. */
static cx_status_t cx_scen_place_racks(const cx_scenario_t *s, cx_scen_job_t *j, const cx_yaml_node_t *rl,
                                       const cx_fabric_info_t *fi, cx_err_t *err)
{
    uint64_t    D = (uint64_t)fi->domain_gpus, R = s->rack_gpus, dpr, need, nracks, k = 0, i;
    cx_status_t st;
    if ((st = cx_yaml_expect(rl, CX_YAML_SEQ, err)) != CX_OK) return st;
    if (R < D || R % D != 0) {
        return cx_yaml_error(rl, CX_ERR_INVALID, err,
                             "a rack of %llu GPUs is not a whole number of NVLink domains of %llu: use 'domains'",
                             (unsigned long long)R, (unsigned long long)D);
    }
    dpr    = R / D;
    need   = (j->n_blocks + dpr - 1) / dpr;
    nracks = fi->gpus / R;
    if (rl->n_children != need) {
        return cx_yaml_error(rl, CX_ERR_INVALID, err,
                             "%zu rack(s) listed; the job's %llu GPUs take %llu rack(s) of %llu GPUs", rl->n_children,
                             (unsigned long long)j->w->gpus, (unsigned long long)need, (unsigned long long)R);
    }
    for (i = 0; i < need; i++) {
        const cx_yaml_node_t *e = rl->children[i];
        char                 *end;
        unsigned long long    r, q;
        if (e->kind != CX_YAML_SCALAR || e->scalar[0] < '0' || e->scalar[0] > '9')
            return cx_yaml_error(e, CX_ERR_INVALID, err, "expected a rack index");
        r = strtoull(e->scalar, &end, 10);
        if (*end != '\0') return cx_yaml_error(e, CX_ERR_INVALID, err, "expected a rack index");
        if (r >= nracks) {
            return cx_yaml_error(e, CX_ERR_RANGE, err, "rack %llu does not exist (the fabric has %llu, 0..%llu)", r,
                                 (unsigned long long)nracks, (unsigned long long)(nracks - 1));
        }
        for (q = 0; q < dpr && k < j->n_blocks; q++) j->place[k++] = (r * dpr + q) * D;
    }
    return CX_OK;
}

/* `scattered: {seed: S}`: free domains drawn at random (a fixed function of
 * the seed and the job's index), as a busy scheduler leaves them, in
 * ascending order. */
static int cx_scen_u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static cx_status_t cx_scen_place_scattered(cx_scen_job_t *j, uint32_t ji, const cx_yaml_node_t *sn,
                                           const cx_fabric_info_t *fi, const uint32_t *owner, cx_err_t *err)
{
    static const char *const keys[] = {"seed", NULL};
    uint64_t                 D = (uint64_t)fi->domain_gpus, ndom = fi->gpus / D, nfree = 0, d, i;
    uint64_t                *pool;
    int64_t                  seed = 1;
    cx_status_t              st;
    if ((st = cx_yaml_expect(sn, CX_YAML_MAP, err)) != CX_OK) return st;
    if ((st = cx_yaml_check_keys(sn, keys, err)) != CX_OK) return st;
    if ((st = cx_yaml_get_int(sn, "seed", 0, 0, INT64_MAX, &seed, err)) != CX_OK) return st;
    pool = malloc((size_t)(ndom > 0 ? ndom : 1) * sizeof(*pool));
    if (pool == NULL) return cx_err_set(err, CX_ERR_NOMEM, NULL, 0, NULL, "out of memory");
    for (d = 0; d < ndom; d++) {
        if (owner[d] == 0) pool[nfree++] = d;
    }
    if (nfree < j->n_blocks) {
        free(pool);
        return cx_yaml_error(sn, CX_ERR_RANGE, err,
                             "%llu NVLink domain(s) are free after the jobs above; this job needs %llu",
                             (unsigned long long)nfree, (unsigned long long)j->n_blocks);
    }
    /* The first n_blocks of a seeded Fisher-Yates shuffle. */
    for (i = 0; i < j->n_blocks; i++) {
        uint64_t r = i + cx_rng_u64((uint64_t)seed, ji, i) % (nfree - i), t = pool[i];
        pool[i]    = pool[r];
        pool[r]    = t;
    }
    qsort(pool, (size_t)j->n_blocks, sizeof(*pool), cx_scen_u64_cmp);
    for (i = 0; i < j->n_blocks; i++) j->place[i] = pool[i] * D;
    free(pool);
    return CX_OK;
}

/* `first_gpu: N`: a contiguous block of whole domains from GPU N. */
static cx_status_t cx_scen_place_first(cx_scen_job_t *j, const cx_yaml_node_t *pn, const cx_yaml_node_t *fg,
                                       const cx_fabric_info_t *fi, cx_err_t *err)
{
    uint64_t    D = (uint64_t)fi->domain_gpus, k;
    int64_t     first;
    cx_status_t st;
    if ((st = cx_yaml_get_int(pn, "first_gpu", 1, 0, INT64_MAX, &first, err)) != CX_OK) return st;
    if ((uint64_t)first % D != 0) {
        return cx_yaml_error(fg, CX_ERR_INVALID, err,
                             "GPU %lld does not start an NVLink domain: jobs take whole domains of %llu GPUs "
                             "(try %llu)", (long long)first, (unsigned long long)D,
                             (unsigned long long)((uint64_t)first / D * D));
    }
    if ((uint64_t)first + j->n_blocks * D > fi->gpus) {
        return cx_yaml_error(fg, CX_ERR_RANGE, err,
                             "GPUs %lld..%llu (%llu for the job's %llu) do not fit the fabric's %llu GPUs",
                             (long long)first, (unsigned long long)((uint64_t)first + j->n_blocks * D - 1),
                             (unsigned long long)(j->n_blocks * D), (unsigned long long)j->w->gpus,
                             (unsigned long long)fi->gpus);
    }
    for (k = 0; k < j->n_blocks; k++) j->place[k] = (uint64_t)first + k * D;
    return CX_OK;
}

/* `domains: [d, ...]`: one domain per D GPUs of the job. */
static cx_status_t cx_scen_place_domains(cx_scen_job_t *j, const cx_yaml_node_t *dl, const cx_fabric_info_t *fi,
                                         cx_err_t *err)
{
    uint64_t    D = (uint64_t)fi->domain_gpus, ndom = fi->gpus / D, k;
    cx_status_t st;
    if ((st = cx_yaml_expect(dl, CX_YAML_SEQ, err)) != CX_OK) return st;
    if (dl->n_children != j->n_blocks) {
        return cx_yaml_error(dl, CX_ERR_INVALID, err,
                             "%zu domain(s) listed; the job's %llu GPUs take %llu NVLink domain(s) of %llu",
                             dl->n_children, (unsigned long long)j->w->gpus, (unsigned long long)j->n_blocks,
                             (unsigned long long)D);
    }
    for (k = 0; k < j->n_blocks; k++) {
        const cx_yaml_node_t *e = dl->children[k];
        char                 *end;
        unsigned long long    d;
        if (e->kind != CX_YAML_SCALAR || e->scalar[0] < '0' || e->scalar[0] > '9')
            return cx_yaml_error(e, CX_ERR_INVALID, err, "expected an NVLink domain index");
        d = strtoull(e->scalar, &end, 10);
        if (*end != '\0') return cx_yaml_error(e, CX_ERR_INVALID, err, "expected an NVLink domain index");
        if (d >= ndom) {
            return cx_yaml_error(e, CX_ERR_RANGE, err, "domain %llu does not exist (the fabric has %llu, 0..%llu)",
                                 d, (unsigned long long)ndom, (unsigned long long)(ndom - 1));
        }
        j->place[k] = (uint64_t)d * D;
    }
    return CX_OK;
}

/* The job's placement into j->place: exactly one of `first_gpu`, `domains`,
 * `racks` or `scattered`.  owner[d] = 1 + the job holding domain d (0:
 * free). */
static cx_status_t cx_scen_place(const cx_scenario_t *s, cx_scen_job_t *j, uint32_t ji, const cx_yaml_node_t *pn,
                                 const cx_fabric_info_t *fi, uint32_t *owner, cx_err_t *err)
{
    static const char *const keys[] = {"first_gpu", "domains", "racks", "scattered", NULL};
    const cx_yaml_node_t    *fg = cx_yaml_get(pn, "first_gpu"), *dl = cx_yaml_get(pn, "domains");
    const cx_yaml_node_t    *rl = cx_yaml_get(pn, "racks"), *sn = cx_yaml_get(pn, "scattered"), *at;
    uint64_t                 D = (uint64_t)fi->domain_gpus, k;
    cx_status_t              st;

    if ((st = cx_yaml_expect(pn, CX_YAML_MAP, err)) != CX_OK) return st;
    if ((st = cx_yaml_check_keys(pn, keys, err)) != CX_OK) return st;
    if ((fg != NULL) + (dl != NULL) + (rl != NULL) + (sn != NULL) != 1)
        return cx_yaml_error(pn, CX_ERR_INVALID, err,
                             "give one of 'first_gpu: N', 'domains: [d, ...]', 'racks: [r, ...]' or "
                             "'scattered: {seed: S}'");
    j->block    = D;
    j->n_blocks = (j->w->gpus + D - 1) / D;
    j->place    = calloc(j->n_blocks, sizeof(uint64_t));
    if (j->place == NULL) return cx_err_set(err, CX_ERR_NOMEM, NULL, 0, NULL, "out of memory");
    at = fg != NULL ? fg : dl != NULL ? dl : rl != NULL ? rl : sn;
    if (fg != NULL) st = cx_scen_place_first(j, pn, fg, fi, err);
    else if (dl != NULL) st = cx_scen_place_domains(j, dl, fi, err);
    else if (rl != NULL) st = cx_scen_place_racks(s, j, rl, fi, err);
    else st = cx_scen_place_scattered(j, ji, sn, fi, owner, err);
    if (st != CX_OK) return st;
    /* Overlaps, within the job and with the jobs before it. */
    for (k = 0; k < j->n_blocks; k++) {
        uint64_t d = j->place[k] / D;
        if (owner[d] != 0) {
            const cx_yaml_node_t *e = dl != NULL ? dl->children[k] : rl != NULL ? rl->children[k * D / s->rack_gpus] : at;
            if (owner[d] == ji + 1)
                return cx_yaml_error(e, CX_ERR_INVALID, err, "NVLink domain %llu is listed twice", (unsigned long long)d);
            return cx_yaml_error(e, CX_ERR_INVALID, err,
                                 "NVLink domain %llu (GPUs %llu..%llu) is already job '%s''s (line %d): jobs "
                                 "may not overlap", (unsigned long long)d, (unsigned long long)(d * D),
                                 (unsigned long long)(d * D + D - 1), s->jobs[owner[d] - 1].name,
                                 s->jobs[owner[d] - 1].line);
        }
        owner[d] = ji + 1;
    }
    return CX_OK;
}

static cx_status_t cx_scen_job(cx_scenario_t *s, uint32_t ji, const cx_yaml_node_t *e, const cx_fabric_info_t *fi,
                               uint32_t *owner, cx_err_t *err)
{
    static const char *const keys[] = {"name", "workload", "placement", "start", "iterations", NULL};
    cx_scen_job_t           *j = &s->jobs[ji];
    const char              *name = NULL, *wl = NULL;
    int64_t                  start = 0, iters = 0;
    const cx_yaml_node_t    *pn;
    cx_status_t              st;

    if ((st = cx_yaml_expect(e, CX_YAML_MAP, err)) != CX_OK) return st;
    if ((st = cx_yaml_check_keys(e, keys, err)) != CX_OK) return st;
    j->line = e->line;
    if ((st = cx_yaml_get_string(e, "name", 0, &name, err)) != CX_OK) return st;
    if (name != NULL) snprintf(j->name, sizeof(j->name), "%s", name);
    else snprintf(j->name, sizeof(j->name), "job%u", ji);
    if ((st = cx_yaml_get_string(e, "workload", 1, &wl, err)) != CX_OK) return st;
    if ((st = cx_yaml_get_time_ps(e, "start", 0, &start, err)) != CX_OK) return st;
    /* A start beyond a day of simulated time is past any run's end. */
    if (start < 0 || start > INT64_C(86400) * CX_PS_PER_S)
        return cx_yaml_error(cx_yaml_get(e, "start"), CX_ERR_RANGE, err, "must be in [0, 1 day]");
    if ((st = cx_yaml_get_int(e, "iterations", 0, 1, 1000000, &iters, err)) != CX_OK) return st;
    cx_scen_resolve(j->workload_path, sizeof(j->workload_path), s->path, wl);
    st = cx_workload_load(&j->w, j->workload_path, err);
    if (st == CX_OK) st = cx_workload_check_fit(j->w, fi->gpus, (uint32_t)fi->domain_gpus, err);
    if (st == CX_OK) st = cx_kind_check_fit(j->w, (uint32_t)fi->domain_gpus, err); /* inference / RL */
    if (st != CX_OK) {
        /* The workload's own error (its file, line and field), and where
         * the scenario names it. */
        size_t n = strlen(err->msg);
        snprintf(err->msg + n, sizeof(err->msg) - n, " (job '%s' at %s:%d)", j->name, s->path,
                 cx_yaml_get(e, "workload")->line);
        return st;
    }
    j->start      = start;
    j->iterations = iters > 0 ? (uint32_t)iters : (j->w->iterations > 0 ? j->w->iterations : 1);
    if (j->w->kind == CX_WL_INFERENCE && j->iterations > 1)
        return cx_yaml_error(cx_yaml_get(e, "iterations"), CX_ERR_INVALID, err,
                             "an inference job serves its requests once (1 iteration)");
    j->w->iterations = j->iterations; /* an RL job's steps */
    pn            = cx_yaml_get(e, "placement");
    if (pn == NULL) return cx_yaml_error(e, CX_ERR_INVALID, err, "missing required field 'placement'");
    return cx_scen_place(s, j, ji, pn, fi, owner, err);
}

cx_status_t cx_scenario_load(cx_scenario_t **s_p, const char *path, const cx_topo_t *topo, cx_err_t *err)
{
    static const char *const top_keys[] = {"scenario", NULL};
    static const char *const keys[]     = {"name", "jobs", NULL};
    cx_yaml_doc_t           *doc = NULL;
    const cx_yaml_node_t    *root, *sc, *jobs;
    cx_scenario_t           *s = NULL;
    cx_fabric_info_t         fi;
    cx_gpu_info_t            g0;
    uint32_t                *owner = NULL, i;
    const char              *name = NULL;
    cx_status_t              st;

    st = cx_yaml_load_file(&doc, path, err);
    if (st != CX_OK) return st;
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        st = cx_err_set(err, CX_ERR_NOMEM, NULL, 0, NULL, "out of memory");
        goto out;
    }
    snprintf(s->path, sizeof(s->path), "%s", path);
    root = cx_yaml_root(doc);
    if ((st = cx_yaml_expect(root, CX_YAML_MAP, err)) != CX_OK) goto out;
    if ((st = cx_yaml_check_keys(root, top_keys, err)) != CX_OK) goto out;
    sc = cx_yaml_get(root, "scenario");
    if (sc == NULL) {
        st = cx_yaml_error(root, CX_ERR_INVALID, err, "not a scenario file: no 'scenario:' section");
        goto out;
    }
    if ((st = cx_yaml_expect(sc, CX_YAML_MAP, err)) != CX_OK) goto out;
    if ((st = cx_yaml_check_keys(sc, keys, err)) != CX_OK) goto out;
    if ((st = cx_yaml_get_string(sc, "name", 0, &name, err)) != CX_OK) goto out;
    snprintf(s->name, sizeof(s->name), "%s", name != NULL ? name : "scenario");
    jobs = cx_yaml_get(sc, "jobs");
    if (jobs == NULL) {
        st = cx_yaml_error(sc, CX_ERR_INVALID, err, "missing required field 'jobs'");
        goto out;
    }
    if ((st = cx_yaml_expect(jobs, CX_YAML_SEQ, err)) != CX_OK) goto out;
    if (jobs->n_children < 1 || jobs->n_children > CX_SCEN_MAX_JOBS) {
        st = cx_yaml_error(jobs, CX_ERR_RANGE, err, "%zu jobs: a scenario holds 1..%d", jobs->n_children,
                           CX_SCEN_MAX_JOBS);
        goto out;
    }
    /* Jobs are placed on the first fabric, NVLink domains laid out in GPU order. */
    cx_topo_gpu_info(topo, cx_topo_gpu_device(topo, 0), &g0);
    if (cx_topo_fabric_info(topo, g0.fabric, &fi) != CX_OK || fi.domain_gpus < 1) {
        st = cx_yaml_error(jobs, CX_ERR_INVALID, err, "the topology's first fabric has no NVLink domains");
        goto out;
    }
    s->rack_gpus = (uint64_t)fi.server_gpus * cx_topo_fabric_servers_per_rack(topo, g0.fabric);
    s->jobs  = calloc(jobs->n_children, sizeof(cx_scen_job_t));
    owner    = calloc(fi.gpus / (uint64_t)fi.domain_gpus + 1, sizeof(uint32_t));
    if (s->jobs == NULL || owner == NULL) {
        st = cx_err_set(err, CX_ERR_NOMEM, NULL, 0, NULL, "out of memory");
        goto out;
    }
    for (i = 0; i < jobs->n_children; i++) {
        uint64_t k;
        s->n = i + 1;
        st   = cx_scen_job(s, i, jobs->children[i], &fi, owner, err);
        if (st != CX_OK) goto out;
        s->gpus += s->jobs[i].w->gpus;
        for (k = 0; k < s->jobs[i].n_blocks; k++) {
            uint64_t end = s->jobs[i].place[k] + s->jobs[i].block;
            if (end > s->span_gpus) s->span_gpus = end;
        }
    }
out:
    free(owner);
    cx_yaml_free(doc);
    if (st != CX_OK) {
        cx_scenario_destroy(s);
        return st;
    }
    *s_p = s;
    return CX_OK;
}
