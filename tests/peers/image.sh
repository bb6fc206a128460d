#!/usr/bin/env bash
# Offline container images for the pods that k8s-local's node runs. Nothing is pulled: images
# are built FROM scratch (podman, vfs storage, no registry) out of files on this machine, or on
# a Debian rootfs made by debootstrap from Debian's own packages, and imported into the node's
# containerd. Every result is cached under $OTEL_INJECT_CACHE (default ~/.cache/otel-inject).
#
#   image.sh rootfs NAME [PKG...]   a debootstrap minbase rootfs with PKGs, imported into podman's
#                                   store as localhost/otel-inject-test/NAME:<key>; prints that tag.
#                                   Keyed by the suite and package list: built once (~1 min).
#   image.sh build NAME DIR         podman build of DIR/Containerfile, tagged
#                                   localhost/otel-inject-test/NAME:<hash of DIR>, imported into the
#                                   node's containerd (k8s.io namespace); prints the tag. A no-op
#                                   when containerd already has that tag.
#
#   K8S_LOCAL_HOME (default ~/.cache/k8s-local): whose node's containerd gets the images.
set -euo pipefail
C=${OTEL_INJECT_CACHE:-$HOME/.cache/otel-inject}
K=${K8S_LOCAL_HOME:-$HOME/.cache/k8s-local}
SOCK=$K/node/containerd.sock
PODMAN=(podman --storage-driver vfs --root "$C/podman" --runroot "$C/podman-run")
SUITE=bookworm
mkdir -p "$C"
# One image operation at a time: podman's vfs store and debootstrap are not safe to share.
exec 9>"$C/.image.lock"
flock 9

need() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "image.sh: installing ${missing[*]} from Debian" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# The Debian mirror apt already uses on this machine (deb822 or one-line sources).
mirror() {
  local m
  m=$(grep -h '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v security | head -1)
  [ -n "$m" ] || m=$(grep -h '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' | grep -v security | head -1)
  [ -n "$m" ] || { echo "image.sh: no Debian mirror in the apt sources" >&2; exit 1; }
  echo "$m"
}

case "${1:-}" in
rootfs)
  name=$2; shift 2
  pkgs=$(printf '%s\n' "$@" | sort -u | paste -sd, -)
  key=$(printf '%s %s %s' "$SUITE" minbase "$pkgs" | sha256sum | cut -c1-16)
  tag=localhost/otel-inject-test/$name:$key
  if "${PODMAN[@]}" image exists "$tag" 2>/dev/null; then echo "$tag"; exit 0; fi
  need debootstrap podman
  dir=$(mktemp -d "$C/rootfs-XXXXXX")
  trap 'rm -rf "$dir"' EXIT
  echo "image.sh: debootstrap $SUITE minbase ${pkgs:+with $pkgs} (once)" >&2
  debootstrap --variant=minbase ${pkgs:+--include="$pkgs"} "$SUITE" "$dir/root" "$(mirror)" >"$dir/log" 2>&1 \
    || { tail -20 "$dir/log" >&2; exit 1; }
  # Only what a container needs: no apt caches or lists, no docs.
  rm -rf "$dir/root/var/cache/apt/archives"/*.deb "$dir/root/var/lib/apt/lists"/* \
    "$dir/root/usr/share/doc" "$dir/root/usr/share/man" "$dir/root/usr/share/locale"
  tar -C "$dir/root" -c . | "${PODMAN[@]}" import -q - "$tag" >/dev/null
  echo "$tag"
  ;;
build)
  name=$2; dir=$3
  key=$(tar -C "$dir" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -c . | sha256sum | cut -c1-16)
  tag=localhost/otel-inject-test/$name:$key
  [ -S "$SOCK" ] || { echo "image.sh: no containerd at $SOCK: start ../shared/k8s-local/node.sh first" >&2; exit 1; }
  if ctr --address "$SOCK" -n k8s.io images ls -q | grep -qxF "$tag"; then echo "$tag"; exit 0; fi
  need podman
  "${PODMAN[@]}" build -q -t "$tag" "$dir" >/dev/null
  tar=$(mktemp "$C/image-XXXXXX.tar")
  trap 'rm -f "$tar"' EXIT
  rm -f "$tar"
  "${PODMAN[@]}" save -q --format oci-archive -o "$tar" "$tag" >/dev/null
  ctr --address "$SOCK" -n k8s.io images import "$tar" >/dev/null
  echo "$tag"
  ;;
*)
  echo "usage: image.sh rootfs NAME [PKG...] | image.sh build NAME DIR" >&2; exit 2 ;;
esac
