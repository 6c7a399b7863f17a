#!/usr/bin/env bash
# Interop suite: starts the real gatehouse binary over HTTPS with its local CA, builds one fixture through
# its Graph API, then runs real, unmodified Python and Node clients against it, each suite in its own
# process. Usage: tests/interop/run.sh [path/to/gatehouse]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="${1:-$root/target/debug/gatehouse}"
[ -x "$bin" ] || { echo "interop: no gatehouse binary at $bin (build it first)"; exit 1; }

# Clients, installed by package name into a local virtualenv and node_modules.
venv="$here/.venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
(cd "$here/node" && npm ci --silent --no-progress 2>&1 | grep -v "nodedir" || true)
[ -d "$here/node/node_modules/@azure/msal-node" ] || { echo "interop: npm install failed"; exit 1; }

work="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"$bin" serve --data-dir "$work/data" --listen "127.0.0.1:$port" >"$work/stdout" 2>"$work/stderr" &
pid=$!
cleanup() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

base="https://localhost:$port"
ca="$work/data/tls/ca.pem"
for _ in $(seq 1 100); do
  if [ -f "$ca" ] && curl -fsS --cacert "$ca" "$base/health/ready" >/dev/null 2>&1; then break; fi
  kill -0 "$pid" 2>/dev/null || { echo "interop: server exited"; cat "$work/stderr"; exit 1; }
  sleep 0.1
done
curl -fsS --cacert "$ca" "$base/health/ready" >/dev/null

# The bootstrap credentials the server printed once on its console.
python3 - "$work/stdout" "$work/boot.json" <<'PY'
import json, sys
text = open(sys.argv[1]).read()
json.dump(json.loads(text[text.index("{"):text.rindex("}") + 1]), open(sys.argv[2], "w"))
PY

# Clients trust only the local CA.
export REQUESTS_CA_BUNDLE="$ca" CURL_CA_BUNDLE="$ca" SSL_CERT_FILE="$ca" NODE_EXTRA_CA_CERTS="$ca"
unset SSL_CERT_DIR
"$venv/bin/python" "$here/make_fixture.py" "$base" "$work/boot.json" "$ca" "$work/fixture.json"
export GATEHOUSE_FIXTURE="$work/fixture.json"

"$venv/bin/python" -m pytest -p no:cacheprovider -q "$here/python"
(cd "$here/node" && node --test --test-reporter=spec clients.test.mjs)

# The server saw only loopback traffic and logged no secret.
secret="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["client_secret"])' "$work/fixture.json")"
if grep -qF "$secret" "$work/stderr"; then echo "interop: a client secret appeared in the server log"; exit 1; fi
echo "interop: all client suites passed"
