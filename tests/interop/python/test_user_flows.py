"""A user's flows with real Python clients, unmodified: MSAL Python's PublicClientApplication with the
user's name and password (its realm lookup goes to https://localhost/common/userrealm on port 443),
acquire_token_silent served from the cache and then through the refresh token, interactive sign-in and
the confidential auth-code flow through the sign-in pages (driven by browser.py), the device flow,
ConfidentialClientApplication.acquire_token_on_behalf_of (an API calling Graph as the user), and
azure-identity's UsernamePasswordCredential, InteractiveBrowserCredential, AuthorizationCodeCredential and
DeviceCodeCredential. The tokens are
validated by PyJWT against the JWKS and used at /v1.0/me.
"""
import json
import os
import ssl
import sys
import threading
from urllib.parse import parse_qsl, urlencode, urlparse

import jwt
import msal
import requests
from azure.identity import (AuthorizationCodeCredential, DeviceCodeCredential, InteractiveBrowserCredential,
                            UsernamePasswordCredential)

FIX = json.load(open(os.environ["GATEHOUSE_FIXTURE"]))
AUTHORITY = f"{FIX['base']}/{FIX['tenant_id']}"


def pca():
    return msal.PublicClientApplication(FIX["public_client_id"], authority=AUTHORITY, instance_discovery=False)


def me(access_token):
    r = requests.get(f"{FIX['base']}/v1.0/me", headers={"Authorization": f"Bearer {access_token}"},
                     verify=FIX["ca"])
    assert r.status_code == 200, r.text
    return r.json()


def test_msal_password_sign_in_then_silent_from_cache_then_through_the_refresh_token():
    app = pca()
    first = app.acquire_token_by_username_password(FIX["user_upn"], FIX["user_password"], scopes=["User.Read"])
    assert "access_token" in first, first
    assert first["token_source"] == "identity_provider"
    assert first["id_token_claims"]["preferred_username"] == FIX["user_upn"]
    assert first["id_token_claims"]["oid"] == FIX["user_id"]
    assert me(first["access_token"])["id"] == FIX["user_id"]

    # The account MSAL built from client_info is the user's, in the tenant's realm.
    [account] = app.get_accounts()
    assert account["home_account_id"] == f"{FIX['user_id']}.{FIX['tenant_id']}"
    assert account["username"] == FIX["user_upn"]

    cached = app.acquire_token_silent(["User.Read"], account=account)
    assert cached["token_source"] == "cache"
    assert cached["access_token"] == first["access_token"]

    refreshed = app.acquire_token_silent(["User.Read"], account=account, force_refresh=True)
    assert refreshed["token_source"] == "identity_provider", refreshed
    assert refreshed["access_token"] != first["access_token"]
    assert me(refreshed["access_token"])["userPrincipalName"] == FIX["user_upn"]

    # The same refresh token family gets a token for the API (v2), validated as a resource server would.
    api = app.acquire_token_silent([FIX["api_user_scope"]], account=account)
    assert "access_token" in api, api
    jwks = jwt.PyJWKClient(FIX["jwks_uri"], ssl_context=ssl.create_default_context(cafile=FIX["ca"]))
    claims = jwt.decode(api["access_token"], jwks.get_signing_key_from_jwt(api["access_token"]),
                        algorithms=["RS256"], audience=FIX["api_app_id"], issuer=FIX["issuer_v2"])
    assert claims["scp"] == "access_as_user"
    assert claims["oid"] == FIX["user_id"]
    assert claims["azp"] == FIX["public_client_id"] and claims["azpacr"] == "0"


def test_msal_reports_a_wrong_password_as_entra_does():
    result = pca().acquire_token_by_username_password(FIX["user_upn"], "Not-The-Password-1", scopes=["User.Read"])
    assert result["error"] == "invalid_grant"
    assert result["error_codes"] == [50126]


def test_msal_reports_missing_consent_as_entra_does():
    result = pca().acquire_token_by_username_password(
        FIX["user_upn"], FIX["user_password"], scopes=["https://graph.microsoft.com/User.ReadBasic.All"])
    assert result["error_codes"] == [65001], result
    assert result["suberror"] == "consent_required"


def test_msal_on_behalf_of_a_user_the_api_calls_graph():
    # The user's token for the Reports API, which the API then trades for Graph's, as the same user.
    incoming = pca().acquire_token_by_username_password(
        FIX["user_upn"], FIX["user_password"], scopes=[FIX["api_user_scope"]])
    assert "access_token" in incoming, incoming
    api = msal.ConfidentialClientApplication(FIX["api_app_id"], client_credential=FIX["api_secret"],
                                             authority=AUTHORITY, instance_discovery=False)
    result = api.acquire_token_on_behalf_of(incoming["access_token"], ["https://graph.microsoft.com/User.Read"])
    assert "access_token" in result, result
    claims = jwt.decode(result["access_token"], options={"verify_signature": False})
    assert (claims["aud"], claims["appid"], claims["oid"]) == (
        "https://graph.microsoft.com", FIX["api_app_id"], FIX["user_id"])
    assert me(result["access_token"])["id"] == FIX["user_id"]
    # An application's token is not a user's to exchange.
    app_only = api.acquire_token_for_client([FIX["api_scope"]])
    refused = api.acquire_token_on_behalf_of(app_only["access_token"], ["https://graph.microsoft.com/User.Read"])
    assert refused.get("error_codes") == [50013], refused


def test_azure_identity_username_password_credential():
    cred = UsernamePasswordCredential(
        FIX["public_client_id"], FIX["user_upn"], FIX["user_password"], tenant_id=FIX["tenant_id"],
        authority=FIX["base"], disable_instance_discovery=True, connection_verify=FIX["ca"])
    token = cred.get_token("User.Read")
    assert me(token.token)["userPrincipalName"] == FIX["user_upn"]


# The interactive flows: Gatehouse's sign-in pages, driven by the scripted browser (browser.py).
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import browser  # noqa: E402


def use_scripted_browser(monkeypatch, tmp_path):
    """Python's webbrowser (which MSAL's and azure-identity's interactive flows use) runs browser.py. Its
    BROWSER must name one executable (it does not split arguments), hence the wrapper script."""
    wrapper = tmp_path / "browser"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{os.path.join(HERE, "browser.py")}" "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.setenv("BROWSER", str(wrapper))
    monkeypatch.setenv("GATEHOUSE_BROWSER_LOG", str(tmp_path / "browser.log"))


def test_msal_interactive_sign_in_through_the_pages(monkeypatch, tmp_path):
    use_scripted_browser(monkeypatch, tmp_path)
    app = pca()
    result = app.acquire_token_interactive(["User.Read"], timeout=60)
    assert "access_token" in result, (result, (tmp_path / "browser.log").read_text())
    assert result["id_token_claims"]["preferred_username"] == FIX["user_upn"]
    assert me(result["access_token"])["id"] == FIX["user_id"]
    [account] = app.get_accounts()
    refreshed = app.acquire_token_silent(["User.Read"], account=account, force_refresh=True)
    assert refreshed["token_source"] == "identity_provider", refreshed


def test_msal_confidential_auth_code_flow_with_pkce_and_nonce():
    cca = msal.ConfidentialClientApplication(FIX["public_client_id"], client_credential=FIX["web_secret"],
                                             authority=AUTHORITY, instance_discovery=False)
    flow = cca.initiate_auth_code_flow(["User.Read"], redirect_uri=FIX["web_redirect"])
    assert "code_challenge" in flow["auth_uri"]
    final = browser.sign_in(flow["auth_uri"], FIX["user_upn"], FIX["user_password"], FIX["ca"], follow=False)
    params = dict(parse_qsl(urlparse(final).query))
    result = cca.acquire_token_by_auth_code_flow(flow, params)
    assert "access_token" in result, result
    # MSAL checked the nonce and state itself; the account is the user's.
    assert result["id_token_claims"]["oid"] == FIX["user_id"]
    assert me(result["access_token"])["userPrincipalName"] == FIX["user_upn"]


def test_azure_identity_interactive_browser_credential(monkeypatch, tmp_path):
    use_scripted_browser(monkeypatch, tmp_path)
    cred = InteractiveBrowserCredential(
        client_id=FIX["public_client_id"], tenant_id=FIX["tenant_id"], authority=FIX["base"],
        disable_instance_discovery=True, connection_verify=FIX["ca"], timeout=60)
    token = cred.get_token("User.Read")
    assert me(token.token)["userPrincipalName"] == FIX["user_upn"], (tmp_path / "browser.log").read_text()


def test_azure_identity_authorization_code_credential():
    query = urlencode({"client_id": FIX["public_client_id"], "response_type": "code", "scope": "User.Read",
                       "redirect_uri": FIX["web_redirect"], "state": "azure-identity"})
    final = browser.sign_in(f"{AUTHORITY}/oauth2/v2.0/authorize?{query}", FIX["user_upn"], FIX["user_password"],
                            FIX["ca"], follow=False)
    params = dict(parse_qsl(urlparse(final).query))
    assert params["state"] == "azure-identity"
    cred = AuthorizationCodeCredential(
        FIX["tenant_id"], FIX["public_client_id"], params["code"], FIX["web_redirect"],
        client_secret=FIX["web_secret"], authority=FIX["base"], connection_verify=FIX["ca"])
    token = cred.get_token("User.Read")
    assert me(token.token)["userPrincipalName"] == FIX["user_upn"]


def approve_in_background(user_code):
    """The user, at /devicelogin in another thread, while the client polls."""
    t = threading.Thread(target=browser.device_login,
                         args=(FIX["base"], user_code, FIX["user_upn"], FIX["user_password"], FIX["ca"]))
    t.start()
    return t


def test_msal_device_flow():
    app = pca()
    flow = app.initiate_device_flow(scopes=["User.Read"])
    assert flow["verification_uri"] == f"{FIX['base']}/devicelogin", flow
    user = approve_in_background(flow["user_code"])
    result = app.acquire_token_by_device_flow(flow)
    user.join()
    assert "access_token" in result, result
    assert result["id_token_claims"]["oid"] == FIX["user_id"]
    assert me(result["access_token"])["userPrincipalName"] == FIX["user_upn"]


def test_azure_identity_device_code_credential():
    threads = []
    cred = DeviceCodeCredential(
        client_id=FIX["public_client_id"], tenant_id=FIX["tenant_id"], authority=FIX["base"],
        disable_instance_discovery=True, connection_verify=FIX["ca"],
        prompt_callback=lambda uri, code, expires: threads.append(approve_in_background(code)))
    token = cred.get_token("User.Read")
    for t in threads:
        t.join()
    assert me(token.token)["userPrincipalName"] == FIX["user_upn"]
