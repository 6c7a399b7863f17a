"""The portal benchmark's driver (run it through bench/portal.sh). Standard library only.

Seeds one tenant with APPS applications (a secret each, one in ten with a service principal) and APPS
users, starts
a node on SQLite, makes a Global Administrator through Graph, signs in to the portal through the
sign-in pages as a browser would, then requests every portal page REQUESTS times over one keep-alive
connection and prints p50, p95 and max per page, beside `/health/live` on the same connection (the
ceiling: what any request costs here). Not a test: record the table in bench/RESULTS.md.
"""

import html
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

BIN, APPS, REQUESTS = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scale  # noqa: E402
from scale import Node, graph_token  # noqa: E402

scale.BIN = BIN

GLOBAL_ADMINISTRATOR = "62e90394-69f5-4237-9190-012177145e10"
PASSWORD = "Bench-Portal-Password-1"


class Browser:
    """Cookies, and forms read from the pages."""

    def __init__(self, node):
        self.node, self.cookies = node, {}

    def send(self, method, path, form=None):
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn = self.node.connection()
        conn.request(method, path, body=body, headers=headers)
        r = conn.getresponse()
        data = r.read().decode()
        for c in r.headers.get_all("Set-Cookie") or []:
            k, v = c.split(";")[0].split("=", 1)
            if "Max-Age=0" in c:
                self.cookies.pop(k, None)
            else:
                self.cookies[k] = v
        return r.status, r.headers.get("Location"), data


def field(page, name):
    return html.unescape(re.search(rf'name="{name}" value="([^"]*)"', page).group(1))


def action(page):
    return html.unescape(re.search(r'<form method="post" action="([^"]+)"', page).group(1))


def sign_in(node, user):
    b = Browser(node)
    status, location, _ = b.send("GET", "/portal/")
    assert status == 303, status
    status, _, page = b.send("GET", location)
    assert status == 200, page[:500]
    form = {"ctx": field(page, "ctx"), "canary": field(page, "canary"), "loginfmt": user}
    _, _, page = b.send("POST", action(page), form)
    form = {"ctx": field(page, "ctx"), "canary": field(page, "canary"), "loginfmt": user, "passwd": PASSWORD}
    status, location, page = b.send("POST", action(page), form)
    assert status == 302, page[:500]
    back = urllib.parse.urlsplit(location)
    status, _, _ = b.send("GET", f"{back.path}?{back.query}")
    assert status == 303, status
    return b


def timed(b, path, n):
    times = []
    for _ in range(n):
        t = time.perf_counter()
        status, _, page = b.send("GET", path)
        times.append((time.perf_counter() - t) * 1000)
        assert status == 200, (path, status, page[:300])
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1], times[-1]


def main():
    work = tempfile.mkdtemp(prefix="gatehouse-portal-bench-")
    try:
        data = os.path.join(work, "data")
        clients, admins = os.path.join(work, "clients"), os.path.join(work, "admins")
        t = time.monotonic()
        subprocess.run([f"{BIN}/examples/seed", "--data-dir", data, "1", str(APPS), "10", clients, admins], check=True,
                       stdout=subprocess.DEVNULL, env={**os.environ, "GATEHOUSE_SEED_USERS": str(APPS)})
        print(f"seeded 1 tenant with {APPS} applications and {APPS} users in {time.monotonic() - t:.0f} s", flush=True)
        node = Node(data, None)
        try:
            admin = json.loads(open(admins).readline())
            token = graph_token(node, admin)
            organization = node.graph("GET", "organization", token)[1]["value"][0]
            domain = organization["verifiedDomains"][0]["name"]
            upn = f"bench-admin@{domain}"
            status, user, _ = node.graph("POST", "users", token, {
                "accountEnabled": True, "displayName": "Bench Admin", "mailNickname": "bench-admin",
                "userPrincipalName": upn,
                "passwordProfile": {"password": PASSWORD, "forceChangePasswordNextSignIn": False}})
            assert status == 201, user
            status, _, _ = node.graph("POST", "roleManagement/directory/roleAssignments", token, {
                "principalId": user["id"], "roleDefinitionId": GLOBAL_ADMINISTRATOR, "directoryScopeId": "/"})
            assert status == 201
            b = sign_in(node, upn)
            _, _, first = b.send("GET", "/portal/applications")
            app_id = re.search(r'href="/portal/applications/([0-9a-f-]{36})"', first).group(1)
            after = html.unescape(re.search(r'after=([^"]+)" rel="next"', first).group(1))
            _, _, sps = b.send("GET", "/portal/enterpriseApps")
            sp_id = re.search(r'href="/portal/enterpriseApps/([0-9a-f-]{36})"', sps).group(1)
            _, _, people = b.send("GET", "/portal/users")
            after_user = html.unescape(re.search(r'after=([^"]+)" rel="next"', people).group(1))
            pages = [
                ("ceiling: /health/live", "/health/live"),
                ("Overview (tenant)", "/portal/"),
                ("App registrations, page 1", "/portal/applications"),
                ("App registrations, page 2", f"/portal/applications?after={after}"),
                ("App registrations, search", "/portal/applications?search=app%200-99"),
                ("Application Overview", f"/portal/applications/{app_id}"),
                ("Authentication", f"/portal/applications/{app_id}/authentication"),
                ("Certificates & secrets", f"/portal/applications/{app_id}/credentials"),
                ("API permissions", f"/portal/applications/{app_id}/permissions"),
                ("Expose an API", f"/portal/applications/{app_id}/expose"),
                ("App roles", f"/portal/applications/{app_id}/roles"),
                ("Manifest", f"/portal/applications/{app_id}/manifest"),
                ("Enterprise applications", "/portal/enterpriseApps"),
                ("Enterprise application", f"/portal/enterpriseApps/{sp_id}"),
                ("Its permissions", f"/portal/enterpriseApps/{sp_id}/permissions"),
                ("Users, page 1", "/portal/users"),
                ("Users, page 2", f"/portal/users?after={after_user}"),
                ("Users, search", "/portal/users?search=user%200-99"),
                ("Sign-in logs", "/portal/signIns"),
                ("Audit logs", "/portal/auditLogs"),
            ]
            print(f"{'page':32} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
            for name, path in pages:
                timed(b, path, 5)  # warm
                p50, p95, worst = timed(b, path, REQUESTS)
                print(f"{name:32} {p50:8.2f} {p95:8.2f} {worst:8.2f}", flush=True)
            print(f"RSS after the run: {node.rss_mib():.0f} MiB")
        finally:
            node.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)


main()
