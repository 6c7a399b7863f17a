"""Managed identities and DefaultAzureCredential with real Python clients, unmodified: the process is
given only the environment `gatehouse identity env` prints (IDENTITY_ENDPOINT, IDENTITY_HEADER,
AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_AUTHORITY_HOST), and azure-identity (sync and aio) and MSAL
Python's ManagedIdentityClient get Key Vault and Storage tokens over the App Service protocol; with
AZURE_POD_IDENTITY_AUTHORITY_HOST instead, over the instance-metadata protocol. EnvironmentCredential
and WorkloadIdentityCredential (a federated token file) are reached through DefaultAzureCredential the
same way. PyJWT checks every token against the published keys with the resource's audience, and
refuses it for another resource.
"""
import asyncio
import json
import os
import ssl
import subprocess

import jwt
import msal
import pytest
import requests
from azure.identity import DefaultAzureCredential, ManagedIdentityCredential
from azure.identity.aio import DefaultAzureCredential as AsyncDefaultAzureCredential
from azure.identity.aio import ManagedIdentityCredential as AsyncManagedIdentityCredential

from test_clients import FIX
from test_credentials import external_assertion

VAULT = "https://vault.azure.net"
STORAGE = "https://storage.azure.com"
# Variables that would make azure-identity pick another source than the one a test means.
SOURCES = ["IDENTITY_ENDPOINT", "IDENTITY_HEADER", "IDENTITY_SERVER_THUMBPRINT", "IMDS_ENDPOINT", "MSI_ENDPOINT",
           "MSI_SECRET", "AZURE_POD_IDENTITY_AUTHORITY_HOST", "AZURE_CLIENT_ID", "AZURE_TENANT_ID",
           "AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_USERNAME", "AZURE_PASSWORD",
           "AZURE_FEDERATED_TOKEN_FILE", "AZURE_AUTHORITY_HOST", "AZURE_TOKEN_CREDENTIALS"]


def identity_env(name):
    """What `gatehouse identity env --name NAME` prints, as the README's recipe evals it."""
    out = subprocess.run(
        [FIX["gatehouse_bin"], "identity", "env", "--name", name, "--data-dir", FIX["data_dir"],
         "--tenant", FIX["tenant_id"], "--endpoint", FIX["identity_endpoint"], "--authority-host", FIX["base"]],
        check=True, capture_output=True, text=True).stdout
    env = {}
    for line in out.splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        env[key] = value.strip("'")
    return env


@pytest.fixture
def environment(monkeypatch):
    """Sets exactly the given variables (and none of the other sources')."""
    def use(variables):
        for key in SOURCES:
            monkeypatch.delenv(key, raising=False)
        for key, value in variables.items():
            monkeypatch.setenv(key, value)
        return variables
    return use


def verify(token, resource, appid):
    keys = jwt.PyJWKClient(FIX["jwks_uri"], ssl_context=ssl.create_default_context(cafile=FIX["ca"]))
    key = keys.get_signing_key_from_jwt(token)
    claims = jwt.decode(token, key, algorithms=["RS256"], audience=resource,
                        issuer=f"{FIX['base']}/{FIX['tenant_id']}/")
    assert claims["appid"] == appid and claims["ver"] == "1.0"
    # A token for one resource is no good at another.
    other = VAULT if "storage" in resource else STORAGE
    with pytest.raises(jwt.InvalidAudienceError):
        jwt.decode(token, key, algorithms=["RS256"], audience=other, issuer=f"{FIX['base']}/{FIX['tenant_id']}/")
    return claims


def test_default_azure_credential_uses_the_printed_environment(environment):
    env = environment(identity_env(FIX["identity_name"]))
    cred = DefaultAzureCredential()
    for resource in (VAULT, STORAGE):
        token = cred.get_token(f"{resource}/.default")
        claims = verify(token.token, resource, env["AZURE_CLIENT_ID"])
        assert claims["oid"] == FIX["identity_principal_id"]


def test_managed_identity_credential_sync_and_async(environment):
    env = environment(identity_env(FIX["identity_name"]))
    token = ManagedIdentityCredential(client_id=env["AZURE_CLIENT_ID"]).get_token(f"{VAULT}/.default")
    verify(token.token, VAULT, env["AZURE_CLIENT_ID"])

    async def get():
        async with AsyncManagedIdentityCredential(client_id=env["AZURE_CLIENT_ID"]) as cred:
            return await cred.get_token(f"{STORAGE}/.default")
    verify(asyncio.run(get()).token, STORAGE, env["AZURE_CLIENT_ID"])

    async def default():
        async with AsyncDefaultAzureCredential() as cred:
            return await cred.get_token(f"{VAULT}/.default")
    verify(asyncio.run(default()).token, VAULT, env["AZURE_CLIENT_ID"])


def test_msal_managed_identity_client(environment):
    env = environment(identity_env(FIX["identity_name"]))
    client = msal.ManagedIdentityClient(
        msal.UserAssignedManagedIdentity(client_id=env["AZURE_CLIENT_ID"]), http_client=requests.Session())
    result = client.acquire_token_for_client(resource=VAULT)
    assert "access_token" in result, result
    verify(result["access_token"], VAULT, env["AZURE_CLIENT_ID"])
    assert client.acquire_token_for_client(resource=VAULT)["token_source"] == "cache"


def test_the_instance_metadata_protocol_through_the_pod_identity_host(environment):
    env = identity_env(FIX["identity_name"])
    environment({"AZURE_POD_IDENTITY_AUTHORITY_HOST": FIX["identity_endpoint"]})
    token = ManagedIdentityCredential(client_id=env["AZURE_CLIENT_ID"]).get_token(f"{STORAGE}/.default")
    verify(token.token, STORAGE, env["AZURE_CLIENT_ID"])
    client = msal.ManagedIdentityClient(
        msal.UserAssignedManagedIdentity(client_id=env["AZURE_CLIENT_ID"]), http_client=requests.Session())
    result = client.acquire_token_for_client(resource=VAULT)
    assert "access_token" in result, result
    verify(result["access_token"], VAULT, env["AZURE_CLIENT_ID"])


def test_a_wrong_header_is_a_final_error_not_a_retry(environment):
    env = identity_env(FIX["identity_name"])
    env["IDENTITY_HEADER"] = "not-a-header-gatehouse-gave"
    environment(env)
    from azure.core.exceptions import ClientAuthenticationError
    with pytest.raises(ClientAuthenticationError) as e:
        ManagedIdentityCredential(client_id=env["AZURE_CLIENT_ID"]).get_token(f"{VAULT}/.default")
    assert "X-IDENTITY-HEADER" in str(e.value)


def test_default_azure_credential_with_a_client_secret_in_the_environment(environment):
    environment({"AZURE_TENANT_ID": FIX["tenant_id"], "AZURE_CLIENT_ID": FIX["client_id"],
                 "AZURE_CLIENT_SECRET": FIX["client_secret"], "AZURE_AUTHORITY_HOST": FIX["base"]})
    token = DefaultAzureCredential(disable_instance_discovery=True).get_token(f"{VAULT}/.default")
    verify(token.token, VAULT, FIX["client_id"])


def test_default_azure_credential_with_a_federated_token_file(environment, tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text(external_assertion())
    environment({"AZURE_TENANT_ID": FIX["tenant_id"], "AZURE_CLIENT_ID": FIX["client_id"],
                 "AZURE_FEDERATED_TOKEN_FILE": str(token_file), "AZURE_AUTHORITY_HOST": FIX["base"]})
    token = DefaultAzureCredential().get_token(f"{STORAGE}/.default")
    verify(token.token, STORAGE, FIX["client_id"])
