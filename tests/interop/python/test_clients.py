"""Real Python clients, unmodified, against a running Gatehouse: MSAL, azure-identity, PyJWT.

Every token is then validated by PyJWT's PyJWKClient against the published JWKS.
"""
import asyncio
import json
import os
import ssl
import time

import jwt
import msal
from azure.identity import ClientSecretCredential
from azure.identity.aio import ClientSecretCredential as AsyncClientSecretCredential

FIX = json.load(open(os.environ["GATEHOUSE_FIXTURE"]))
AUTHORITY = f"{FIX['base']}/{FIX['tenant_id']}"


def verify_with_pyjwt(token):
    jwks = jwt.PyJWKClient(FIX["jwks_uri"], ssl_context=ssl.create_default_context(cafile=FIX["ca"]))
    key = jwks.get_signing_key_from_jwt(token)
    claims = jwt.decode(token, key, algorithms=["RS256"], audience=FIX["api_app_id"], issuer=FIX["issuer_v2"])
    assert claims["roles"] == ["Reports.Read"]
    assert claims["azp"] == FIX["client_id"]
    assert claims["oid"] == claims["sub"] == FIX["client_sp_id"]
    return claims


def cca(authority=AUTHORITY, secret=None):
    return msal.ConfidentialClientApplication(
        FIX["client_id"], client_credential=secret or FIX["client_secret"], authority=authority,
        instance_discovery=False)


def test_msal_confidential_client_serves_the_second_call_from_its_cache():
    app = cca()
    first = app.acquire_token_for_client([FIX["api_scope"]])
    assert "access_token" in first, first
    assert first["token_source"] == "identity_provider"
    second = app.acquire_token_for_client([FIX["api_scope"]])
    assert second["token_source"] == "cache"
    assert second["access_token"] == first["access_token"]
    verify_with_pyjwt(first["access_token"])


def test_msal_accepts_the_verified_domain_as_authority():
    result = cca(authority=f"{FIX['base']}/{FIX['domain']}").acquire_token_for_client([FIX["api_scope"]])
    assert "access_token" in result, result
    verify_with_pyjwt(result["access_token"])


def test_msal_reports_a_wrong_secret_as_entra_does():
    result = cca(secret="not-the-secret").acquire_token_for_client([FIX["api_scope"]])
    assert result["error"] == "invalid_client"
    assert result["error_codes"] == [7000215]
    assert result["error_description"].startswith("AADSTS7000215:")


def test_azure_identity_client_secret_credential():
    cred = ClientSecretCredential(
        FIX["tenant_id"], FIX["client_id"], FIX["client_secret"], authority=FIX["base"],
        disable_instance_discovery=True, connection_verify=FIX["ca"])
    token = cred.get_token(FIX["api_scope"])
    assert 3500 < token.expires_on - time.time() <= 3600
    verify_with_pyjwt(token.token)
    assert cred.get_token(FIX["api_scope"]).token == token.token


def test_azure_identity_async_client_secret_credential():
    async def get():
        async with AsyncClientSecretCredential(
                FIX["tenant_id"], FIX["client_id"], FIX["client_secret"], authority=FIX["base"],
                disable_instance_discovery=True) as cred:
            return await cred.get_token(FIX["api_scope"])

    token = asyncio.run(get())
    verify_with_pyjwt(token.token)


def test_pyjwt_refuses_a_token_for_another_audience():
    token = cca().acquire_token_for_client([FIX["api_scope"]])["access_token"]
    jwks = jwt.PyJWKClient(FIX["jwks_uri"], ssl_context=ssl.create_default_context(cafile=FIX["ca"]))
    key = jwks.get_signing_key_from_jwt(token)
    try:
        jwt.decode(token, key, algorithms=["RS256"], audience="api://someone-else", issuer=FIX["issuer_v2"])
    except jwt.InvalidAudienceError:
        return
    raise AssertionError("a token for another audience was accepted")
