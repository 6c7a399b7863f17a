#!/usr/bin/env bash
# Client-credentials throughput of the release build over HTTPS keep-alive on loopback, with p50/p99,
# against this machine's crypto ceiling measured in the same run; plus idle RSS and the time from start
# to ready. Two runs: with a client secret (one RS256 sign per token), then with a certificate client
# assertion (one RS256 verify, one durable jti insert, one RS256 sign per token).
# Not a test: it prints figures to record in bench/RESULTS.md.
# Usage: bench/run.sh [SECONDS] [CONNECTIONS]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
secs="${1:-20}"
conns="${2:-32}"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }

cd "$root"
cargo build --release -p gatehouse-server -p gatehouse-jose --examples --bins 2>&1 | tail -1
bin="$root/target/release/gatehouse"
cores="$(nproc)"

work="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
start_ns="$(date +%s%N)"
# One client is the whole load: its rate limits are lifted.
GATEHOUSE_LOG=warn "$bin" serve --data-dir "$work/data" --listen "127.0.0.1:$port" \
  --token-rate-limit 0 --address-rate-limit 0 --metrics-listen off >"$work/stdout" 2>"$work/stderr" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
base="https://localhost:$port"
until curl -fsS -k "$base/health/ready" >/dev/null 2>&1; do sleep 0.01; done
ready_ms=$(( ($(date +%s%N) - start_ns) / 1000000 ))
sleep 2
idle_rss_kb="$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")"

# The bootstrap application, asking for a Graph token: the same path as any daemon.
read -r tid cid secret < <(python3 - "$work/stdout" <<'PY'
import json, sys
t = open(sys.argv[1]).read(); j = json.loads(t[t.index("{"):t.rindex("}") + 1])
print(j["tenantId"], j["clientId"], j["clientSecret"])
PY
)
body="grant_type=client_credentials&client_id=$cid&client_secret=$(python3 -c 'import sys,urllib.parse;print(urllib.parse.quote(sys.argv[1],safe=""))' "$secret")&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default"
curl -fsS -k "$base/$tid/oauth2/v2.0/token" -d "$body" | grep -q access_token

sign_rate="$("$root/target/release/examples/sign_rate" 5)"
verify_rate="$("$root/target/release/examples/verify_rate" 5)"
GATEHOUSE_BENCH_BODY="$body" wrk -t1 -c"$conns" -d"${secs}s" --latency -s "$here/token.lua" "$base/$tid/oauth2/v2.0/token" >"$work/wrk.txt"
busy_rss_kb="$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")"
cat "$work/wrk.txt"

# The certificate run: the CLI makes and registers a certificate on the bootstrap application, then
# one pre-signed assertion per request (each jti is single-use).
export GATEHOUSE_CONFIG_DIR="$work/cli"
"$bin" login --service-principal -u "$cid" -p "$secret" --tenant "$tid" --server "$base" --ca-file "$work/data/tls/ca.pem" >/dev/null
"$bin" app credential reset --id "$cid" --create-cert --cert-file "$work/client.pem" >/dev/null
sleep 1
# Enough single-use assertions for the run at 1.5 times this machine's sign+verify ceiling, so that
# no request replays one (a replay is refused, and would count as a request).
made="$(python3 -c 'import sys; s, v, c, t = map(float, sys.argv[1:]); print(int(t * c * 1.5 / (1 / s + 1 / v)) + 1000)' \
  "$sign_rate" "$verify_rate" "$cores" "$secs")"
"$root/target/release/examples/assertions" "$work/client.pem" "$cid" "$base/$tid/oauth2/v2.0/token" \
  "https://graph.microsoft.com/.default" "$made" >"$work/bodies.txt"
GATEHOUSE_BENCH_BODIES="$work/bodies.txt" wrk -t1 -c"$conns" -d"${secs}s" --latency -s "$here/assertion.lua" "$base/$tid/oauth2/v2.0/token" >"$work/wrk-cert.txt"
cat "$work/wrk-cert.txt"

python3 - "$work/wrk.txt" "$sign_rate" "$cores" "$idle_rss_kb" "$busy_rss_kb" "$ready_ms" "$conns" "$secs" "$work/wrk-cert.txt" "$verify_rate" "$(wc -l <"$work/bodies.txt")" <<'PY'
import re, sys, platform, subprocess
wrk, sign, cores, idle, busy, ready, conns, secs, wrk_cert, verify, made = sys.argv[1:]
text = open(wrk).read()
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
def pct(p):
    m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)", text, re.M)
    v, u = float(m.group(1)), m.group(2)
    return v / 1000 if u == "us" else v * 1000 if u == "s" else v
bad = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
errors = re.search(r"Socket errors: (.*)", text)
ceiling = float(sign) * int(cores)
cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"], capture_output=True, text=True).stdout.strip()
print()
print(f"machine: {cpu}, {cores} cores, {platform.system()} {platform.release()}")
print(f"load: wrk -t1 -c{conns} -d{secs}s, HTTPS keep-alive, loopback, client credentials with a secret")
print(f"tokens/s: {rps:.0f}   p50: {pct(50):.2f} ms   p99: {pct(99):.2f} ms   non-2xx: {bad.group(1) if bad else 0}   socket errors: {errors.group(1) if errors else 'none'}")
print(f"RS256 signing: {float(sign):.0f}/s on one core; ceiling x{cores} cores = {ceiling:.0f}/s")
print(f"ratio tokens/s / ceiling: {rps / ceiling:.2f}")
print(f"idle RSS: {int(idle) / 1024:.1f} MiB   RSS after load: {int(busy) / 1024:.1f} MiB   start to ready: {ready} ms")

text = open(wrk_cert).read()
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
bad = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
requests = int(re.search(r"(\d+) requests in", text).group(1))
per_core = 1 / (1 / float(sign) + 1 / float(verify))
ceiling = per_core * int(cores)
print()
print(f"certificate assertion: tokens/s: {rps:.0f}   p50: {pct(50):.2f} ms   p99: {pct(99):.2f} ms   non-2xx: {bad.group(1) if bad else 0}   requests: {requests} (assertions made: {made})")
print(f"RS256 verify: {float(verify):.0f}/s on one core; sign+verify ceiling x{cores} cores = {ceiling:.0f}/s")
print(f"ratio tokens/s / ceiling: {rps / ceiling:.2f}")
PY
