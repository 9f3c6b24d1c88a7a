#!/usr/bin/env bash
# Build helm (which renders and lints the chart in deploy/helm/meetmalmo) into deploy/helm/bin/ from the
# Go module proxy, once; later runs reuse it. Needs Go (part of this machine kind; `go version`).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VERSION="v3.22.0"
BIN="$HERE/bin/helm"
STAMP="$HERE/bin/helm.version"  # a binary built by `go install` does not know its own patch version
if [[ -x "$BIN" && "$(cat "$STAMP" 2>/dev/null)" == "$VERSION" ]]; then
    exit 0
fi
if ! command -v go >/dev/null 2>&1; then
    echo "helm: Go is not installed, so helm $VERSION cannot be built (install Go, then run: bash $0)" >&2
    exit 1
fi
echo "helm: building $VERSION with Go (once, a few minutes) ..."
GOBIN="$HERE/bin" GOFLAGS=-mod=mod go install "helm.sh/helm/v3/cmd/helm@$VERSION"
echo "$VERSION" >"$STAMP"
