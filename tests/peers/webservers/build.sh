#!/usr/bin/env bash
# Debian's nginx and Apache httpd, as installed, for running the web servers' init-container
# scripts for real (crates/otel-inject-lib/tests/webserver_shell.rs) and checking what they
# produce with `nginx -t` and `apache2 -t`. Prints the directory it made:
#   root/         the packages below, unpacked (dpkg -x) and set up as their maintainer
#                 scripts set them up: nginx's default site enabled, Apache's default
#                 modules, confs and site enabled (the packages' own a2enmod/a2enconf/a2ensite)
#   agent-image/  a stand-in for the operator's autoinstrumentation-apache-httpd image's
#                 /opt/opentelemetry: stub libraries and modules built here (stubs/README),
#                 a log4cxx template; the real module is built with opentelemetry-cpp and is
#                 in no registry this machine reaches
#   busybox-bin/  busybox's applets, the agent image's /bin (it is alpine-based)
# container.sh runs a command in one of these "images".
#   nginx-version the version `nginx -v` reports, which names the module's directory
# Only Debian's packages are fetched (apt-get download, about 7 MB). The result is cached under
# $OTEL_INJECT_CACHE (default ~/.cache/otel-inject)/webservers, keyed by this directory's files
# and the packages' candidate versions, so a Debian update or an edit here rebuilds and nothing
# else does. Concurrent callers wait for one build (flock).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
C=${OTEL_INJECT_CACHE:-$HOME/.cache/otel-inject}/webservers
PKGS="nginx nginx-common nginx-dev zlib1g-dev libpcre2-dev
      apache2 apache2-bin apache2-dev libapr1 libaprutil1 libapr1-dev libaprutil1-dev
      busybox"

versions() {
	# shellcheck disable=SC2086
	apt-cache show --no-all-versions $PKGS 2>/dev/null | awk '/^Package:/{p=$2} /^Version:/{print p"="$2}'
}
vers=$(versions)
if [ "$(printf '%s\n' "$vers" | grep -c =)" -ne "$(echo $PKGS | wc -w)" ]; then
	echo "webservers: apt has no lists for some of: $PKGS; running apt-get update" >&2
	apt-get update -qq >&2
	vers=$(versions)
fi
# The build's inputs: the package versions, this script, the stubs' sources, the template.
inputs="build.sh mod_otel_stub.c ngx_otel_stub/config ngx_otel_stub/ngx_otel_stub.c opentelemetry_sdk_log4cxx.xml.template"
key=$( { printf '%s\n' "$vers"; cd "$here" && cat $inputs; } | sha256sum | cut -c1-16)
out=$C/$key
[ -f "$out/.done" ] && { echo "$out"; exit 0; }
mkdir -p "$C"
exec 9>"$C/.lock"
flock 9
[ -f "$out/.done" ] && { echo "$out"; exit 0; }
start=$(date +%s)
rm -rf "$out.tmp"
mkdir -p "$out.tmp/debs" "$out.tmp/root"
cd "$out.tmp/debs"
# shellcheck disable=SC2086
apt-get download -qq -o APT::Sandbox::User=root $PKGS >&2
for d in *.deb; do dpkg -x "$d" "$out.tmp/root"; done
root=$out.tmp/root
# Where dpkg puts /bin, /sbin and /lib on a merged-/usr Debian (bookworm's, this host's): the
# images' /usr is this tree over the host's.
for d in bin sbin lib lib64; do
	if [ -d "$root/$d" ] && [ ! -L "$root/$d" ]; then
		mkdir -p "$root/usr/$d"
		cp -a "$root/$d/." "$root/usr/$d/"
		rm -rf "${root:?}/$d"
	fi
done

# What the maintainer scripts do on a fresh install.
ln -s /etc/nginx/sites-available/default "$root/etc/nginx/sites-enabled/default"
(
	export APACHE_CONFDIR=$root/etc/apache2 APACHE_STATE_DIRECTORY=$out.tmp/a2state
	mkdir -p "$APACHE_STATE_DIRECTORY"
	a2=$root/usr/sbin
	perl "$a2/a2enmod" -q mpm_event authz_host auth_basic access_compat authn_file authz_user \
		alias dir autoindex env mime negotiation setenvif filter deflate status reqtimeout >&2
	perl "$a2/a2enconf" -q charset localized-error-pages other-vhosts-access-log security serve-cgi-bin >&2
	perl "$a2/a2ensite" -q 000-default >&2
)

nginx_version=$("$root/usr/sbin/nginx" -v 2>&1)
nginx_version=${nginx_version##*/}
printf '%s\n' "$nginx_version" >"$out.tmp/nginx-version"

# The stand-in module for nginx, built against this nginx's sources (nginx-dev) with the
# options that enter its module signature, so `load_module` accepts it. The headers of zlib
# and pcre2 come from their -dev packages, the libraries configure links its probes with are
# the system's (every Debian has them: nginx itself needs them).
b=$out.tmp/build
mkdir -p "$b/lib"
cp -r "$root/usr/share/nginx/src" "$b/nginx"
ln -s /usr/lib/x86_64-linux-gnu/libpcre2-8.so.0 "$b/lib/libpcre2-8.so"
ln -s /usr/lib/x86_64-linux-gnu/libz.so.1 "$b/lib/libz.so"
# shellcheck disable=SC1091
. "$b/nginx/conf_flags"
flags=()
for f in "${NGX_CONF_FLAGS[@]}"; do
	case $f in --with-http_ssl_module | --with-http_v2_module) ;; *) flags+=("$f") ;; esac
done
(
	cd "$b/nginx"
	./configure "${flags[@]}" \
		--with-cc-opt="-I$root/usr/include -I$root/usr/include/x86_64-linux-gnu -fPIC" \
		--with-ld-opt="-L$b/lib" \
		--add-dynamic-module="$here/ngx_otel_stub" >"$b/nginx-configure.log" 2>&1 ||
		{ cat "$b/nginx-configure.log" >&2; exit 1; }
	make -s -f objs/Makefile modules >"$b/nginx-make.log" 2>&1 ||
		{ cat "$b/nginx-make.log" >&2; exit 1; }
)

agent=$out.tmp/agent-image/opt/opentelemetry
mkdir -p "$agent/sdk_lib/lib" "$agent/WebServerModule/Apache" "$agent/WebServerModule/Nginx/$nginx_version" \
	"$agent/conf" "$agent/logs"
cp "$b/nginx/objs/ngx_http_opentelemetry_module.so" "$agent/WebServerModule/Nginx/$nginx_version/"

# The stand-in module for Apache httpd, and the SDK libraries its configuration loads first.
gcc -shared -fPIC -O2 -o "$agent/WebServerModule/Apache/libmod_apache_otel.so" "$here/mod_otel_stub.c" \
	-I"$root/usr/include/apache2" -I"$root/usr/include/apr-1.0" -D_GNU_SOURCE -D_LARGEFILE64_SOURCE
cp "$agent/WebServerModule/Apache/libmod_apache_otel.so" "$agent/WebServerModule/Apache/libmod_apache_otel22.so"
printf 'int otel_inject_stub_library;\n' >"$b/lib.c"
for l in common resources trace otlp_recordable exporter_ostream_span exporter_otlp_grpc webserver_sdk; do
	gcc -shared -fPIC -o "$agent/sdk_lib/lib/libopentelemetry_$l.so" "$b/lib.c" -Wl,-soname,"libopentelemetry_$l.so"
done
cp "$here/opentelemetry_sdk_log4cxx.xml.template" "$agent/conf/"
chmod -R a+rX "$out.tmp/agent-image"
chmod a+w "$agent/logs"

mkdir "$out.tmp/busybox-bin"
for a in sh cat cp mv rm mkdir sed printf echo env ls test [; do
	ln -s /usr/bin/busybox "$out.tmp/busybox-bin/$a"
done

rm -rf "$out.tmp/debs" "$out.tmp/build" "$out.tmp/a2state"
touch "$out.tmp/.done"
rm -rf "$out"
mv "$out.tmp" "$out"
# Builds for other versions or inputs are superseded.
find "$C" -mindepth 1 -maxdepth 1 -type d ! -name "$key" -exec rm -rf {} +
echo "webservers: nginx $nginx_version and apache2 from Debian, stubs built, in $(($(date +%s) - start))s" >&2
echo "$out"
