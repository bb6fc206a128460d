#!/usr/bin/env bash
# Fills fuzz/corpus/<target>/ from tests/fixtures/ and fuzz/regressions/<target>/ at run time, so
# the fixtures are not copied into git twice. The corpus directories are git-ignored: what a run
# adds to them stays on this machine (a cache that makes the next run start further along).
set -euo pipefail
cd "$(dirname "$0")"
FIX=../tests/fixtures
seed() { # seed TARGET FILE...
  local dir="corpus/$1"
  shift
  mkdir -p "$dir"
  local f
  for f in "$@"; do
    # Names keep the parent directory: several bases hold a deployment.yaml.
    [ -f "$f" ] && cp -f "$f" "$dir/seed-$(basename "$(dirname "$(dirname "$f")")")-$(basename "$(dirname "$f")")-$(basename "$f")"
  done
  return 0
}
shopt -s nullglob
seed review "$FIX"/admission/*.json regressions/review/*
seed decision "$FIX"/admission/*.json regressions/decision/*
# The manifests: the cluster fixture and the demo workloads (pods, Deployments, Instrumentations).
seed manifest "$FIX"/cluster/*.yaml ../deploy/workloads/*/base/*.yaml \
  ../crates/webhook/src/cluster/default-instrumentation.yaml regressions/manifest/*
seed sdk_env regressions/sdk_env/*
# The SDK's variables, as otel-inject injects them (no fixture holds an env file).
cat > corpus/sdk_env/seed-injected.env <<'ENV'
OTEL_SERVICE_NAME=shop
OTEL_EXPORTER_OTLP_ENDPOINT=http://jaeger-collector.monitoring:4318
OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf
OTEL_EXPORTER_OTLP_HEADERS=api-key=secret,x-tenant=a%20b
OTEL_EXPORTER_OTLP_TIMEOUT=10000
OTEL_EXPORTER_OTLP_COMPRESSION=gzip
OTEL_RESOURCE_ATTRIBUTES=k8s.namespace.name=default,k8s.pod.name=shop-1,service.version=1.2
OTEL_TRACES_SAMPLER=parentbased_traceidratio
OTEL_TRACES_SAMPLER_ARG=0.25
OTEL_PROPAGATORS=tracecontext,baggage,b3multi
OTEL_BSP_SCHEDULE_DELAY=5000
OTEL_BSP_MAX_QUEUE_SIZE=2048
OTEL_BSP_MAX_EXPORT_BATCH_SIZE=512
OTEL_BSP_EXPORT_TIMEOUT=30000
OTEL_SDK_DISABLED=false
OTEL_TRACES_EXPORTER=otlp
OTEL_INJECT_LOG_FORMAT=json
TRACEPARENT=00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01
ENV
