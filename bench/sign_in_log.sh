#!/usr/bin/env bash
# What the sign-in log costs the token endpoint: two servers of the release build, one recording
# every token request (the default) and one with the log off (--sign-in-log-days 0), loaded in turn
# with client credentials (a secret) for ROUNDS rounds of SECONDS each, in alternating order, so
# that drift in the machine's speed falls on both alike. Prints each round, the ratio of the medians
# (on / off), the records the log dropped (it must drop none) and how many it stored. Not a test: it
# prints figures for bench/RESULTS.md.
# Usage: bench/sign_in_log.sh [SECONDS] [ROUNDS] [CONNECTIONS]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
secs="${1:-10}"
rounds="${2:-3}"
conns="${3:-32}"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }

cd "$root"
cargo build --release -p gatehouse-server 2>&1 | tail -1
bin="$root/target/release/gatehouse"
work="$(mktemp -d)"
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start NAME EXTRA-ARGS...: a server in $work/NAME; writes "port metrics-port tenant body" to
# $work/NAME.vars. (Not in a subshell, so that its pid reaches the exit trap.)
start() {
  local name="$1"; shift
  local port metrics
  port="$(free_port)"; metrics="$(free_port)"
  GATEHOUSE_LOG=warn "$bin" serve --data-dir "$work/$name" --listen "127.0.0.1:$port" \
    --token-rate-limit 0 --address-rate-limit 0 --metrics-listen "127.0.0.1:$metrics" "$@" \
    >"$work/$name.out" 2>"$work/$name.err" &
  pids+=("$!")
  until curl -fsS -k "https://localhost:$port/health/ready" >/dev/null 2>&1; do sleep 0.01; done
  until grep -q "listening" "$work/$name.out"; do sleep 0.01; done
  python3 - "$work/$name.out" "$port" "$metrics" >"$work/$name.vars" <<'PY'
import json, sys, urllib.parse
t = open(sys.argv[1]).read(); j = json.loads(t[t.index("{"):t.rindex("}") + 1])
body = "grant_type=client_credentials&client_id=%s&client_secret=%s&scope=%s" % (
    j["clientId"], urllib.parse.quote(j["clientSecret"], safe=""),
    urllib.parse.quote("https://graph.microsoft.com/.default", safe=""))
print(sys.argv[2], sys.argv[3], j["tenantId"], body)
PY
}

start on
start off --sign-in-log-days 0
read -r on_port on_metrics on_tid on_body <"$work/on.vars"
read -r off_port off_metrics off_tid off_body <"$work/off.vars"

# load PORT TENANT BODY: tokens/s of one round (and its request count, added to $work/requests-PORT).
load() {
  GATEHOUSE_BENCH_BODY="$3" wrk -t1 -c"$conns" -d"${secs}s" -s "$here/token.lua" \
    "https://localhost:$1/$2/oauth2/v2.0/token" >"$work/wrk.txt"
  if grep -q "Non-2xx" "$work/wrk.txt"; then cat "$work/wrk.txt" >&2; exit 1; fi
  awk '/requests in/ {print $1}' "$work/wrk.txt" >>"$work/requests-$1"
  awk '/Requests\/sec/ {print $2}' "$work/wrk.txt"
}

on=(); off=()
for r in $(seq "$rounds"); do
  # Each round, the other server goes first, so that neither always follows the other's load.
  if (( r % 2 )); then
    a="$(load "$on_port" "$on_tid" "$on_body")"
    b="$(load "$off_port" "$off_tid" "$off_body")"
  else
    b="$(load "$off_port" "$off_tid" "$off_body")"
    a="$(load "$on_port" "$on_tid" "$on_body")"
  fi
  on+=("$a"); off+=("$b")
  echo "round $r: log on $a tokens/s, log off $b tokens/s"
done
sleep 1
dropped="$(curl -fsS "http://127.0.0.1:$on_metrics/metrics" | awk '/^gatehouse_sign_in_log_dropped_total/ {print $2}')"
# Every request of the loaded rounds (and the one that checked the body) must be in the log.
sent="$(( $(paste -sd+ "$work/requests-$on_port") ))"
python3 - "${on[*]}" "${off[*]}" "$dropped" "$conns" "$secs" "$rounds" "$sent" "$work/on/gatehouse.db" <<'PY'
import sqlite3, statistics, sys
recorded = sqlite3.connect(sys.argv[8]).execute("SELECT COUNT(*) FROM sign_ins").fetchone()[0]
on = [float(x) for x in sys.argv[1].split()]
off = [float(x) for x in sys.argv[2].split()]
print(f"load: wrk -t1 -c{sys.argv[4]} -d{sys.argv[5]}s x {sys.argv[6]} rounds per server, HTTPS keep-alive, loopback, client credentials with a secret")
print(f"median tokens/s: log on {statistics.median(on):.0f}, log off {statistics.median(off):.0f}")
print(f"ratio on / off: {statistics.median(on) / statistics.median(off):.3f}   sign-in records dropped: {sys.argv[3]}   stored: {recorded} of {sys.argv[7]} requests")
PY
