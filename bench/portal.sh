#!/usr/bin/env bash
# The portal at 10,000 applications in one tenant (issue #13): every page's p50/p95/max over a
# signed-in keep-alive connection, beside /health/live as the ceiling of the same run.
# Not a test: it prints a table to record in bench/RESULTS.md.
# Usage: bench/portal.sh [APPS] [REQUESTS]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"
cargo build --release -p gatehouse-server --examples --bins 2>&1 | tail -1
exec python3 "$here/portal.py" "$root/target/release" "${1:-10000}" "${2:-200}"
