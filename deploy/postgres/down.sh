#!/usr/bin/env bash
# Stop the local PostgreSQL started by deploy/postgres/up.sh (pg_ctl stop -m fast).
# A no-op when it is not running; a server that up.sh did not initialise (no
# marker file in its data directory) is never touched.
#
#   MEETMALMO_PG_DATA   data directory (default /tmp/meetmalmo-postgres), as for up.sh
set -euo pipefail

DATA="${MEETMALMO_PG_DATA:-/tmp/meetmalmo-postgres}"
DATA="${DATA%/}"
MARKER="$DATA/STARTED_BY_MEETMALMO_UP_SH"

if [[ ! -f "$DATA/postmaster.pid" ]]; then
    echo "postgres: no server started by up.sh is running in $DATA (nothing to stop)"
    exit 0
fi
if [[ ! -f "$MARKER" ]]; then
    echo "postgres: $DATA was not created by deploy/postgres/up.sh; leaving it alone" >&2
    exit 0
fi

find_bindir() {
    local d
    # prefer the major version the cluster was created with
    if [[ -s "$DATA/PG_VERSION" ]]; then
        d="/usr/lib/postgresql/$(cat "$DATA/PG_VERSION")/bin"
        if [[ -x "$d/pg_ctl" ]]; then echo "$d"; return 0; fi
    fi
    if command -v pg_config >/dev/null 2>&1; then
        d="$(pg_config --bindir 2>/dev/null || true)"
        if [[ -n "$d" && -x "$d/pg_ctl" ]]; then echo "$d"; return 0; fi
    fi
    # shellcheck disable=SC2012  # paths are /usr/lib/postgresql/<version>/bin
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5,5 -V -r); do
        if [[ -x "$d/pg_ctl" ]]; then echo "$d"; return 0; fi
    done
    d="$(dirname "$(command -v pg_ctl 2>/dev/null || echo /nonexistent/pg_ctl)")"
    if [[ -x "$d/pg_ctl" ]]; then echo "$d"; return 0; fi
    return 1
}
BINDIR="$(find_bindir)" || { echo "postgres: pg_ctl not found; cannot stop the server in $DATA" >&2; exit 1; }

if [[ "$(id -u)" == 0 ]]; then
    as_pg() { runuser -u postgres -- "$@"; }
else
    as_pg() { "$@"; }
fi

# same lock as up.sh, so a concurrent start is not cut short
if command -v flock >/dev/null 2>&1 && [[ -w "$(dirname "$DATA")" ]]; then
    exec 9>"$DATA.lock"
    flock -w 120 9 || { echo "postgres: timed out waiting for a running up.sh" >&2; exit 1; }
fi

# is the postmaster named in postmaster.pid alive (not a zombie: orphans may be
# reaped late) and really a postmaster of $DATA (not a recycled pid)?
pid="$(head -n 1 "$DATA/postmaster.pid" 2>/dev/null | tr -dc '0-9')"
st="$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/${pid:-0}/status" 2>/dev/null || true)"
if [[ -z "$pid" || -z "$st" || "$st" == Z || "$st" == X ]] \
    || ! tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$DATA" \
    || ! as_pg "$BINDIR/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
    echo "postgres: not running (stale postmaster.pid in $DATA; up.sh deals with it)"
    exit 0
fi
echo "postgres: stopping server in $DATA ..."
as_pg "$BINDIR/pg_ctl" -D "$DATA" -m fast -w -t 60 stop >/dev/null
echo "postgres: stopped"
