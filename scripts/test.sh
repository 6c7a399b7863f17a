#!/usr/bin/env bash
# The whole test suite, as the README and CI run it: format and lint, one debug build shared by every
# step, the Rust tests (unit, store conformance on SQLite and PostgreSQL, the server's integration
# binary), then the interop suite with real clients. PostgreSQL must be reachable (see README); tests
# that need it fail rather than skip.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --all-features --locked -- -D warnings
cargo build --workspace --all-targets --all-features --locked

if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --all-features --locked --no-fail-fast
  cargo test --workspace --all-features --locked --doc
else
  cargo test --workspace --all-features --locked --no-fail-fast
fi

bash tests/interop/run.sh target/debug/gatehouse
# The portal's journeys again with the server on PostgreSQL, in a database of its own (dropped after).
db="gatehouse_interop_$$"
psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $db"
trap 'psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true' EXIT
GATEHOUSE_INTEROP_NODE=portal.test.mjs GATEHOUSE_INTEROP_DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db" \
  GATEHOUSE_SCREENSHOTS="$PWD/target/interop-screenshots-postgres" bash tests/interop/run.sh target/debug/gatehouse

# A short fuzz run of every parser target over its corpus (fuzz/README.md). It needs the nightly
# toolchain and cargo-fuzz: CI has both (cargo-fuzz is installed if missing); elsewhere, without
# nightly, it is skipped with a note.
if cargo +nightly --version >/dev/null 2>&1; then
  cargo +nightly fuzz --version >/dev/null 2>&1 || cargo install cargo-fuzz --locked --quiet
  GATEHOUSE_FUZZ_TARGET_DIR="${GATEHOUSE_FUZZ_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/gatehouse/fuzz-target}" \
    bash fuzz/run.sh 15
elif [ -n "${CI:-}" ]; then
  echo "CI needs the nightly toolchain for the fuzz run (rustup toolchain install nightly)"; exit 1
else
  echo "fuzz: skipped (no nightly toolchain; rustup toolchain install nightly, then bash fuzz/run.sh)"
fi
