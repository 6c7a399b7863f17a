"""Certificates and federated credentials with real Python clients, unmodified: MSAL with a SHA-1
thumbprint (RS256 + x5t) and with a public certificate (PS256 + x5t#S256 + x5c), azure-identity's CertificateCredential sync and aio, with
and without the certificate chain, and ClientAssertionCredential with a token from an external issuer.
Every token is validated by PyJWT's PyJWKClient.
"""
import asyncio
import json
import os
import re

import msal
import requests
from azure.identity import CertificateCredential, ClientAssertionCredential
from azure.identity.aio import CertificateCredential as AsyncCertificateCredential
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from test_clients import AUTHORITY, FIX, verify_with_pyjwt

PEM = open(FIX["client_pem"]).read()
PRIVATE_KEY = re.search(r"-----BEGIN PRIVATE KEY-----.+?-----END PRIVATE KEY-----", PEM, re.S).group(0)
CERTIFICATE = re.search(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", PEM, re.S).group(0)
SHA1 = x509.load_pem_x509_certificate(CERTIFICATE.encode()).fingerprint(hashes.SHA1()).hex().upper()


def certificate_token(credential):
    app = msal.ConfidentialClientApplication(
        FIX["client_id"], client_credential=credential, authority=AUTHORITY, instance_discovery=False)
    result = app.acquire_token_for_client([FIX["api_scope"]])
    assert "access_token" in result, result
    claims = verify_with_pyjwt(result["access_token"])
    assert claims["azpacr"] == "2", "authenticated with a certificate"
    return result


def test_msal_with_a_sha1_thumbprint():
    certificate_token({"private_key": PRIVATE_KEY, "thumbprint": SHA1})


def test_msal_with_a_public_certificate_sends_ps256_and_x5c():
    certificate_token({"private_key": PRIVATE_KEY, "public_certificate": CERTIFICATE})


def test_msal_reports_an_unregistered_thumbprint_as_entra_does():
    app = msal.ConfidentialClientApplication(
        FIX["client_id"], client_credential={"private_key": PRIVATE_KEY, "thumbprint": "00" * 20},
        authority=AUTHORITY, instance_discovery=False)
    result = app.acquire_token_for_client([FIX["api_scope"]])
    assert result["error"] == "invalid_client"
    assert result["error_codes"] == [700027]


def test_azure_identity_certificate_credential_with_and_without_the_chain():
    for chain in (False, True):
        cred = CertificateCredential(
            FIX["tenant_id"], FIX["client_id"], certificate_path=FIX["client_pem"], authority=FIX["base"],
            disable_instance_discovery=True, connection_verify=FIX["ca"], send_certificate_chain=chain)
        verify_with_pyjwt(cred.get_token(FIX["api_scope"]).token)


def test_azure_identity_async_certificate_credential_with_and_without_the_chain():
    async def get(chain):
        async with AsyncCertificateCredential(
                FIX["tenant_id"], FIX["client_id"], certificate_path=FIX["client_pem"], authority=FIX["base"],
                disable_instance_discovery=True, send_certificate_chain=chain) as cred:
            return await cred.get_token(FIX["api_scope"])

    for chain in (False, True):
        verify_with_pyjwt(asyncio.run(get(chain)).token)


def external_assertion():
    """What a CI runner holds: a token its own issuer (the second Gatehouse) gave it."""
    r = requests.post(FIX["ext_token_endpoint"], verify=FIX["ext_ca"], data={
        "grant_type": "client_credentials", "client_id": FIX["workload_id"],
        "client_secret": FIX["workload_secret"], "scope": FIX["exchange_scope"]})
    r.raise_for_status()
    return r.json()["access_token"]


def test_azure_identity_client_assertion_credential_with_a_federated_token():
    calls = []

    def func():
        calls.append(1)
        return external_assertion()

    cred = ClientAssertionCredential(
        FIX["tenant_id"], FIX["client_id"], func, authority=FIX["base"], disable_instance_discovery=True,
        connection_verify=FIX["ca"])
    token = cred.get_token(FIX["api_scope"])
    claims = verify_with_pyjwt(token.token)
    assert claims["azpacr"] == "2"
    assert calls, "the credential asked for the external assertion"
