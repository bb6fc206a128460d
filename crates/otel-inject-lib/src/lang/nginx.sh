# otel-inject, init container otel-agent-attach-nginx (the agent image, busybox sh). Before
# it, otel-agent-source-container-clone copied the app's nginx configuration directory and
# the nginx version (version.txt) into the volume at /opt/opentelemetry-webserver/source-conf.
#   $1                              the main configuration file's name (nginx.conf)
#   OTEL_NGINX_AGENT_CONF           the module's configuration ($(VAR) already expanded by
#                                   the kubelet), with <<SID-PLACEHOLDER>> for the instance id
#   OTEL_NGINX_SERVICE_INSTANCE_ID  the pod's name
# Result: the module in /opt/opentelemetry-webserver/agent; the main file starting with
# `env OTEL_RESOURCE_ATTRIBUTES;` and the module's load_module line; the module's
# configuration in conf.d/opentelemetry_agent.conf (or, with no conf.d directory, in a file
# called conf.d: the operator's `mv` does that too).
set -eu
module=/opt/opentelemetry-webserver/agent
staged=/opt/opentelemetry-webserver/source-conf
main=$staged/$1

# Files and directories the clone copied may belong to another user than this container's:
# never write into them, write a new one beside and rename it over (the volume's top
# directory is an emptyDir, writable by every user).
new=$staged/.otel-inject-new

cp -r /opt/opentelemetry/* "$module"
version=$(cat "$staged/version.txt")

sed 's|__agent_log_dir__|/opt/opentelemetry-webserver/agent/logs|g' \
	"$module/conf/opentelemetry_sdk_log4cxx.xml.template" \
	>"$module/conf/opentelemetry_sdk_log4cxx.xml"

# Every placeholder becomes the pod's name; no sed, so the name is never read as a pattern.
rest=${OTEL_NGINX_AGENT_CONF-}
done_part=
while :; do
	case $rest in
	*'<<SID-PLACEHOLDER>>'*)
		done_part=$done_part${rest%%'<<SID-PLACEHOLDER>>'*}${OTEL_NGINX_SERVICE_INSTANCE_ID-}
		rest=${rest#*'<<SID-PLACEHOLDER>>'}
		;;
	*) break ;;
	esac
done
agent_conf=$staged/opentelemetry_agent.conf
printf '%s\n' "$done_part$rest" >"$new"
mv -f "$new" "$agent_conf"

# Two lines before the first line of the main file (an empty file has no first line and
# stays empty); a missing main file is an error.
if [ ! -f "$main" ]; then
	echo "otel-inject: $main is not a file: spec.nginx.configFile must name nginx's main configuration file" >&2
	exit 1
fi
if [ -s "$main" ]; then
	{
		printf 'env OTEL_RESOURCE_ATTRIBUTES;\n'
		printf 'load_module %s/WebServerModule/Nginx/%s/ngx_http_opentelemetry_module.so;\n' "$module" "$version"
		cat "$main"
	} >"$new"
	mv -f "$new" "$main"
fi

# conf.d/*.conf is what the http block includes. A conf.d this container may not write to
# (the clone's user's, and this one runs as another, without capabilities) is rebuilt as a
# copy of its own and swapped in by renames; the original stays as .conf.d.otel-inject-orig.
d=$staged/conf.d
if [ -d "$d" ] && ! mv -f "$agent_conf" "$d/" 2>/dev/null; then
	rm -rf "$new"
	mkdir "$new"
	cp -r "$d/." "$new/"
	mv -f "$agent_conf" "$new/"
	mv "$d" "$staged/.conf.d.otel-inject-orig"
	mv "$new" "$d"
elif [ ! -d "$d" ]; then
	mv -f "$agent_conf" "$d"
fi
