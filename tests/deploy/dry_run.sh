#!/usr/bin/env bash
# Server-side dry run of every rendered kustomization under deploy/ and of the Helm chart (per
# ci/ values) against a throwaway API server (k8s-local), with the upstream CRDs of
# tests/deploy/upstream/crds installed: dry_run.py says what it installs, skips and finds.
#   KUBECONFIG must name the throwaway cluster (crates/webhook/tests/deploy_dry_run.rs passes
#   OTEL_INJECT_E2E_KUBECONFIG). Tools as run.sh: kubectl, the pinned venv, helm from its module.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/tests/deploy"
VENV="${DEPLOY_VENV:-$ROOT/.venv-deploy}"
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
say() { printf '== %s\n' "$*"; }
# shellcheck source=tests/deploy/tools.sh
source "$HERE/tools.sh"
ensure_venv
export PATH="$PATH:$VENV/bin"
ensure_kubectl
: "${KUBECONFIG:?KUBECONFIG must name the throwaway cluster}"
cd "$ROOT"
say "render every kustomization and the chart"
mapfile -t KUSTOMIZATIONS < <(find deploy -name kustomization.yaml -printf '%h\n' | sort)
for dir in "${KUSTOMIZATIONS[@]}"; do
  grep -q '^kind: Component' "$dir/kustomization.yaml" && continue
  name="${dir#deploy/}"
  kubectl kustomize "$dir" > "$OUT/${name//\//.}.yaml"
done
cp deploy/argocd/root.yaml "$OUT/argocd.root.yaml"
cp deploy/argocd/root-multi-cluster.yaml "$OUT/argocd.root-multi-cluster.yaml"
cp deploy/bootstrap/argocd-cm.yaml "$OUT/bootstrap.yaml"
HELM="$("$HERE/helm/build.sh")"
for values in deploy/charts/otel-inject/ci/*-values.yaml; do
  "$HELM" template otel-inject deploy/charts/otel-inject -n otel-inject-system -f "$values" \
    > "$OUT/chart.$(basename "$values" -values.yaml).yaml" 2>/dev/null
done
say "server-side dry run against $(kubectl version --short 2>/dev/null | grep -i server || kubectl config view --minify -o jsonpath='{.clusters[0].cluster.server}')"
"$VENV/bin/python" "$HERE/dry_run.py" --rendered "$OUT" --crds "$HERE/upstream/crds" \
  --our-crd deploy/otel-inject/base/crd-instrumentation.yaml
