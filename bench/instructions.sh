#!/usr/bin/env bash
# Instructions per mutation, counted by callgrind: the ratio to the floor (serde_json parse +
# serialise of the same AdmissionReview) is the headline of issue 16, and unlike a timing it
# is the same on a loaded 2-core machine. Each case runs for 1 and for 1+N iterations; the
# difference divided by N is one iteration's count, setup excluded.
#
#   bench/instructions.sh                 # every case, N=20
#   N=50 CASES="floor dotnet" bench/instructions.sh
#   CASES= SDK_CASES="span log" bench/instructions.sh   # the Rust SDK's only
#
# SDK_CASES (issue 17): the Rust SDK's span, log event and metric record against the same
# pipeline wired by hand (crates/sdk/benches/instructions.rs); the ratio should stay <= 1.05.
#
# Needs valgrind (Debian: apt-get install valgrind). Release build of the bench binary.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-20}
CASES=${CASES-"floor dotnet three java nodejs python sdk-1 sdk-10 sdk-100"}
SDK_CASES=${SDK_CASES-"span log metrics"}
command -v valgrind >/dev/null || { echo "valgrind not found: apt-get install valgrind" >&2; exit 1; }

bench_bin() { # package bench -> the release executable
  local bin
  bin=$(cargo bench -p "$1" --bench "$2" --no-run --message-format=json 2>/dev/null |
    python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == sys.argv[1]:
        print(m["executable"])' "$2")
  [[ -x "$bin" ]] || { echo "could not build the $2 bench of $1" >&2; exit 1; }
  echo "$bin"
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
count() { # binary case iterations -> total instructions
  valgrind --tool=callgrind --callgrind-out-file="$work/out" "$1" "$2" "$3" 2>"$work/log" >/dev/null ||
    { cat "$work/log" >&2; exit 1; }
  sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$work/log"
}
per_iteration() { # binary case -> one iteration's instructions
  local one many
  one=$(count "$1" "$2" 1)
  many=$(count "$1" "$2" $((N + 1)))
  echo $(( (many - one) / N ))
}
ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }

if [[ -n "$CASES" ]]; then
  BIN=$(bench_bin otel-inject-lib instructions)
  floor=""
  printf '%-8s %14s %8s\n' case instructions "x floor"
  for c in $CASES; do
    per=$(per_iteration "$BIN" "$c")
    [[ "$c" == floor ]] && floor=$per
    if [[ -n "$floor" && "$c" != sdk-* ]]; then r=$(ratio "$per" "$floor"); else r=-; fi
    printf '%-8s %14s %8s\n' "$c" "$per" "$r"
  done
fi

if [[ -n "$SDK_CASES" ]]; then
  [[ -n "$CASES" ]] && echo
  SDK_BIN=$(bench_bin otel-inject-sdk instructions)
  printf '%-8s %12s %12s %8s\n' sdk hand-wired otel-inject "x wired"
  for c in $SDK_CASES; do
    wired=$(per_iteration "$SDK_BIN" "$c-wired")
    ours=$(per_iteration "$SDK_BIN" "$c-sdk")
    printf '%-8s %12s %12s %8s\n' "$c" "$wired" "$ours" "$(ratio "$ours" "$wired")"
  done
fi
