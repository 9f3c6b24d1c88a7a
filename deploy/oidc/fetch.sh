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

fetched() {
    [[ -f "$LIB/.pom.sha256" && "$(cat "$LIB/.pom.sha256")" == "$(sha256sum "$POM" | cut -d' ' -f1)" ]] \
        && compgen -G "$LIB/mock-oauth2-server-*.jar" >/dev/null
}

fetched && exit 0
mkdir -p "$STATE"
if command -v flock >/dev/null 2>&1; then  # serialise concurrent fetches
    exec 9>"$STATE/fetch.lock"
    flock -w 300 9 || { echo "oidc: timed out waiting for another fetch.sh" >&2; exit 1; }
    fetched && exit 0
fi
command -v mvn >/dev/null 2>&1 || {
    echo "oidc: 'mvn' not found; install Maven (Debian: apt-get install maven)" >&2
    exit 1
}
echo "oidc: fetching mock-oauth2-server jars with Maven into $LIB ..."
t0=$(date +%s)
TMP_LIB="$STATE/lib.tmp.$$"
rm -rf "$TMP_LIB"
trap 'rm -rf "$TMP_LIB"' EXIT
if ! mvn -B -q -Dstyle.color=never -f "$POM" \
    org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
    -DoutputDirectory="$TMP_LIB" -DincludeScope=runtime >"$STATE/mvn.log" 2>&1; then
    echo "oidc: fetching jars failed; Maven said:" >&2
    tail -n 40 "$STATE/mvn.log" >&2
    exit 1
fi
sha256sum "$POM" | cut -d' ' -f1 >"$TMP_LIB/.pom.sha256"
rm -rf "$LIB"
mv "$TMP_LIB" "$LIB"
trap - EXIT
echo "oidc: $(find "$LIB" -name '*.jar' | wc -l) jars fetched ($(( $(date +%s) - t0 )) s)"
