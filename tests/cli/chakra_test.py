#!/usr/bin/python3
"""Chakra execution traces as colossim workloads (ctest workload.chakra.*).
Exit 77 (skipped) when colossim was built without protobuf-c.

    chakra_test.py MPIEXEC COLOSSIM ANALYZE SOURCE_DIR WORKDIR CASE

The ET files are written here, by hand, in protobuf's wire format (varint
length, then the message) with the field numbers of the published Chakra
schema: GlobalMetadata{version=1}, Node{id=1, name=2, type=3, ctrl_deps=4,
data_deps=5, start_time_micros=6, duration_micros=7, attr=10},
AttributeProto{name=1, int64_val=9, uint64_val=13, bool_val=27}.

The job: 4 ranks.  Each rank: a GEMM of 1e12 FLOPs (num_ops), an all-reduce
of 64 MiB that depends on it, a compute node measured at 1,500 us that
depends on the all-reduce, a CPU op and a metadata node (no GPU work) in the
chain; rank 0 sends 16 MiB to rank 1 after its GEMM (comm_tag 7), rank 1's
last compute depends on the receive.

CASE:
  run     import, then `colossim run --workload JOB` at 1 and 2 ranks: exit 0,
          same digest; the trace holds the measured kernel at exactly 1,500 us
          (and on an H200/GB200 fabric too: measured time does not depend on the GPU),
          the GEMM at the roofline's time, one all-reduce of 64 MiB over the 4
          GPUs, rank 1's compute after the send's arrival; --durations roofline
          keeps num_ops where both are given
  groups  --comm-groups: TP groups {0,1} {2,3} all-reduce, DP groups {0,2}
          {1,3} all-gather (pg_name): the trace has 4 collective instances
          over groups of 2 with strides 1 and 2; a group that is not evenly
          spaced, or a pg_name the file lacks, is refused
  errors  a truncated file, a wrong version, a missing rank, collectives in a
          different order, a receive without its send, a dependency on an
          absent node, a workload whose gpus differ: one message naming the
          file (and node), exit 1, and no replay.yaml written
"""
import json
import os
import shutil
import struct
import subprocess
import sys

MPIEXEC, COLOSSIM, ANALYZE, SRC, WORK, CASE = sys.argv[1:7]
TOPO = os.path.join(SRC, "topologies", "colossus1-mini.yaml")
N = 4


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def run(cmd, expect=0):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    if expect is not None and p.returncode != expect:
        fail("%s: exit %d (expected %d)\n%s\n%s" % (" ".join(cmd), p.returncode, expect, p.stdout[-3000:],
                                                    p.stderr[-3000:]))
    return p


# ---- protobuf wire format ------------------------------------------------

def varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def key(field, wt):
    return varint(field << 3 | wt)


def f_varint(field, v):
    return key(field, 0) + varint(v)


def f_bytes(field, b):
    return key(field, 2) + varint(len(b)) + b


def attr(name, v):
    body = f_bytes(1, name.encode())
    if isinstance(v, str):
        body += f_bytes(29, v.encode())     # string_val
    elif isinstance(v, bool):
        body += f_varint(27, int(v))
    elif v < 0:
        body += f_varint(9, v & (2 ** 64 - 1))
    else:
        body += f_varint(9, int(v))        # int64_val
    return body


def node(nid, name, ntype, deps=(), ctrl=(), start=0, dur=0, **attrs):
    b = f_varint(1, nid) + f_bytes(2, name.encode()) + f_varint(3, ntype)
    if ctrl:
        b += f_bytes(4, b"".join(varint(d) for d in ctrl))   # packed, as proto3 writes it
    if deps:
        b += f_bytes(5, b"".join(varint(d) for d in deps))
    if start:
        b += f_varint(6, start)
    if dur:
        b += f_varint(7, dur)
    for k, v in attrs.items():
        b += f_bytes(10, attr(k, v))
    return b


def et_file(path, nodes, version="0.0.4"):
    with open(path, "wb") as f:
        meta = f_bytes(1, version.encode())
        f.write(varint(len(meta)) + meta)
        for n in nodes:
            f.write(varint(len(n)) + n)


METADATA, COMP, SEND, RECV, COLL = 1, 4, 5, 6, 7
ALL_REDUCE, ALL_GATHER = 0, 2


def rank_nodes(r, coll_order=(ALL_REDUCE,), recv=True):
    ns = [node(1, "meta", METADATA),
          node(2, "gemm", COMP, deps=[1], num_ops=10 ** 12, tensor_size=1 << 20),
          node(3, "cpu_launch", COMP, deps=[2], is_cpu_op=True, dur=5)]
    prev = 3
    for k, ct in enumerate(coll_order):
        ns.append(node(10 + k, "coll%d" % k, COLL, deps=[prev], comm_type=ct, comm_size=64 << 20))
        prev = 10 + k
    last_deps = [prev]
    if r == 0:
        ns.append(node(20, "send", SEND, deps=[2], comm_dst=1, comm_size=16 << 20, comm_tag=7))
    if r == 1 and recv:
        ns.append(node(21, "recv", RECV, ctrl=[1], comm_src=0, comm_size=16 << 20, comm_tag=7))
        last_deps.append(21)
    ns.append(node(30, "measured", COMP, deps=last_deps, dur=1500, num_ops=5 * 10 ** 11))
    return ns


def write_job(d, per_rank=None, names="trace.%d.et"):
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)
    for r in range(N):
        et_file(os.path.join(d, names % r), per_rank(r) if per_rank else rank_nodes(r))


def workload(path, gpus=N):
    with open(path, "w") as f:
        f.write("name: chakra-%d\ngpus: %d\nmodel:\n  name: tiny\n  layers: 2\n  hidden: 1024\n"
                "  ffn_hidden: 4096\n  heads: 8\n  vocab: 32000\nparallelism:\n  dp: %d\n"
                "training:\n  seq_len: 1024\n  global_batch_sequences: %d\n" % (gpus, gpus, gpus, gpus))
    return path


def skip_without_protobuf():
    p = subprocess.run([COLOSSIM, "chakra", "import", WORK, "--workload", "x", "--out", "y"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, universal_newlines=True)
    if "built without protobuf-c" in p.stderr:
        print("SKIP: " + p.stderr.strip())
        sys.exit(77)


def case_run():
    os.makedirs(WORK, exist_ok=True)
    skip_without_protobuf()
    et, job, wl = os.path.join(WORK, "et"), os.path.join(WORK, "job"), workload(os.path.join(WORK, "wl.yaml"))
    write_job(et)
    p = run([COLOSSIM, "chakra", "import", et, "--workload", wl, "--out", job])
    print(p.stdout.strip())
    if "4 ranks" not in p.stdout or "4 with measured durations" not in p.stdout or "4 collectives" not in p.stdout:
        fail("import summary: " + p.stdout)
    digests = []
    for np_ in (1, 2):
        out = os.path.join(WORK, "run_np%d.h5" % np_)
        js = os.path.join(WORK, "run_np%d.json" % np_)
        cmd = [COLOSSIM, "run", "--workload", job, "--topology", TOPO, "--trace-level", "ops", "--out", out,
               "--summary-json", js, "--progress", "0"]
        if np_ > 1:
            cmd = [MPIEXEC, "--oversubscribe", "-np", str(np_)] + cmd
        run(cmd)
        digests.append(json.load(open(js))["digest"])
    if digests[0] != digests[1]:
        fail("digest differs between 1 and 2 ranks: %r" % digests)
    import h5py
    with h5py.File(os.path.join(WORK, "run_np1.h5"), "r") as f:
        ops = f["ops/gpu_ops"][:]
        coll = f["summary/collectives"][:]
    comp = ops[ops["kind"] == 0]
    dur = (comp["end_ps"] - comp["start_ps"])
    measured = comp[dur == 1500 * 10 ** 6]
    if len(measured) != N:
        fail("measured kernels: %d of %d last at exactly 1,500 us (durations %s)" % (len(measured), N, sorted(set(dur))))
    gemm = comp[comp["flops"] == 1e12]
    if len(gemm) != N or len(set(gemm["end_ps"] - gemm["start_ps"])) != 1:
        fail("GEMMs: %r" % gemm)
    if len(coll) != 1 or coll["bytes"][0] != 64 << 20 or coll["group_size"][0] != N or coll["kind"][0] != 0:
        fail("collectives: %r" % coll)
    sends = ops[ops["kind"] == 1]
    recvs = ops[ops["kind"] == 2]
    if len(sends) != 1 or len(recvs) != 1 or sends["bytes"][0] != 16 << 20:
        fail("send/recv: %r %r" % (sends, recvs))
    r1_measured = measured[measured["gpu"] == 1]
    if r1_measured["start_ps"][0] < recvs["end_ps"][0]:
        fail("rank 1's last kernel started before its receive completed")
    # --durations roofline: num_ops wins where both are given.
    job2 = os.path.join(WORK, "job_roofline")
    run([COLOSSIM, "chakra", "import", et, "--workload", wl, "--out", job2, "--durations", "roofline"])
    out2 = os.path.join(WORK, "roofline.h5")
    run([COLOSSIM, "run", "--workload", job2, "--topology", TOPO, "--trace-level", "ops", "--out", out2,
         "--progress", "0"])
    with h5py.File(out2, "r") as f:
        ops2 = f["ops/gpu_ops"][:]
    m2 = ops2[(ops2["kind"] == 0) & (ops2["flops"] == 5e11)]
    if len(m2) != N or any(m2["end_ps"] - m2["start_ps"] == 1500 * 10 ** 6):
        fail("--durations roofline: the 5e11-FLOP kernels should run at the roofline's time")
    # A measured kernel takes its measured time on another GPU type too.
    out3 = os.path.join(WORK, "gb200.h5")
    run([COLOSSIM, "run", "--workload", job, "--topology", os.path.join(SRC, "topologies", "colossus2-mini.yaml"),
         "--trace-level", "ops", "--out", out3, "--progress", "0"])
    with h5py.File(out3, "r") as f:
        ops3 = f["ops/gpu_ops"][:]
    c3 = ops3[ops3["kind"] == 0]
    if sum(1 for d in c3["end_ps"] - c3["start_ps"] if d == 1500 * 10 ** 6) != N:
        fail("on colossus2-mini the measured kernels are not 1,500 us")
    print("import + run at 1 and 2 ranks: digest %s; measured kernel 1500 us on %d GPUs; GEMM %.1f us" %
          (digests[0], len(measured), (gemm["end_ps"][0] - gemm["start_ps"][0]) * 1e-6))
    print("PASS")


def case_groups():
    import h5py
    os.makedirs(WORK, exist_ok=True)
    skip_without_protobuf()
    wl = workload(os.path.join(WORK, "wl.yaml"))
    groups = os.path.join(WORK, "groups.json")
    json.dump({"tp0": [0, 1], "tp1": [2, 3], "dp0": [0, 2], "dp1": [1, 3]}, open(groups, "w"))

    def ranks(r, tp_name=None):
        tp = tp_name or ("tp0" if r < 2 else "tp1")
        dp = "dp0" if r % 2 == 0 else "dp1"
        return [node(1, "gemm", COMP, num_ops=10 ** 11),
                node(2, "tp_ar", COLL, deps=[1], comm_type=ALL_REDUCE, comm_size=8 << 20, pg_name=tp),
                node(3, "dp_ag", COLL, deps=[2], comm_type=ALL_GATHER, comm_size=32 << 20, pg_name=dp),
                node(4, "gemm2", COMP, deps=[3], num_ops=10 ** 11)]
    et, job = os.path.join(WORK, "et-groups"), os.path.join(WORK, "job-groups")
    write_job(et, ranks)
    run([COLOSSIM, "chakra", "import", et, "--workload", wl, "--out", job, "--comm-groups", groups])
    out = os.path.join(WORK, "groups.h5")
    run([COLOSSIM, "run", "--workload", job, "--topology", TOPO, "--out", out, "--progress", "0"])
    with h5py.File(out, "r") as f:
        c = f["summary/collectives"][:]
    got = sorted((int(r["kind"]), int(r["group_base"]), int(r["group_size"]), int(r["group_stride"])) for r in c)
    want = sorted([(0, 0, 2, 1), (0, 2, 2, 1), (2, 0, 2, 2), (2, 1, 2, 2)])
    if got != want:
        fail("collective instances %r, expected %r" % (got, want))
    print("process groups: %r" % got)
    json.dump({"bad": [0, 1, 3]}, open(groups, "w"))
    p = run([COLOSSIM, "chakra", "import", et, "--workload", wl, "--out", job + "2", "--comm-groups", groups],
            expect=1)
    if "not evenly spaced" not in p.stderr:
        fail("uneven group: " + p.stderr)
    json.dump({"tp0": [0, 1], "tp1": [2, 3]}, open(groups, "w"))
    p = run([COLOSSIM, "chakra", "import", et, "--workload", wl, "--out", job + "3", "--comm-groups", groups],
            expect=1)
    if "process group 'dp0' is not in" not in p.stderr:
        fail("unknown pg_name: " + p.stderr)
    print(p.stderr.strip())
    print("PASS")


def case_errors():
    os.makedirs(WORK, exist_ok=True)
    skip_without_protobuf()
    wl = workload(os.path.join(WORK, "wl.yaml"))

    def expect_error(name, setup, want, wl_path=None):
        et, job = os.path.join(WORK, "et-" + name), os.path.join(WORK, "job-" + name)
        if os.path.isdir(job):
            shutil.rmtree(job)
        setup(et)
        p = run([COLOSSIM, "chakra", "import", et, "--workload", wl_path or wl, "--out", job], expect=1)
        lines = [l for l in p.stderr.splitlines() if l.strip()]
        if len(lines) != 1 or want not in lines[0]:
            fail("%s: expected one line with %r, got:\n%s" % (name, want, p.stderr))
        if os.path.exists(os.path.join(job, "replay.yaml")):
            fail("%s: replay.yaml written after an error" % name)
        print("%-12s %s" % (name, lines[0]))

    def truncated(et):
        write_job(et)
        path = os.path.join(et, "trace.2.et")
        data = open(path, "rb").read()
        open(path, "wb").write(data[:len(data) - 7])

    def version(et):
        write_job(et)
        et_file(os.path.join(et, "trace.3.et"), rank_nodes(3), version="2.1.0")

    def missing(et):
        write_job(et)
        os.remove(os.path.join(et, "trace.2.et"))

    def order(et):
        write_job(et, lambda r: rank_nodes(r, coll_order=(ALL_REDUCE, ALL_GATHER) if r != 2 else
                                           (ALL_GATHER, ALL_REDUCE)))

    def unpaired(et):
        write_job(et, lambda r: rank_nodes(r, recv=False))

    def dangling(et):
        write_job(et)
        et_file(os.path.join(et, "trace.1.et"), rank_nodes(1) + [node(40, "x", COMP, deps=[999], num_ops=1)])

    expect_error("truncated", truncated, "trace.2.et")
    expect_error("version", version, "version '2.1.0' is not supported")
    expect_error("missing", missing, "ranks must be 0..2")
    expect_error("order", order, "same collectives in the same order")
    expect_error("unpaired", unpaired, "has no matching receive on rank 1")
    expect_error("dangling", dangling, "depends on node 999")
    expect_error("gpus", lambda et: write_job(et), "the Chakra trace 4 ranks",
                 wl_path=workload(os.path.join(WORK, "wl8.yaml"), gpus=8))
    print("PASS")


{"run": case_run, "groups": case_groups, "errors": case_errors}[CASE]()
