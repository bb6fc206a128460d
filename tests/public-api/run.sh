#!/usr/bin/env bash
# The public-API snapshots of the library crates (issue 19): rustdoc's JSON output (an unstable
# format, read with RUSTC_BOOTSTRAP=1 on the stable toolchain), compared by check.py with the
# checked-in crates/<crate>/public-api.txt. `--bless` rewrites the snapshots.
set -euo pipefail
cd "$(dirname "$0")/../.."
for entry in otel-inject-lib:otel_inject_lib:crates/otel-inject-lib otel-inject-sdk:otel_inject_sdk:crates/sdk; do
  IFS=: read -r package crate dir <<<"$entry"
  RUSTC_BOOTSTRAP=1 cargo rustdoc -q -p "$package" --lib -- -Z unstable-options --output-format json
  python3 tests/public-api/check.py "target/doc/$crate.json" "$dir/public-api.txt" "$@"
done
