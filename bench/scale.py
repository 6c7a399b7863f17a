"""The scale benchmark's driver (run it through bench/scale.sh). Standard library only.

For each backend and size: seed a fresh store, start node A and measure start to ready, warm the
caches, load client-credentials tokens over HTTPS keep-alive spread over many clients (wrk), time Graph
creates and PATCHes through A, start node B on the same store and time how long a removed secret keeps
working there, and read A's RSS. Prints one table row per run, then the table.
"""

import http.client
import json
import os
import re
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
# The binaries' folder, the load's seconds and connections: set by main(), or by a driver that imports
# this module for its Node (bench/portal.py).
BIN = SECS = CONNS = None
CLIENTS = 10_000
GRAPH_OPS = 100
PG_ADMIN = os.environ.get("GATEHOUSE_TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Node:
    """A `gatehouse serve` process."""

    def __init__(self, data, url, public=None):
        self.port = free_port()
        self.base = f"https://localhost:{self.port}"
        # The load comes from few clients on one address: the rate limits are lifted.
        args = [f"{BIN}/gatehouse", "serve", "--data-dir", data, "--listen", f"127.0.0.1:{self.port}",
                "--token-rate-limit", "0", "--address-rate-limit", "0", "--metrics-listen", "off"]
        if url:
            args += ["--database-url", url]
        if public:
            args += ["--public-url", public]
        started = time.monotonic()
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     env={**os.environ, "GATEHOUSE_LOG": "warn"})
        # Loopback to a server this run started: its local CA is not worth verifying here.
        self.ctx = ssl._create_unverified_context()
        self.conn = None
        while True:
            try:
                if self.get("/health/ready")[0] == 200:
                    break
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() - started > 600:
                self.stop()
                raise RuntimeError("the node did not start")
            time.sleep(0.01)
        self.ready_ms = (time.monotonic() - started) * 1000

    def connection(self):
        if self.conn is None:
            self.conn = http.client.HTTPSConnection("localhost", self.port, context=self.ctx, timeout=30)
        return self.conn

    def request(self, method, path, body=None, headers=None):
        conn = self.connection()
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            data = r.read()
        except (OSError, http.client.HTTPException):
            self.conn = None
            raise
        return r.status, data

    def get(self, path):
        return self.request("GET", path)

    def token(self, tenant, form):
        return self.request("POST", f"/{tenant}/oauth2/v2.0/token", form,
                            {"Content-Type": "application/x-www-form-urlencoded"})

    def graph(self, method, path, token, body=None):
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        t = time.monotonic()
        status, data = self.request(method, f"/v1.0/{path}", json.dumps(body) if body is not None else None, headers)
        return status, (json.loads(data) if data else None), (time.monotonic() - t) * 1000

    def rss_mib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1)) / 1024

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def wrk(base, clients_file, secs):
    out = subprocess.run(["wrk", "-t1", f"-c{CONNS}", f"-d{secs}s", "--latency", "-s", f"{HERE}/spread.lua", base],
                         capture_output=True, text=True, env={**os.environ, "GATEHOUSE_BENCH_CLIENTS": clients_file})
    text = out.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    m = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)", text, re.M)
    p99 = float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    total = int(re.search(r"(\d+) requests in", text).group(1))
    return rps, p99, int(bad.group(1)) if bad else 0, total


def graph_token(node, admin):
    form = urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": admin["clientId"],
                                   "client_secret": admin["clientSecret"],
                                   "scope": "https://graph.microsoft.com/.default"})
    status, data = node.token(admin["tenantId"], form)
    assert status == 200, data
    return json.loads(data)["access_token"]


def graph_writes(node, admin):
    token = graph_token(node, admin)
    creates, patches = [], []
    for i in range(GRAPH_OPS):
        status, app, ms = node.graph("POST", "applications", token, {"displayName": f"bench {i}"})
        assert status == 201, app
        creates.append(ms)
        status, _, ms = node.graph("PATCH", f"applications/{app['id']}", token, {"notes": f"note {i}"})
        assert status == 204
        patches.append(ms)
    return statistics.median(creates), statistics.median(patches)


def propagation(a, b, admin, client_line):
    """Removes a client's secret through A; how long B keeps issuing tokens for it."""
    tenant, form = client_line.split(" ", 1)
    client_id = urllib.parse.parse_qs(form)["client_id"][0]
    deadline = time.monotonic() + 10
    while b.token(tenant, form)[0] != 200:
        assert time.monotonic() < deadline, "node B never served the client"
        time.sleep(0.02)
    token = graph_token(a, admin)
    status, app, _ = a.graph("GET", f"applications(appId='{client_id}')", token)
    assert status == 200, app
    key = app["passwordCredentials"][0]["keyId"]
    status, _, _ = a.graph("POST", f"applications/{app['id']}/removePassword", token, {"keyId": key})
    assert status == 204
    removed = time.monotonic()
    while b.token(tenant, form)[0] == 200:
        assert time.monotonic() - removed < 10, "node B still accepts the removed secret"
        time.sleep(0.01)
    return (time.monotonic() - removed) * 1000


def run(backend, tenants, apps):
    work = tempfile.mkdtemp(prefix="gatehouse-scale-")
    data = os.path.join(work, "data")
    os.makedirs(data)
    url, db = None, None
    if backend == "postgres":
        db = f"gatehouse_scale_{os.getpid()}_{tenants}"
        subprocess.run(["psql", PG_ADMIN, "-q", "-c", f"DROP DATABASE IF EXISTS {db}", "-c", f"CREATE DATABASE {db}"],
                       check=True)
        url = PG_ADMIN.rsplit("/", 1)[0] + "/" + db
    clients_file, admins_file = os.path.join(work, "clients.txt"), os.path.join(work, "admins.txt")
    where = ["--database-url", url] if url else ["--data-dir", data]
    t = time.monotonic()
    subprocess.run([f"{BIN}/examples/seed", *where, str(tenants), str(apps), str(CLIENTS), clients_file, admins_file],
                   check=True)
    seed_s = time.monotonic() - t
    admin = json.loads(open(admins_file).readline())
    a = b = None
    try:
        a = Node(data, url)
        wrk(a.base, clients_file, 5)  # warm the caches: every client once or more
        rps, p99, bad, total = wrk(a.base, clients_file, SECS)
        create, patch = graph_writes(a, admin)
        b = Node(data, url, public=a.base)
        prop = propagation(a, b, admin, open(clients_file).readline().strip())
        row = dict(backend=backend, tenants=tenants, apps=apps, seed_s=seed_s, rps=rps, p99=p99, bad=bad,
                   total=total, create=create, patch=patch, ready=a.ready_ms, rss=a.rss_mib(), prop=prop,
                   clients=sum(1 for _ in open(clients_file)))
    finally:
        for n in (a, b):
            if n:
                n.stop()
        if db:
            subprocess.run(["psql", PG_ADMIN, "-q", "-c", f"DROP DATABASE IF EXISTS {db} WITH (FORCE)"])
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(row), flush=True)
    return row


def main():
    global BIN, SECS, CONNS
    BIN, SECS, CONNS = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    sizes, backends = sys.argv[4].split(), sys.argv[5].split()
    sign = float(subprocess.run([f"{BIN}/examples/sign_rate", "5"], capture_output=True, text=True).stdout)
    ceiling = sign * os.cpu_count()
    rows = []
    for backend in backends:
        for size in sizes:
            tenants, apps = map(int, size.split(":"))
            rows.append(run(backend, tenants, apps))
    cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"], capture_output=True,
                         text=True).stdout.strip()
    print(f"\nmachine: {cpu}, {os.cpu_count()} cores; RS256 ceiling {ceiling:.0f} tokens/s; "
          f"wrk -t1 -c{CONNS} -d{SECS}s after a 5 s warm-up; Graph p50 over {GRAPH_OPS} sequential calls\n")
    print("| backend | tenants | applications | seed s | tokens/s | ÷ 1-tenant | ÷ ceiling | p99 ms | non-2xx "
          "| Graph create p50 ms | ÷ 1-tenant | PATCH p50 ms | ÷ 1-tenant | start to ready ms | RSS after MiB "
          "| propagation ms |")
    print("|" + "---|" * 16)
    for r in rows:
        base = next(x for x in rows if x["backend"] == r["backend"] and x["tenants"] == 1)
        print(f"| {r['backend']} | {r['tenants']:,} | {r['apps']:,} | {r['seed_s']:.0f} | {r['rps']:.0f} "
              f"| {r['rps'] / base['rps']:.2f} | {r['rps'] / ceiling:.2f} | {r['p99']:.1f} | {r['bad']} of {r['total']} "
              f"| {r['create']:.1f} | {r['create'] / base['create']:.2f} | {r['patch']:.1f} "
              f"| {r['patch'] / base['patch']:.2f} | {r['ready']:.0f} | {r['rss']:.1f} | {r['prop']:.0f} |")


if __name__ == "__main__":
    main()
