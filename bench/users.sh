#!/usr/bin/env bash
# A user's flows, issue #9: the release build over HTTPS keep-alive on loopback, each figure against a
# ceiling measured in the same run on this machine.
#   1. password sign-ins/s (ROPC, one Argon2id verify each) ÷ the Argon2id ceiling: hash_rate on as many
#      threads as cores at once (parallel hashes share memory bandwidth; one core's rate × cores is shown
#      too). A shared host's speed drifts by a tenth within a minute, so the load runs in four windows
#      with the ceiling measured between them; each window is divided by the mean of the ceilings on
#      either side, and the median of the four ratios is the figure;
#   2. full authorization-code round trips/s: a signed-in session's /authorize (302 with a code), then
#      the code redeemed with PKCE and the app's secret (code_rate), ÷ the RS256 ceiling over the two
#      signatures (access and ID token) each round trip makes;
#   3. refresh grants/s ÷ the RS256 ceiling (one signature each), over 64 families taken in turn. Each
#      family's first token is presented again and again, so the server runs with a long reuse grace
#      window (the path is the same: a conditional update and an insert per grant).
# Not a test: it prints figures to record in bench/RESULTS.md. Usage: bench/users.sh [SECONDS] [CONNECTIONS]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
secs="${1:-20}"
conns="${2:-16}"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
cd "$root"
cargo build --release -p gatehouse-server -p gatehouse-jose -p gatehouse-core --examples --bins 2>&1 | tail -1
bin="$root/target/release/gatehouse"
cores="$(nproc)"
work="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
GATEHOUSE_LOG=warn "$bin" serve --data-dir "$work/data" --listen "127.0.0.1:$port" \
  --refresh-token-reuse-grace 86400 --lockout-threshold 1000000 \
  --token-rate-limit 0 --address-rate-limit 0 --metrics-listen off >"$work/stdout" 2>"$work/stderr" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
base="https://localhost:$port"
until curl -fsS -k "$base/health/ready" >/dev/null 2>&1; do sleep 0.05; done
python3 -c 'import requests' 2>/dev/null || pip install --quiet requests
python3 "$here/users.py" "$base" "$work/stdout" "$work/data/tls/ca.pem" >"$work/setup.json"
get() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$work/setup.json" "$1"; }
tid="$(get tenant)"

hash_rate="$("$root/target/release/examples/hash_rate" 5 1)"
sign_rate="$("$root/target/release/examples/sign_rate" 5)"
window=$(( secs / 4 > 5 ? secs / 4 : 5 ))
ceilings="$("$root/target/release/examples/hash_rate" 4 "$cores")"
for i in 1 2 3 4; do
  GATEHOUSE_BENCH_BODY="$(get password_body)" wrk -t1 -c"$conns" -d"${window}s" --latency -s "$here/token.lua" \
    "$base/$tid/oauth2/v2.0/token" >"$work/password$i.txt"
  ceilings="$ceilings $("$root/target/release/examples/hash_rate" 4 "$cores")"
done
code_out="$("$root/target/release/examples/code_rate" "$base" "$tid" "$(get client_id)" "$(get secret)" \
  "$(get redirect)" "$(get cookie)" "$work/data/tls/ca.pem" "$secs" "$conns")"
get refresh_bodies >"$work/refresh_bodies.txt"
GATEHOUSE_BENCH_BODIES="$work/refresh_bodies.txt" wrk -t1 -c"$conns" -d"${secs}s" --latency -s "$here/assertion.lua" \
  "$base/$tid/oauth2/v2.0/token" >"$work/refresh.txt"
cat "$work/password1.txt" "$work/refresh.txt"

python3 - "$work" "$work/refresh.txt" "$hash_rate" "$sign_rate" "$cores" "$code_out" "$conns" "$secs" "$ceilings" <<'PY'
import platform, re, statistics, subprocess, sys
work, rf, hash_rate, sign_rate, cores, code_out, conns, secs, ceilings = sys.argv[1:]
cores = int(cores)
def rate(path):
    t = open(path).read()
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
    p = {}
    for q in (50, 99):
        m = re.search(rf"^\s+{q}%\s+([\d.]+)(us|ms|s)", t, re.M)
        v, u = float(m.group(1)), m.group(2)
        p[q] = v / 1000 if u == "us" else v * 1000 if u == "s" else v
    return float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1)), int(bad.group(1)) if bad else 0, p
cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"], capture_output=True, text=True).stdout.strip()
print()
print(f"machine: {cpu}, {cores} cores, {platform.system()} {platform.release()}; load: {conns} connections, {secs} s each")
ceilings = [float(c) for c in ceilings.split()]
rsa = float(sign_rate) * cores
windows = [rate(f"{work}/password{i}.txt") for i in range(1, 5)]
ratios = [w[0] / ((ceilings[i] + ceilings[i + 1]) / 2) for i, w in enumerate(windows)]
r = statistics.median(w[0] for w in windows)
p99 = max(w[2][99] for w in windows)
print(f"password sign-ins/s: {r:.1f} (median of 4 windows: {', '.join(f'{w[0]:.1f}' for w in windows)})  p50 {windows[0][2][50]:.1f} ms  p99 {p99:.1f} ms  non-2xx {sum(w[1] for w in windows)}")
print(f"Argon2id verify: {float(hash_rate):.1f}/s on one core (x{cores} = {float(hash_rate) * cores:.1f}/s); {cores} threads at once, between the windows: {', '.join(f'{c:.1f}' for c in ceilings)}/s (the ceiling)")
print(f"password ratio: {statistics.median(ratios):.2f} (median; per window {', '.join(f'{x:.2f}' for x in ratios)})")
code_rate, code_failed = code_out.split()
print(f"authorization-code round trips/s: {float(code_rate):.1f} (failed: {code_failed}); RS256 ceiling over 2 signatures = {rsa / 2:.0f}/s; ratio {float(code_rate) / (rsa / 2):.2f}")
r, bad, p = rate(rf)
print(f"refresh grants/s: {r:.1f}  p50 {p[50]:.1f} ms  p99 {p[99]:.1f} ms  non-2xx {bad}")
print(f"RS256 signing: {float(sign_rate):.0f}/s on one core; ceiling x{cores} = {rsa:.0f}/s; ratio {r / rsa:.2f}")
PY
