#!/usr/bin/env bash
# Instructions per mutation, counted by callgrind: the ratio to the floor (serde_json parse +
# serialise of the same AdmissionReview) is the headline of issue 16, and unlike a timing it
# is the same on a loaded 2-core machine. Each case runs for 1 and for 1+N iterations; the
# difference divided by N is one iteration's count, setup excluded.
#
#   bench/instructions.sh                 # every case, N=20
#   N=50 CASES="floor dotnet" bench/instructions.sh
#
# Needs valgrind (Debian: apt-get install valgrind). Release build of the bench binary.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-20}
CASES=${CASES:-"floor dotnet three java nodejs python sdk-1 sdk-10 sdk-100"}
command -v valgrind >/dev/null || { echo "valgrind not found: apt-get install valgrind" >&2; exit 1; }

BIN=$(cargo bench -p otel-inject-lib --bench instructions --no-run --message-format=json 2>/dev/null |
  python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "instructions":
        print(m["executable"])')
[[ -x "$BIN" ]] || { echo "could not build the instructions bench" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
count() { # case iterations -> total instructions
  valgrind --tool=callgrind --callgrind-out-file="$work/out" "$BIN" "$1" "$2" 2>"$work/log" >/dev/null ||
    { cat "$work/log" >&2; exit 1; }
  sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$work/log"
}
floor=""
printf '%-8s %14s %8s\n' case instructions "x floor"
for c in $CASES; do
  one=$(count "$c" 1)
  many=$(count "$c" $((N + 1)))
  per=$(( (many - one) / N ))
  [[ "$c" == floor ]] && floor=$per
  if [[ -n "$floor" && "$c" != sdk-* ]]; then
    ratio=$(python3 -c "print(f'{$per / $floor:.2f}')")
  else
    ratio=-
  fi
  printf '%-8s %14s %8s\n' "$c" "$per" "$ratio"
done
