#!/usr/bin/env bash
# Builds the cargo-fuzz targets and runs each for a bounded time; any crash, panic, timeout or
# out-of-memory fails the run with the input's path and the command that reproduces it.
#
#   fuzz/run.sh                 every target, FUZZ_SECONDS (20) each
#   fuzz/run.sh review 300      one target, 300 s
#   fuzz/run.sh repro review fuzz/artifacts/review/crash-...   run one input again
#
# cargo-fuzz passes nightly-only flags to rustc (-Zsanitizer, the sancov passes, -Cllvm-args
# for the coverage counters). We build on the stable toolchain the rest of the project uses:
# RUSTC_BOOTSTRAP=1 lets stable rustc accept -Z flags. It changes nothing but that check; the
# fuzz crate is outside the workspace, so no other build ever sees it.
set -euo pipefail
cd "$(dirname "$0")"
FUZZ="$PWD"
export RUSTC_BOOTSTRAP=1

TARGETS=(review decision manifest sdk_env)
SECONDS_EACH="${FUZZ_SECONDS:-20}"
# No sanitizer by default: the workspace forbids unsafe code, so what the fuzzers find is panics,
# hangs and unbounded memory, which libFuzzer sees without one; ASan's instrumentation of every
# dependency doubled the cold build. FUZZ_SANITIZER=address works on the stable toolchain
# bootstrapped this way (its runtime ships in rust-std) for a deeper run.
SANITIZER="${FUZZ_SANITIZER:-none}"
RSS_LIMIT_MB="${FUZZ_RSS_LIMIT_MB:-2048}"
TIMEOUT_S="${FUZZ_TIMEOUT:-10}"

CARGO_FUZZ_ROOT="${CARGO_FUZZ_ROOT:-$HOME/.cache/otel-inject/cargo-fuzz}"
CARGO_FUZZ_VERSION="0.13.2"
if [ ! -x "$CARGO_FUZZ_ROOT/bin/cargo-fuzz" ]; then
  echo "== installing cargo-fuzz $CARGO_FUZZ_VERSION from crates.io into $CARGO_FUZZ_ROOT"
  cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked --root "$CARGO_FUZZ_ROOT"
fi
export PATH="$CARGO_FUZZ_ROOT/bin:$PATH"

fuzz() { cargo fuzz "$@"; }
# The build outlives a checkout (CI builds in a fresh clone each time; the cold build is the
# expensive part, every dependency instrumented), as tests/peers/ caches its builds.
FUZZ_TARGET_DIR="${FUZZ_TARGET_DIR:-$HOME/.cache/otel-inject/fuzz-target}"
build_flags=(-O -s "$SANITIZER" --target-dir "$FUZZ_TARGET_DIR")

if [ "${1:-}" = repro ]; then
  [ $# -eq 3 ] || { echo "usage: fuzz/run.sh repro TARGET INPUT" >&2; exit 2; }
  input="$(cd "$(dirname "$3")" && pwd)/$(basename "$3")"
  exec cargo fuzz run "${build_flags[@]}" "$2" "$input" -- -runs=1
fi
if [ $# -ge 1 ]; then
  TARGETS=("$1")
  SECONDS_EACH="${2:-$SECONDS_EACH}"
fi

echo "== building the fuzz targets (cargo fuzz build ${build_flags[*]})"
start=$(date +%s)
fuzz build "${build_flags[@]}"
echo "fuzz: built in $(($(date +%s) - start)) s"

./seed.sh
failed=0
for target in "${TARGETS[@]}"; do
  artifacts="$FUZZ/artifacts/$target"
  mkdir -p "$artifacts"
  before="$(ls "$artifacts")"
  echo "== fuzz $target for ${SECONDS_EACH}s"
  log="$(mktemp)"
  if fuzz run "${build_flags[@]}" "$target" "corpus/$target" -- \
    -max_total_time="$SECONDS_EACH" -rss_limit_mb="$RSS_LIMIT_MB" -timeout="$TIMEOUT_S" \
    -artifact_prefix="$artifacts/" -print_final_stats=1 >"$log" 2>&1; then
    grep -E '^stat::number_of_executed_units|^#[0-9]+.*DONE' "$log" | tail -2 || true
  else
    failed=1
    tail -60 "$log" >&2
    for f in $(comm -13 <(echo "$before" | sort) <(ls "$artifacts" | sort)); do
      echo "fuzz: $target failed on fuzz/artifacts/$target/$f" >&2
      echo "  reproduce: fuzz/run.sh repro $target fuzz/artifacts/$target/$f" >&2
    done
    echo "fuzz: $target failed (whole log: $log)" >&2
  fi
done
exit "$failed"
