#!/usr/bin/env bash
# Builds the real helm v3 binary from its Go module (helm.sh/helm/v3/cmd/helm, pinned by
# go.mod/go.sum beside this file as a `tool`), once, and prints its path. Nothing is downloaded
# but Go modules from the module proxy; never a prebuilt binary. Cached under $OTEL_INJECT_CACHE
# (default ~/.cache/otel-inject), keyed by go.mod and go.sum; concurrent callers wait (flock).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
C=${OTEL_INJECT_CACHE:-$HOME/.cache/otel-inject}/helm
key=$(cat "$here/go.mod" "$here/go.sum" | sha256sum | cut -c1-16)
out=$C/helm-$key
[ -x "$out" ] && { echo "$out"; exit 0; }
mkdir -p "$C"
exec 9>"$C/.lock"
flock 9
[ -x "$out" ] && { echo "$out"; exit 0; }
command -v go >/dev/null || { echo "helm: no go on PATH (the machine's Go builds helm)" >&2; exit 1; }
echo "helm: building $(grep -m1 'helm.sh/helm/v3 ' "$here/go.mod" | xargs) with $(go version) (a few minutes, once)" >&2
cd "$here"
# GOTOOLCHAIN=local: never fetch another Go toolchain; -mod=readonly: go.sum is the pin.
GOTOOLCHAIN=local GOFLAGS=-mod=readonly CGO_ENABLED=0 \
  nice -n 5 go build -trimpath -ldflags='-s -w' -o "$out.tmp" helm.sh/helm/v3/cmd/helm >&2
mv "$out.tmp" "$out"
echo "$out"
