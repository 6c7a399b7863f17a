"""Builds the interop fixture through Gatehouse's own Graph API, as a person following the README would:
an API application exposing the Reports.Read app role and the access_as_user scope (v2 tokens), a daemon
application with a secret, both service principals, and the role assigned to the daemon; a public client
(allowing public client flows) consented for Graph's User.Read and the API's access_as_user, and a user.
Writes fixture.json for the client suites.

On the external issuer (a second Gatehouse) it registers the token-exchange resource and a CI workload
with a secret; on the server under test, a federated identity credential trusting that workload.

In a second organisation of the same server (Fabrikam, made by `gatehouse tenant create`), a user, Bob;
its first user (a Global Administrator) and management credentials go to the fixture too.

Usage: make_fixture.py BASE_URL BOOTSTRAP_JSON CA_PEM OUT_JSON EXT_BASE_URL EXT_BOOTSTRAP_JSON EXT_CA_PEM
                       SECOND_TENANT_JSON
"""
import json
import sys
import time
import uuid

import requests

base, boot_path, ca, out, ext_base, ext_boot_path, ext_ca, second_boot_path = sys.argv[1:9]


class Server:
    """One Gatehouse, driven over its token endpoint and Graph API with its bootstrap credentials."""

    def __init__(self, base, boot_path, ca):
        self.base, self.boot = base, json.load(open(boot_path))
        self.tid = self.boot["tenantId"]
        self.s = requests.Session()
        self.s.verify = ca
        self.s.trust_env = False
        for _ in range(50):  # a tenant made a moment ago reaches the node within a second
            if self.s.get(f"{base}/{self.tid}/v2.0/.well-known/openid-configuration").status_code == 200:
                break
            time.sleep(0.1)
        admin = self.token(self.boot["clientId"], self.boot["clientSecret"], "https://graph.microsoft.com/.default")
        self.h = {"Authorization": f"Bearer {admin}"}

    def token(self, client_id, secret, scope):
        r = self.s.post(f"{self.base}/{self.tid}/oauth2/v2.0/token", data={
            "grant_type": "client_credentials", "client_id": client_id, "client_secret": secret, "scope": scope})
        r.raise_for_status()
        return r.json()["access_token"]

    def graph(self, method, path, body=None, expect=(200, 201, 204)):
        r = self.s.request(method, f"{self.base}/v1.0/{path}", json=body, headers=self.h)
        assert r.status_code in expect, (method, path, r.status_code, r.text)
        return r.json() if r.content else None


main = Server(base, boot_path, ca)
boot, tid, graph = main.boot, main.tid, main.graph


role_id = str(uuid.uuid4())
api = graph("POST", "applications", {
    "displayName": "Reports API", "identifierUris": ["api://reports"],
    "api": {"requestedAccessTokenVersion": 2, "oauth2PermissionScopes": [{
        "id": str(uuid.uuid4()), "value": "access_as_user", "type": "User", "isEnabled": True,
        "adminConsentDisplayName": "Read reports as the user", "adminConsentDescription": "Read reports as the user",
        "userConsentDisplayName": "Read your reports", "userConsentDescription": "Read your reports"}]},
    "appRoles": [{"allowedMemberTypes": ["Application"], "id": role_id, "value": "Reports.Read",
                  "displayName": "Read reports", "description": "Read reports", "isEnabled": True}]})
api_sp = graph("POST", "servicePrincipals", {"appId": api["appId"]})
daemon = graph("POST", "applications", {"displayName": "Nightly job"})
daemon_sp = graph("POST", "servicePrincipals", {"appId": daemon["appId"]})
pw = graph("POST", f"applications/{daemon['id']}/addPassword", {"passwordCredential": {"displayName": "interop"}})
graph("POST", f"servicePrincipals/{api_sp['id']}/appRoleAssignedTo",
      {"principalId": daemon_sp["id"], "resourceId": api_sp["id"], "appRoleId": role_id})

# A public client for a user's flows, consented (by an administrator, for every user) to Graph's User.Read
# and the API's access_as_user; and the user.
web_redirect = "https://app.example/signin-oidc"
cli = graph("POST", "applications", {"displayName": "Contoso CLI", "isFallbackPublicClient": True,
                                     "publicClient": {"redirectUris": ["http://localhost"]},
                                     "web": {"redirectUris": [web_redirect]}})
cli_sp = graph("POST", "servicePrincipals", {"appId": cli["appId"]})
# The same registration as a web app (its web redirect URI): a confidential client with a secret.
web_pw = graph("POST", f"applications/{cli['id']}/addPassword", {"passwordCredential": {"displayName": "web"}})
graph_sp = graph("GET", "servicePrincipals?$filter=appId eq '00000003-0000-0000-c000-000000000000'")["value"][0]
for resource, scope in ((graph_sp["id"], "User.Read"), (api_sp["id"], "access_as_user")):
    graph("POST", "oauth2PermissionGrants", {"clientId": cli_sp["id"], "consentType": "AllPrincipals",
                                             "resourceId": resource, "scope": scope})
# The Reports API is also a middle tier: with a secret of its own and an administrator's consent to Graph's
# User.Read, it calls Graph on behalf of the user whose token it received.
api_pw = graph("POST", f"applications/{api['id']}/addPassword", {"passwordCredential": {"displayName": "obo"}})
graph("POST", "oauth2PermissionGrants", {"clientId": api_sp["id"], "consentType": "AllPrincipals",
                                         "resourceId": graph_sp["id"], "scope": "User.Read"})
user_password = f"Interop-{uuid.uuid4().hex[:12]}-1"
user = graph("POST", "users", {
    "accountEnabled": True, "displayName": "Alice Example", "mailNickname": "alice",
    "userPrincipalName": f"alice@{boot['domain']}",
    "passwordProfile": {"password": user_password, "forceChangePasswordNextSignIn": False}})

# The external issuer: a resource for api://AzureADTokenExchange (v2 tokens) and a workload with a secret.
ext = Server(ext_base, ext_boot_path, ext_ca)
exchange = ext.graph("POST", "applications", {
    "displayName": "Token exchange", "identifierUris": ["api://AzureADTokenExchange"],
    "api": {"requestedAccessTokenVersion": 2}})
ext.graph("POST", "servicePrincipals", {"appId": exchange["appId"]})
workload = ext.graph("POST", "applications", {"displayName": "CI runner"})
workload_sp = ext.graph("POST", "servicePrincipals", {"appId": workload["appId"]})
workload_pw = ext.graph("POST", f"applications/{workload['id']}/addPassword", {})
graph("POST", f"applications/{daemon['id']}/federatedIdentityCredentials", {
    "name": "ci-runner", "issuer": f"{ext_base}/{ext.tid}/v2.0", "subject": workload_sp["id"],
    "audiences": [exchange["appId"]]})

# The second organisation and its user.
fabrikam = Server(base, second_boot_path, ca)
bob_password = f"Interop-{uuid.uuid4().hex[:12]}-2"
bob = fabrikam.graph("POST", "users", {
    "accountEnabled": True, "displayName": "Bob Fabrikam", "mailNickname": "bob",
    "userPrincipalName": f"bob@{fabrikam.boot['domain']}",
    "passwordProfile": {"password": bob_password, "forceChangePasswordNextSignIn": False}})

json.dump({
    "b_tenant_id": fabrikam.tid, "b_admin_id": fabrikam.boot["clientId"],
    "b_admin_secret": fabrikam.boot["clientSecret"], "b_admin_upn": fabrikam.boot["adminUserPrincipalName"],
    "b_admin_password": fabrikam.boot["adminPassword"], "b_user_upn": bob["userPrincipalName"],
    "b_user_password": bob_password, "b_user_id": bob["id"],
    "ext_token_endpoint": f"{ext_base}/{ext.tid}/oauth2/v2.0/token", "ext_ca": ext_ca,
    "workload_id": workload["appId"], "workload_secret": workload_pw["secretText"],
    "exchange_scope": "api://AzureADTokenExchange/.default",
    "base": base, "tenant_id": tid, "domain": boot["domain"], "ca": ca,
    "admin_upn": boot.get("adminUserPrincipalName"), "admin_password": boot.get("adminPassword"),
    "client_id": daemon["appId"], "client_secret": pw["secretText"], "client_sp_id": daemon_sp["id"],
    "api_app_id": api["appId"], "api_scope": "api://reports/.default",
    "issuer_v2": f"{base}/{tid}/v2.0", "jwks_uri": f"{base}/{tid}/discovery/v2.0/keys",
    "public_client_id": cli["appId"], "user_upn": user["userPrincipalName"], "user_id": user["id"],
    "user_password": user_password, "api_user_scope": "api://reports/access_as_user",
    "web_redirect": web_redirect, "web_secret": web_pw["secretText"], "api_secret": api_pw["secretText"],
}, open(out, "w"), indent=2)
print(f"fixture written to {out}")
