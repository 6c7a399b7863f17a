#!/usr/bin/env bash
# Overload, answered rather than absorbed (issue #11): the release build on loopback under
#   1. 500 concurrent Graph writes (POST /v1.0/applications), one connection each;
#   2. 2,000 concurrent token requests (client credentials), one connection each;
# with /health/ready probed every 50 ms throughout, on the protocol listener and on the metrics one. Prints, per run: admitted requests per second,
# their p50/p99, the share shed (503/429) and how fast, readiness latency, and RSS after the run.
# Rate limits are lifted (one client is the whole load); the admission gates are the defaults.
# Not a test: it prints figures to record in bench/RESULTS.md.
# Usage: bench/overload.sh [SECONDS]   (GATEHOUSE_BENCH_FLAGS adds serve flags, to compare settings)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
secs="${1:-15}"
ulimit -n 20000 2>/dev/null || true

cd "$root"
cargo build --release -p gatehouse-server --examples --bins 2>&1 | tail -1
bin="$root/target/release/gatehouse"
load="$root/target/release/examples/overload"

work="$(mktemp -d)"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port="$(free_port)"
mport="$(free_port)"
GATEHOUSE_LOG=error "$bin" serve --data-dir "$work/data" --listen "127.0.0.1:$port" \
  --token-rate-limit 0 --address-rate-limit 0 --metrics-listen "127.0.0.1:$mport" ${GATEHOUSE_BENCH_FLAGS:-} >"$work/stdout" 2>"$work/stderr" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
base="https://localhost:$port"
ca="$work/data/tls/ca.pem"
until curl -fsS --cacert "$ca" "$base/health/ready" >/dev/null 2>&1; do sleep 0.05; done

read -r tid cid secret < <(python3 - "$work/stdout" <<'PY'
import json, sys
t = open(sys.argv[1]).read(); j = json.loads(t[t.index("{"):t.rindex("}") + 1])
print(j["tenantId"], j["clientId"], j["clientSecret"])
PY
)
form="grant_type=client_credentials&client_id=$cid&client_secret=$(python3 -c 'import sys,urllib.parse;print(urllib.parse.quote(sys.argv[1],safe=""))' "$secret")&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default"
token="$(curl -fsS --cacert "$ca" "$base/$tid/oauth2/v2.0/token" -d "$form" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')"
# Readiness is probed on both listeners: the protocol one, and the metrics one, whose own thread
# waits behind no request.
ready="$base/health/ready,http://127.0.0.1:$mport/health/ready"
rss() { awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$pid/status"; }

echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores; idle RSS $(rss) MiB"
echo "graph writes, 500 concurrent, ${secs}s:"
"$load" "$base/v1.0/applications" POST 500 "$secs" '{"displayName":"overload"}' "$token" "$ca" "$ready"
echo "RSS after: $(rss) MiB"
sleep 2
echo "token requests, 2000 concurrent, ${secs}s:"
"$load" "$base/$tid/oauth2/v2.0/token" POST 2000 "$secs" "$form" "" "$ca" "$ready"
echo "RSS after: $(rss) MiB"
