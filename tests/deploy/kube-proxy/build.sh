#!/usr/bin/env bash
# Builds kube-proxy (v1.20.2) from the same Debian `kubernetes` source package that
# ../shared/k8s-local/setup.sh builds the control plane and the kubelet from, the same way:
# Debian's Go, GOPATH mode, offline from the package's vendor/ tree (no module proxy, no
# download). Once, cached under $OTEL_INJECT_CACHE (default ~/.cache/otel-inject), keyed by the
# source tree's name and the Go used; prints the binary's path. Concurrent callers wait (flock).
# Needs setup.sh to have unpacked (and patched) the source: run k8s-local's up.sh first.
# The Go build cache is shared with setup.sh's builds, so most packages are already compiled
# (about 1 minute cold on 2 cores after the kubelet's build).
set -euo pipefail
K=${K8S_LOCAL_HOME:-$HOME/.cache/k8s-local}
C=${OTEL_INJECT_CACHE:-$HOME/.cache/otel-inject}/kube-proxy
S=$K/src; KSRC=$S/kubernetes-1.20.5+really1.20.2
DEBIAN_GO=$(ls -d /usr/lib/go-1.*/bin 2>/dev/null | sort -V | head -1)
[ -n "$DEBIAN_GO" ] && [ -x "$DEBIAN_GO/go" ] || { echo "kube-proxy: Debian's golang-go is missing (k8s-local's setup.sh installs it)" >&2; exit 1; }
key=$(printf '%s %s' "$(basename "$KSRC")" "$("$DEBIAN_GO/go" version)" | sha256sum | cut -c1-16)
out=$C/kube-proxy-$key
[ -x "$out" ] && { echo "$out"; exit 0; }
[ -d "$KSRC/cmd/kube-proxy" ] || { echo "kube-proxy: no source at $KSRC: run ../shared/k8s-local/up.sh first (its setup.sh unpacks it)" >&2; exit 1; }
mkdir -p "$C"
exec 9>"$C/.lock"
flock 9
[ -x "$out" ] && { echo "$out"; exit 0; }
# As setup.sh: Debian's Go first on PATH, GOPATH mode (Kubernetes <= 1.21), nothing fetched.
export PATH="$DEBIAN_GO:$PATH" GOTOOLCHAIN=local
unset GOROOT GOFLAGS
export GOPATH=$S/gopath GO111MODULE=off GOPROXY=off GOFLAGS=-buildvcs=false CGO_ENABLED=0
[ -e "$GOPATH/src/k8s.io/kubernetes" ] || { echo "kube-proxy: $GOPATH/src/k8s.io/kubernetes missing: run ../shared/k8s-local/up.sh first" >&2; exit 1; }
cd "$GOPATH/src/k8s.io/kubernetes"
V=k8s.io/kubernetes/vendor; LD="-s -w"
for pkg in $V/k8s.io/component-base/version $V/k8s.io/client-go/pkg/version; do
  LD+=" -X $pkg.gitVersion=v1.20.2 -X $pkg.gitMajor=1 -X $pkg.gitMinor=20 -X $pkg.gitTreeState=clean"
  LD+=" -X $pkg.gitCommit=debian-1.20.5+really1.20.2-1.1+deb12u1"
done
echo "kube-proxy: building cmd/kube-proxy from $(basename "$KSRC") with $(go version) (once)" >&2
nice -n 10 go build -p 2 -ldflags "$LD" -o "$out.tmp" ./cmd/kube-proxy >&2
mv "$out.tmp" "$out"
echo "$out"
