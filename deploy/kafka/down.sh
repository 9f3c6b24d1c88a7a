#!/usr/bin/env bash
# Stop the local Kafka broker started by deploy/kafka/up.sh (same
# MEETMALMO_KAFKA_BOOTSTRAP port => same state dir). A no-op when it is not
# running; a broker that up.sh did not start is never touched.
#   --all   stop every broker started by up.sh from this checkout (any port)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
STOP_TIMEOUT="${MEETMALMO_KAFKA_STOP_TIMEOUT:-60}"

# true if pid runs (a zombie does not count: here orphans are reaped late)
alive() {
    local st
    st="$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null || true)"
    [[ -n "$st" && "$st" != Z && "$st" != X ]]
}

stop_state() { # state dir
    local state="$1" pidfile="$1/kafka.pid" props="$1/server.properties" pid i
    [[ -f "$pidfile" ]] || return 0
    # same lock as up.sh: never race a concurrent start (released when the
    # subshell running this function ends)
    if command -v flock >/dev/null 2>&1; then
        exec 9>"$state/up.lock"
        flock -w 300 9 || { echo "kafka: timed out waiting for a running up.sh" >&2; return 1; }
        [[ -f "$pidfile" ]] || return 0
    fi
    pid="$(tr -dc '0-9' <"$pidfile")"
    if [[ -z "$pid" ]] || ! alive "$pid" \
        || ! tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$props"; then
        echo "kafka: not running (removing stale $pidfile)"
        rm -f "$pidfile"
        return 0
    fi
    echo "kafka: stopping broker (pid $pid, $state) ..."
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < STOP_TIMEOUT * 2; i++)); do
        alive "$pid" || break
        sleep 0.5
    done
    if alive "$pid"; then
        echo "kafka: broker did not stop within ${STOP_TIMEOUT}s, sending SIGKILL" >&2
        kill -KILL "$pid" 2>/dev/null || true
        for ((i = 0; i < 20; i++)); do
            alive "$pid" || break
            sleep 0.5
        done
    fi
    rm -f "$pidfile"
    echo "kafka: stopped"
}

if [[ "${1:-}" == "--all" ]]; then
    shopt -s nullglob
    for d in "$ROOT"/var/kafka "$ROOT"/var/kafka-*; do
        if [[ -d "$d" ]]; then (stop_state "$d"); fi
    done
    exit 0
fi

BOOTSTRAP="${MEETMALMO_KAFKA_BOOTSTRAP:-127.0.0.1:9092}"
FIRST="${BOOTSTRAP%%,*}"
PORT="${FIRST##*:}"
if [[ "$PORT" == 9092 || ! "$PORT" =~ ^[0-9]+$ ]]; then
    STATE="$ROOT/var/kafka"
else
    STATE="$ROOT/var/kafka-$PORT"
fi
if [[ ! -f "$STATE/kafka.pid" ]]; then
    echo "kafka: no broker started by up.sh is running (nothing to stop)"
    exit 0
fi
(stop_state "$STATE")
