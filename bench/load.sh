#!/usr/bin/env bash
# Load test of the webhook over TLS: throughput, p50/p99 latency and peak RSS at 1, 8 and 64
# connections, with a realistic review (a .NET Deployment pod created by its ReplicaSet).
#
#   bench/load.sh                      # release build, 10 s per level
#   DURATION=30s LEVELS="8 64" bench/load.sh
#   BIN=target/release/otel-inject bench/load.sh   # skip the build
#
# Needs wrk (Debian: apt-get install wrk). The server runs standalone (no cluster) with the
# objects of tests/fixtures/cluster/shop.yaml, so every request does the full decision:
# namespace, Instrumentation and owner lookups, the mutation and the patch. Decision logs are
# at `warn` so the figures measure the webhook, not the terminal. wrk and the server share the
# machine: on a small box the figures are a lower bound.
set -euo pipefail

cd "$(dirname "$0")/.."
REVIEW=${REVIEW:-tests/fixtures/admission/dotnet-pod-create.json}
CLUSTER=${CLUSTER:-tests/fixtures/cluster/shop.yaml}
DURATION=${DURATION:-10s}
LEVELS=${LEVELS:-"1 8 64"}
PORT=${PORT:-18443}
METRICS_PORT=${METRICS_PORT:-19090}

if ! command -v wrk >/dev/null; then
  echo "wrk not found: apt-get install wrk" >&2
  exit 1
fi
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
  --log warn >"$work/server.log" 2>&1 &
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

rss_kib() { awk '/^VmHWM/ {print $2}' "/proc/$server_pid/status"; }

echo "review: $REVIEW ($(wc -c <"$REVIEW") bytes), $DURATION per level, $(nproc) CPUs, binary $BIN"
printf '%-12s %12s %10s %10s %10s %14s\n' connections requests/s p50 p99 non-2xx "peak RSS MiB"
for c in $LEVELS; do
  threads=$(( c < $(nproc) ? c : $(nproc) ))
  out=$(wrk -t "$threads" -c "$c" -d "$DURATION" --latency -s "$work/post.lua" "https://127.0.0.1:$PORT/mutate")
  rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  bad=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
  errors=$(awk '/Socket errors/ {print}' <<<"$out")
  printf '%-12s %12s %10s %10s %10s %14s\n' "$c" "$rps" "$p50" "$p99" "${bad:-0}" \
    "$(awk -v k="$(rss_kib)" 'BEGIN {printf "%.1f", k / 1024}')"
  [[ -n "$errors" ]] && echo "  $errors"
done

# wrk drives each connection as fast as it can: on 2 cores the server saturates and the p99
# is queueing. Below saturation (open loop, a fixed rate; a busy cluster creates far fewer pods
# per second than these) the latency is the webhook's own. Needs oha (cargo install oha --locked).
if command -v oha >/dev/null; then
  echo
  printf '%-12s %12s %10s %10s %10s\n' connections "rate/s" p50 p99 p99.9
  for q in ${RATES:-500 2000 5000}; do
    out=$(oha --no-tui -c 8 -q "$q" -z "$DURATION" -m POST -H 'content-type: application/json' \
      -D "$REVIEW" --cacert "$work/ca.pem" "https://127.0.0.1:$PORT/mutate")
    pct() { awk -v p="$1" '$1 == p {printf "%.2fms", $3}' <<<"$out"; }
    printf '%-12s %12s %10s %10s %10s\n' 8 "$q" "$(pct 50.00%)" "$(pct 99.00%)" "$(pct 99.90%)"
  done
else
  echo "(oha not found: skipping the fixed-rate levels; cargo install oha --locked)"
fi
echo
echo "server metrics after the run:"
curl -fsS "http://127.0.0.1:$METRICS_PORT/metrics" | grep -E '^otel_inject_(admissions_total|decision_duration_seconds_(count|sum))'
