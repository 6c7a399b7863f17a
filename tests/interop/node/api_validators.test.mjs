// An API that validates Gatehouse's user tokens with real, unmodified middleware written for Entra:
// passport-azure-ad's BearerStrategy (with passport) in a plain Node HTTP server. It reads the tenant's
// OpenID configuration and keys from Gatehouse, checks signature, issuer, audience, lifetime and the
// delegated scope, and refuses everything else with 401.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import { PublicClientApplication } from '@azure/msal-node';
import passport from 'passport';
import { BearerStrategy } from 'passport-azure-ad';

const FIX = JSON.parse(fs.readFileSync(process.env.GATEHOUSE_FIXTURE, 'utf8'));
const HOST = new URL(FIX.base).host;

async function userToken(scope) {
  const app = new PublicClientApplication({
    auth: { clientId: FIX.public_client_id, authority: `${FIX.base}/${FIX.tenant_id}`, knownAuthorities: [HOST] },
  });
  const r = await app.acquireTokenByUsernamePassword({ scopes: [scope], username: FIX.user_upn, password: FIX.user_password });
  return r.accessToken;
}

/** The sample API's user route behind passport-azure-ad: the caller's oid and scopes, or 401. */
function serveReportsApi() {
  passport.use(new BearerStrategy({
    identityMetadata: `${FIX.base}/${FIX.tenant_id}/v2.0/.well-known/openid-configuration`,
    clientID: FIX.api_app_id, audience: FIX.api_app_id, validateIssuer: true, scope: ['access_as_user'],
    loggingLevel: 'error', loggingNoPII: true,
  }, (token, done) => done(null, { oid: token.oid, tid: token.tid, scp: token.scp }, token)));
  const server = http.createServer((req, res) => {
    passport.authenticate('oauth-bearer', { session: false }, (err, user) => {
      res.writeHead(err ? 500 : user ? 200 : 401, { 'content-type': 'application/json' });
      res.end(JSON.stringify(user || {}));
    })(req, res, () => {});
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

test('passport-azure-ad accepts a user\'s token for the API and refuses the rest', async () => {
  const server = await serveReportsApi();
  server.unref();
  const url = `http://127.0.0.1:${server.address().port}/me/reports`;
  const call = (token) => fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  try {
    const token = await userToken(FIX.api_user_scope);
    const ok = await call(token);
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { oid: FIX.user_id, tid: FIX.tenant_id, scp: 'access_as_user' });
    assert.equal((await call()).status, 401, 'no token');
    assert.equal((await call(await userToken('User.Read'))).status, 401, 'a token for Graph');
    const [head, body, sig] = token.split('.');
    assert.equal((await call(`${head}.${body}.${sig.slice(0, -4)}AAAA`)).status, 401, 'a tampered token');
  } finally {
    server.close();
  }
});
