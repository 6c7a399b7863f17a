#!/usr/bin/env bash
# Interop suite: starts the real gatehouse binary over HTTPS with its local CA, builds one fixture through
# its Graph API, then runs real, unmodified Python and Node clients against it, each suite in its own
# process. Usage: tests/interop/run.sh [path/to/gatehouse]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="${1:-$root/target/debug/gatehouse}"
[ -x "$bin" ] || { echo "interop: no gatehouse binary at $bin (build it first)"; exit 1; }
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"  # the Node suites run from node/

# Clients, installed by package name into a local virtualenv and node_modules.
venv="$here/.venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
(cd "$here/node" && npm ci --silent --no-progress 2>&1 | grep -v "nodedir" || true)
# The az CLI in a virtualenv outside the clone (GATEHOUSE_AZ_VENV), reused by later runs.
az_venv="${GATEHOUSE_AZ_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/gatehouse/az-venv}"
[ -x "$az_venv/bin/python" ] || python3 -m venv "$az_venv"
"$az_venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/az-requirements.txt"
export GATEHOUSE_AZ="$az_venv/bin/az"
[ -d "$here/node/node_modules/@azure/msal-node" ] || { echo "interop: npm install failed"; exit 1; }
# Debian's Chromium for the single-page application (playwright-core drives it; it downloads no browser).
command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }
# Screenshots of the sign-in pages, kept after the run.
export GATEHOUSE_SCREENSHOTS="${GATEHOUSE_SCREENSHOTS:-$root/target/interop-screenshots}"
rm -rf "$GATEHOUSE_SCREENSHOTS"

work="$(mktemp -d)"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pids=()
# On a failure, the server's last log lines are printed (it logs no secret; the end of this script
# checks that) before its folder goes.
cleanup() {
  local rc=$?
  if [ "$rc" -ne 0 ] && [ -f "$work/main.stderr" ]; then
    echo "interop: failed ($rc); the server's last log lines:"; tail -n 60 "$work/main.stderr"
  fi
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# GATEHOUSE_INTEROP_DATABASE_URL: the server under test keeps its directory in that PostgreSQL database
# (an empty one) instead of SQLite in its data folder; the external issuer stays on SQLite.
main_store=()
if [ -n "${GATEHOUSE_INTEROP_DATABASE_URL:-}" ]; then main_store=(--database-url "$GATEHOUSE_INTEROP_DATABASE_URL"); fi

# start NAME PORT [serve flags...]: a gatehouse node with its own data folder, waited on until ready,
# with the bootstrap credentials it printed once saved as $work/NAME.boot.json.
start() {
  local name="$1" port="$2"; shift 2
  "$bin" serve --data-dir "$work/$name" --listen "127.0.0.1:$port" "$@" >"$work/$name.stdout" 2>"$work/$name.stderr" &
  local pid=$!; pids+=("$pid")
  local ca="$work/$name/tls/ca.pem" url="https://localhost:$port"
  for _ in $(seq 1 100); do
    if [ -f "$ca" ] && curl -fsS --cacert "$ca" "$url/health/ready" >/dev/null 2>&1; then break; fi
    kill -0 "$pid" 2>/dev/null || { echo "interop: $name exited"; cat "$work/$name.stderr"; exit 1; }
    sleep 0.1
  done
  curl -fsS --cacert "$ca" "$url/health/ready" >/dev/null
  python3 - "$work/$name.stdout" "$work/$name.boot.json" <<'PY'
import json, sys
text = open(sys.argv[1]).read()
json.dump(json.loads(text[text.index("{"):text.rindex("}") + 1]), open(sys.argv[2], "w"))
PY
}

# The external OIDC issuer for workload identity federation: a second Gatehouse with its own CA.
ext_port="$(free_port)"
start ext "$ext_port"
ext_base="https://localhost:$ext_port"
# The server under test, trusting the external issuer's CA for federation only. It listens on 443: MSAL
# Python's password flow asks https://localhost/common/userrealm/... without the authority's port.
port="${GATEHOUSE_INTEROP_PORT:-443}"
base="https://localhost:$port"
[ "$port" = 443 ] && base="https://localhost"
# Its managed-identity listener serves both protocols (the instance-metadata one is off by default).
id_port="$(free_port)"
start main "$port" --federation-ca-file "$work/ext/tls/ca.pem" --public-url "$base" \
  --identity-listen "127.0.0.1:$id_port" --identity-imds "${main_store[@]}"
ca="$work/main/tls/ca.pem"

# A second organisation in the same store, for the multi-tenant journey (the node learns of it within
# a second; the fixture's first call to it waits for that).
"$bin" tenant create --domain fabrikam.example --display-name Fabrikam --json --data-dir "$work/main" "${main_store[@]}" \
  >"$work/fabrikam.boot.json"
if [ -n "${GATEHOUSE_INTEROP_DATABASE_URL:-}" ]; then
  tenants="$(psql "$GATEHOUSE_INTEROP_DATABASE_URL" -tAc "SELECT count(*) FROM tenants")"
  [ "$tenants" -ge 2 ] || { echo "interop: the server does not keep its tenants in $GATEHOUSE_INTEROP_DATABASE_URL"; exit 1; }
fi

# Clients trust only the local CA.
export REQUESTS_CA_BUNDLE="$ca" CURL_CA_BUNDLE="$ca" SSL_CERT_FILE="$ca" NODE_EXTRA_CA_CERTS="$ca"
unset SSL_CERT_DIR
"$venv/bin/python" "$here/make_fixture.py" "$base" "$work/main.boot.json" "$ca" "$work/fixture.json" \
  "$ext_base" "$work/ext.boot.json" "$work/ext/tls/ca.pem" "$work/fabrikam.boot.json"
export GATEHOUSE_FIXTURE="$work/fixture.json"

# The daemon's certificate, made and registered by the CLI as `az ad app credential reset --create-cert`.
export GATEHOUSE_CONFIG_DIR="$work/cli"
read -r boot_id boot_secret tid client_id < <(python3 -c 'import json,sys; b=json.load(open(sys.argv[1])); f=json.load(open(sys.argv[2])); print(b["clientId"], b["clientSecret"], b["tenantId"], f["client_id"])' "$work/main.boot.json" "$work/fixture.json")
"$bin" login --service-principal -u "$boot_id" -p "$boot_secret" --tenant "$tid" --server "$base" --ca-file "$ca" >/dev/null
"$bin" app credential reset --id "$client_id" --create-cert --append --cert-file "$work/client.pem" >"$work/cert.json"
# A user-assigned managed identity, made as the README shows.
"$bin" identity create --name interop-worker --tenant "$tid" --json --data-dir "$work/main" "${main_store[@]}" \
  >"$work/identity.json"
python3 - "$work/fixture.json" "$work/client.pem" "$bin" "$work/main" "$boot_id" "$boot_secret" "$work/az" \
  "$work/identity.json" "http://127.0.0.1:$id_port" <<'PY'
import json, sys
path, pem, binary, data, admin_id, admin_secret, az_config, identity, endpoint = sys.argv[1:10]
fix = json.load(open(path))
made = json.load(open(identity))
fix.update({"client_pem": pem, "gatehouse_bin": binary, "data_dir": data, "admin_id": admin_id,
            "admin_secret": admin_secret, "az_config_dir": az_config, "identity_name": made["name"],
            "identity_principal_id": made["principalId"], "identity_endpoint": endpoint})
json.dump(fix, open(path, "w"), indent=2)
PY

# The scripted browser (tests/interop/python/browser.py), for the Node suites too.
export GATEHOUSE_BROWSER="$venv/bin/python $here/python/browser.py"
# The interpreter with MSAL Python, for the portal journey's token.
export GATEHOUSE_PYTHON="$venv/bin/python"
# GATEHOUSE_INTEROP_NODE=portal.test.mjs (say) runs only those Node suites, for a quicker loop while
# working on one; CI runs every suite.
node_suites="${GATEHOUSE_INTEROP_NODE:-clients.test.mjs graph.test.mjs users.test.mjs spa.test.mjs \
  multi_tenant.test.mjs api_validators.test.mjs managed_identity.test.mjs workload_identity.test.mjs \
  environment_credential.test.mjs portal.test.mjs}"
if [ -z "${GATEHOUSE_INTEROP_NODE:-}" ]; then
  "$venv/bin/python" -m pytest -p no:cacheprovider -q -W ignore::DeprecationWarning "$here/python"
fi
# shellcheck disable=SC2086 # the suites are words
(cd "$here/node" && node --test --test-reporter=spec $node_suites)

# The server saw only loopback traffic and logged no secret.
for field in client_secret user_password b_user_password b_admin_password admin_password; do
  secret="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$work/fixture.json" "$field")"
  if grep -qF -- "$secret" "$work/main.stderr"; then echo "interop: a $field appeared in the server log"; exit 1; fi
done
# Logs written to a file carry no terminal colour codes.
if grep -q $'\x1b\[' "$work/main.stderr"; then echo "interop: colour codes in a server log written to a file"; exit 1; fi
grep -q "INFO" "$work/main.stderr" || { echo "interop: the server logged nothing"; exit 1; }
echo "interop: all client suites passed"
