#!/usr/bin/env bash
# The directory at scale (issue #7): for SQLite and PostgreSQL, at 1 tenant / 1,000 applications,
# 1,000 / 100,000 and 100,000 / 1,000,000 (each application with a secret; one in ten with a service
# principal and one app-role assignment), seeded straight into the store by the `seed` example:
# client-credentials tokens/s and p99 over HTTPS keep-alive spread over many clients, Graph create and
# PATCH p50, start to ready, RSS after the run, and how long a change takes to reach a second node.
# Not a test: it prints a table to record in bench/RESULTS.md.
# Usage: bench/scale.sh [SECONDS] [CONNECTIONS] [SIZES] [BACKENDS]
#   SIZES like "1:1000 1000:100000 100000:1000000", BACKENDS like "sqlite postgres".
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
cd "$root"
cargo build --release -p gatehouse-server -p gatehouse-jose --examples --bins 2>&1 | tail -1
exec python3 "$here/scale.py" "$root/target/release" "${1:-20}" "${2:-32}" \
  "${3:-1:1000 1000:100000 100000:1000000}" "${4:-sqlite postgres}"
