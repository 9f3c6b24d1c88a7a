#!/usr/bin/env bash
# `make run`: Kafka (unless one already answers), Mailpit, migrations and the four services, until
# Ctrl-C; then it stops what it started, the Kafka broker included (never one that was already up).
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BOOTSTRAP="${MEETMALMO_KAFKA_BOOTSTRAP:-127.0.0.1:9092}"
FIRST="${BOOTSTRAP%%,*}"
# shellcheck disable=SC2016  # $1/$2 expand in the inner bash
port_open() { timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null; }

if port_open 127.0.0.1 "${WEB_PORT:-8000}"; then
    echo "Meet Malmö is already running here (http://127.0.0.1:${WEB_PORT:-8000}); stop it with Ctrl-C where it was started." >&2
    exit 1
fi
KAFKA_WAS_UP=0
port_open "${FIRST%:*}" "${FIRST##*:}" && KAFKA_WAS_UP=1
bash "$ROOT/deploy/kafka/up.sh" || exit 1
stop_kafka() { if [[ "$KAFKA_WAS_UP" == 0 ]]; then bash "$ROOT/deploy/kafka/down.sh"; fi; }
trap stop_kafka EXIT
bash "$ROOT/deploy/mailpit/build.sh" || echo "mailpit: the build failed, so emails go to var/mail/ as files"
"$ROOT/.venv/bin/meetmalmo" run
