#!/bin/bash
# A real single-node Slurm cluster on loopback, private to this test: its own
# munged (own key and socket), slurmctld and slurmd from Debian's packages, a
# generated slurm.conf (SLURM_CONF) with non-default ports, everything under
# one temp dir. Then slurm/colossim.sbatch runs `colossim run` on 2 ranks via
# mpirun and via srun --mpi=pmix (when offered), SIGUSR1 sent to the batch
# shell must reach every rank through both launchers, a 3-task
# slurm/sweep.sbatch array runs, and slurm/collect.py gathers it into a CSV.
# On exit it cancels its jobs and stops exactly the daemons it started.
#
# usage: slurm_cluster_test.sh REPO_DIR COLOSSIM_BIN
# exit 77 (skip) when not root or the Slurm/munge binaries are missing.
# env: CX_SLURM_PORT (slurmctld port, slurmd uses +1) [16817]
#      CX_SLURM_KEEP=1 keeps the temp dir; CX_SLURM_DEADLINE seconds [240]
set -u
repo=$(cd "$1" && pwd); bin=$2
case "$bin" in /*) ;; *) bin=$PWD/$bin ;; esac
SKIP=77
t0=$(date +%s)
log() { printf '[slurm-test %3ds] %s\n' "$(( $(date +%s) - t0 ))" "$*"; }

# ---------------------------------------------------------------- skip checks
if [ "$(id -u)" != 0 ]; then
    echo "SKIP: needs root (slurmd runs jobs as any user, slurmctld as SlurmUser=root)"; exit $SKIP
fi
missing=""
for b in munged munge unmunge slurmctld slurmd sbatch squeue sinfo scontrol scancel srun; do
    command -v "$b" >/dev/null 2>&1 || missing="$missing $b"
done
if [ -n "$missing" ]; then
    echo "SKIP: missing binaries:$missing (Debian: munge slurmctld slurmd slurm-client)"; exit $SKIP
fi
[ -x "$bin" ] || { echo "FAIL: colossim binary $bin not found"; exit 1; }

# ---------------------------------------------------------------- state, cleanup
tmp=$(mktemp -d /tmp/cx-slurm.XXXXXX)
chmod 755 "$tmp"                    # munged wants o+x on its socket's directories
pids=()                             # daemons we started, in start order
ok=0
for v in $(compgen -e | grep '^SLURM_'); do unset "$v"; done   # not inside some other allocation
export SLURM_CONF=$tmp/etc/slurm.conf

dump_logs() {
    for f in "$tmp"/log/slurmctld.log "$tmp"/log/slurmd.log "$tmp"/log/munged.log; do
        [ -f "$f" ] || continue
        echo "===== $f (last 60 lines)"; tail -n 60 "$f"
    done
    for f in "$tmp"/submit/*.out; do
        [ -f "$f" ] || continue
        echo "===== $f"; tail -n 40 "$f"
    done
    echo "===== sinfo / squeue"
    timeout 5 sinfo -N -l 2>&1; timeout 5 squeue -l 2>&1
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    [ -n "${watchdog:-}" ] && kill "$watchdog" 2>/dev/null
    [ -n "${bg_pid:-}" ] && kill -TERM "$bg_pid" 2>/dev/null && wait "$bg_pid" 2>/dev/null
    if [ $ok != 1 ] && [ ${#pids[@]} -gt 0 ]; then dump_logs; fi
    if [ ${#pids[@]} -gt 1 ]; then          # slurmctld is up: cancel what is left
        timeout 10 scancel --full --quiet --user=root 2>/dev/null
        for _ in $(seq 20); do
            [ -z "$(timeout 5 squeue -h -t R,CG,PD 2>/dev/null)" ] && break; sleep 0.5
        done
    fi
    local i p
    for (( i=${#pids[@]}-1; i>=0; i-- )); do   # reverse order: slurmd, slurmctld, munged
        p=${pids[i]}
        kill -TERM "$p" 2>/dev/null || continue
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
        kill -0 "$p" 2>/dev/null && { log "pid $p ignored SIGTERM: SIGKILL"; kill -KILL "$p" 2>/dev/null; }
        wait "$p" 2>/dev/null
    done
    [ ${#pids[@]} -gt 0 ] && log "stopped daemons: ${pids[*]}"
    if [ "${CX_SLURM_KEEP:-0}" = 1 ]; then log "kept $tmp"; else rm -rf "$tmp"; fi
    exit $rc
}
trap cleanup EXIT
trap 'log "interrupted"; exit 1' INT TERM
# never outlive the ctest timeout: TERM ourselves first, so cleanup runs
# (the sleep must not hold our stdout open: ctest waits for it to close)
( trap 'kill "$sp" 2>/dev/null; exit 0' TERM
  sleep "${CX_SLURM_DEADLINE:-240}" >/dev/null 2>&1 </dev/null & sp=$!
  wait "$sp" && { echo "[slurm-test] deadline reached"; kill -TERM $$; } ) &
watchdog=$!

fail() { log "FAIL: $*"; exit 1; }

# long commands run in the background and are waited for, so that a signal
# (the deadline) runs the trap at once instead of after the command
bg_pid=""
run_to() {   # run_to OUTFILE COMMAND...
    local out=$1; shift
    "$@" > "$out" & bg_pid=$!
    wait "$bg_pid"; local rc=$?; bg_pid=""; return $rc
}

wait_for() {   # wait_for SECONDS DESCRIPTION COMMAND...
    local secs=$1 what=$2; shift 2
    local end=$(( $(date +%s) + secs ))
    until "$@"; do
        [ "$(date +%s)" -ge "$end" ] && fail "timed out after ${secs}s waiting for $what"
        sleep 0.5
    done
}

port_free() {
    ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# ---------------------------------------------------------------- munge
host=$(hostname -s)
mkdir -p "$tmp"/etc "$tmp"/log "$tmp"/munge "$tmp"/msock "$tmp"/state "$tmp"/spool/slurmd-"$host" "$tmp"/run "$tmp"/submit
chmod 700 "$tmp"/munge; chmod 755 "$tmp"/msock
mungekey --create --keyfile="$tmp/munge/munge.key" 2>/dev/null \
    || { dd if=/dev/urandom of="$tmp/munge/munge.key" bs=1024 count=1 2>/dev/null && chmod 600 "$tmp/munge/munge.key"; } \
    || fail "cannot create a munge key"
sock=$tmp/msock/munge.socket
munged --foreground --socket="$sock" --key-file="$tmp/munge/munge.key" \
       --pid-file="$tmp/munge/munged.pid" --seed-file="$tmp/munge/munged.seed" \
       > "$tmp/log/munged.log" 2>&1 &
pids+=($!)
wait_for 15 "munged socket" test -S "$sock"
timeout 10 munge -S "$sock" -n | timeout 10 unmunge -S "$sock" >/dev/null || fail "munge round trip"
log "munged up (pid ${pids[0]})"

# ---------------------------------------------------------------- slurm.conf
cpus=$(nproc)
mem_mb=$(awk '/^MemTotal:/ { printf "%d", $2 / 1024 * 0.9 }' /proc/meminfo)
port=${CX_SLURM_PORT:-16817}
for _ in $(seq 10); do
    port_free "$port" && port_free $((port + 1)) && break
    port=$((port + 2))
done
port_free "$port" && port_free $((port + 1)) || fail "no free port pair near ${CX_SLURM_PORT:-16817}"
# cgroup plugins need a delegated, writable cgroup tree that containers rarely
# give: track processes through /proc and bind no tasks instead.
cat > "$SLURM_CONF" <<EOF
# generated by tests/slurm/slurm_cluster_test.sh
ClusterName=cxtest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$sock
CredType=cred/munge
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool/slurmd-%n
SlurmctldPidFile=$tmp/run/slurmctld.pid
SlurmdPidFile=$tmp/run/slurmd-%n.pid
SlurmctldLogFile=$tmp/log/slurmctld.log
SlurmdLogFile=$tmp/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
ReturnToService=2
MailProg=/bin/true
SchedulerType=sched/backfill
MinJobAge=300
InactiveLimit=0
KillWait=5
SlurmdTimeout=60
SlurmctldTimeout=60
MessageTimeout=20
TmpFS=$tmp/run
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF
log "slurm.conf: host $host, $cpus CPUs, ${mem_mb} MB, ports $port/$((port + 1)), dir $tmp"

# ---------------------------------------------------------------- daemons
slurmctld -D -i -f "$SLURM_CONF" > "$tmp/log/slurmctld.stderr" 2>&1 &
pids+=($!)
wait_for 30 "slurmctld to answer" sh -c 'timeout 5 scontrol ping 2>/dev/null | grep -q "is UP"'
log "slurmctld up (pid ${pids[1]})"
slurmd -D -N "$host" -f "$SLURM_CONF" > "$tmp/log/slurmd.stderr" 2>&1 &
pids+=($!)
node_idle() {
    local st
    kill -0 "${pids[2]}" 2>/dev/null || fail "slurmd exited: $(tail -n 5 "$tmp/log/slurmd.stderr")"
    st=$(timeout 5 sinfo -h -n "$host" -o %T 2>/dev/null)
    case "$st" in
        idle) return 0 ;;
        *drain*|*down*|*fail*) if [ $(( $(date +%s) - t0 )) -gt 20 ]; then
                       fail "node is $st: $(timeout 5 scontrol show node "$host" | grep -i reason)"; fi ;;
    esac
    return 1
}
wait_for 60 "node $host to be idle" node_idle
log "slurmd up (pid ${pids[2]}), node idle"

# ---------------------------------------------------------------- what srun offers
mpi_list=$(timeout 10 srun --mpi=list 2>&1)
log "srun --mpi=list: $(echo "$mpi_list" | tr '\n\t' '  ')"

cd "$tmp/submit" || fail "cd"
export COLOSSIM_BIN=$bin
# the topology as a path relative to the submit directory: colossim.sbatch
# must make it absolute before it enters the job directory
mkdir -p topo && cp "$repo/topologies/colossus1-mini.yaml" topo/mini.yaml || fail "no topologies/colossus1-mini.yaml"

check_summary() {   # check_summary FILE RANKS [TRACE]
    /usr/bin/python3 - "$@" <<'PY'
import json, os, sys
f, ranks = sys.argv[1], int(sys.argv[2])
r = json.load(open(f))
assert r["ranks"] == ranks, f"{f}: ranks {r['ranks']} != {ranks}"
assert r["complete"] is True, f"{f}: run not complete"
assert r["gpus"] > 0 and r["events"] > 0 and r["iteration_seconds"] > 0, f"{f}: empty run"
if len(sys.argv) > 3:
    assert os.path.getsize(sys.argv[3]) > 0, f"no trace {sys.argv[3]}"
print(f"{f}: ranks {r['ranks']}, {r['gpus']} GPUs on {r['topology']}, events {r['events']}, "
      f"iteration {r['iteration_seconds']:.4f} s, digest {r['digest']}")
PY
}

run_single() {   # run_single LAUNCHER: colossim.sbatch, 2 ranks, default subcommand (run)
    local launcher=$1 jobid dir
    local -a largs=()
    [ "$launcher" = mpirun ] && largs=(--export=ALL,COLOSSIM_LAUNCHER_ARGS=--oversubscribe)
    COLOSSIM_LAUNCHER=$launcher run_to sbatch.id timeout 90 sbatch --parsable --wait --ntasks-per-node=2 --time=5 \
            "${largs[@]}" "$repo/slurm/colossim.sbatch" --topology topo/mini.yaml --routing ecmp \
        || fail "colossim.sbatch with $launcher: sbatch --wait failed (job $(cat sbatch.id))"
    jobid=$(cat sbatch.id); jobid=${jobid%%;*}
    dir=runs/colossim-$jobid
    [ -d "$dir" ] || fail "no job directory $dir"
    [ "$(cat "$dir/exit_code" 2>/dev/null)" = 0 ] || fail "$dir/exit_code is not 0"
    grep -q "^$launcher .* run --topology $PWD/topo/mini.yaml " "$dir/command.txt" \
        || fail "$dir/command.txt: not '$launcher ... run --topology <absolute path>': $(tail -n 1 "$dir/command.txt")"
    check_summary "$dir/summary.json" 2 "$dir/run.h5" || fail "$dir/summary.json"
    grep -q "iteration time" "colossim-$jobid.out" || fail "colossim-$jobid.out lacks colossim's report"
    log "colossim.sbatch via $launcher: job $jobid ok"
}

# ---------------------------------------------------------------- one run: mpirun inside the allocation
run_single mpirun

# ---------------------------------------------------------------- one run: srun --mpi=pmix (when offered)
if echo "$mpi_list" | grep -qw pmix; then
    run_single srun
else
    log "srun offers no pmix plugin here: srun launcher not tested"
fi

# ---------------------------------------------------------------- graceful stop: SIGUSR1 reaches every rank
# What --signal=B:USR1@120 does near the time limit, sent now by hand to the
# batch shell; a stand-in binary answers SIGUSR1 by printing JSON and exiting 0.
cat > "$tmp/fake-colossim" <<'EOF'
#!/bin/bash
trap 'echo "{\"stopped_by\": \"USR1\"}"; exit 0' USR1
echo "fake colossim started" >&2
for _ in $(seq 600); do sleep 0.1; done
echo '{"stopped_by": "nothing"}'; exit 3
EOF
chmod +x "$tmp/fake-colossim"
launchers=(mpirun); echo "$mpi_list" | grep -qw pmix && launchers+=(srun)
declare -A sig_job
for l in "${launchers[@]}"; do
    extra=""; [ "$l" = mpirun ] && extra=--oversubscribe
    sig_job[$l]=$(COLOSSIM_BIN=$tmp/fake-colossim COLOSSIM_LAUNCHER=$l COLOSSIM_LAUNCHER_ARGS=$extra \
                  timeout 20 sbatch --parsable --ntasks-per-node=2 --time=5 --job-name=usr1-$l "$repo/slurm/colossim.sbatch") \
        || fail "sbatch (USR1 test, $l)"
done
started() { [ "$(grep -c "fake colossim started" "colossim-$1.out" 2>/dev/null)" = 2 ]; }
gone() { [ -z "$(timeout 5 squeue -h -j "$1" 2>/dev/null)" ]; }
for l in "${launchers[@]}"; do
    j=${sig_job[$l]}
    wait_for 60 "job $j ($l) to start both ranks" started "$j"
    timeout 10 scancel --batch --signal=USR1 "$j" || fail "scancel --batch --signal=USR1 $j"
done
for l in "${launchers[@]}"; do
    j=${sig_job[$l]}
    wait_for 60 "job $j ($l) to end after SIGUSR1" gone "$j"
    [ "$(cat "runs/colossim-$j/exit_code" 2>/dev/null)" = 0 ] || fail "job $j ($l): exit_code $(cat "runs/colossim-$j/exit_code" 2>/dev/null) after SIGUSR1"
    [ "$(grep -c '"stopped_by": "USR1"' "runs/colossim-$j/stdout.txt")" = 2 ] || fail "job $j ($l): not every rank saw SIGUSR1"
    log "SIGUSR1 to the batch shell reached both ranks via $l (job $j)"
done

# ---------------------------------------------------------------- sweep: 3-task array, then collect
cat > params.txt <<'EOF'
# a 3-run sweep: the whole line is arguments to colossim run
--routing ecmp --seed 1

  # indented comment, and a blank line above
--routing adaptive --seed 2 --topology topo/mini.yaml
--routing "spray" --seed 3 --out trace.h5
EOF
# default launcher (auto: srun --mpi=pmix where offered, else mpirun)
run_to sbatch.id timeout 120 sbatch --parsable --wait --array=0-2 --ntasks-per-node=1 --time=5 "$repo/slurm/sweep.sbatch" params.txt \
    || fail "sweep.sbatch: sbatch --wait failed (array job $(cat sbatch.id))"
ajob=$(cat sbatch.id); ajob=${ajob%%;*}
sdir=runs/sweep-$ajob
traces=(run.h5 run.h5 trace.h5)
for i in 0 1 2; do
    check_summary "$sdir/task-$i/summary.json" 1 "$sdir/task-$i/${traces[i]}" || fail "$sdir/task-$i"
    [ -f "colossim-sweep-${ajob}_$i.out" ] || fail "no Slurm output colossim-sweep-${ajob}_$i.out"
done
auto=mpirun; echo "$mpi_list" | grep -qw pmix && auto=srun
grep -q "^$auto " "$sdir/task-0/command.txt" || fail "auto launcher did not pick $auto: $(tail -n 1 "$sdir/task-0/command.txt")"
log "sweep.sbatch: array job $ajob, 3 tasks ok"

timeout 30 /usr/bin/python3 "$repo/slurm/collect.py" "$sdir" || fail "collect.py failed"
/usr/bin/python3 - "$sdir/summary.csv" <<'PY' || fail "summary.csv"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert len(rows) == 3, f"{len(rows)} rows, want 3"
routing = ["ecmp", "adaptive", "spray"]
for i, r in enumerate(rows):
    assert r["task"] == str(i) and r["status"] == "ok" and r["exit_code"] == "0", r
    assert f"--routing" in r["args"] and routing[i] in r["args"] and f"--seed {i + 1}" in r["args"], r["args"]
    assert r["complete"] == "True" and int(r["events"]) > 0 and r["digest"], r
print(f"{sys.argv[1]}: {len(rows)} rows, columns: {', '.join(rows[0].keys())}")
PY
log "collect.py: summary.csv has 3 rows"

ok=1
log "PASS"
