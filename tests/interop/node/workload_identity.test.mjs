// DefaultAzureCredential from @azure/identity, unmodified, with only the environment a Kubernetes pod
// or a CI runner has: a federated token file (AZURE_FEDERATED_TOKEN_FILE, here a token from the
// second Gatehouse, which the daemon's federated credential trusts), AZURE_CLIENT_ID, AZURE_TENANT_ID
// and AZURE_AUTHORITY_HOST.
// The token, for Key Vault, is checked by jose.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { DefaultAzureCredential } from '@azure/identity';
import { createRemoteJWKSet, jwtVerify } from 'jose';

const FIX = JSON.parse(fs.readFileSync(process.env.GATEHOUSE_FIXTURE, 'utf8'));
const JWKS = createRemoteJWKSet(new URL(FIX.jwks_uri));

/** What the runner holds: a token its own issuer gave it. */
function externalAssertion() {
  const body = new URLSearchParams({
    grant_type: 'client_credentials', client_id: FIX.workload_id,
    client_secret: FIX.workload_secret, scope: FIX.exchange_scope,
  }).toString();
  return new Promise((resolve, reject) => {
    const req = https.request(FIX.ext_token_endpoint, {
      method: 'POST', ca: fs.readFileSync(FIX.ext_ca),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    }, (res) => {
      let text = '';
      res.on('data', (c) => { text += c; });
      res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(text).access_token) : reject(new Error(text))));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function vaultToken(env) {
  for (const key of ['IDENTITY_ENDPOINT', 'IDENTITY_HEADER', 'AZURE_CLIENT_SECRET', 'AZURE_FEDERATED_TOKEN_FILE']) {
    delete process.env[key];
  }
  Object.assign(process.env, {
    AZURE_CLIENT_ID: FIX.client_id, AZURE_TENANT_ID: FIX.tenant_id, AZURE_AUTHORITY_HOST: FIX.base, ...env,
  });
  const cred = new DefaultAzureCredential({ disableInstanceDiscovery: true });
  const token = await cred.getToken('https://vault.azure.net/.default');
  const { payload } = await jwtVerify(token.token, JWKS, {
    issuer: `${FIX.base}/${FIX.tenant_id}/`, audience: 'https://vault.azure.net', algorithms: ['RS256'],
  });
  assert.equal(payload.appid, FIX.client_id);
  return payload;
}

test('DefaultAzureCredential picks WorkloadIdentityCredential from a federated token file', async () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-')), 'token');
  fs.writeFileSync(file, await externalAssertion());
  const claims = await vaultToken({ AZURE_FEDERATED_TOKEN_FILE: file });
  assert.equal(claims.appidacr, '2', 'authenticated with an assertion');
});
