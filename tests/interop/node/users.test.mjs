// A user's flows with real Node clients, unmodified: msal-node's PublicClientApplication with the user's
// name and password, then acquireTokenSilent from its cache and through the refresh token; msal-node's
// acquireTokenByCode and openid-client's authorization code grant with PKCE (and its refresh), through
// the sign-in pages driven by the scripted browser (python/browser.py); the device code; and
// acquireTokenOnBehalfOf, an API calling Graph as the user. Tokens are validated by jose against the
// published JWKS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { ConfidentialClientApplication, CryptoProvider, PublicClientApplication } from '@azure/msal-node';
import * as oidc from 'openid-client';
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

/** Signs the fixture's user in from `url` and returns the URL the browser was sent to. */
function browse(url) {
  const [python, script] = process.env.GATEHOUSE_BROWSER.split(' ');
  return new URL(execFileSync(python, [script, '--print', url], { encoding: 'utf8' }).trim());
}

test('msal-node acquireTokenByCode with PKCE and a nonce', async () => {
  const app = new ConfidentialClientApplication({
    auth: {
      clientId: FIX.public_client_id, clientSecret: FIX.web_secret,
      authority: `${FIX.base}/${FIX.tenant_id}`, knownAuthorities: [HOST],
    },
  });
  const { verifier, challenge } = await new CryptoProvider().generatePkceCodes();
  const nonce = 'msal-node-nonce-1';
  const url = await app.getAuthCodeUrl({
    scopes: ['User.Read'], redirectUri: FIX.web_redirect, codeChallenge: challenge,
    codeChallengeMethod: 'S256', nonce, state: 'msal-node-state',
  });
  const back = browse(url);
  assert.equal(back.searchParams.get('state'), 'msal-node-state');
  const code = back.searchParams.get('code');
  // msal-node's confidential client checks the ID token's nonce against the request's.
  const result = await app.acquireTokenByCode(
    { code, scopes: ['User.Read'], redirectUri: FIX.web_redirect, codeVerifier: verifier, nonce, state: 'msal-node-state' },
    { code, state: 'msal-node-state', client_info: back.searchParams.get('client_info') },
  );
  assert.equal(result.idTokenClaims.nonce, nonce);
  assert.equal(result.account.homeAccountId, `${FIX.user_id}.${FIX.tenant_id}`);
  assert.ok(decodeJwt(result.accessToken).scp.split(' ').includes('User.Read'));
});

test('openid-client authorization code with PKCE, then refresh', async () => {
  const config = await oidc.discovery(new URL(FIX.issuer_v2), FIX.public_client_id, FIX.web_secret);
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: FIX.web_redirect, scope: 'openid profile offline_access api://reports/access_as_user',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state, nonce,
  });
  const back = browse(url.href);
  const tokens = await oidc.authorizationCodeGrant(config, back, {
    pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce,
  });
  assert.equal(tokens.claims().oid, FIX.user_id);
  const { payload } = await jwtVerify(tokens.access_token, createRemoteJWKSet(new URL(FIX.jwks_uri)), {
    issuer: FIX.issuer_v2, audience: FIX.api_app_id, algorithms: ['RS256'],
  });
  assert.equal(payload.scp, 'access_as_user');
  const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token);
  assert.notEqual(refreshed.refresh_token, tokens.refresh_token, 'rotated');
  assert.equal(refreshed.claims().sub, tokens.claims().sub);
});

/** The user approves a device flow's code at /devicelogin, in another process, while the client polls. */
function approve(userCode) {
  const [python, script] = process.env.GATEHOUSE_BROWSER.split(' ');
  return promisify(execFile)(python, [script, '--device', FIX.base, userCode]);
}

test('msal-node acquireTokenByDeviceCode', async () => {
  let user;
  const result = await pca().acquireTokenByDeviceCode({
    scopes: ['User.Read'],
    deviceCodeCallback: (r) => { user = approve(r.userCode); },
  });
  await user;
  assert.equal(result.account.username, FIX.user_upn);
  assert.equal(result.idTokenClaims.oid, FIX.user_id);
});

test('openid-client device authorization grant', async () => {
  const config = await oidc.discovery(new URL(FIX.issuer_v2), FIX.public_client_id, {}, oidc.None());
  const response = await oidc.initiateDeviceAuthorization(config, { scope: 'openid offline_access User.Read' });
  const user = approve(response.user_code);
  const tokens = await oidc.pollDeviceAuthorizationGrant(config, response);
  await user;
  assert.equal(tokens.claims().oid, FIX.user_id);
  assert.ok(tokens.refresh_token);
});

test('msal-node acquireTokenOnBehalfOf: the API calls Graph as the user', async () => {
  const incoming = await pca().acquireTokenByUsernamePassword({
    scopes: [FIX.api_user_scope], username: FIX.user_upn, password: FIX.user_password,
  });
  const api = new ConfidentialClientApplication({
    auth: {
      clientId: FIX.api_app_id, clientSecret: FIX.api_secret,
      authority: `${FIX.base}/${FIX.tenant_id}`, knownAuthorities: [HOST],
    },
  });
  const result = await api.acquireTokenOnBehalfOf({
    oboAssertion: incoming.accessToken, scopes: ['https://graph.microsoft.com/User.Read'],
  });
  const claims = JSON.parse(Buffer.from(result.accessToken.split('.')[1], 'base64url'));
  assert.equal(claims.aud, 'https://graph.microsoft.com');
  assert.equal(claims.appid, FIX.api_app_id);
  assert.equal(claims.oid, FIX.user_id);
  assert.equal(claims.scp.split(' ').includes('User.Read'), true);
});
