#!/usr/bin/env bash
# Capacity of the webhook over TLS, in one table: for 1, 8 and 64 connections, the saturated
# throughput with its p50/p99 (wrk, closed loop: every connection sends as fast as answers
# come), the highest fixed rate whose p99 stays within the bound (oha, open loop, latency
# corrected for coordinated omission), and the server's peak RSS. The review is a realistic
# one (a .NET Deployment pod created by its ReplicaSet).
#
#   bench/load.sh                          # release build, 10 s saturated, 5 s per rate step
#   LEVELS="8" P99_BOUND_MS=2 bench/load.sh
#   BIN=target/release/otel-inject bench/load.sh   # skip the build
#   LOG=warn bench/load.sh                 # decision logs off (the default is info, as deployed)
#
# Needs wrk (Debian: apt-get install wrk) and oha (cargo install oha --locked). The server runs
# standalone (no cluster) with the objects of tests/fixtures/cluster/shop.yaml, so every request
# does the full decision: namespace, Instrumentation and owner lookups, the mutation and the
# patch. Its log goes to a file, as a container's stdout does on a node. The load generators
# share the machine with the server: on 2 cores the figures are a lower bound.
set -euo pipefail

cd "$(dirname "$0")/.."
REVIEW=${REVIEW:-tests/fixtures/admission/dotnet-pod-create.json}
CLUSTER=${CLUSTER:-tests/fixtures/cluster/shop.yaml}
DURATION=${DURATION:-10s}
STEP=${STEP:-5s}
STEPS=${STEPS:-6}
LEVELS=${LEVELS:-"1 8 64"}
P99_BOUND_MS=${P99_BOUND_MS:-2}
LOG=${LOG:-info}
PORT=${PORT:-18443}
METRICS_PORT=${METRICS_PORT:-19090}
# The allocator as deploy/ runs it (the webhook container's env); MIMALLOC_PURGE_DELAY=10 is mimalloc's default.
export MIMALLOC_PURGE_DELAY=${MIMALLOC_PURGE_DELAY-0}

for tool in wrk oha curl python3; do
  command -v "$tool" >/dev/null || {
    echo "$tool not found (wrk: apt-get install wrk; oha: cargo install oha --locked)" >&2
    exit 1
  }
done
if [[ -z "${BIN:-}" ]]; then
  cargo build --release -p otel-inject >&2
  BIN=target/release/otel-inject
fi

work=$(mktemp -d)
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

"$BIN" serve --standalone --self-signed --san 127.0.0.1 --cluster "$CLUSTER" \
  --ca-out "$work/ca.pem" --listen "127.0.0.1:$PORT" --metrics-listen "127.0.0.1:$METRICS_PORT" \
  --log "$LOG" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do
  curl -fsS "http://127.0.0.1:$METRICS_PORT/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done

# One checked request first: the review must come back with a patch, or the figures are moot.
curl -fsS --cacert "$work/ca.pem" -H 'content-type: application/json' --data "@$REVIEW" \
  "https://127.0.0.1:$PORT/mutate" | grep -q '"patchType":"JSONPatch"' \
  || { echo "the server did not inject the sample review; log:" >&2; cat "$work/server.log" >&2; exit 1; }

cat >"$work/post.lua" <<LUA
local f = assert(io.open("$REVIEW", "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
LUA

rss_mib() { awk '/^VmHWM/ {printf "%.1f", $2 / 1024}' "/proc/$server_pid/status"; }
ms() { # wrk's latency ("1.23ms", "456.00us", "1.20s") in ms
  awk '{v=$1; if (v ~ /us$/) {sub("us","",v); v/=1000} else if (v ~ /ms$/) {sub("ms","",v)} else if (v ~ /s$/) {sub("s","",v); v*=1000}; printf "%.2f", v}' <<<"$1"
}

# oha at a fixed rate: "<p50 ms> <p99 ms> <non-2xx+errors> <achieved rate>".
fixed_rate() { # connections rate
  oha --no-tui -c "$1" -q "$2" -z "$STEP" --latency-correction --output-format json \
    -m POST -H 'content-type: application/json' -D "$REVIEW" --cacert "$work/ca.pem" \
    "https://127.0.0.1:$PORT/mutate" 2>/dev/null | python3 -c '
import json, sys
r = json.load(sys.stdin)
p = r["latencyPercentiles"]
codes = r.get("statusCodeDistribution", {})
bad = sum(n for c, n in codes.items() if not c.startswith("2")) + sum(r.get("errorDistribution", {}).values())
p50, p99 = (p.get("p50") or 0) * 1000, (p.get("p99") or 0) * 1000
print("%.2f %.2f %d %.0f" % (p50, p99, bad, r["summary"]["requestsPerSec"]))'
}

echo "review: $REVIEW ($(wc -c <"$REVIEW") bytes); $(nproc) CPUs; log level $LOG; binary $BIN"
echo "saturated: wrk, $DURATION; within bound: oha at fixed rates, $STEP each, $STEPS steps of bisection, p99 <= ${P99_BOUND_MS} ms"
printf '%-5s | %10s %8s %8s | %14s %8s %8s | %8s | %s\n' conns "sat req/s" p50 p99 "max rate p99<=" p50 p99 "RSS MiB" errors
for c in $LEVELS; do
  threads=$(( c < $(nproc) ? c : $(nproc) ))
  out=$(wrk -t "$threads" -c "$c" -d "$DURATION" --latency -s "$work/post.lua" "https://127.0.0.1:$PORT/mutate")
  rps=$(awk '/^Requests\/sec/ {printf "%.0f", $2}' <<<"$out")
  p50=$(ms "$(awk '$1 == "50%" {print $2}' <<<"$out")")
  p99=$(ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")
  bad=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
  errors=$(awk '/Socket errors/ {$1=$2=""; print}' <<<"$out")
  # Bisect the fixed rate between 0 and the saturated throughput.
  lo=0 hi=$rps best="-" best_p50="-" best_p99="-"
  for _ in $(seq "$STEPS"); do
    q=$(( (lo + hi) / 2 ))
    (( q < 1 )) && break
    read -r f50 f99 fbad _ < <(fixed_rate "$c" "$q")
    if [[ "$fbad" == 0 ]] && python3 -c "import sys; sys.exit(0 if $f99 <= $P99_BOUND_MS else 1)"; then
      lo=$q best=$q best_p50=$f50 best_p99=$f99
    else
      hi=$q
    fi
  done
  printf '%-5s | %10s %8s %8s | %14s %8s %8s | %8s | %s\n' "$c" "$rps" "$p50" "$p99" "$best" \
    "$best_p50" "$best_p99" "$(rss_mib)" "${bad:-0} non-2xx${errors:+,$errors}"
done
echo "(latencies in ms; RSS is the server's peak, VmHWM)"
echo
echo "server metrics after the run:"
curl -fsS "http://127.0.0.1:$METRICS_PORT/metrics" | grep -E '^otel_inject_(admissions_total|decision_duration_seconds_(count|sum))'
echo "server log: $(wc -l <"$work/server.log") lines, $(wc -c <"$work/server.log") bytes"
