#!/usr/bin/env bash
# Fetch (once) the jars of a local OpenID Connect provider -- NAV's mock-oauth2-server, see pom.xml --
# into deploy/oidc/lib/ (gitignored), the way deploy/kafka/up.sh fetches Kafka's. Again only when
# pom.xml changes. The web's OIDC sign-in test (services/web/tests/integration/test_oidc_sign_in.py)
# runs this, then starts its own provider:
#
#   SERVER_HOSTNAME=127.0.0.1 SERVER_PORT=8090 JSON_CONFIG='{"interactiveLogin": true}' \
#       java -cp 'deploy/oidc/lib/*' no.nav.security.mock.oauth2.StandaloneMockOAuth2ServerKt
#
# Issuer: http://127.0.0.1:8090/<any issuer id>, e.g. .../malmo/.well-known/openid-configuration.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
LIB="$HERE/lib"
POM="$HERE/pom.xml"
STATE="$ROOT/var/oidc"

# shellcheck source=../fetch-jars.sh
source "$HERE/../fetch-jars.sh"
fetched() { jars_fetched "$POM" "$LIB" "mock-oauth2-server-*.jar"; }

fetched && exit 0
mkdir -p "$STATE"
if command -v flock >/dev/null 2>&1; then  # serialise concurrent fetches
    exec 9>"$STATE/fetch.lock"
    flock -w 300 9 || { echo "oidc: timed out waiting for another fetch.sh" >&2; exit 1; }
    fetched && exit 0
fi
fetch_jars oidc "$POM" "$LIB" "$STATE"
