// A user's flows with real Node clients, unmodified: msal-node's PublicClientApplication with the user's
// name and password, then acquireTokenSilent from its cache and through the refresh token. The API token
// is validated by jose against the published JWKS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { PublicClientApplication } from '@azure/msal-node';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';

const FIX = JSON.parse(fs.readFileSync(process.env.GATEHOUSE_FIXTURE, 'utf8'));
const HOST = new URL(FIX.base).host;

function pca() {
  return new PublicClientApplication({
    auth: { clientId: FIX.public_client_id, authority: `${FIX.base}/${FIX.tenant_id}`, knownAuthorities: [HOST] },
  });
}

test('msal-node password sign-in, then silent from the cache and through the refresh token', async () => {
  const app = pca();
  const first = await app.acquireTokenByUsernamePassword({
    scopes: ['User.Read'], username: FIX.user_upn, password: FIX.user_password,
  });
  assert.equal(first.account.username, FIX.user_upn);
  assert.equal(first.account.homeAccountId, `${FIX.user_id}.${FIX.tenant_id}`);
  assert.equal(first.idTokenClaims.oid, FIX.user_id);
  assert.ok(decodeJwt(first.accessToken).scp.split(' ').includes('User.Read'));

  const cached = await app.acquireTokenSilent({ account: first.account, scopes: ['User.Read'] });
  assert.equal(cached.fromCache, true);
  const refreshed = await app.acquireTokenSilent({ account: first.account, scopes: ['User.Read'], forceRefresh: true });
  assert.equal(refreshed.fromCache, false);
  assert.notEqual(refreshed.accessToken, first.accessToken);

  const api = await app.acquireTokenSilent({ account: first.account, scopes: [FIX.api_user_scope] });
  const { payload } = await jwtVerify(api.accessToken, createRemoteJWKSet(new URL(FIX.jwks_uri)), {
    issuer: FIX.issuer_v2, audience: FIX.api_app_id, algorithms: ['RS256'],
  });
  assert.equal(payload.scp, 'access_as_user');
  assert.equal(payload.oid, FIX.user_id);
});

test('msal-node surfaces a wrong password as Entra error 50126', async () => {
  await assert.rejects(
    pca().acquireTokenByUsernamePassword({ scopes: ['User.Read'], username: FIX.user_upn, password: 'Nope-Nope-1' }),
    (e) => e.errorCode === 'invalid_grant' && e.errorMessage.includes('AADSTS50126'),
  );
});
