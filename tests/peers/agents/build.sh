#!/usr/bin/env bash
# The OpenTelemetry agents that the operator's autoinstrumentation images carry, built from their
# real artifacts on the registries and laid out as those images lay them out (the operator's
# autoinstrumentation/{java,nodejs,python}/Dockerfile at v0.158.0), for the e2e pods:
#
#   build.sh java     /javaagent.jar: io.opentelemetry.javaagent:opentelemetry-javaagent
#                     (java/version.txt) from Maven Central
#   build.sh nodejs   /autoinstrumentation/: npm ci of nodejs/package-lock.json
#                     (@opentelemetry/auto-instrumentations-node and the SDK), the files of
#                     auto-instrumentations-node's build/src/ beside node_modules as the
#                     operator's image has them, and our own autoinstrumentation.js
#   build.sh python   /autoinstrumentation/: pip install --target of python/requirements.txt
#                     (glibc wheels only, for Debian bookworm's Python 3.11)
#   build.sh all      all three; prints nothing but progress
#
# Prints the directory whose contents go at the agent image's root (the Rust glue,
# otel_inject_test_peers::agents, puts busybox beside them). Everything is readable by any user
# (chmod go+rX, as the operator's images do), since the init container may run as non-root.
# Results are cached under $OTEL_INJECT_CACHE/agents (default ~/.cache/otel-inject/agents),
# keyed by this script and the inputs of that agent, so an unchanged build costs nothing and a
# version bump rebuilds; older builds of the same agent are removed. Concurrent callers of one
# agent wait for one build (flock).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
C=${OTEL_INJECT_CACHE:-$HOME/.cache/otel-inject}/agents

inputs() {
  case $1 in
  java) echo java/version.txt ;;
  nodejs) echo nodejs/package.json nodejs/package-lock.json nodejs/autoinstrumentation.js ;;
  python) echo python/requirements.txt ;;
  *) echo "usage: build.sh java|nodejs|python|all" >&2; exit 2 ;;
  esac
}

build_java() { # $1: empty dir to fill
  local v
  v=$(tr -d '[:space:]' <"$here/java/version.txt")
  command -v mvn >/dev/null || { echo "agents: no mvn on PATH (Maven fetches the Java agent)" >&2; exit 1; }
  echo "agents: opentelemetry-javaagent $v from Maven Central" >&2
  # -C: fail on a checksum mismatch instead of warning; the plugin version is pinned (Maven's
  # default for a build without a pom is a 2014 one).
  mvn -B -q -C -Dstyle.color=never org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy \
    -Dartifact="io.opentelemetry.javaagent:opentelemetry-javaagent:$v" \
    -DoutputDirectory="$1/mvn" >"$1/mvn.log" 2>&1 || { cat "$1/mvn.log" >&2; exit 1; }
  rm "$1/mvn.log"
  mv "$1/mvn/opentelemetry-javaagent-$v.jar" "$1/javaagent.jar"
  rmdir "$1/mvn"
}

build_nodejs() {
  command -v npm >/dev/null || { echo "agents: no npm on PATH (npm fetches the Node.js agent)" >&2; exit 1; }
  local work=$1/work
  mkdir -p "$work"
  cp "$here/nodejs/package.json" "$here/nodejs/package-lock.json" "$work/"
  echo "agents: npm ci of @opentelemetry/auto-instrumentations-node $(grep -o '"@opentelemetry/auto-instrumentations-node": "[^"]*"' "$work/package.json" | cut -d'"' -f4)" >&2
  # --ignore-scripts: nothing in the set needs an install script to work (protobufjs's
  # postinstall only checks versions); --omit=dev: the image carries the runtime set only.
  (cd "$work" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
  local dest=$1/autoinstrumentation
  mkdir -p "$dest"
  mv "$work/node_modules" "$work/package.json" "$dest/"
  # The operator's image also has auto-instrumentations-node's build/src/ files at its root
  # ("backward compatibility with old operator version"), so register.js is there too.
  cp -r "$dest/node_modules/@opentelemetry/auto-instrumentations-node/build/src/." "$dest/"
  # Its autoinstrumentation.js is a link to that register.js; ours is our own file.
  rm -f "$dest/autoinstrumentation.js"
  cp "$here/nodejs/autoinstrumentation.js" "$dest/autoinstrumentation.js"
  rm -rf "$work"
}

build_python() {
  local py=${PYTHON:-python3} v
  v=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  # The app's Python is Debian bookworm's (3.11): wheels with C extensions (wrapt, protobuf,
  # psutil) are built for one minor version.
  [ "$v" = 3.11 ] || { echo "agents: $py is Python $v; the pods run Debian bookworm's 3.11 (set PYTHON=python3.11)" >&2; exit 1; }
  echo "agents: pip install --target of python/requirements.txt with $("$py" -m pip --version | cut -d' ' -f1-2)" >&2
  # --only-binary: manylinux (glibc) wheels, nothing compiled against this host's headers.
  "$py" -m pip install -q --disable-pip-version-check --no-warn-script-location --root-user-action=ignore \
    --only-binary=:all: --target "$1/autoinstrumentation" -r "$here/python/requirements.txt" >&2
}

build() { # $1: agent; prints the cached directory
  local lang=$1 key out tmp f
  key=$( { cat "$here/build.sh"; for f in $(inputs "$lang"); do echo "== $f"; cat "$here/$f"; done; } | sha256sum | cut -c1-16)
  out=$C/$lang-$key
  [ -d "$out" ] && { echo "$out"; return 0; }
  mkdir -p "$C"
  exec 9>"$C/.lock-$lang"
  flock 9
  # A finished build appears in one rename, so a directory that exists is complete.
  if [ ! -d "$out" ]; then
    tmp=$(mktemp -d "$C/.tmp-$lang-XXXXXX")
    # shellcheck disable=SC2064
    trap "rm -rf '$tmp'" EXIT
    local start=$SECONDS
    mkdir "$tmp/out"
    "build_$lang" "$tmp/out"
    chmod -R go+rX "$tmp/out"
    mv "$tmp/out" "$out"
    rm -rf "$tmp"
    trap - EXIT
    # Only the newest build of each agent is kept.
    for f in "$C/$lang"-*; do [ "$f" = "$out" ] || rm -rf "$f"; done
    echo "agents: $lang built in $((SECONDS - start)) s ($(du -sh "$out" | cut -f1))" >&2
  fi
  exec 9>&-
  echo "$out"
}

case "${1:-}" in
all) for lang in java nodejs python; do build "$lang" >/dev/null; done ;;
*) inputs "${1:-}" >/dev/null; build "$1" ;;
esac
