"""Builds the interop fixture through Gatehouse's own Graph API, as a person following the README would:
an API application exposing the Reports.Read app role (v2 tokens), a daemon application with a secret,
both service principals, and the role assigned to the daemon. Writes fixture.json for the client suites.

Usage: make_fixture.py BASE_URL BOOTSTRAP_JSON CA_PEM OUT_JSON
"""
import json
import sys
import uuid

import requests

base, boot_path, ca, out = sys.argv[1:5]
boot = json.load(open(boot_path))
tid = boot["tenantId"]
s = requests.Session()
s.verify = ca
s.trust_env = False


def token(client_id, secret, scope):
    r = s.post(f"{base}/{tid}/oauth2/v2.0/token", data={
        "grant_type": "client_credentials", "client_id": client_id, "client_secret": secret, "scope": scope})
    r.raise_for_status()
    return r.json()["access_token"]


admin = token(boot["clientId"], boot["clientSecret"], "https://graph.microsoft.com/.default")
h = {"Authorization": f"Bearer {admin}"}


def graph(method, path, body=None, expect=(200, 201, 204)):
    r = s.request(method, f"{base}/v1.0/{path}", json=body, headers=h)
    assert r.status_code in expect, (method, path, r.status_code, r.text)
    return r.json() if r.content else None


role_id = str(uuid.uuid4())
api = graph("POST", "applications", {
    "displayName": "Reports API", "identifierUris": ["api://reports"],
    "api": {"requestedAccessTokenVersion": 2},
    "appRoles": [{"allowedMemberTypes": ["Application"], "id": role_id, "value": "Reports.Read",
                  "displayName": "Read reports", "description": "Read reports", "isEnabled": True}]})
api_sp = graph("POST", "servicePrincipals", {"appId": api["appId"]})
daemon = graph("POST", "applications", {"displayName": "Nightly job"})
daemon_sp = graph("POST", "servicePrincipals", {"appId": daemon["appId"]})
pw = graph("POST", f"applications/{daemon['id']}/addPassword", {"passwordCredential": {"displayName": "interop"}})
graph("POST", f"servicePrincipals/{api_sp['id']}/appRoleAssignedTo",
      {"principalId": daemon_sp["id"], "resourceId": api_sp["id"], "appRoleId": role_id})

json.dump({
    "base": base, "tenant_id": tid, "domain": boot["domain"], "ca": ca,
    "client_id": daemon["appId"], "client_secret": pw["secretText"], "client_sp_id": daemon_sp["id"],
    "api_app_id": api["appId"], "api_scope": "api://reports/.default",
    "issuer_v2": f"{base}/{tid}/v2.0", "jwks_uri": f"{base}/{tid}/discovery/v2.0/keys",
}, open(out, "w"), indent=2)
print(f"fixture written to {out}")
