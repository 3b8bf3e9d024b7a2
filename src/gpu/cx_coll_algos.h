/*
 * The collective algorithms, one row each: the one list every name is made
 * from.  The enum cx_coll_algo_t (cx_op.h), cx_coll_algo_name() (traces,
 * `bench collective`'s algo column), the --algo choices and their help
 * (cx_cli_fabric.h) and the collective engine's table of implementations
 * (cx_coll.c: row ID runs cx_coll_algo_<name>, defined in cx_coll_<name>.c
 * with what it covers) all expand this list, so none can disagree.
 *
 * Row: X(ID, name, CLI, help)
 *   ID    CX_ALGO_<ID>; stored in traces and replay files: append rows,
 *         never reorder or remove one
 *   name  the label and the --algo choice
 *   CLI   FIRST (auto, the default choice), CLI (an --algo choice) or
 *         NOCLI (chosen by the engine only)
 *   help  the --algo help after "name = "
 *
 * Adding an algorithm: a row here, cx_coll_<name>.c with its
 * cx_coll_algo_def_t (cx_coll_impl.h), the file in CMakeLists.txt, a test.
 */
#ifndef CX_COLL_ALGOS_H
#define CX_COLL_ALGOS_H

#define CX_COLL_ALGO_LIST(X)                                                                            \
    X(AUTO, auto, FIRST, "per collective as NCCL's tuner")                                              \
    X(RING, ring, CLI, "rail-aligned rings (pipelined chain for broadcast and reduce)")                \
    X(TREE, tree, CLI, "double binary tree (hierarchical inside domains)")                             \
    X(NVLS, nvls, CLI, "NVSwitch in-switch reduction inside one domain")                               \
    X(PAIRWISE, pairwise, NOCLI, "all-to-all")                                                         \
    X(HIER, hier, CLI, "reduce-scatter inside (NVLS where there is one), ring across, all-gather inside, "  \
                        "pipelined over chunks")                                                       \
    X(DIRECT, direct, CLI, "all-gather and broadcast with every piece sent straight to every member")

/* --algo: "auto|ring|...", its help, and choice index -> CX_ALGO_ id. */
#define CX_COLL_ALGO_CHOICE_FIRST(_n) #_n
#define CX_COLL_ALGO_CHOICE_CLI(_n)   "|" #_n
#define CX_COLL_ALGO_CHOICE_NOCLI(_n)
#define CX_COLL_ALGO_CHOICE(_id, _n, _cli, _h) CX_COLL_ALGO_CHOICE_##_cli(_n)
#define CX_COLL_ALGO_CHOICES                   CX_COLL_ALGO_LIST(CX_COLL_ALGO_CHOICE)

#define CX_COLL_ALGO_HELP_FIRST(_n, _h) #_n " = " _h
#define CX_COLL_ALGO_HELP_CLI(_n, _h)   "; " #_n " = " _h
#define CX_COLL_ALGO_HELP_NOCLI(_n, _h)
#define CX_COLL_ALGO_HELP_ROW(_id, _n, _cli, _h) CX_COLL_ALGO_HELP_##_cli(_n, _h)
#define CX_COLL_ALGO_HELP                        "collective algorithm: " CX_COLL_ALGO_LIST(CX_COLL_ALGO_HELP_ROW)

#define CX_COLL_ALGO_MAP_FIRST(_id) CX_ALGO_##_id,
#define CX_COLL_ALGO_MAP_CLI(_id)   CX_ALGO_##_id,
#define CX_COLL_ALGO_MAP_NOCLI(_id)
#define CX_COLL_ALGO_MAP(_id, _n, _cli, _h) CX_COLL_ALGO_MAP_##_cli(_id)

/* NCCL's protocols (the one list of their names, as the algorithms'):
 * X(ID, name, CLI, help): CX_PROTO_<ID>, --proto choice.  LL: 8-byte stores
 * with a 4-byte flag, half the bandwidth, the lowest latency; LL128: 120 of
 * every 128 bytes, ~95% of it, low latency on NVLink; Simple: the full
 * bandwidth, the highest per-step latency (NVIDIA/nccl#281; docs/collectives.md). */
#define CX_COLL_PROTO_LIST(X)                                                                           \
    X(AUTO, auto, FIRST, "per collective as NCCL's tuner (size, steps, links)")                         \
    X(LL, ll, CLI, "half the bandwidth, the lowest step latency")                                       \
    X(LL128, ll128, CLI, "95% of the bandwidth, low step latency")                                      \
    X(SIMPLE, simple, CLI, "the full bandwidth, the highest step latency")

#define CX_COLL_PROTO_ENUM(_id, _n, _cli, _h) CX_PROTO_##_id,
typedef enum { CX_COLL_PROTO_LIST(CX_COLL_PROTO_ENUM) CX_PROTO_COUNT } cx_coll_proto_t;
#define CX_COLL_PROTO_CHOICES CX_COLL_PROTO_LIST(CX_COLL_ALGO_CHOICE)
#define CX_COLL_PROTO_HELP    "collective protocol: " CX_COLL_PROTO_LIST(CX_COLL_ALGO_HELP_ROW)

#endif
