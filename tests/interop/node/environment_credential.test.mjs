// DefaultAzureCredential from @azure/identity, unmodified, with a client secret in the environment
// (EnvironmentCredential): AZURE_CLIENT_ID, AZURE_CLIENT_SECRET, AZURE_TENANT_ID, AZURE_AUTHORITY_HOST.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { DefaultAzureCredential } from '@azure/identity';
import { createRemoteJWKSet, jwtVerify } from 'jose';

const FIX = JSON.parse(fs.readFileSync(process.env.GATEHOUSE_FIXTURE, 'utf8'));

test('DefaultAzureCredential picks EnvironmentCredential from a client secret', async () => {
  for (const key of ['IDENTITY_ENDPOINT', 'IDENTITY_HEADER', 'AZURE_FEDERATED_TOKEN_FILE']) delete process.env[key];
  Object.assign(process.env, {
    AZURE_CLIENT_ID: FIX.client_id, AZURE_CLIENT_SECRET: FIX.client_secret, AZURE_TENANT_ID: FIX.tenant_id,
    AZURE_AUTHORITY_HOST: FIX.base,
  });
  const token = await new DefaultAzureCredential({ disableInstanceDiscovery: true })
    .getToken('https://storage.azure.com/.default');
  const { payload } = await jwtVerify(token.token, createRemoteJWKSet(new URL(FIX.jwks_uri)), {
    issuer: `${FIX.base}/${FIX.tenant_id}/`, audience: 'https://storage.azure.com', algorithms: ['RS256'],
  });
  assert.equal(payload.appid, FIX.client_id);
  assert.equal(payload.appidacr, '1', 'authenticated with a secret');
});
