#!/usr/bin/env bash
# Build Mailpit (the local mail catcher, the same as in docker-compose.yml) into deploy/mailpit/bin/
# from the Go module proxy, once. Without Go it says so in one line: `make run` then keeps emails as
# readable files in var/mail/ instead.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VERSION="v1.33.1"
BIN="$HERE/bin/mailpit"
if [[ -x "$BIN" ]]; then
    exit 0
fi
if ! command -v go >/dev/null 2>&1; then
    echo "mailpit: Go is not installed, so emails go to var/mail/ as files (install Go to read them in a web UI)"
    exit 0
fi
echo "mailpit: building $VERSION with Go (once, about a minute) ..."
GOBIN="$HERE/bin" GOFLAGS=-mod=mod go install "github.com/axllent/mailpit@$VERSION"
