#!/usr/bin/env bash
# Start (idempotently) a local single-node Apache Kafka broker in KRaft mode.
#
#   bash deploy/kafka/up.sh
#
# Bootstrap address: ${MEETMALMO_KAFKA_BOOTSTRAP:-127.0.0.1:9092}
#  * if something already accepts TCP connections there, it is used as is;
#  * otherwise (only for 127.0.0.1/localhost) a broker is started from the jars
#    in deploy/kafka/lib (fetched with Maven on first use), with its state in
#    var/kafka/ (var/kafka-<port>/ for a port other than 9092): server.properties,
#    cluster.id, data/, kafka.pid, kafka.log.
# The controller listens on the next port (9093), or on
# ${MEETMALMO_KAFKA_CONTROLLER_PORT} when set.
# Stop it with deploy/kafka/down.sh.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
LIB="$HERE/lib"
POM="$HERE/pom.xml"
LOG4J_CONF="$HERE/log4j2.properties"
READY_TIMEOUT="${MEETMALMO_KAFKA_READY_TIMEOUT:-120}"

BOOTSTRAP="${MEETMALMO_KAFKA_BOOTSTRAP:-127.0.0.1:9092}"
FIRST="${BOOTSTRAP%%,*}"            # first entry of a comma-separated list
FIRST="${FIRST#PLAINTEXT://}"
HOST="${FIRST%:*}"
PORT="${FIRST##*:}"
if [[ "$HOST" == "$FIRST" || ! "$PORT" =~ ^[0-9]+$ ]]; then
    echo "kafka: cannot parse MEETMALMO_KAFKA_BOOTSTRAP='$BOOTSTRAP' (want host:port)" >&2
    exit 1
fi

# shellcheck disable=SC2016  # $1/$2 expand in the inner bash
port_open() { # host port -> 0 if something accepts TCP connections
    timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null
}

if [[ "$PORT" == 9092 ]]; then
    STATE="$ROOT/var/kafka"
else
    STATE="$ROOT/var/kafka-$PORT"
fi
PIDFILE="$STATE/kafka.pid"
LOGFILE="$STATE/kafka.log"
PROPS="$STATE/server.properties"
DATA="$STATE/data"
CLUSTER_ID_FILE="$STATE/cluster.id"

# true if pid runs (a zombie does not count: here orphans are reaped late)
alive() {
    local st
    st="$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null || true)"
    [[ -n "$st" && "$st" != Z && "$st" != X ]]
}

# pid of the broker this script started for $STATE, if it is still running.
our_pid() {
    [[ -f "$PIDFILE" ]] || return 1
    local pid
    pid="$(tr -dc '0-9' <"$PIDFILE")"
    [[ -n "$pid" ]] && alive "$pid" || return 1
    # make sure the pid was not recycled by an unrelated process
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$PROPS" || return 1
    echo "$pid"
}

# Ask the broker for its cluster id through the Admin API: succeeds only once
# the broker really serves requests (and tells us whether it is ours).
probe() {
    timeout 30 java -Xmx128m -cp "$LIB/*" -Dlog4j2.level=ERROR \
        org.apache.kafka.tools.ClusterTool cluster-id --bootstrap-server "$HOST:$PORT" 2>/dev/null \
        | sed -n 's/^Cluster ID: *//p'
}

wait_ready() { # pid start_epoch
    local pid="$1" start="$2" cid want
    want="$(cat "$CLUSTER_ID_FILE" 2>/dev/null || true)"
    while :; do
        if ! alive "$pid"; then
            echo "kafka: broker process $pid exited during startup; last lines of $LOGFILE:" >&2
            tail -n 60 "$LOGFILE" >&2 || true
            rm -f "$PIDFILE"
            return 1
        fi
        if (( $(date +%s) - start >= READY_TIMEOUT )); then
            echo "kafka: broker not ready after ${READY_TIMEOUT}s; last lines of $LOGFILE:" >&2
            tail -n 60 "$LOGFILE" >&2 || true
            return 1
        fi
        if port_open "$HOST" "$PORT" && grep -q "Kafka Server started" "$LOGFILE" 2>/dev/null; then
            cid="$(probe || true)"
            if [[ -n "$cid" && ( -z "$want" || "$cid" == "$want" ) ]]; then
                echo "kafka: ready at $HOST:$PORT ($(( $(date +%s) - start )) s)"
                return 0
            fi
        fi
        sleep 0.5
    done
}

# --- 1. something already listening? ------------------------------------------
pid=""
if port_open "$HOST" "$PORT"; then
    if [[ "$HOST" == 127.0.0.1 || "$HOST" == localhost ]] && pid="$(our_pid)" \
        && ! grep -q "Kafka Server started" "$LOGFILE" 2>/dev/null; then
        # ours, still starting (e.g. a concurrent up.sh): wait for it
        wait_ready "$pid" "$(date +%s)"
        exit $?
    fi
    echo "kafka: using broker at $BOOTSTRAP${pid:+ (started by up.sh, pid $pid)}"
    exit 0
fi

case "$HOST" in
    127.0.0.1|localhost) ;;
    *)
        echo "kafka: nothing accepts connections at $HOST:$PORT and a local broker can only be" >&2
        echo "       started on 127.0.0.1; unset MEETMALMO_KAFKA_BOOTSTRAP or start that broker." >&2
        exit 1 ;;
esac
HOST=127.0.0.1
CONTROLLER_PORT="${MEETMALMO_KAFKA_CONTROLLER_PORT:-$((PORT + 1))}"

command -v java >/dev/null 2>&1 || {
    echo "kafka: 'java' not found; install a JDK 17+ (Debian: apt-get install openjdk-17-jdk-headless)" >&2
    exit 1
}

mkdir -p "$STATE"
# serialise concurrent invocations for the same state dir
if command -v flock >/dev/null 2>&1; then
    exec 9>"$STATE/up.lock"
    flock -w 300 9 || { echo "kafka: timed out waiting for another up.sh" >&2; exit 1; }
    # another up.sh may have started it while we waited
    if pid="$(our_pid)"; then
        wait_ready "$pid" "$(date +%s)"
        exit $?
    fi
    if port_open "$HOST" "$PORT"; then
        echo "kafka: using broker at $BOOTSTRAP"
        exit 0
    fi
fi

# a stale pid file (dead or recycled pid) is just removed
if [[ -f "$PIDFILE" ]] && ! our_pid >/dev/null; then
    rm -f "$PIDFILE"
elif pid="$(our_pid)"; then
    # ours is alive but not listening: still starting up
    wait_ready "$pid" "$(date +%s)"
    exit $?
fi

# --- 2. jars --------------------------------------------------------------------
# shellcheck source=../fetch-jars.sh
source "$HERE/../fetch-jars.sh"
jars_fetched "$POM" "$LIB" "kafka_2.13-*.jar" || fetch_jars kafka "$POM" "$LIB" "$STATE" || exit 1

# --- 3. configuration -----------------------------------------------------------
cat >"$PROPS.tmp" <<EOF
# Generated by deploy/kafka/up.sh -- local single-node KRaft broker for dev/CI.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=$HOST:$CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$PORT,CONTROLLER://$HOST:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$DATA
num.partitions=3
default.replication.factor=1
auto.create.topics.enable=true
delete.topic.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=3
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
min.insync.replicas=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
log.retention.hours=24
log.segment.bytes=67108864
EOF
mv "$PROPS.tmp" "$PROPS"

# --- 4. storage (formatted once) ------------------------------------------------
if [[ ! -f "$DATA/meta.properties" ]]; then
    if [[ ! -s "$CLUSTER_ID_FILE" ]]; then
        java -cp "$LIB/*" -Dlog4j2.level=ERROR kafka.tools.StorageTool random-uuid \
            | tail -n 1 | tr -d '[:space:]' >"$CLUSTER_ID_FILE.tmp"
        mv "$CLUSTER_ID_FILE.tmp" "$CLUSTER_ID_FILE"
    fi
    echo "kafka: formatting storage in $DATA (cluster id $(cat "$CLUSTER_ID_FILE"))"
    java -cp "$LIB/*" -Dlog4j2.level=ERROR kafka.tools.StorageTool format --standalone \
        -t "$(cat "$CLUSTER_ID_FILE")" -c "$PROPS" >"$STATE/format.log" 2>&1 || {
        echo "kafka: formatting storage failed:" >&2
        cat "$STATE/format.log" >&2
        exit 1
    }
elif [[ ! -s "$CLUSTER_ID_FILE" ]]; then
    # formatted, but the id file got lost: recover it from the storage
    sed -n 's/^cluster.id=//p' "$DATA/meta.properties" >"$CLUSTER_ID_FILE"
fi

# --- 5. start -------------------------------------------------------------------
[[ -f "$LOGFILE" ]] && mv -f "$LOGFILE" "$LOGFILE.prev"
start=$(date +%s)
echo "kafka: starting broker on $HOST:$PORT (log: $LOGFILE)"
# setsid + nohup: the broker survives this script and the terminal/CI step that ran it.
# (Without job control the background child is no group leader, so setsid execs in
# place and $! is the JVM's pid.) 9>&-: the broker must not inherit the lock fd.
setsid nohup java -Xms256m -Xmx768m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$LOG4J_CONF" \
    -cp "$LIB/*" kafka.Kafka "$PROPS" >"$LOGFILE" 2>&1 </dev/null 9>&- &
echo $! >"$PIDFILE"
wait_ready "$(cat "$PIDFILE")" "$start"
