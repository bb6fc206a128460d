# otel-inject, init container otel-agent-source-container-clone for nginx (the app's image,
# its own sh). Copies what the configuration directory holds (not its dot-files) into the
# volume at /opt/opentelemetry-webserver/source-conf, and this nginx's version to
# version.txt there, which picks the module build in the agent init container.
#   $1  the configuration directory (the directory of spec.nginx.configFile)
set -eu
staged=/opt/opentelemetry-webserver/source-conf

cp -r "$1"/* "$staged"

# `nginx -v` writes "nginx version: nginx/1.25.3" to stderr; the version is after the last /.
banner=$(nginx -v 2>&1)
printf '%s\n' "${banner##*/}" >"$staged/version.txt"
