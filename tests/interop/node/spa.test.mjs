// A single-page application with @azure/msal-browser, unmodified, in headless Chromium (Debian's, driven
// by playwright-core): redirect sign-in through Gatehouse's pages, the code redeemed cross-origin (CORS,
// PKCE, no secret), and silent renewal through the SPA's refresh token. Then the consent, device and error
// pages in the same browser, and msal-browser's logoutRedirect, whose signed-out page loads the SPA's
// front-channel logout URL. A screenshot of each page goes to $GATEHOUSE_SCREENSHOTS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FIX, HOST, SHOTS, graph, launchChromium, managementToken } from './browser.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));

/**
 * The SPA's own origin: its page, its script, msal-browser's bundle and its configuration, and its
 * front-channel logout URL, whose requests go to `loggedOut`.
 */
function serveSpa(config, loggedOut) {
  const files = {
    '/': ['text/html', fs.readFileSync(path.join(HERE, 'spa/index.html'))],
    '/app.js': ['text/javascript', fs.readFileSync(path.join(HERE, 'spa/app.js'))],
    '/msal-browser.min.js': ['text/javascript',
      fs.readFileSync(path.join(HERE, 'node_modules/@azure/msal-browser/lib/msal-browser.min.js'))],
  };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://localhost');
    if (url.pathname === '/logout') {
      loggedOut.push(Object.fromEntries(url.searchParams));
      res.writeHead(200, { 'content-type': 'text/html' });
      return res.end('<!DOCTYPE html><title>Signed out of the SPA</title>');
    }
    if (url.pathname === '/config.json') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify(config()));
    }
    const f = files[url.pathname];
    res.writeHead(f ? 200 : 404, { 'content-type': f ? f[0] : 'text/plain' });
    res.end(f ? f[1] : 'not found');
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

test('msal-browser in Chromium: redirect sign-in, cross-origin redemption, silent renewal; the pages', async () => {
  let config = {};
  const loggedOut = [];
  const server = await serveSpa(() => config, loggedOut);
  // The test's own server must not keep the process alive if anything below fails.
  server.unref();
  const origin = `http://localhost:${server.address().port}`;
  const admin = await managementToken();
  const app = await graph(admin, 'POST', 'applications',
    { displayName: 'Contoso SPA', spa: { redirectUris: [`${origin}/`] }, web: { logoutUrl: `${origin}/logout` } });
  const sp = await graph(admin, 'POST', 'servicePrincipals', { appId: app.appId });
  const graphSp = (await graph(admin, 'GET',
    "servicePrincipals?$filter=appId eq '00000003-0000-0000-c000-000000000000'")).value[0];
  await graph(admin, 'POST', 'oauth2PermissionGrants',
    { clientId: sp.id, consentType: 'AllPrincipals', resourceId: graphSp.id, scope: 'User.Read' });
  config = { clientId: app.appId, authority: `${FIX.base}/${FIX.tenant_id}`, host: HOST, redirectUri: `${origin}/` };

  const browser = await launchChromium();
  try {
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    const shot = (name) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
    const text = (id) => page.locator(`#${id}`).textContent();

    await page.goto(`${origin}/`);
    await page.click('#login');
    await page.waitForSelector('#i0116');
    await shot('1-username');
    await page.fill('#i0116', FIX.user_upn);
    await page.click('#idSIButton9');
    await page.waitForSelector('#i0118');
    await shot('2-password');
    await page.fill('#i0118', FIX.user_password);
    await page.click('#idSIButton9');
    await page.waitForURL((u) => u.origin === origin, { timeout: 30000 });
    await page.waitForFunction(() => document.getElementById('result').textContent
      || document.getElementById('error').textContent, null, { timeout: 30000 });
    assert.equal(await text('error'), '');
    const signedIn = JSON.parse(await text('result'));
    assert.equal(signedIn.username, FIX.user_upn);
    assert.equal(signedIn.oid, FIX.user_id);
    await shot('3-spa-signed-in');

    await page.click('#silent');
    await page.waitForFunction(() => document.getElementById('renewed').textContent
      || document.getElementById('error').textContent, null, { timeout: 30000 });
    assert.equal(await text('error'), '');
    const renewed = JSON.parse(await text('renewed'));
    assert.equal(renewed.fromCache, false);
    assert.notEqual(renewed.accessToken, signedIn.accessToken);
    const sid = JSON.parse(Buffer.from(signedIn.idToken.split('.')[1], 'base64url')).sid;

    // The consent page (prompt=consent asks again), declined.
    const q = new URLSearchParams({ client_id: app.appId, response_type: 'code', redirect_uri: `${origin}/`,
      scope: 'User.Read', prompt: 'consent', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      code_challenge_method: 'S256', state: 'consent-page' });
    await page.goto(`${FIX.base}/${FIX.tenant_id}/oauth2/v2.0/authorize?${q}`);
    await page.waitForSelector('#idBtn_Back');
    await shot('4-consent');
    await page.click('#idBtn_Back');
    await page.waitForURL((u) => u.origin === origin);
    assert.equal(new URL(page.url()).searchParams.get('error'), 'access_denied');

    // The device pages: the code entry and the confirmation that names the app.
    const device = await (await fetch(`${FIX.base}/${FIX.tenant_id}/oauth2/v2.0/devicecode`, {
      method: 'POST', body: new URLSearchParams({ client_id: FIX.public_client_id, scope: 'User.Read' }),
    })).json();
    await page.goto(device.verification_uri);
    await shot('5-devicelogin');
    await page.fill('#otc', device.user_code);
    await page.click('#idSIButton9');
    await page.waitForSelector('#confirmHeader');
    await shot('6-device-confirm');

    // An error page, and sign-out.
    await page.goto(`${FIX.base}/${FIX.tenant_id}/oauth2/v2.0/authorize?client_id=${app.appId}&response_type=code&redirect_uri=https://evil.example/`);
    assert.match(await page.locator('#errorText').textContent(), /AADSTS50011/);
    await shot('7-error');
    // msal-browser's logoutRedirect: the signed-out page loads the SPA's front-channel logout URL with
    // the session's sid, then returns to the SPA.
    await page.goto(`${origin}/`);
    const framed = page.waitForRequest((r) => r.url().startsWith(`${origin}/logout?`), { timeout: 30000 });
    const away = page.waitForURL((u) => u.origin !== origin, { timeout: 30000 });
    await page.click('#logout');
    await away;
    await framed;
    await page.waitForURL((u) => u.origin === origin, { timeout: 30000 });
    assert.deepEqual(loggedOut, [{ iss: `${FIX.base}/${FIX.tenant_id}/v2.0`, sid }]);
    await page.goto(`${FIX.base}/${FIX.tenant_id}/oauth2/v2.0/logout`);
    await page.waitForSelector('#signOutHeader');
    await shot('8-signed-out');
  } catch (e) {
    const pages = browser.contexts().flatMap((c) => c.pages());
    for (const p of pages) {
      await p.screenshot({ path: path.join(SHOTS, 'failure.png'), fullPage: true }).catch(() => {});
      console.log('FAILED AT', p.url(), (await p.content().catch(() => '')).slice(0, 3000));
    }
    throw e;
  } finally {
    await browser.close();
    server.close();
  }
});
