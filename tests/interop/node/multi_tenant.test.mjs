// The multi-tenant journey with two organisations of one server, real clients unmodified: Contoso
// registers a multi-tenant web app; Fabrikam's administrator grants it at the v2 admin-consent URL in
// headless Chromium (the consent page names the app and every permission, for the organisation);
// msal-node then gets Fabrikam's app-only token with only the role granted there, and Fabrikam's user
// signs in at `organizations` (their name picks the tenant) and gets Fabrikam's tokens; deleting the
// enterprise application in Fabrikam ends both at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import path from 'node:path';
import { ConfidentialClientApplication } from '@azure/msal-node';
import { FIX, HOST, SHOTS, graph, launchChromium, managementToken } from './browser.mjs';

const GRAPH_APP = '00000003-0000-0000-c000-000000000000';
const USER_READ = 'e1fe6dd8-ba31-4d61-89e7-88639da4683d';
const APPLICATION_READ_ALL = '9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30';

const claims = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url'));

/** The web app's redirect URI: a page that only says it was reached. */
function serveCallback() {
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!DOCTYPE html><title>Contoso Insights</title>');
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** Signs in on Gatehouse's pages as `user`; leaves the page on the one after the password. */
async function signIn(page, user, password) {
  await page.waitForSelector('#i0116');
  await page.fill('#i0116', user);
  await page.click('#idSIButton9');
  await page.waitForSelector('#i0118');
  await page.fill('#i0118', password);
  await page.click('#idSIButton9');
}

test('two organisations: admin consent in Fabrikam, its tokens, a user from Fabrikam, revocation there', async () => {
  const server = await serveCallback();
  server.unref();
  const redirectUri = `http://localhost:${server.address().port}/callback`;
  const contoso = await managementToken();
  const app = await graph(contoso, 'POST', 'applications', {
    displayName: 'Contoso Insights', signInAudience: 'AzureADMultipleOrgs', web: { redirectUris: [redirectUri] },
    requiredResourceAccess: [{ resourceAppId: GRAPH_APP, resourceAccess: [
      { id: USER_READ, type: 'Scope' }, { id: APPLICATION_READ_ALL, type: 'Role' }] }],
  });
  const secret = (await graph(contoso, 'POST', `applications/${app.id}/addPassword`, {})).secretText;
  const cca = (tenant) => new ConfidentialClientApplication({
    auth: { clientId: app.appId, clientSecret: secret, authority: `${FIX.base}/${tenant}`, knownAuthorities: [HOST] },
  });
  const graphScope = ['https://graph.microsoft.com/.default'];
  await assert.rejects(cca(FIX.b_tenant_id).acquireTokenByClientCredential({ scopes: graphScope }),
    (e) => e.errorCode === 'unauthorized_client' && /AADSTS700016/.test(e.errorMessage));

  const browser = await launchChromium();
  try {
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    const shot = (name) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

    // Fabrikam's administrator at the v2 admin-consent URL, at `organizations`.
    const q = new URLSearchParams({ client_id: app.appId, scope: 'https://graph.microsoft.com/.default',
      redirect_uri: redirectUri, state: 'mt-1' });
    await page.goto(`${FIX.base}/organizations/v2.0/adminconsent?${q}`);
    await signIn(page, FIX.b_admin_upn, FIX.b_admin_password);
    await page.waitForSelector('#forOrganization');
    await shot('9-admin-consent');
    const shown = await page.locator('main').textContent();
    for (const s of ['Contoso Insights', FIX.domain, 'User.Read', 'Application.Read.All', 'Fabrikam']) {
      assert.ok(shown.includes(s), `${s} on the admin consent page: ${shown}`);
    }
    await page.click('#idSIButton9');
    await page.waitForURL((u) => u.href.startsWith(redirectUri));
    const answer = Object.fromEntries(new URL(page.url()).searchParams);
    assert.equal(answer.admin_consent, 'True');
    assert.equal(answer.tenant, FIX.b_tenant_id);
    assert.equal(answer.state, 'mt-1');

    // The app's own token in Fabrikam: Fabrikam's issuer, and the role granted there.
    const appOnly = await cca(FIX.b_tenant_id).acquireTokenByClientCredential({ scopes: graphScope });
    const appClaims = claims(appOnly.accessToken);
    assert.equal(appClaims.tid, FIX.b_tenant_id);
    assert.deepEqual(appClaims.roles, ['Application.Read.All']);

    // Fabrikam's user at `organizations`: the name picks Fabrikam; the administrator's consent covers
    // User.Read, so no consent page; the tokens are Fabrikam's.
    const orgs = cca('organizations');
    const url = await orgs.getAuthCodeUrl({ scopes: ['User.Read'], redirectUri, state: 'mt-2' });
    await context.clearCookies();
    await page.goto(url);
    await signIn(page, FIX.b_user_upn, FIX.b_user_password);
    await page.waitForURL((u) => u.href.startsWith(redirectUri));
    const code = new URL(page.url()).searchParams;
    assert.equal(code.get('iss'), `${FIX.base}/${FIX.b_tenant_id}/v2.0`);
    const user = await orgs.acquireTokenByCode({ code: code.get('code'), scopes: ['User.Read'], redirectUri });
    assert.equal(user.tenantId, FIX.b_tenant_id);
    assert.equal(user.account.username, FIX.b_user_upn);
    assert.equal(user.idTokenClaims.iss, `${FIX.base}/${FIX.b_tenant_id}/v2.0`);
    assert.equal(claims(user.accessToken).tid, FIX.b_tenant_id);
    const me = await fetch(`${FIX.base}/v1.0/me`, { headers: { authorization: `Bearer ${user.accessToken}` } });
    assert.equal((await me.json()).id, FIX.b_user_id);

    // Fabrikam deletes the enterprise application: the refresh token and the app's access both end.
    const fabrikam = await managementToken(FIX.b_tenant_id, FIX.b_admin_id, FIX.b_admin_secret);
    await graph(fabrikam, 'DELETE', `servicePrincipals(appId='${app.appId}')`);
    await assert.rejects(orgs.acquireTokenSilent({ account: user.account, scopes: ['User.Read'], forceRefresh: true }),
      (e) => ['invalid_grant', 'unauthorized_client'].includes(e.errorCode));
    await assert.rejects(cca(FIX.b_tenant_id).acquireTokenByClientCredential({ scopes: graphScope, skipCache: true }),
      (e) => /AADSTS700016/.test(e.errorMessage));
  } catch (e) {
    for (const p of browser.contexts().flatMap((c) => c.pages())) {
      await p.screenshot({ path: path.join(SHOTS, 'failure-multi-tenant.png'), fullPage: true }).catch(() => {});
      console.log('FAILED AT', p.url(), (await p.content().catch(() => '')).slice(0, 3000));
    }
    throw e;
  } finally {
    await browser.close();
    server.close();
  }
});
