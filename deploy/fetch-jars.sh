# Sourced by deploy/kafka/up.sh and deploy/oidc/fetch.sh: fetch a pom's runtime jars with Maven into
# a lib/ folder (gitignored), atomically (a half fetch is never seen), remembering the pom it came from.
#
#   fetch_jars <name for messages> <pom.xml> <lib dir> <state dir for the log and the temporary folder>

# true if <lib> holds the jars of <pom> as it is now (and one jar matching <glob>)
jars_fetched() { # pom lib glob
    [[ -f "$2/.pom.sha256" && "$(cat "$2/.pom.sha256")" == "$(sha256sum "$1" | cut -d' ' -f1)" ]] \
        && compgen -G "$2/$3" >/dev/null
}

fetch_jars() { # name pom lib state
    local name="$1" pom="$2" lib="$3" state="$4" t0 tmp
    command -v mvn >/dev/null 2>&1 || {
        echo "$name: 'mvn' not found; install Maven (Debian: apt-get install maven)" >&2
        return 1
    }
    echo "$name: fetching jars with Maven into $lib ..."
    t0=$(date +%s)
    tmp="$state/lib.tmp.$$"   # same file system as lib/, so mv is atomic
    rm -rf "$tmp"
    if ! mvn -B -q -Dstyle.color=never -f "$pom" \
        org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
        -DoutputDirectory="$tmp" -DincludeScope=runtime >"$state/mvn.log" 2>&1; then
        echo "$name: fetching jars failed; Maven said:" >&2
        tail -n 40 "$state/mvn.log" >&2
        rm -rf "$tmp"
        return 1
    fi
    sha256sum "$pom" | cut -d' ' -f1 >"$tmp/.pom.sha256"
    rm -rf "$lib"
    mv "$tmp" "$lib"
    echo "$name: $(find "$lib" -name '*.jar' | wc -l) jars fetched ($(( $(date +%s) - t0 )) s)"
}
