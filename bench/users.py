"""Setup for bench/users.sh, through Gatehouse's own Graph API and sign-in pages: a web app with a secret
and a redirect URI that also allows public client flows, consented (admin, for everyone) to Graph's
User.Read; a user; a browser session for that user (the session cookie); 64 refresh tokens (64 sign-ins).
Prints one JSON object. Usage: users.py BASE BOOTSTRAP_JSON CA_PEM
"""
import json
import re
import sys
import urllib.parse

import requests

base, boot_path, ca = sys.argv[1:4]
text = open(boot_path).read()
boot = json.loads(text[text.index("{"):text.rindex("}") + 1])
tid = boot["tenantId"]
s = requests.Session()
s.verify, s.trust_env = ca, False


def token(form):
    r = s.post(f"{base}/{tid}/oauth2/v2.0/token", data=form)
    r.raise_for_status()
    return r.json()


admin = token({"grant_type": "client_credentials", "client_id": boot["clientId"],
               "client_secret": boot["clientSecret"], "scope": "https://graph.microsoft.com/.default"})
h = {"Authorization": f"Bearer {admin['access_token']}"}


def graph(method, path, body=None):
    r = s.request(method, f"{base}/v1.0/{path}", json=body, headers=h)
    assert r.status_code < 300, (path, r.text)
    return r.json() if r.content else None


redirect = "https://app.example/signin-oidc"
app = graph("POST", "applications", {"displayName": "Bench web app", "isFallbackPublicClient": True,
                                     "web": {"redirectUris": [redirect]}})
sp = graph("POST", "servicePrincipals", {"appId": app["appId"]})
secret = graph("POST", f"applications/{app['id']}/addPassword", {})["secretText"]
graph_sp = graph("GET", "servicePrincipals?$filter=appId eq '00000003-0000-0000-c000-000000000000'")["value"][0]
graph("POST", "oauth2PermissionGrants", {"clientId": sp["id"], "consentType": "AllPrincipals",
                                         "resourceId": graph_sp["id"], "scope": "User.Read"})
password = "Bench-Password-1"
graph("POST", "users", {"accountEnabled": True, "displayName": "Bench User", "mailNickname": "bench",
                        "userPrincipalName": f"bench@{boot['domain']}",
                        "passwordProfile": {"password": password, "forceChangePasswordNextSignIn": False}})
upn = f"bench@{boot['domain']}"

# A browser session: the sign-in pages once, by their field names.
browser = requests.Session()
browser.verify, browser.trust_env = ca, False
q = urllib.parse.urlencode({"client_id": app["appId"], "response_type": "code", "scope": "User.Read",
                            "redirect_uri": redirect})
page = browser.get(f"{base}/{tid}/oauth2/v2.0/authorize?{q}")
field = lambda html, name: re.search(rf'name="{name}" value="([^"]*)"', html).group(1)
action = f"{base}/{tid}/login"
page = browser.post(action, data={"ctx": field(page.text, "ctx"), "canary": field(page.text, "canary"),
                                  "loginfmt": upn})
done = browser.post(action, data={"ctx": field(page.text, "ctx"), "canary": field(page.text, "canary"),
                                  "loginfmt": upn, "passwd": password}, allow_redirects=False)
assert done.status_code == 302, done.text
cookie = "; ".join(f"{c.name}={c.value}" for c in browser.cookies if "session" in c.name)

quote = lambda v: urllib.parse.quote(v, safe="")
# Sixty-four sign-ins, so that the refresh load spreads over sixty-four families, as many clients would.
refresh_bodies = []
for _ in range(64):
    rt = token({"grant_type": "password", "client_id": app["appId"], "username": upn, "password": password,
                "scope": "User.Read offline_access"})["refresh_token"]
    refresh_bodies.append(f"grant_type=refresh_token&client_id={app['appId']}&refresh_token={quote(rt)}"
                          "&scope=User.Read%20offline_access")
print(json.dumps({
    "tenant": tid, "client_id": app["appId"], "secret": secret, "redirect": redirect, "cookie": cookie,
    "password_body": f"grant_type=password&client_id={app['appId']}&username={quote(upn)}&password={quote(password)}&scope=User.Read",
    "refresh_bodies": "\n".join(refresh_bodies),
}))
