# otel-inject, init container otel-agent-attach-apache (the agent image, busybox sh).
# Before it, otel-agent-source-container-clone copied the app's Apache configuration
# directory into the volume at /opt/opentelemetry-webserver/source-conf.
#   $1                          the configuration directory as the app container sees it
#   OTEL_APACHE_AGENT_CONF      the module's configuration ($(VAR) already expanded by the
#                               kubelet), with <<SID-PLACEHOLDER>> for the instance id
#   APACHE_SERVICE_INSTANCE_ID  the pod's name
# Result: the module in /opt/opentelemetry-webserver/agent, opentemetry_agent.conf (the
# operator's spelling) beside the configuration, and httpd.conf ending with an Include of it.
set -eu
conf_dir=$1
module=/opt/opentelemetry-webserver/agent
staged=/opt/opentelemetry-webserver/source-conf

# Files the clone copied may belong to another user than this container's: never write into
# one, write a new file beside it and rename that over it (the volume's top directory is an
# emptyDir, writable by every user).
new=$staged/.otel-inject-new

cp -r /opt/opentelemetry/* "$module"

sed 's|__agent_log_dir__|/opt/opentelemetry-webserver/agent/logs|g' \
	"$module/conf/opentelemetry_sdk_log4cxx.xml.template" \
	>"$module/conf/opentelemetry_sdk_log4cxx.xml"

# Every placeholder becomes the pod's name; no sed, so the name is never read as a pattern.
rest=${OTEL_APACHE_AGENT_CONF-}
done_part=
while :; do
	case $rest in
	*'<<SID-PLACEHOLDER>>'*)
		done_part=$done_part${rest%%'<<SID-PLACEHOLDER>>'*}${APACHE_SERVICE_INSTANCE_ID-}
		rest=${rest#*'<<SID-PLACEHOLDER>>'}
		;;
	*) break ;;
	esac
done
printf '%s\n' "$done_part$rest" >"$new"
mv -f "$new" "$staged/opentemetry_agent.conf"

main=$staged/httpd.conf
{
	if [ -e "$main" ]; then cat "$main"; fi
	printf '\nInclude %s/opentemetry_agent.conf\n' "$conf_dir"
} >"$new"
mv -f "$new" "$main"
