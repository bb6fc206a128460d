#!/usr/bin/env bash
# Validate everything under deploy/ without a cluster:
#   1. render every kustomization (bases, overlays; components through the overlays that use them);
#   2. validate every rendered object: built-in kinds against the Kubernetes schemas shipped in
#      kubernetes-validate (strict), Instrumentations against the generated CRD, other projects'
#      CRD-typed objects for shape; plus the deploy invariants (tests/deploy/validate.py);
#   1b. lint and render the Helm chart with the real helm (built from its Go module), per ci/ values;
#   2c. compare the chart's renderings with the kustomize overlays they stand for;
#   3. run checkov over what Argo CD deploys and the chart's renderings, failing on any failed check
#      not in checkov-skips.txt.
# Tools: kubectl (apt), and a venv .venv-deploy/ with the pinned tools of requirements.txt.
# tests/deploy/check_injection.sh (otel-inject inject over the rendered workloads) is separate.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/tests/deploy"
VENV="${DEPLOY_VENV:-$ROOT/.venv-deploy}"
K8S_VERSION="${K8S_VERSION:-1.33.0}"   # the API the webhook is built against (k8s-openapi v1_33)
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
START=$(date +%s)
PASSED=0
FAILED=0

say() { printf '== %s\n' "$*"; }
ok() { PASSED=$((PASSED + 1)); printf '  ok   %s\n' "$*"; }
fail() { FAILED=$((FAILED + 1)); printf '  FAIL %s\n' "$*"; }

# --- tools (kubectl, the pinned Python venv): tests/deploy/tools.sh ---------------------------
# shellcheck source=tests/deploy/tools.sh
source "$HERE/tools.sh"
ensure_venv
export PATH="$PATH:$VENV/bin"
ensure_kubectl
say "tools: $(kubectl version --client 2>/dev/null | tr '\n' ' ')"

# --- 1. render -------------------------------------------------------------------------------
say "1. render every kustomization under deploy/"
mkdir -p "$OUT/rendered"
cd "$ROOT"
mapfile -t KUSTOMIZATIONS < <(find deploy -name kustomization.yaml -printf '%h\n' | sort)
for dir in "${KUSTOMIZATIONS[@]}"; do
  name="${dir#deploy/}"
  name="${name//\//.}"
  if grep -q '^kind: Component' "$dir/kustomization.yaml"; then
    # A component renders only inside an overlay; make sure one uses it.
    if grep -rqs -- "components/$(basename "$dir")\$" deploy --include=kustomization.yaml; then
      ok "component $dir (rendered through the overlays that use it)"
    else
      fail "component $dir is used by no overlay, so nothing renders it"
    fi
    continue
  fi
  if kubectl kustomize "$dir" > "$OUT/rendered/$name.yaml" 2> "$OUT/err"; then
    ok "$dir ($(grep -c '^kind:' "$OUT/rendered/$name.yaml") objects)"
  else
    fail "$dir: $(head -c 2000 "$OUT/err")"
    rm -f "$OUT/rendered/$name.yaml"
  fi
done
# Plain manifests applied by hand (not kustomizations).
cp deploy/argocd/root.yaml "$OUT/rendered/argocd.root.yaml" && ok "deploy/argocd/root.yaml"
cp deploy/argocd/root-multi-cluster.yaml "$OUT/rendered/argocd.root-multi-cluster.yaml" \
  && ok "deploy/argocd/root-multi-cluster.yaml"
cp deploy/bootstrap/argocd-cm.yaml "$OUT/rendered/bootstrap.yaml" && ok "deploy/bootstrap/argocd-cm.yaml"

# --- 1b. the Helm chart ----------------------------------------------------------------------
# The real helm, built from its Go module (tests/deploy/helm/build.sh; cached, minutes once).
say "1b. the Helm chart deploy/charts/otel-inject: helm lint --strict, helm template per ci/ values"
CHART=deploy/charts/otel-inject
if HELM="$("$HERE/helm/build.sh")"; then
  ok "helm: $("$HELM" version --short 2>/dev/null)"
  for values in "$CHART"/ci/*-values.yaml; do
    env="$(basename "$values" -values.yaml)"
    if "$HELM" lint --strict "$CHART" -f "$values" > "$OUT/err" 2>&1; then ok "helm lint --strict -f $values"
    else fail "helm lint -f $values: $(grep -v 'found symbolic link' "$OUT/err" | head -c 2000)"; fi
    if "$HELM" template otel-inject "$CHART" -n otel-inject-system -f "$values" \
        > "$OUT/rendered/chart.$env.yaml" 2> "$OUT/err"; then
      ok "helm template -f $values ($(grep -c '^kind:' "$OUT/rendered/chart.$env.yaml") objects)"
    else
      fail "helm template -f $values: $(head -c 2000 "$OUT/err")"; rm -f "$OUT/rendered/chart.$env.yaml"
    fi
  done
  # The schema must refuse what would break an install, not only accept what works.
  for bad in "tls.mode=self-signed,ha.enabled=true" "image.tag=latest" "admissionWebhooks.pods.enabled=false" \
             "webhook.failurePolicy=Sometimes" "instrumentation.sampler.argument=2"; do
    if "$HELM" template otel-inject "$CHART" --set "$bad" > /dev/null 2> "$OUT/err" \
        || ! grep -q "values don't meet the specifications" "$OUT/err"; then
      fail "values.schema.json accepts --set $bad"
    else ok "values.schema.json refuses --set $bad"; fi
  done
else
  fail "tests/deploy/helm/build.sh could not build helm"
fi

# --- 2. validate -----------------------------------------------------------------------------
say "2. validate rendered objects (kubernetes-validate $K8S_VERSION strict, CRD schema, invariants)"
if "$VENV/bin/python" "$HERE/validate.py" --rendered "$OUT/rendered" \
    --crd deploy/otel-inject/base/crd-instrumentation.yaml --k8s-version "$K8S_VERSION" --repo "$ROOT"; then
  ok "validate.py"
else
  fail "validate.py (see FAIL lines above)"
fi

say "2b. the migration guide against the operator chart's values.schema.json (tests/deploy/upstream)"
UPSTREAM_CHART="$HERE/upstream/opentelemetry-operator-chart-0.122.0"
if "$VENV/bin/python" "$HERE/migration_guide.py" deploy/README.md \
    "$UPSTREAM_CHART/values.schema.json" "$UPSTREAM_CHART/values.yaml"; then
  ok "migration_guide.py"
else
  fail "migration_guide.py (see FAIL lines above)"
fi

say "2d. Argo CD's health checks (bootstrap/argocd-cm.yaml) in Lua 5.1, as Argo CD runs them"
if ! command -v lua5.1 >/dev/null 2>&1; then
  say "lua5.1 missing: installing it with apt"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq lua5.1 >/dev/null || true
fi
if command -v lua5.1 >/dev/null 2>&1 \
    && "$VENV/bin/python" "$HERE/argocd_health.py" deploy/bootstrap/argocd-cm.yaml lua5.1; then
  ok "argocd_health.py"
else
  fail "argocd_health.py (lua5.1 missing, or FAIL lines above)"
fi

say "2c. the chart and the kustomize overlays render the same objects"
PAIRS=()
for f in "$OUT"/rendered/chart.*.yaml; do
  env="${f##*/chart.}"; env="${env%.yaml}"
  PAIRS+=("$OUT/rendered/otel-inject.overlays.$env.yaml" "$f")
done
# Two renderings (kustomize, chart) per ci/ values file: each stands for an overlay.
WANT=$(( 2 * $(find "$CHART/ci" -name '*-values.yaml' | wc -l) ))
if [[ ${#PAIRS[@]} -eq $WANT ]] && "$VENV/bin/python" "$HERE/chart_agreement.py" "${PAIRS[@]}"; then
  ok "chart_agreement.py (dev, dev-self-signed, dev-rollout-controller, staging, prod)"
else
  fail "chart_agreement.py (see FAIL lines above; ${#PAIRS[@]} of $WANT renderings)"
fi

# --- 3. checkov ------------------------------------------------------------------------------
say "3. checkov over what Argo CD deploys (overlays, Argo CD apps, bootstrap)"
mkdir -p "$OUT/checkov"
for f in "$OUT"/rendered/*.overlays.*.yaml "$OUT"/rendered/chart.*.yaml "$OUT"/rendered/argocd.*.yaml \
    "$OUT/rendered/bootstrap.yaml"; do
  cp "$f" "$OUT/checkov/"
done
for id in $(grep -v '^\s*#' "$HERE/checkov-skips.txt" | awk 'NF {print $1}' | sort -u); do
  if grep -q -- "$id" deploy/README.md; then ok "checkov skip $id is explained in deploy/README.md"
  else fail "checkov skip $id is not explained in deploy/README.md"; fi
done
# checkov exits 1 on any failed check; the gate decides, with the reasoned skips.
"$VENV/bin/checkov" --directory "$OUT/checkov" --framework kubernetes --compact \
  --skip-download --output json > "$OUT/checkov.json" 2> "$OUT/checkov.err" || true
if [[ ! -s "$OUT/checkov.json" ]]; then
  cat "$OUT/checkov.err"
  fail "checkov produced no report"
elif "$VENV/bin/python" "$HERE/checkov_gate.py" "$OUT/checkov.json" "$HERE/checkov-skips.txt"; then
  ok "checkov: no failed check without a reasoned skip"
else
  fail "checkov: failed checks without a skip, or stale skips (above)"
fi

ELAPSED=$(( $(date +%s) - START ))
say "deploy checks done in ${ELAPSED}s"
echo "${PASSED} passed, ${FAILED} failed"
[[ "$FAILED" -eq 0 ]]
