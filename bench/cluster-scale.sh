#!/usr/bin/env bash
# The webhook at cluster scale, against k8s-local: time from start to ready (caches synced), RSS
# after the sync, bytes per cached object, and the admission latency the API server measures
# (apiserver_admission_webhook_admission_duration_seconds) for pods created while the caches
# are full, next to the same figures on an empty cluster.
#
#   bench/cluster-scale.sh empty     # measure with no population (run `clean` first if needed)
#   bench/cluster-scale.sh fill      # 5,000 namespaces, 20,000 ReplicaSets, 5,000 Jobs (reused)
#   bench/cluster-scale.sh measure   # measure against the cluster as it is
#   bench/cluster-scale.sh full      # fill, then measure (the default)
#   bench/cluster-scale.sh clean     # delete the population, the probe namespace and the MWC
#   BIN=/tmp/otel-inject-old bench/cluster-scale.sh measure   # another binary (before/after)
#   bench/cluster-scale.sh report FILE.env                      # print a stored measurement
#
# Needs k8s-local up (../shared/k8s-local/up.sh; KUBECONFIG defaults to its kubeconfig), kubectl,
# curl and python3. The population is metadata the webhook watches and nothing that runs:
# ReplicaSets have `replicas: 0` and a paused Deployment for owner (the garbage collector deletes
# objects whose owner does not exist), Jobs have `parallelism: 0` (1.20 has no `suspend`). The
# probe pods have a nodeSelector no node matches, so they stay Pending. Each measurement is
# written to $STATE/<binary sha>-<objects>.env; `bytes per cached object` needs an `empty`
# measurement of the same binary. Not part of `cargo test`: filling takes minutes on 2 cores.
#
# k8s-local keeps its etcd data, so a population left in the e2e cluster slows every later test
# run. A throwaway second instance keeps it apart (same binaries, its own ports and data):
#   export K8S_LOCAL_HOME=~/.cache/otel-inject-bench/k8s-cs ETCD_CLIENT_PORT=22379 \
#     ETCD_PEER_PORT=22380 APISERVER_PORT=16443 KCM_PORT=20257
#   mkdir -p $K8S_LOCAL_HOME && ln -sfn ~/.cache/k8s-local/bin $K8S_LOCAL_HOME/bin
#   ../shared/k8s-local/up.sh && export KUBECONFIG=$K8S_LOCAL_HOME/kubeconfig
#   bench/cluster-scale.sh empty && bench/cluster-scale.sh full
#   WIPE=1 ../shared/k8s-local/down.sh     # instead of `clean`
set -euo pipefail

cd "$(dirname "$0")/.."
HERE=bench/cluster-scale
export KUBECONFIG=${KUBECONFIG:-$HOME/.cache/k8s-local/kubeconfig}
export NAMESPACES=${NAMESPACES:-5000} RS_PER_NAMESPACE=${RS_PER_NAMESPACE:-4} JOBS_PER_NAMESPACE=${JOBS_PER_NAMESPACE:-1}
PARALLEL=${PARALLEL:-4}
PODS=${PODS:-200}
SETTLE=${SETTLE:-5}
PORT=${PORT:-18643}
METRICS_PORT=${METRICS_PORT:-19643}
# The allocator as deploy/ runs it (the webhook container's env); MIMALLOC_PURGE_DELAY=10 is mimalloc's default.
export MIMALLOC_PURGE_DELAY=${MIMALLOC_PURGE_DELAY-0}
STATE=${STATE:-$HOME/.cache/otel-inject-bench/cluster-scale}
LABEL=otel-inject.dev/bench=cluster-scale
PROBE_NS=cs-probe
PROBE_LABEL=otel-inject.dev/cluster-scale-probe
MWC=otel-inject-cluster-scale
WEBHOOK_NAME=cluster-scale.otel-inject.dev
FIELD_MANAGER=otel-inject-cluster-scale

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.1f", b - a}'; }

kubectl version >/dev/null 2>&1 || {
  echo "no API server at KUBECONFIG=$KUBECONFIG: start k8s-local (../shared/k8s-local/up.sh)" >&2
  exit 1
}

# Objects of a kind in the whole cluster, counted without listing them: one item and the API
# server's remainingItemCount (which it does not give for a label selector). The population
# dominates these counts; the few objects of other tests do not matter for "is it there".
count() {
  kubectl get --raw "$1?limit=1" |
    python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d["items"]) + (d["metadata"].get("remainingItemCount") or 0))'
}
# Population namespaces, by label (a few thousand rows of a server-side table: about a second).
population_namespaces() { kubectl get ns -l "$LABEL" --no-headers 2>/dev/null | wc -l; }
counts() {
  echo "$(population_namespaces) $(count /apis/apps/v1/deployments) $(count /apis/apps/v1/replicasets) $(count /apis/batch/v1/jobs)"
}

# Server-side apply of every List in a directory, PARALLEL kubectl processes at a time.
# Idempotent: objects already there are left as they are.
apply_dir() {
  find "$1" -name '*.json' | sort |
    xargs -P "$PARALLEL" -I{} kubectl apply --server-side --force-conflicts \
      --field-manager "$FIELD_MANAGER" -f {} >>"$2" 2>&1
}

fill() {
  local work start t read ns deploys rs jobs
  work=$(mktemp -d)
  start=$(now)
  read -r ns deploys rs jobs < <(counts)
  log "present: $ns namespaces, $deploys deployments, $rs replicasets, $jobs jobs"
  if (( ns < NAMESPACES )); then
    t=$(now)
    python3 $HERE/population.py namespaces "$work/ns"
    apply_dir "$work/ns" "$work/apply.log" || { tail "$work/apply.log" >&2; exit 1; }
    log "namespaces: $NAMESPACES in $(since "$t") s"
  fi
  if (( deploys < NAMESPACES )); then
    t=$(now)
    python3 $HERE/population.py deployments "$work/deploy"
    apply_dir "$work/deploy" "$work/apply.log" || { tail "$work/apply.log" >&2; exit 1; }
    log "deployments: $NAMESPACES in $(since "$t") s"
  fi
  if (( rs < NAMESPACES * RS_PER_NAMESPACE || jobs < NAMESPACES * JOBS_PER_NAMESPACE )); then
    t=$(now)
    kubectl get deploy -A -l "$LABEL" --chunk-size=1000 \
      -o jsonpath='{range .items[*]}{.metadata.namespace} {.metadata.uid}{"\n"}{end}' |
      python3 $HERE/population.py owned "$work/owned"
    apply_dir "$work/owned" "$work/apply.log" || { tail "$work/apply.log" >&2; exit 1; }
    log "replicasets and jobs: $(( NAMESPACES * (RS_PER_NAMESPACE + JOBS_PER_NAMESPACE) )) in $(since "$t") s"
  fi
  read -r ns deploys rs jobs < <(counts)
  log "population: $ns namespaces, $deploys deployments, $rs replicasets, $jobs jobs ($(since "$start") s)"
  rm -rf "$work"
}

clean() {
  kubectl delete mutatingwebhookconfiguration "$MWC" --ignore-not-found >/dev/null
  kubectl delete ns "$PROBE_NS" --ignore-not-found --wait=false >/dev/null
  # The namespaces go directly: the namespace controller deletes what they hold in the
  # background. Deleting ReplicaSets and Jobs kind by kind first took over 20 minutes at this
  # population (one request per namespace and kind) and finished nothing sooner.
  log "deleting namespaces (the namespace controller finishes in the background)"
  kubectl delete ns -l "$LABEL" --wait=false >/dev/null
  log "population namespaces left: $(population_namespaces)"
}

# Everything the probe pods need: a namespace the MWC selects, an Instrumentation, and a
# ReplicaSet (with its Deployment) that owns the pods, so the owner lookup is a cache hit.
probe_setup() {
  if ! kubectl get crd instrumentations.opentelemetry.io >/dev/null 2>&1; then
    "$BIN" crd | kubectl apply --server-side --field-manager "$FIELD_MANAGER" -f - >/dev/null
    kubectl wait --for condition=established --timeout=60s crd/instrumentations.opentelemetry.io >/dev/null
  fi
  kubectl apply --server-side --field-manager "$FIELD_MANAGER" -f - >/dev/null <<YAML
apiVersion: v1
kind: Namespace
metadata: {name: $PROBE_NS, labels: {$PROBE_LABEL: "1"}}
---
apiVersion: opentelemetry.io/v1alpha1
kind: Instrumentation
metadata: {name: otel, namespace: $PROBE_NS}
spec:
  exporter: {endpoint: "http://jaeger-collector.monitoring.svc.cluster.local:4318"}
  propagators: [tracecontext, baggage]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: probe, namespace: $PROBE_NS}
spec:
  replicas: 0
  paused: true
  selector: {matchLabels: {app: probe}}
  template:
    metadata: {labels: {app: probe}}
    spec: {containers: [{name: app, image: registry.example/probe:1}]}
YAML
  local uid
  uid=$(kubectl get deploy probe -n "$PROBE_NS" -o jsonpath='{.metadata.uid}')
  kubectl apply --server-side --field-manager "$FIELD_MANAGER" -f - >/dev/null <<YAML
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: probe-6d9f7c8b5d
  namespace: $PROBE_NS
  labels: {app: probe, pod-template-hash: 6d9f7c8b5d}
  ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: probe, uid: "$uid", controller: true, blockOwnerDeletion: true}]
spec:
  replicas: 0
  selector: {matchLabels: {app: probe, pod-template-hash: 6d9f7c8b5d}}
  template:
    metadata: {labels: {app: probe, pod-template-hash: 6d9f7c8b5d}}
    spec: {containers: [{name: app, image: registry.example/probe:1}]}
YAML
  PROBE_RS_UID=$(kubectl get rs probe-6d9f7c8b5d -n "$PROBE_NS" -o jsonpath='{.metadata.uid}')
  # No caBundle: the webhook writes it (--webhook-config).
  kubectl apply --server-side --force-conflicts --field-manager "$FIELD_MANAGER" -f - >/dev/null <<YAML
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: $MWC}
webhooks:
- name: $WEBHOOK_NAME
  admissionReviewVersions: [v1]
  sideEffects: None
  failurePolicy: Ignore
  timeoutSeconds: 5
  reinvocationPolicy: IfNeeded
  clientConfig: {url: "https://127.0.0.1:$PORT/mutate"}
  rules: [{operations: [CREATE], apiGroups: [""], apiVersions: [v1], resources: [pods], scope: Namespaced}]
  namespaceSelector: {matchLabels: {$PROBE_LABEL: "1"}}
YAML
}

# N pods of the probe ReplicaSet, as its controller would write them. Not a controller
# reference (the ReplicaSet, at 0 replicas, would delete them); the webhook looks owners up
# either way.
probe_pods() {
  python3 - "$1" "$2" "$PROBE_NS" "$PROBE_RS_UID" <<'PY'
import json, sys
prefix, n, ns, uid = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
items = [{
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {
        "name": f"{prefix}-{i}", "namespace": ns,
        "labels": {"app": "probe-pod"},
        "annotations": {"instrumentation.opentelemetry.io/inject-dotnet": "true"},
        "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "probe-6d9f7c8b5d", "uid": uid, "controller": False}],
    },
    "spec": {
        "nodeSelector": {"otel-inject.dev/no-such-node": "true"},
        "containers": [{"name": "app", "image": "registry.example/probe:1",
                        "env": [{"name": f"VAR_{j}", "value": str(j)} for j in range(20)]}],
    },
} for i in range(n)]
json.dump({"apiVersion": "v1", "kind": "List", "items": items}, sys.stdout)
PY
}

# sum count le_0.005 le_0.025 le_0.1 of the API server's histogram for our webhook.
apiserver_latency() {
  kubectl get --raw /metrics | awk -v name="name=\"$WEBHOOK_NAME\"" '
    /^apiserver_admission_webhook_admission_duration_seconds/ && index($0, name) && /type="admit"/ {
      v = $NF
      if ($0 ~ /_sum\{/) sum += v
      else if ($0 ~ /_count\{/) count += v
      else if ($0 ~ /le="0.005"/) b5 += v
      else if ($0 ~ /le="0.025"/) b25 += v
      else if ($0 ~ /le="0.1"/) b100 += v
    }
    END {printf "%.6f %d %d %d %d\n", sum, count, b5, b25, b100}'
}

webhook_metric_sum() {
  curl -fsS "http://127.0.0.1:$METRICS_PORT/metrics" | awk -v m="$1" 'index($0, m) == 1 {s += $NF} END {printf "%.6f\n", s}'
}

proc_kib() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$server_pid/status"; }

measure() {
  local start ready objects rss hwm before after mutated
  work=$(mktemp -d)
  server_pid=""
  trap 'if [[ -n "$server_pid" ]]; then kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; fi; kubectl delete pods --all -n "$PROBE_NS" --wait=false >/dev/null 2>&1; rm -rf "$work"' EXIT
  probe_setup
  kubectl delete pods --all -n "$PROBE_NS" --wait=false >/dev/null 2>&1 || true
  read -r -a population < <(counts)

  start=$(now)
  "$BIN" serve --self-signed --webhook-config "$MWC" --san 127.0.0.1 --ca-out "$work/ca.pem" \
    --listen "127.0.0.1:$PORT" --metrics-listen "127.0.0.1:$METRICS_PORT" --log-format json \
    >"$work/server.log" 2>&1 &
  server_pid=$!
  until curl -fsS "http://127.0.0.1:$METRICS_PORT/readyz" >/dev/null 2>&1; do
    kill -0 "$server_pid" 2>/dev/null || { echo "otel-inject exited; log:" >&2; cat "$work/server.log" >&2; exit 1; }
    if (( $(awk -v s="$(since "$start")" 'BEGIN {print (s > 120)}') )); then
      echo "not ready after 120 s; log:" >&2; tail -20 "$work/server.log" >&2; exit 1
    fi
    sleep 0.02
  done
  ready=$(since "$start")
  local ready_rss ready_hwm
  ready_rss=$(proc_kib VmRSS)
  ready_hwm=$(proc_kib VmHWM)
  sleep "$SETTLE"
  objects=$(curl -fsS "http://127.0.0.1:$METRICS_PORT/metrics" |
    awk '/^otel_inject_cache_objects\{cache="(namespaces|replicasets|jobs)"\}/ {s += $NF} END {print s + 0}')
  rss=$(proc_kib VmRSS)
  hwm=$(proc_kib VmHWM)

  # The API server picks up the caBundle the webhook wrote within a few seconds.
  local n=0
  until probe_pods "warmup-$n" 1 | kubectl create -f - -o json 2>/dev/null | grep -q 'otel-inject.dev/status'; do
    n=$((n + 1))
    (( n < 60 )) || { echo "the API server never called the webhook; log:" >&2; tail -20 "$work/server.log" >&2; exit 1; }
    sleep 1
  done

  before=$(apiserver_latency)
  local decisions_before t
  decisions_before="$(webhook_metric_sum otel_inject_decision_duration_seconds_sum) $(webhook_metric_sum otel_inject_decision_duration_seconds_count)"
  probe_pods probe "$PODS" >"$work/pods.json"
  t=$(now)
  kubectl create -f "$work/pods.json" -o name >/dev/null
  local create_s
  create_s=$(since "$t")
  after=$(apiserver_latency)
  local decisions_after
  decisions_after="$(webhook_metric_sum otel_inject_decision_duration_seconds_sum) $(webhook_metric_sum otel_inject_decision_duration_seconds_count)"
  mutated=$(kubectl get pods -n "$PROBE_NS" -l app=probe-pod -o json |
    python3 -c 'import json,sys; print(sum(1 for p in json.load(sys.stdin)["items"] if p["metadata"]["name"].startswith("probe-") and "otel-inject.dev/status" in (p["metadata"].get("annotations") or {})))')
  local cache_owner_hits
  cache_owner_hits=$(curl -fsS "http://127.0.0.1:$METRICS_PORT/metrics" | awk '/^otel_inject_owner_lookups_total/ && /source="cache"/ {s += $NF} END {print s + 0}')

  read -r s0 c0 a0 b0 d0 <<<"$before"
  read -r s1 c1 a1 b1 d1 <<<"$after"
  read -r ws0 wc0 <<<"$decisions_before"
  read -r ws1 wc1 <<<"$decisions_after"
  local sha result
  sha=$(sha256sum "$BIN" | cut -c1-12)
  mkdir -p "$STATE"
  result="$STATE/$sha-$objects.env"
  cat >"$result" <<ENV
binary=$BIN
sha=$sha
population="${population[*]}"
objects=$objects
ready_s=$ready
ready_rss_kib=$ready_rss
ready_hwm_kib=$ready_hwm
rss_kib=$rss
hwm_kib=$hwm
pods=$PODS
calls=$((c1 - c0))
mutated=$mutated
create_s=$create_s
apiserver_mean_ms=$(awk -v s="$s0" -v S="$s1" -v c="$c0" -v C="$c1" 'BEGIN {printf "%.2f", (C > c) ? (S - s) / (C - c) * 1000 : 0}')
apiserver_le5ms=$(( a1 - a0 ))
apiserver_le25ms=$(( b1 - b0 ))
apiserver_le100ms=$(( d1 - d0 ))
webhook_mean_ms=$(awk -v s="$ws0" -v S="$ws1" -v c="$wc0" -v C="$wc1" 'BEGIN {printf "%.3f", (C > c) ? (S - s) / (C - c) * 1000 : 0}')
rss_after_pods_kib=$(proc_kib VmRSS)
hwm_after_pods_kib=$(proc_kib VmHWM)
owner_cache_hits=$cache_owner_hits
ENV
  report "$result"
}

report() {
  # shellcheck disable=SC1090
  source "$1"
  local mib='BEGIN {printf "%.1f", k / 1024}'
  echo
  echo "binary $binary (sha256 $sha), $(nproc) CPUs; population (bench namespaces, deployments, replicasets, jobs in the cluster): $population"
  echo "cached objects (namespaces + replicasets + jobs): $objects"
  echo "ready after start:            $ready_s s"
  echo "RSS at ready / peak:          $(awk -v k="$ready_rss_kib" "$mib") / $(awk -v k="$ready_hwm_kib" "$mib") MiB"
  echo "RSS ${SETTLE} s after sync / peak:   $(awk -v k="$rss_kib" "$mib") / $(awk -v k="$hwm_kib" "$mib") MiB"
  echo "RSS after the pods / peak:    $(awk -v k="$rss_after_pods_kib" "$mib") / $(awk -v k="$hwm_after_pods_kib" "$mib") MiB"
  echo "pods created:                 $pods in $create_s s ($mutated of them mutated; owner cache hits so far $owner_cache_hits)"
  echo "API server webhook latency:   mean $apiserver_mean_ms ms over $calls calls (reinvocations included); <=5 ms $apiserver_le5ms, <=25 ms $apiserver_le25ms, <=100 ms $apiserver_le100ms"
  echo "webhook decision time:        mean $webhook_mean_ms ms"
  # The empty-cluster run of the same binary, or EMPTY_RESULT (another binary's, when the
  # difference cannot matter for an empty cache and refilling the cluster would take long).
  local empty=${EMPTY_RESULT:-}
  [[ -n "$empty" ]] || empty=$(ls "$STATE/$sha"-*.env 2>/dev/null | while read -r f; do
    n=${f##*-}; n=${n%.env}; (( n < 100 )) && echo "$f"; done | head -1)
  if [[ -n "$empty" && "$empty" != "$1" ]]; then
    local e_rss e_objects e_mean e_ready
    e_rss=$(awk -F= '$1 == "rss_kib" {print $2}' "$empty")
    e_objects=$(awk -F= '$1 == "objects" {print $2}' "$empty")
    e_mean=$(awk -F= '$1 == "apiserver_mean_ms" {print $2}' "$empty")
    e_ready=$(awk -F= '$1 == "ready_s" {print $2}' "$empty")
    echo "empty cluster ($(basename "$empty")): RSS $(awk -v k="$e_rss" "$mib") MiB, ready $e_ready s, API server mean $e_mean ms ($e_objects objects)"
    echo "bytes per cached object:      $(awk -v a="$rss_kib" -v b="$e_rss" -v n="$objects" -v m="$e_objects" 'BEGIN {printf "%.0f", (a - b) * 1024 / (n - m)}')"
  elif (( objects >= 100 )); then
    echo "bytes per cached object:      (no empty-cluster run of this binary in $STATE: run \`$0 empty\` on an empty cluster)"
  fi
}

BIN=${BIN:-}
if [[ -z "$BIN" && "${1:-full}" != clean && "${1:-full}" != fill ]]; then
  cargo build --release -p otel-inject --bin otel-inject >&2
  BIN=target/release/otel-inject
fi

case "${1:-full}" in
  fill) fill ;;
  measure) measure ;;
  full) fill; measure ;;
  empty)
    ns=$(population_namespaces)
    if (( ns > 0 )); then
      echo "$ns population namespaces present: run \`$0 clean\` and wait until they are gone" >&2
      exit 1
    fi
    measure
    ;;
  clean) clean ;;
  report) report "$2" ;;
  *) sed -n '2,20p' "$0" >&2; exit 2 ;;
esac
