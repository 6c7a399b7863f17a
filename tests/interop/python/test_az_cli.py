"""The real Azure CLI, unmodified, against Gatehouse as a registered cloud (README, "The az CLI").

`az cloud register` points the cloud's login endpoint, resource manager and Microsoft Graph at the
server; `az login --service-principal --allow-no-subscriptions` signs in with the management
application; then the `az ad` journey runs through the Graph API. Each command is a real `az` process.
"""
import json
import os
import subprocess
import uuid

import pytest

FIX = json.load(open(os.environ["GATEHOUSE_FIXTURE"]))
AZ = os.environ["GATEHOUSE_AZ"]
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
APPLICATION_READ_ALL = "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30"


def az(*args, ok=True):
    env = dict(os.environ, AZURE_CONFIG_DIR=FIX["az_config_dir"], REQUESTS_CA_BUNDLE=FIX["ca"],
               AZURE_CORE_COLLECT_TELEMETRY="false", AZURE_CORE_ONLY_SHOW_ERRORS="true")
    p = subprocess.run([AZ, *args], env=env, capture_output=True, text=True, timeout=120)
    if ok:
        assert p.returncode == 0, f"az {' '.join(args)}\n{p.stderr}"
        return json.loads(p.stdout) if p.stdout.strip() else None
    assert p.returncode != 0, f"az {' '.join(args)} should have failed"
    return p.stderr


@pytest.fixture(scope="module")
def signed_in():
    base = FIX["base"]
    az("cloud", "register", "-n", "Gatehouse", "--skip-endpoint-discovery",
       "--endpoint-active-directory", base,
       "--endpoint-active-directory-resource-id", f"{base}/",
       "--endpoint-resource-manager", f"{base}/",
       "--endpoint-microsoft-graph-resource-id", f"{base}/",
       "--endpoint-active-directory-graph-resource-id", f"{base}/")
    az("cloud", "set", "-n", "Gatehouse")
    az("config", "set", "core.instance_discovery=false")
    accounts = az("login", "--service-principal", "-u", FIX["admin_id"], "-p", FIX["admin_secret"],
                  "--tenant", FIX["tenant_id"], "--allow-no-subscriptions")
    assert accounts[0]["tenantId"] == FIX["tenant_id"]
    assert accounts[0]["user"] == {"name": FIX["admin_id"], "type": "servicePrincipal"}
    return True


def test_az_ad_app_journey(signed_in):
    name = f"az-{uuid.uuid4().hex[:8]}"
    app = az("ad", "app", "create", "--display-name", name, "--sign-in-audience", "AzureADMyOrg")
    app_id = app["appId"]
    assert app["displayName"] == name

    az("ad", "app", "update", "--id", app_id, "--identifier-uris", f"api://{app_id}",
       "--web-redirect-uris", "https://localhost/callback")
    shown = az("ad", "app", "show", "--id", app_id)
    assert shown["identifierUris"] == [f"api://{app_id}"]
    assert shown["web"]["redirectUris"] == ["https://localhost/callback"]

    # az's own filters: startswith(displayName,…), identifierUris/any(s:s eq …), appId eq …
    assert [a["appId"] for a in az("ad", "app", "list", "--display-name", name)] == [app_id]
    assert [a["appId"] for a in az("ad", "app", "list", "--identifier-uri", f"api://{app_id}")] == [app_id]
    assert [a["appId"] for a in az("ad", "app", "list", "--app-id", app_id)] == [app_id]
    assert app_id in [a["appId"] for a in az("ad", "app", "list", "--all")]

    # Credentials: reset (appended) prints the secret once; list and delete by key id.
    cred = az("ad", "app", "credential", "reset", "--id", app_id, "--append", "--display-name", "ci")
    assert cred["appId"] == app_id and cred["tenant"] == FIX["tenant_id"] and len(cred["password"]) >= 40
    listed = az("ad", "app", "credential", "list", "--id", app_id)
    assert [c["displayName"] for c in listed] == ["ci"]
    az("ad", "app", "credential", "delete", "--id", app_id, "--key-id", listed[0]["keyId"])
    assert az("ad", "app", "credential", "list", "--id", app_id) == []

    # Service principal: create, list (by display name), show by appId and by its name, delete.
    sp = az("ad", "sp", "create", "--id", app_id)
    assert sp["appId"] == app_id
    assert [s["id"] for s in az("ad", "sp", "list", "--display-name", name)] == [sp["id"]]
    assert az("ad", "sp", "show", "--id", app_id)["id"] == sp["id"]
    assert az("ad", "sp", "show", "--id", f"api://{app_id}")["id"] == sp["id"]

    # API permissions: add, list, delete (add checks nothing in az; Gatehouse's CLI does).
    az("ad", "app", "permission", "add", "--id", app_id, "--api", GRAPH_APP_ID,
       "--api-permissions", f"{APPLICATION_READ_ALL}=Role")
    perms = az("ad", "app", "permission", "list", "--id", app_id)
    assert perms == [{"resourceAppId": GRAPH_APP_ID,
                      "resourceAccess": [{"id": APPLICATION_READ_ALL, "type": "Role"}]}]
    az("ad", "app", "permission", "delete", "--id", app_id, "--api", GRAPH_APP_ID)
    assert az("ad", "app", "permission", "list", "--id", app_id) == []

    # Delegated grants: a second grant replaces the first (az deletes it at /oAuth2PermissionGrants/{id}).
    az("ad", "app", "permission", "grant", "--id", app_id, "--api", GRAPH_APP_ID, "--scope", "User.Read")
    az("ad", "app", "permission", "grant", "--id", app_id, "--api", GRAPH_APP_ID, "--scope", "User.Read", "openid")
    grants = az("ad", "app", "permission", "list-grants", "--id", app_id)
    assert [(g["consentType"], g["scope"]) for g in grants] == [("AllPrincipals", "User.Read openid")]

    # Graph's errors reach the user as az prints them.
    err = az("ad", "app", "show", "--id", str(uuid.uuid4()), ok=False)
    assert "does not exist" in err or "not found" in err.lower(), err

    az("ad", "sp", "delete", "--id", app_id)
    az("ad", "app", "delete", "--id", app_id)
    assert az("ad", "app", "list", "--app-id", app_id) == []


def test_az_rest_and_account_token_reach_graph(signed_in):
    token = az("account", "get-access-token", "--resource", f"{FIX['base']}/")
    assert token["tenant"] == FIX["tenant_id"]
    org = az("rest", "--method", "get", "--url", f"{FIX['base']}/v1.0/organization")
    assert org["value"][0]["id"] == FIX["tenant_id"]


def test_az_ad_user_journey(signed_in):
    domain = FIX["domain"]
    upn = f"az-{uuid.uuid4().hex[:8]}@{domain}"
    user = az("ad", "user", "create", "--display-name", "Az User", "--user-principal-name", upn,
              "--password", "Correct-Horse-9", "--force-change-password-next-sign-in")
    assert user["userPrincipalName"] == upn and user["mailNickname"] == upn.split("@")[0]
    assert az("ad", "user", "show", "--id", upn.upper())["id"] == user["id"]
    az("ad", "user", "update", "--id", upn, "--display-name", "Az User Renamed", "--account-enabled", "false")
    listed = az("ad", "user", "list", "--display-name", "Az User")
    assert [(u["displayName"], u["accountEnabled"]) for u in listed] == [("Az User Renamed", False)]
    assert [u["id"] for u in az("ad", "user", "list", "--upn", upn)] == [user["id"]]
    err = az("ad", "user", "create", "--display-name", "Weak", "--user-principal-name", f"weak@{domain}",
             "--password", "weak", ok=False)
    assert "complexity" in err, err
    az("ad", "user", "delete", "--id", upn)
    assert az("ad", "user", "list", "--upn", upn) == []
