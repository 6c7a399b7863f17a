"""APIs that validate Gatehouse's user tokens with real, unmodified middleware written for Entra:
fastapi-azure-auth in a FastAPI app (driven in-process by FastAPI's TestClient). It reads the tenant's
OpenID configuration and keys from Gatehouse, checks signature, issuer, audience, lifetime and the
delegated scope, and answers 401 without a valid token and 403 without the scope, as for Entra.
"""
import json
import os

import msal
from fastapi import FastAPI, Security
from fastapi.testclient import TestClient
from fastapi_azure_auth.auth import AzureAuthorizationCodeBearerBase

FIX = json.load(open(os.environ["GATEHOUSE_FIXTURE"]))
AUTHORITY = f"{FIX['base']}/{FIX['tenant_id']}"


def reports_api():
    """The sample API's user route, on fastapi-azure-auth: needs the access_as_user scope."""
    scheme = AzureAuthorizationCodeBearerBase(
        app_client_id=FIX["api_app_id"], tenant_id=FIX["tenant_id"],
        scopes={FIX["api_user_scope"]: "Read reports as the user"},
        openid_config_url=f"{AUTHORITY}/v2.0/.well-known/openid-configuration",
        http_client_config={"verify": FIX["ca"]})
    app = FastAPI()

    @app.get("/me/reports")
    async def my_reports(user=Security(scheme, scopes=["access_as_user"])):
        return {"oid": user.claims["oid"], "tid": user.claims["tid"], "scp": user.claims["scp"]}

    @app.get("/admin/reports")
    async def all_reports(user=Security(scheme, scopes=["Reports.ReadAll"])):
        return {"oid": user.claims["oid"]}

    return TestClient(app)


def user_token(scope):
    app = msal.PublicClientApplication(FIX["public_client_id"], authority=AUTHORITY, instance_discovery=False)
    result = app.acquire_token_by_username_password(FIX["user_upn"], FIX["user_password"], scopes=[scope])
    assert "access_token" in result, result
    return result["access_token"]


def test_fastapi_azure_auth_accepts_a_users_token_and_refuses_the_rest():
    api = reports_api()
    token = user_token(FIX["api_user_scope"])
    bearer = {"Authorization": f"Bearer {token}"}
    r = api.get("/me/reports", headers=bearer)
    assert r.status_code == 200, r.text
    assert r.json() == {"oid": FIX["user_id"], "tid": FIX["tenant_id"], "scp": "access_as_user"}

    # No token, a token for another audience (Graph), a tampered token: 401. A valid token without
    # the route's scope: 403.
    assert api.get("/me/reports").status_code == 401
    graph = user_token("User.Read")
    assert api.get("/me/reports", headers={"Authorization": f"Bearer {graph}"}).status_code in (401, 403)
    head, body, sig = token.split(".")
    tampered = f"{head}.{body}.{sig[:-4]}AAAA"
    assert api.get("/me/reports", headers={"Authorization": f"Bearer {tampered}"}).status_code == 401
    assert api.get("/admin/reports", headers=bearer).status_code == 403
