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
