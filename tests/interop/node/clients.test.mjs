// Real Node clients, unmodified, against a running Gatehouse (shared/reference/real-clients.md §4–§6, §8).
// Every token is then validated by jose's createRemoteJWKSet against the published JWKS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { ConfidentialClientApplication } from '@azure/msal-node';
import { ClientSecretCredential } from '@azure/identity';
import * as oidc from 'openid-client';
import { createRemoteJWKSet, jwtVerify } from 'jose';

const FIX = JSON.parse(fs.readFileSync(process.env.GATEHOUSE_FIXTURE, 'utf8'));
const HOST = new URL(FIX.base).host;
const JWKS = createRemoteJWKSet(new URL(FIX.jwks_uri));

async function verify(token) {
  const { payload } = await jwtVerify(token, JWKS, {
    issuer: FIX.issuer_v2, audience: FIX.api_app_id, algorithms: ['RS256'],
  });
  assert.deepEqual(payload.roles, ['Reports.Read']);
  assert.equal(payload.azp, FIX.client_id);
  return payload;
}

function cca(tenant) {
  return new ConfidentialClientApplication({
    auth: {
      clientId: FIX.client_id, clientSecret: FIX.client_secret,
      authority: `${FIX.base}/${tenant}`, knownAuthorities: [HOST],
    },
  });
}

test('msal-node confidential client serves the second call from its cache', async () => {
  const app = cca(FIX.tenant_id);
  const first = await app.acquireTokenByClientCredential({ scopes: [FIX.api_scope] });
  assert.equal(first.fromCache, false);
  const second = await app.acquireTokenByClientCredential({ scopes: [FIX.api_scope] });
  assert.equal(second.fromCache, true);
  assert.equal(second.accessToken, first.accessToken);
  await verify(first.accessToken);
});

test('msal-node with the domain authority in mixed case', async () => {
  const mixed = FIX.domain.split('.').map((p) => p[0].toUpperCase() + p.slice(1)).join('.');
  const result = await cca(mixed).acquireTokenByClientCredential({ scopes: [FIX.api_scope] });
  await verify(result.accessToken);
});

test('msal-node surfaces a wrong secret as Entra error 7000215', async () => {
  const app = new ConfidentialClientApplication({
    auth: { clientId: FIX.client_id, clientSecret: 'wrong', authority: `${FIX.base}/${FIX.tenant_id}`, knownAuthorities: [HOST] },
  });
  await assert.rejects(app.acquireTokenByClientCredential({ scopes: [FIX.api_scope] }), (e) => {
    assert.equal(e.errorCode, 'invalid_client');
    assert.match(e.errorMessage, /AADSTS7000215/);
    return true;
  });
});

test('@azure/identity ClientSecretCredential', async () => {
  const cred = new ClientSecretCredential(FIX.tenant_id, FIX.client_id, FIX.client_secret, {
    authorityHost: FIX.base, disableInstanceDiscovery: true,
  });
  const first = await cred.getToken(FIX.api_scope);
  await verify(first.token);
  const second = await cred.getToken(FIX.api_scope);
  assert.equal(second.token, first.token);
});

test('openid-client client_secret_post', async () => {
  const config = await oidc.discovery(new URL(FIX.issuer_v2), FIX.client_id, FIX.client_secret);
  const tokens = await oidc.clientCredentialsGrant(config, { scope: FIX.api_scope });
  assert.equal(tokens.token_type.toLowerCase(), 'bearer');
  await verify(tokens.access_token);
});

test('openid-client client_secret_basic', async () => {
  const config = await oidc.discovery(
    new URL(FIX.issuer_v2), FIX.client_id, FIX.client_secret, oidc.ClientSecretBasic(FIX.client_secret));
  const tokens = await oidc.clientCredentialsGrant(config, { scope: FIX.api_scope });
  await verify(tokens.access_token);
});

test('jose refuses a wrong issuer', async () => {
  const result = await cca(FIX.tenant_id).acquireTokenByClientCredential({ scopes: [FIX.api_scope] });
  await assert.rejects(
    jwtVerify(result.accessToken, JWKS, { issuer: `${FIX.base}/common/v2.0`, audience: FIX.api_app_id }),
    (e) => e.code === 'ERR_JWT_CLAIM_VALIDATION_FAILED',
  );
});
