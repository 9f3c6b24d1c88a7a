#!/usr/bin/env bash
# Start (idempotently) a throw-away local PostgreSQL for development and tests.
#
#   bash deploy/postgres/up.sh
#
#   MEETMALMO_PG_PORT   TCP port on 127.0.0.1           (default 55432)
#   MEETMALMO_PG_DATA   data directory                  (default /tmp/meetmalmo-postgres)
#
# * If something already accepts connections on 127.0.0.1:PORT it is used as is.
# * Otherwise a cluster is initialised once in MEETMALMO_PG_DATA (trust auth,
#   superuser "postgres", UTF8) and started with pg_ctl; its log goes to
#   <data dir>.log next to it, its Unix socket to <data dir>-socket/.
#   As root the server runs as the "postgres" OS user (hence /tmp: that user must
#   be able to reach the directory); otherwise as the current user.
# * Then the databases intake, resources, matching and notifications are created
#   if missing, and their URLs are printed.
# Stop it with deploy/postgres/down.sh.
set -euo pipefail

PORT="${MEETMALMO_PG_PORT:-55432}"
DATA="${MEETMALMO_PG_DATA:-/tmp/meetmalmo-postgres}"
DATA="${DATA%/}"
HOST=127.0.0.1
DATABASES=(intake resources matching notifications)
READY_TIMEOUT="${MEETMALMO_PG_READY_TIMEOUT:-60}"

PARENT="$(dirname "$DATA")"
LOGFILE="$DATA.log"
SOCKDIR="$DATA-socket"
MARKER="$DATA/STARTED_BY_MEETMALMO_UP_SH"

unset PGHOST PGHOSTADDR PGPORT PGDATABASE PGSERVICE PGOPTIONS || true
export PGCONNECT_TIMEOUT=5

# shellcheck disable=SC2016  # $1/$2 expand in the inner bash
port_open() { timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null; }

# --- binaries -------------------------------------------------------------------
find_bindir() {
    local d
    if command -v pg_config >/dev/null 2>&1; then
        d="$(pg_config --bindir 2>/dev/null || true)"
        if [[ -n "$d" && -x "$d/initdb" && -x "$d/pg_ctl" ]]; then echo "$d"; return 0; fi
    fi
    # newest installed major version first
    # shellcheck disable=SC2012  # paths are /usr/lib/postgresql/<version>/bin
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5,5 -V -r); do
        if [[ -x "$d/initdb" && -x "$d/pg_ctl" ]]; then echo "$d"; return 0; fi
    done
    d="$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/initdb)")"
    if [[ -x "$d/initdb" && -x "$d/pg_ctl" ]]; then echo "$d"; return 0; fi
    return 1
}
BINDIR="$(find_bindir || true)"

# client tools: from the server's bindir, else from PATH (enough for an existing server)
tool() {
    if [[ -n "$BINDIR" && -x "$BINDIR/$1" ]]; then echo "$BINDIR/$1"
    elif command -v "$1" >/dev/null 2>&1; then command -v "$1"
    else return 1; fi
}

# run a server-side command as the server's OS user
if [[ "$(id -u)" == 0 ]]; then
    as_pg() { runuser -u postgres -- "$@"; }
else
    as_pg() { "$@"; }
fi


PSQL="$(tool psql || true)"

# state of the postmaster named in $DATA/postmaster.pid: none|stale|zombie|running
postmaster_state() {
    local pid st
    [[ -f "$DATA/postmaster.pid" ]] || { echo none; return; }
    pid="$(head -n 1 "$DATA/postmaster.pid" | tr -dc '0-9')"
    st="$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$pid/status" 2>/dev/null || true)"
    if [[ -z "$pid" || -z "$st" ]]; then echo stale
    elif [[ "$st" == Z || "$st" == X ]]; then echo zombie
    elif tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$DATA"; then echo running
    else echo stale
    fi
}

psql_admin() { "$PSQL" -X -q -v ON_ERROR_STOP=1 -h "$HOST" -p "$PORT" -U postgres -d postgres "$@"; }

wait_ready() { # start_epoch
    local start="$1" isready
    isready="$(tool pg_isready || true)"
    while :; do
        if [[ -n "$isready" ]]; then
            "$isready" -q -h "$HOST" -p "$PORT" -U postgres -d postgres && break
        elif psql_admin -tAc 'SELECT 1' >/dev/null 2>&1; then
            break
        fi
        if (( $(date +%s) - start >= READY_TIMEOUT )); then
            echo "postgres: not ready on $HOST:$PORT after ${READY_TIMEOUT}s" >&2
            [[ -f "$LOGFILE" ]] && { echo "--- last lines of $LOGFILE:" >&2; tail -n 40 "$LOGFILE" >&2; }
            return 1
        fi
        sleep 0.3
    done
}

# --- 1. start the server unless something listens already ----------------------
start_server() {
    local start pm_state i
    start=$(date +%s)
    if [[ -z "$BINDIR" ]]; then
        cat >&2 <<EOF
postgres: no PostgreSQL server binaries found (looked at 'pg_config --bindir',
          /usr/lib/postgresql/*/bin and PATH) and nothing listens on $HOST:$PORT.
          Install them with:   apt-get update && apt-get install -y postgresql
          (Debian's 'postgresql' package; its own 'main' cluster is not needed.)
EOF
        return 1
    fi
    if [[ "$(id -u)" == 0 ]] && ! id -u postgres >/dev/null 2>&1; then
        echo "postgres: running as root but there is no 'postgres' OS user to run the server as" >&2
        return 1
    fi

    mkdir -p "$SOCKDIR"
    [[ -e "$LOGFILE" ]] || : >"$LOGFILE"
    if [[ "$(id -u)" == 0 ]]; then
        chown postgres: "$SOCKDIR" "$LOGFILE"
        if [[ -d "$DATA" ]]; then chown postgres: "$DATA"; fi
        if ! runuser -u postgres -- test -x "$PARENT" -a -w "$SOCKDIR"; then
            echo "postgres: the 'postgres' OS user cannot reach $PARENT; set MEETMALMO_PG_DATA" >&2
            echo "          to a directory under /tmp (the default is /tmp/meetmalmo-postgres)" >&2
            return 1
        fi
    fi

    # --- initdb, once
    if [[ ! -s "$DATA/PG_VERSION" ]]; then
        if [[ -d "$DATA" ]] && [[ -n "$(ls -A "$DATA")" ]]; then
            echo "postgres: $DATA exists, is not empty and holds no cluster; remove it or set MEETMALMO_PG_DATA" >&2
            return 1
        fi
        echo "postgres: initialising cluster in $DATA ($("$BINDIR/postgres" --version))"
        mkdir -p "$DATA"
        chmod 700 "$DATA"
        if [[ "$(id -u)" == 0 ]]; then chown postgres: "$DATA"; fi
        # C.UTF-8 where the C library has it, else plain C (still UTF8-encoded)
        if ! as_pg "$BINDIR/initdb" -D "$DATA" --auth=trust -U postgres --encoding=UTF8 \
                --locale=C.UTF-8 >"$DATA.initdb.log" 2>&1 \
            && ! { rm -rf "${DATA:?}"/* \
                   && as_pg "$BINDIR/initdb" -D "$DATA" --auth=trust -U postgres --encoding=UTF8 \
                        --locale=C >"$DATA.initdb.log" 2>&1; }; then
            echo "postgres: initdb failed:" >&2
            cat "$DATA.initdb.log" >&2
            return 1
        fi
        echo "created by deploy/postgres/up.sh; deploy/postgres/down.sh stops this cluster" >"$MARKER"
        if [[ "$(id -u)" == 0 ]]; then chown postgres: "$MARKER"; fi
    fi

    # --- a postmaster.pid left behind? A dead postmaster may linger as a zombie
    # for a few seconds (orphans are reaped late on some machines) and postgres
    # refuses to start while that pid exists, so wait for it; a pid that is not
    # a postmaster of $DATA any more just means a stale file.
    pm_state=none
    for ((i = 0; i < 60; i++)); do
        pm_state="$(postmaster_state)"
        [[ "$pm_state" == zombie ]] || break
        sleep 0.5
    done
    case "$pm_state" in
        zombie)
            echo "postgres: the old postmaster of $DATA has not gone away yet; try again later" >&2
            return 1 ;;
        stale)
            rm -f "$DATA/postmaster.pid" ;;
        running)
            if [[ "$(sed -n 4p "$DATA/postmaster.pid")" != "$PORT" ]]; then
                echo "postgres: the server for $DATA runs on port $(sed -n 4p "$DATA/postmaster.pid"), not $PORT;" >&2
                echo "          stop it with deploy/postgres/down.sh or set MEETMALMO_PG_PORT to its port" >&2
                return 1
            fi
            echo "postgres: server for $DATA is starting up; waiting"
            wait_ready "$start"
            return ;;
    esac

    # --- start
    echo "postgres: starting server on $HOST:$PORT (log: $LOGFILE)"
    # -w waits for startup; 9>&-: the postmaster must not inherit our lock fd
    if ! as_pg "$BINDIR/pg_ctl" -D "$DATA" -l "$LOGFILE" -w -t "$READY_TIMEOUT" \
            -o "-p $PORT -k $SOCKDIR -c listen_addresses=$HOST -c fsync=off -c max_connections=200" \
            start >/dev/null 2>"$DATA.pg_ctl.log" 9>&-; then
        echo "postgres: pg_ctl start failed:" >&2
        cat "$DATA.pg_ctl.log" >&2
        echo "--- last lines of $LOGFILE:" >&2
        tail -n 40 "$LOGFILE" >&2
        return 1
    fi
    wait_ready "$start"
    echo "postgres: ready at $HOST:$PORT ($(( $(date +%s) - start )) s)"
}

if port_open "$HOST" "$PORT"; then
    echo "postgres: using server at $HOST:$PORT"
else
    mkdir -p "$PARENT"
    # serialise concurrent invocations (the lock is released when we exit)
    if command -v flock >/dev/null 2>&1; then
        exec 9>"$DATA.lock"
        flock -w 120 9 || { echo "postgres: timed out waiting for another up.sh" >&2; exit 1; }
    fi
    if port_open "$HOST" "$PORT"; then
        echo "postgres: using server at $HOST:$PORT"
    else
        start_server
    fi
fi

# --- 2. databases ---------------------------------------------------------------
if [[ -z "$PSQL" ]]; then
    echo "postgres: 'psql' not found; cannot create the databases (apt-get install postgresql-client)" >&2
    exit 1
fi
wait_ready "$(date +%s)"
for db in "${DATABASES[@]}"; do
    if [[ "$(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'")" != 1 ]]; then
        # tolerate a concurrent creator (another up.sh against a shared server)
        if ! out="$(psql_admin -c "CREATE DATABASE \"$db\" OWNER postgres ENCODING 'UTF8' TEMPLATE template0" 2>&1)" \
            && ! grep -q "already exists" <<<"$out"; then
            echo "postgres: creating database $db failed: $out" >&2
            exit 1
        fi
        echo "postgres: created database $db"
    fi
done

for db in "${DATABASES[@]}"; do
    echo "postgres: postgresql+asyncpg://postgres@$HOST:$PORT/$db"
done
