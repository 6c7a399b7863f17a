// Managed identities with @azure/identity, unmodified: the process gets only the environment
// `gatehouse identity env` prints, and DefaultAzureCredential and ManagedIdentityCredential get Key
// Vault and Storage tokens over the App Service protocol. jose checks each against the published keys
// with the resource's audience, and refuses it for another resource. (msal-node picks its managed-
// identity source once per process, so this file is a process of its own.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { DefaultAzureCredential, ManagedIdentityCredential } from '@azure/identity';
import { createRemoteJWKSet, jwtVerify } from 'jose';

const FIX = JSON.parse(fs.readFileSync(process.env.GATEHOUSE_FIXTURE, 'utf8'));
const JWKS = createRemoteJWKSet(new URL(FIX.jwks_uri));
const ISSUER = `${FIX.base}/${FIX.tenant_id}/`;

// What `eval "$(gatehouse identity env --name N)"` would export, set before any credential is made.
const printed = execFileSync(FIX.gatehouse_bin, [
  'identity', 'env', '--name', FIX.identity_name, '--data-dir', FIX.data_dir, '--tenant', FIX.tenant_id,
  '--endpoint', FIX.identity_endpoint, '--authority-host', FIX.base,
], { encoding: 'utf8' });
const ENV = Object.fromEntries(printed.trim().split('\n').map((line) => {
  const [key, ...rest] = line.replace(/^export /, '').split('=');
  return [key, rest.join('=').replace(/^'|'$/g, '')];
}));
for (const key of ['AZURE_CLIENT_SECRET', 'AZURE_FEDERATED_TOKEN_FILE', 'AZURE_POD_IDENTITY_AUTHORITY_HOST', 'MSI_ENDPOINT', 'IMDS_ENDPOINT']) {
  delete process.env[key];
}
Object.assign(process.env, ENV);

async function verify(token, audience) {
  const { payload } = await jwtVerify(token, JWKS, { issuer: ISSUER, audience, algorithms: ['RS256'] });
  assert.equal(payload.appid, ENV.AZURE_CLIENT_ID);
  assert.equal(payload.oid, FIX.identity_principal_id);
  const other = audience.includes('vault') ? 'https://storage.azure.com' : 'https://vault.azure.net';
  await assert.rejects(jwtVerify(token, JWKS, { issuer: ISSUER, audience: other }), /aud/);
  return payload;
}

test('DefaultAzureCredential gets Key Vault and Storage tokens from the printed environment', async () => {
  const cred = new DefaultAzureCredential();
  const vault = await cred.getToken('https://vault.azure.net/.default');
  await verify(vault.token, 'https://vault.azure.net');
  assert.ok(vault.expiresOnTimestamp > Date.now() + 3000 * 1000, 'expiresOn is read from expires_on');
  const storage = await cred.getToken('https://storage.azure.com/.default');
  await verify(storage.token, 'https://storage.azure.com');
});

test('ManagedIdentityCredential with the client id', async () => {
  const cred = new ManagedIdentityCredential({ clientId: ENV.AZURE_CLIENT_ID });
  const token = await cred.getToken('https://vault.azure.net/.default');
  await verify(token.token, 'https://vault.azure.net');
});
