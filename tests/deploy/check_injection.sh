#!/usr/bin/env bash
# Run `otel-inject inject` over the rendered dev workloads and check what comes out:
#   - demo-dotnet: the .NET agent's init container and CORECLR_ENABLE_PROFILING on the app;
#   - orders-api / inventory-api (inject-sdk): the OTEL_* SDK env, no init container, no volume;
#   - an Argo Workflows step pod (init + wait + main, built from the WorkflowTemplate's podMetadata):
#     `main` and only `main` instrumented, Argo's TRACEPARENT kept.
# The cluster view is the rendered otel-inject dev overlay (its default Instrumentation).
#
# Usage: tests/deploy/check_injection.sh PATH/TO/otel-inject
set -euo pipefail

BIN="${1:?usage: $0 PATH/TO/otel-inject}"
[[ -x "$BIN" ]] || { echo "check_injection: $BIN is not an executable otel-inject binary" >&2; exit 2; }
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/tests/deploy"
VENV="${DEPLOY_VENV:-$ROOT/.venv-deploy}"
ENV_NAME="${ENV_NAME:-dev}"
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT

command -v kubectl >/dev/null || { echo "check_injection: kubectl missing; run tests/deploy/run.sh first (it installs it)" >&2; exit 2; }
if [[ ! -x "$VENV/bin/python" ]]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "PyYAML==6.0.3"
fi

cd "$ROOT"
kubectl kustomize "deploy/otel-inject/overlays/$ENV_NAME" > "$OUT/cluster.yaml"
for w in demo-dotnet shop ml-pipeline; do
  kubectl kustomize "deploy/workloads/$w/overlays/$ENV_NAME" > "$OUT/$w.yaml"
done

# An Argo step pod as the workflow-controller (v4.1) would create it for the DAG task `train`.
"$VENV/bin/python" "$HERE/injection_checks.py" argo-fixture "$OUT/ml-pipeline.yaml" > "$OUT/argo-step-pod.yaml"

for input in demo-dotnet shop argo-step-pod; do
  if ! "$BIN" inject -f "$OUT/$input.yaml" --cluster "$OUT/cluster.yaml" -o yaml > "$OUT/$input.injected.yaml" 2> "$OUT/$input.err"; then
    echo "  FAIL otel-inject inject -f $input.yaml exited non-zero:" >&2
    cat "$OUT/$input.err" >&2
    exit 1
  fi
done

if ! "$VENV/bin/python" "$HERE/injection_checks.py" check \
    "$OUT/demo-dotnet.yaml" "$OUT/demo-dotnet.injected.yaml" \
    "$OUT/shop.yaml" "$OUT/shop.injected.yaml" \
    "$OUT/argo-step-pod.yaml" "$OUT/argo-step-pod.injected.yaml"; then
  # Say why, in the binary's own words.
  for input in demo-dotnet shop argo-step-pod; do
    echo "-- otel-inject explain -f $input.yaml --cluster <otel-inject $ENV_NAME overlay>"
    "$BIN" explain -f "$OUT/$input.yaml" --cluster "$OUT/cluster.yaml" 2>&1 | head -40 || true
  done
  exit 1
fi
