// Real Node clients, unmodified, against a running Gatehouse: msal-node, @azure/identity, openid-client, jose.
// Every token is then validated by jose's createRemoteJWKSet against the published JWKS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { ConfidentialClientApplication } from '@azure/msal-node';
import { ClientCertificateCredential, ClientSecretCredential } from '@azure/identity';
import * as oidc from 'openid-client';
import { createRemoteJWKSet, importPKCS8, jwtVerify } from 'jose';

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

// ---- Certificates (real-clients.md §4, §5, §6, §10) ----

const PEM = fs.readFileSync(FIX.client_pem, 'utf8');
const PRIVATE_KEY = PEM.match(/-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----/)[0];
const CERTIFICATE = PEM.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/)[0];
const CERT = new X509Certificate(CERTIFICATE);
const SHA1_HEX = CERT.fingerprint.replaceAll(':', '');
const SHA256_HEX = CERT.fingerprint256.replaceAll(':', '');

async function verifyCertificateToken(token) {
  const payload = await verify(token);
  assert.equal(payload.azpacr, '2', 'authenticated with a certificate');
}

function certificateApp(clientCertificate) {
  return new ConfidentialClientApplication({
    auth: {
      clientId: FIX.client_id, clientCertificate,
      authority: `${FIX.base}/${FIX.tenant_id}`, knownAuthorities: [HOST],
    },
  });
}

test('msal-node clientCertificate with a SHA-1 thumbprint (RS256 + x5t)', async () => {
  const app = certificateApp({ thumbprint: SHA1_HEX, privateKey: PRIVATE_KEY });
  const result = await app.acquireTokenByClientCredential({ scopes: [FIX.api_scope] });
  await verifyCertificateToken(result.accessToken);
});

test('msal-node clientCertificate with thumbprintSha256 and x5c (PS256 + x5t#S256)', async () => {
  const app = certificateApp({ thumbprintSha256: SHA256_HEX, privateKey: PRIVATE_KEY, x5c: CERTIFICATE });
  const result = await app.acquireTokenByClientCredential({ scopes: [FIX.api_scope] });
  await verifyCertificateToken(result.accessToken);
});

test('@azure/identity ClientCertificateCredential with and without the chain', async () => {
  for (const sendCertificateChain of [false, true]) {
    const cred = new ClientCertificateCredential(FIX.tenant_id, FIX.client_id, FIX.client_pem, {
      authorityHost: FIX.base, disableInstanceDiscovery: true, sendCertificateChain,
    });
    await verifyCertificateToken((await cred.getToken(FIX.api_scope)).token);
  }
});

test('openid-client PrivateKeyJwt (aud = issuer, kid = the certificate thumbprint)', async () => {
  const key = await importPKCS8(PRIVATE_KEY, 'RS256');
  const kid = Buffer.from(SHA1_HEX, 'hex').toString('base64url');
  const config = await oidc.discovery(new URL(FIX.issuer_v2), FIX.client_id, {}, oidc.PrivateKeyJwt({ key, kid }));
  const tokens = await oidc.clientCredentialsGrant(config, { scope: FIX.api_scope });
  await verifyCertificateToken(tokens.access_token);
});
