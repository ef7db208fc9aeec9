#!/usr/bin/env bash
# A real one-node Slurm cluster on this machine, for the `slurm` tests and for trying the Slurm profile.
#
#   bash tools/slurm_local.sh start    install slurm-wlm + munge if missing, write the config, start the daemons,
#                                      wait until the node is usable (idempotent: a second start only checks)
#   bash tools/slurm_local.sh status   print sinfo; exit 0 only when the node is idle/mixed/allocated
#   bash tools/slurm_local.sh stop     stop slurmd, slurmctld and the munged this script started
#
# Needs root (apt-get, daemons); no systemd: the daemons are started directly. There is no accounting daemon
# (slurmdbd), so `sacct` has no data: Snakemake's Slurm executor needs `--slurm-no-account` and must query job
# status with squeue (see tools/SLURM_NOTES.md).
#
# Environment:
#   ABSFLUX_SLURM_DIR        state, spool, pid and log files   (default /var/lib/absflux-slurm)
#   ABSFLUX_SLURM_PARTITION  name of the one partition          (default debug)
#   ABSFLUX_SLURM_TIMEOUT    seconds `start` waits for the node (default 90)
#   SLURM_CONF               where the config is written        (default /etc/slurm/slurm.conf, which every
#                            Slurm command reads without being told)
set -euo pipefail

STATE_DIR="${ABSFLUX_SLURM_DIR:-/var/lib/absflux-slurm}"
PARTITION="${ABSFLUX_SLURM_PARTITION:-debug}"
TIMEOUT="${ABSFLUX_SLURM_TIMEOUT:-90}"
CONF="${SLURM_CONF:-/etc/slurm/slurm.conf}"
MARKER="# written by tools/slurm_local.sh (absflux one-node test cluster)"
MUNGE_KEY=/etc/munge/munge.key
MUNGE_RUN=/run/munge
NODE="$(hostname -s)"

log() { echo "slurm_local: $*"; }
die() { echo "slurm_local: error: $*" >&2; exit 1; }

need_root() {
    [ "$(id -u)" -eq 0 ] || die "'$1' needs root (it installs packages and starts daemons)"
}

pid_alive() {  # pid_alive FILE NAME: the pid in FILE is a running process called NAME (not a reused pid)
    local pid
    [ -s "$1" ] || return 1
    pid="$(cat "$1")"
    kill -0 "$pid" 2>/dev/null && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ] \
        && ! ps -o stat= -p "$pid" 2>/dev/null | grep -q Z  # a killed daemon may stay a zombie for a while
}

install_packages() {
    local missing=0 cmd
    for cmd in slurmctld slurmd sinfo sbatch srun squeue scontrol munged munge unmunge; do
        command -v "$cmd" >/dev/null 2>&1 || missing=1
    done
    [ "$missing" -eq 0 ] && return 0
    command -v apt-get >/dev/null 2>&1 || die "Slurm is missing and there is no apt-get to install it"
    log "installing slurm-wlm and munge (Debian packages)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # policy-rc.d (present in containers) keeps the packages from starting services themselves
    apt-get install -y -qq --no-install-recommends slurm-wlm munge >"$STATE_DIR/apt.log" 2>&1 \
        || { tail -n 30 "$STATE_DIR/apt.log" >&2; die "apt-get install slurm-wlm munge failed (log: $STATE_DIR/apt.log)"; }
    for cmd in slurmctld slurmd sinfo sbatch srun squeue scontrol munged; do
        command -v "$cmd" >/dev/null 2>&1 || die "$cmd still missing after installing slurm-wlm and munge"
    done
}

# ---------------------------------------------------------------- munge
start_munge() {
    if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
        return 0  # a munged (ours or the system's) already answers
    fi
    id munge >/dev/null 2>&1 || die "user 'munge' is missing (the munge package creates it)"
    install -d -m 0700 -o munge -g munge /etc/munge /var/lib/munge
    install -d -m 0755 -o munge -g munge "$MUNGE_RUN"
    install -d -m 0700 -o munge -g munge /var/log/munge
    if [ ! -s "$MUNGE_KEY" ]; then
        log "creating the munge key $MUNGE_KEY"
        if command -v mungekey >/dev/null 2>&1; then
            mungekey --create --keyfile="$MUNGE_KEY"
        else
            dd if=/dev/urandom of="$MUNGE_KEY" bs=1 count=1024 status=none
        fi
    fi
    chown munge:munge "$MUNGE_KEY"
    chmod 0400 "$MUNGE_KEY"
    rm -f "$MUNGE_RUN/munged.pid"
    runuser -u munge -- munged
    echo started >"$STATE_DIR/munged.ours"
    local _
    for _ in $(seq 1 50); do
        munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    die "munged does not answer (log: /var/log/munge/munged.log)"
}

# ---------------------------------------------------------------- configuration
write_config() {
    local cpus mem_mb defmem tmp
    cpus="$(nproc)"
    mem_mb="$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)"
    # leave ~5% for the system so the node is never drained for "low RealMemory"
    mem_mb=$((mem_mb * 95 / 100))
    defmem=$((mem_mb / cpus))
    if [ -e "$CONF" ] && ! grep -qF "$MARKER" "$CONF"; then
        die "$CONF exists and was not written by this script: not overwriting a real cluster's configuration"
    fi
    mkdir -p "$(dirname "$CONF")"
    tmp="$(mktemp)"
    cat >"$tmp" <<EOF
$MARKER
# node $NODE: $cpus CPUs, RealMemory $mem_mb MB (95% of MemTotal); state and logs in $STATE_DIR
ClusterName=absflux
SlurmctldHost=$NODE(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
# no cgroups needed: works in containers and VMs without a delegated cgroup tree
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
# no accounting daemon: sacct has no data, squeue is the job-status source
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
# CPUs and memory are the consumable resources: several 1-CPU jobs share the node
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
DefMemPerCPU=$defmem
# the node is what this file says, even if slurmd detects a different layout (no drain on mismatch)
SlurmdParameters=config_overrides
ReturnToService=2
# finished jobs stay visible to squeue for 10 minutes (Snakemake's status query reads squeue)
MinJobAge=600
InactiveLimit=0
KillWait=10
Waittime=0
SlurmctldTimeout=60
SlurmdTimeout=120
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=$STATE_DIR/ctld
SlurmdSpoolDir=$STATE_DIR/spool
SlurmctldPidFile=$STATE_DIR/slurmctld.pid
SlurmdPidFile=$STATE_DIR/slurmd.pid
SlurmctldLogFile=$STATE_DIR/slurmctld.log
SlurmdLogFile=$STATE_DIR/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=$PARTITION Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
    if [ -e "$CONF" ] && cmp -s "$tmp" "$CONF"; then
        rm -f "$tmp"
        return 1  # unchanged
    fi
    install -m 0644 "$tmp" "$CONF"
    rm -f "$tmp"
    return 0  # written or changed
}

# ---------------------------------------------------------------- node state
node_state() {  # prints e.g. idle, mixed, allocated, down*, drained, unknown; empty if slurmctld does not answer
    sinfo -h -N -n "$NODE" -o '%T' 2>/dev/null | head -n 1 || true
}

node_usable() {
    case "$(node_state)" in
        idle|mixed|allocated|completing) return 0 ;;
        *) return 1 ;;
    esac
}

slurmd_registered_since() {  # slurmd_registered_since EPOCH: the node's slurmd registered at or after EPOCH
    local t
    t="$(scontrol show node -o "$NODE" 2>/dev/null | sed -n 's/.*SlurmdStartTime=\([^ ]*\).*/\1/p')"
    case "$t" in ''|None|Unknown) return 1 ;; esac
    [ "$(date -d "$t" +%s 2>/dev/null || echo 0)" -ge "$1" ]
}

wait_node() {  # wait_node [EPOCH]: until the node is usable (and its slurmd registered at or after EPOCH)
    local deadline=$((SECONDS + TIMEOUT)) state resumed=0 since="${1:-0}"
    while [ "$SECONDS" -lt "$deadline" ]; do
        state="$(node_state)"
        case "$state" in
            idle|mixed|allocated|completing)
                # slurmctld restores the node's last state from its state files at once: after starting
                # slurmd, wait for its registration too
                slurmd_registered_since "$since" && return 0 ;;
            drain*|down)  # e.g. left down by an unclean stop: slurmd answers, so give the node back
                if [ "$resumed" -eq 0 ] && pid_alive "$STATE_DIR/slurmd.pid" slurmd; then
                    scontrol update NodeName="$NODE" State=RESUME >/dev/null 2>&1 || true
                    resumed=1
                fi ;;
        esac
        sleep 1
    done
    sinfo -N -l >&2 2>/dev/null || true
    tail -n 15 "$STATE_DIR/slurmctld.log" >&2 2>/dev/null || true
    tail -n 15 "$STATE_DIR/slurmd.log" >&2 2>/dev/null || true
    die "node $NODE not usable after ${TIMEOUT}s (state: '${state:-no answer from slurmctld}'); logs in $STATE_DIR"
}

# ---------------------------------------------------------------- commands
cmd_start() {
    need_root start
    local t0=$SECONDS changed=0 since=0
    mkdir -p "$STATE_DIR/ctld" "$STATE_DIR/spool"
    install_packages
    if write_config; then changed=1; fi
    start_munge
    if pid_alive "$STATE_DIR/slurmctld.pid" slurmctld; then
        [ "$changed" -eq 1 ] && { log "configuration changed: scontrol reconfigure"; scontrol reconfigure || true; }
    else
        rm -f "$STATE_DIR/slurmctld.pid"
        log "starting slurmctld"
        slurmctld -f "$CONF" || die "slurmctld did not start (log: $STATE_DIR/slurmctld.log)"
    fi
    if ! pid_alive "$STATE_DIR/slurmd.pid" slurmd; then
        rm -f "$STATE_DIR/slurmd.pid"
        since=$(($(date +%s) - 1))
        log "starting slurmd"
        slurmd -f "$CONF" || die "slurmd did not start (log: $STATE_DIR/slurmd.log)"
    fi
    wait_node "$since"
    log "node $NODE ready in partition $PARTITION ($((SECONDS - t0)) s)"
    sinfo
}

stop_pidfile() {  # stop_pidfile NAME FILE
    local pid _
    pid_alive "$2" "$1" || { rm -f "$2"; return 0; }
    pid="$(cat "$2")"
    log "stopping $1 (pid $pid)"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
        pid_alive "$2" "$1" || { rm -f "$2"; return 0; }
        sleep 0.1
    done
    log "$1 still running after 10 s: SIGKILL"
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$2"
}

cmd_stop() {
    need_root stop
    stop_pidfile slurmd "$STATE_DIR/slurmd.pid"
    stop_pidfile slurmctld "$STATE_DIR/slurmctld.pid"
    if [ -e "$STATE_DIR/munged.ours" ]; then
        stop_pidfile munged "$MUNGE_RUN/munged.pid"
        rm -f "$STATE_DIR/munged.ours"
    fi
    log "stopped"
}

cmd_status() {
    command -v sinfo >/dev/null 2>&1 || { echo "slurm_local: Slurm is not installed" >&2; return 3; }
    if ! sinfo 2>&1; then
        echo "slurm_local: slurmctld does not answer" >&2
        return 1
    fi
    if node_usable; then
        return 0
    fi
    echo "slurm_local: node $NODE is not usable (state: '$(node_state)')" >&2
    return 1
}

case "${1:-}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
