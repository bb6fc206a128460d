#!/usr/bin/env bash
# Runs one command as an init container or the app container of a pod would run it, with the
# images of build.sh, in a throwaway root inside a private mount namespace (nothing on the
# host changes; needs root, as `unshare --mount` does):
#   container.sh BUILD IMAGE [--mount SRC:DEST]... [--user UID] [--no-caps] -- CMD [ARG]...
# IMAGE is `app` (Debian with nginx and apache2 installed: the host's /usr overlaid with the
# packages, /etc/nginx and /etc/apache2 as installed), `app-busybox` (the same with busybox's
# /bin, as an alpine-based web server image has it) or `agent` (the operator's agent image:
# busybox's /bin and /opt/opentelemetry). --mount binds a directory or a file (the pod's
# emptyDirs, a subPath) over DEST, as the kubelet does; what the command writes elsewhere is
# gone when it ends. --user runs the command as that UID and GID; --no-caps without
# any capability (as the hardened init containers run). CMD runs with an empty environment
# but what `env` in front of it sets.
set -euo pipefail
if [ "${1-}" != --inside ]; then
	exec unshare --mount --propagation private bash "$(readlink -f "$0")" --inside "$@"
fi
shift
build=$1 image=$2
shift 2
mounts=() user= caps=keep
while [ $# -gt 0 ]; do
	case $1 in
	--mount) mounts+=("$2"); shift 2 ;;
	--user) user=$2; shift 2 ;;
	--no-caps) caps=none; shift ;;
	--) shift; break ;;
	*) echo "container.sh: unknown option $1" >&2; exit 2 ;;
	esac
done

r=$(mktemp -d)
mount -t tmpfs tmpfs "$r"
mkdir -p "$r/usr" "$r/etc" "$r/tmp" "$r/dev" "$r/proc" "$r/run" "$r/opt" "$r/var/log/nginx" \
	"$r/var/log/apache2" "$r/var/lib/nginx" "$r/var/www/html" "$r/var/run/apache2" "$r/var/lock/apache2"
chmod 1777 "$r/tmp" "$r/var/log/nginx" "$r/var/lib/nginx" "$r/var/log/apache2" "$r/run"
mkdir -p "$r/.layer/up" "$r/.layer/work"
mount -t overlay overlay -o "lowerdir=$build/root/usr:/usr,upperdir=$r/.layer/up,workdir=$r/.layer/work" "$r/usr"
mount --rbind /dev "$r/dev"
mount -t proc proc "$r/proc" 2>/dev/null || mount --rbind /proc "$r/proc"
cp /etc/passwd /etc/group "$r/etc/"
[ -e /etc/nsswitch.conf ] && cp /etc/nsswitch.conf "$r/etc/"
# What the kubelet gives every container.
printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$r/etc/hosts"
for lib in lib lib64 sbin; do ln -s "usr/$lib" "$r/$lib"; done
case $image in
app | app-busybox)
	if [ "$image" = app ]; then
		ln -s usr/bin "$r/bin"
	else
		mkdir "$r/bin"
		cp -a "$build/busybox-bin/." "$r/bin/"
	fi
	cp -a "$build/root/etc/nginx" "$build/root/etc/apache2" "$r/etc/"
	;;
agent)
	mkdir "$r/bin"
	cp -a "$build/busybox-bin/." "$r/bin/"
	cp -a "$build/agent-image/opt/opentelemetry" "$r/opt/"
	;;
*) echo "container.sh: unknown image $image (app or agent)" >&2; exit 2 ;;
esac
for m in ${mounts[@]+"${mounts[@]}"}; do
	src=${m%%:*} dest=$r${m#*:}
	if [ -d "$src" ]; then
		mkdir -p "$dest"
	else
		mkdir -p "$(dirname "$dest")"
		[ -e "$dest" ] || touch "$dest"
	fi
	mount --bind "$src" "$dest"
done

run=()
if [ -n "$user" ]; then
	run+=(--reuid="$user" --regid="$user" --clear-groups)
fi
if [ "$caps" = none ]; then
	run+=(--inh-caps=-all --bounding-set=-all --no-new-privs)
fi
cd "$r"
set +e
if [ ${#run[@]} -gt 0 ]; then
	chroot "$r" /usr/bin/setpriv "${run[@]}" -- "$@"
else
	chroot "$r" "$@"
fi
rc=$?
# The mounts go with the namespace; the directory they were on is the host's.
cd /
umount -R "$r" 2>/dev/null || umount -l "$r"
rmdir "$r"
exit "$rc"
