#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 20) over its corpus in fuzz/corpus/TARGET, with the
# nightly toolchain and cargo-fuzz. New inputs that reach new code are added to the corpus folder; a
# crash stops the run and leaves its input in fuzz/artifacts/TARGET. The test suite runs this briefly;
# a long run (an hour a target) is `bash fuzz/run.sh 3600`, then `cargo +nightly fuzz cmin TARGET`
# before committing the grown corpus.
# GATEHOUSE_FUZZ_TARGET_DIR keeps the (sanitizer) build elsewhere, so that a fresh clone reuses it.
set -euo pipefail
cd "$(dirname "$0")"
secs="${1:-20}"
target_dir="${GATEHOUSE_FUZZ_TARGET_DIR:-$PWD/target}"
cargo +nightly fuzz build -O --target-dir "$target_dir" 2>&1 | grep -v "^\s*Compiling" | tail -3
for target in $(cargo +nightly fuzz list); do
  echo "fuzz: $target for ${secs}s"
  log="$(mktemp)"
  if ! cargo +nightly fuzz run -O --target-dir "$target_dir" "$target" "corpus/$target" -- -max_total_time="$secs" \
      -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1; then
    tail -40 "$log"
    echo "fuzz: $target failed; its input is in fuzz/artifacts/$target"
    exit 1
  fi
  grep -E "^stat::(number_of_executed_units|new_units_added)" "$log" | tr '\n' ' '; echo
  rm -f "$log"
done
