// The portal in headless Chromium, clicked as a person would, by the accessible names Entra's portal
// uses: the first seed's journey (sign in as the administrator, register "app-sec-reg", read both IDs
// and the token endpoint, make a client secret and copy it, get a Graph token with MSAL Python from
// those three values; add Microsoft Graph's Application.Read.All, grant admin consent, and see the role
// in a new token). axe-core checks every page on the way (nothing serious or critical), and each page
// is kept as a screenshot.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import http from 'node:http';
import { ConfidentialClientApplication } from '@azure/msal-node';
import { FIX, HOST, SHOTS, launchChromium } from './browser.mjs';

const AXE = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const claims = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url'));

/** Runs axe-core on the page (injected through the debugging protocol, which the page's CSP does not
 * govern) and fails on any serious or critical violation; then keeps a screenshot named `name`. */
async function check(page, name) {
  await page.evaluate(AXE);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`), [],
    `axe on ${name} (${page.url()})`);
  await page.screenshot({ path: path.join(SHOTS, `portal-${name}.png`), fullPage: true });
}

/** Signs in on Gatehouse's pages as `user` (the portal sends the browser there). */
async function signIn(page, user, password) {
  await page.fill('#i0116', user);
  await page.click('#idSIButton9');
  await page.fill('#i0118', password);
  await page.click('#idSIButton9');
}

/** A page that only says it was reached: the multi-tenant app's redirect URI. */
function serveCallback() {
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!DOCTYPE html><html lang="en"><title>Contoso Partner Portal</title><main>Signed in</main></html>');
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** A Graph token by MSAL Python's client-credentials flow, from the three values the portal showed. */
function msalPythonToken(tokenEndpoint, clientId, secret) {
  const authority = tokenEndpoint.replace(/\/oauth2\/v2\.0\/token$/, '');
  const script = `
import json, sys, msal
app = msal.ConfidentialClientApplication(sys.argv[2], client_credential=sys.argv[3], authority=sys.argv[1],
                                     instance_discovery=False)
r = app.acquire_token_for_client(scopes=["https://graph.microsoft.com/.default"])
print(json.dumps(r))`;
  const out = execFileSync(process.env.GATEHOUSE_PYTHON || 'python3', ['-c', script, authority, clientId, secret],
    { encoding: 'utf8', env: { ...process.env, REQUESTS_CA_BUNDLE: FIX.ca } });
  const r = JSON.parse(out);
  assert.ok(r.access_token, `MSAL Python: ${out}`);
  return r.access_token;
}

test('the first seed in the portal: register, copy both IDs and a secret, a token from MSAL Python, admin consent', async () => {
  assert.ok(FIX.admin_upn && FIX.admin_password, 'the fixture has the first run\'s administrator');
  const browser = await launchChromium();
  try {
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: FIX.base });
    const page = await context.newPage();
    page.on('dialog', (d) => d.accept()); // the confirmation before a delete
    const csp = [];
    page.on('console', (m) => { if (/Content Security Policy/.test(m.text())) csp.push(m.text()); });

    // Sign in as the administrator: the portal sends the browser to Gatehouse's own sign-in pages.
    await page.goto(`${FIX.base}/portal/`);
    await page.fill('#i0116', FIX.admin_upn);
    await page.click('#idSIButton9');
    await page.fill('#i0118', FIX.admin_password);
    await page.click('#idSIButton9');
    await page.getByRole('heading', { level: 1, name: /Overview/ }).waitFor();
    assert.equal(await page.locator('#tenantId').textContent(), FIX.tenant_id);
    await check(page, 'overview');

    // App registrations > New registration: "app-sec-reg", single tenant, no redirect URI.
    await page.getByRole('link', { name: 'App registrations' }).click();
    await page.getByRole('heading', { name: 'App registrations' }).waitFor();
    await check(page, 'app-registrations');
    await page.getByRole('link', { name: 'New registration' }).click();
    await check(page, 'new-registration');
    await page.getByLabel('Name', { exact: false }).first().fill('app-sec-reg');
    await page.getByLabel('Accounts in this organizational directory only (Single tenant)').check();
    await page.getByRole('button', { name: 'Register' }).click();

    // The Overview: both IDs, and the token endpoint from Endpoints.
    await page.getByRole('heading', { level: 1, name: 'app-sec-reg' }).waitFor();
    const clientId = (await page.locator('#appId').textContent()).trim();
    const tenantId = (await page.locator('#directoryId').textContent()).trim();
    const tokenEndpoint = await page.getByRole('textbox', { name: 'OAuth 2.0 token endpoint (v2)' }).inputValue();
    assert.equal(tenantId, FIX.tenant_id);
    assert.equal(tokenEndpoint, `${FIX.base}/${FIX.tenant_id}/oauth2/v2.0/token`);
    await page.getByRole('button', { name: 'Copy Application (client) ID' }).click();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), clientId, 'the copy button');
    await check(page, 'app-overview');

    // Certificates & secrets > New client secret: its value, copied before leaving the page.
    await page.getByRole('link', { name: 'Certificates & secrets' }).click();
    const secrets = page.getByRole('region', { name: /Client secrets/ });
    await secrets.getByText('New client secret').click();
    await secrets.getByLabel('Description').fill('seed');
    await secrets.getByRole('button', { name: 'Add' }).click();
    await page.getByText("You won't be able to retrieve it").waitFor();
    await page.getByRole('button', { name: 'Copy Value' }).click();
    const secret = await page.evaluate(() => navigator.clipboard.readText());
    assert.equal(secret, await page.locator('#newSecretValue').inputValue());
    await check(page, 'certificates-and-secrets');

    const first = msalPythonToken(tokenEndpoint, clientId, secret);
    assert.equal(claims(first).appid, clientId);
    assert.equal(claims(first).roles, undefined, 'no permission granted yet');

    // API permissions > Add a permission > Microsoft Graph > Application permissions > Application.Read.All.
    await page.getByRole('link', { name: 'API permissions' }).click();
    await check(page, 'api-permissions-empty');
    await page.getByRole('link', { name: 'Add a permission' }).click();
    await page.getByRole('link', { name: 'Application permissions' }).click();
    await page.getByLabel(/^Application\.Read\.All/).check();
    await check(page, 'request-api-permissions');
    await page.getByRole('button', { name: 'Add permissions' }).click();
    const tenantName = (await page.getByRole('link', { name: /Grant admin consent for/ }).textContent())
      .replace('Grant admin consent for ', '').trim();
    await page.getByText(`Not granted for ${tenantName}`).waitFor();
    await page.getByRole('link', { name: `Grant admin consent for ${tenantName}` }).click();
    await page.getByRole('heading', { name: 'Grant admin consent confirmation.' }).waitFor();
    await check(page, 'grant-admin-consent');
    await page.getByRole('button', { name: 'Yes' }).click();
    await page.getByRole('cell', { name: `Granted for ${tenantName}`, exact: true }).waitFor();
    await check(page, 'api-permissions-granted');
    // The application's other pages, each checked by axe.
    for (const [link, shot] of [['Authentication', 'authentication'], ['Expose an API', 'expose-an-api-empty'],
      ['App roles', 'app-roles'], ['Owners', 'owners-of-app-sec-reg'], ['Manifest', 'manifest'],
      ['API permissions', 'api-permissions-again']]) {
      await page.getByRole('link', { name: link, exact: true }).click();
      await page.getByRole('heading', { level: 1, name: `app-sec-reg | ${link}` }).waitFor();
      await check(page, shot);
    }

    const second = msalPythonToken(tokenEndpoint, clientId, secret);
    assert.deepEqual(claims(second).roles, ['Application.Read.All']);

    // The same form posted without its CSRF token (as another site's page would post it): refused, and
    // no secret is added.
    await page.getByRole('link', { name: 'Certificates & secrets' }).click();
    const credentialsUrl = page.url();
    const before = await page.getByRole('button', { name: /^Delete client secret/ }).count();
    await page.evaluate(() => document.querySelector('main form[action$="/secrets"] input[name=canary]').remove());
    await page.getByRole('region', { name: /Client secrets/ }).getByText('New client secret').click();
    const [refused] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/credentials/secrets')),
      page.getByRole('region', { name: /Client secrets/ }).getByRole('button', { name: 'Add' }).click(),
    ]);
    assert.equal(refused.status(), 403);
    await page.goto(credentialsUrl);
    assert.equal(await page.getByRole('button', { name: /^Delete client secret/ }).count(), before);
    await page.getByRole('link', { name: 'API permissions' }).click();

    // The logs: the secret's token requests and the registration, by the administrator.
    await page.getByRole('link', { name: 'Sign-in logs' }).click();
    await page.getByLabel('Application (client) ID').fill(clientId);
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.getByRole('cell', { name: 'Success', exact: true }).first().waitFor();
    await check(page, 'sign-in-logs');
    await page.getByRole('link', { name: 'Audit logs' }).click();
    await page.getByRole('cell', { name: 'Add application', exact: true }).first().waitFor();
    await check(page, 'audit-logs');
    await page.getByRole('link', { name: 'Users' }).click();
    await check(page, 'users');
    await page.getByRole('link', { name: 'New user' }).click();
    await page.getByRole('heading', { name: 'Create new user' }).waitFor();
    await check(page, 'new-user');
    await page.goBack();
    await page.getByRole('link', { name: 'Administrator' }).click();
    await page.getByRole('button', { name: 'Reset password' }).waitFor();
    await check(page, 'user');
    await page.goBack();
    await page.goBack();

    // At 320 px wide the pages still fit: nothing scrolls sideways.
    await page.setViewportSize({ width: 320, height: 640 });
    await page.reload();
    await page.screenshot({ path: path.join(SHOTS, 'portal-320px.png'), fullPage: true });
    const overflow = await page.evaluate(() => {
      const wide = [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1);
      return { by: document.documentElement.scrollWidth - window.innerWidth, wide: wide.slice(0, 5).map((e) => e.outerHTML.slice(0, 120)) };
    });
    assert.ok(overflow.by <= 0, `the page is ${overflow.by}px wider than 320px: ${overflow.wide.join('\n')}`);

    // Sign out: back to the sign-in page, and the portal asks again.
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.goto(`${FIX.base}/portal/`);
    await page.locator('#i0116').waitFor();
    assert.deepEqual(csp, [], 'no page broke its Content-Security-Policy');
  } finally {
    await browser.close();
  }
});

test('the consent journey: a multi-tenant app registered in Contoso, consented by Fabrikam\'s admin, deleted there in its portal', async () => {
  const server = await serveCallback();
  server.unref();
  const redirectUri = `http://localhost:${server.address().port}/callback`;
  const browser = await launchChromium();
  try {
    // Contoso's administrator registers the app in the portal: multi-tenant, a web redirect URI, an
    // exposed scope, Graph's Application.Read.All, and a secret.
    const contoso = await (await browser.newContext({ ignoreHTTPSErrors: true })).newPage();
    contoso.on('dialog', (d) => d.accept());
    await contoso.goto(`${FIX.base}/portal/applications/new`);
    await signIn(contoso, FIX.admin_upn, FIX.admin_password);
    await contoso.getByRole('heading', { name: 'Register an application' }).waitFor();
    await contoso.getByLabel('Name', { exact: false }).first().fill('Contoso Partner Portal');
    await contoso.getByLabel('Accounts in any organizational directory (Any Microsoft Entra ID tenant - Multitenant)', { exact: true }).check();
    await contoso.getByLabel('Select a platform').selectOption('web');
    await contoso.getByLabel('Redirect URI', { exact: true }).fill(redirectUri);
    await contoso.getByRole('button', { name: 'Register' }).click();
    await contoso.getByRole('heading', { level: 1, name: 'Contoso Partner Portal' }).waitFor();
    const clientId = (await contoso.locator('#appId').textContent()).trim();

    await contoso.getByRole('link', { name: 'Expose an API' }).click();
    await contoso.getByRole('button', { name: 'Save' }).click();
    await contoso.getByText('Add a scope').click();
    await contoso.getByLabel('Scope name').fill('access_as_user');
    await contoso.getByLabel('Admin consent display name').fill('Access Contoso Partner Portal');
    await contoso.getByLabel('Admin consent description').fill('Lets the app act for the signed-in user.');
    await contoso.getByRole('button', { name: 'Add scope' }).click();
    await contoso.getByRole('cell', { name: `api://${clientId}/access_as_user` }).waitFor();
    await check(contoso, 'expose-an-api');

    await contoso.getByRole('link', { name: 'API permissions' }).click();
    await contoso.getByRole('link', { name: 'Add a permission' }).click();
    await contoso.getByRole('link', { name: 'Application permissions' }).click();
    await contoso.getByLabel(/^Application\.Read\.All/).check();
    await contoso.getByRole('button', { name: 'Add permissions' }).click();
    await contoso.getByRole('link', { name: 'Certificates & secrets' }).click();
    const secrets = contoso.getByRole('region', { name: /Client secrets/ });
    await secrets.getByText('New client secret').click();
    await secrets.getByRole('button', { name: 'Add' }).click();
    const secret = await contoso.locator('#newSecretValue').inputValue();

    const cca = (tenant) => new ConfidentialClientApplication({
      auth: { clientId, clientSecret: secret, authority: `${FIX.base}/${tenant}`, knownAuthorities: [HOST] },
    });
    const graphScope = ['https://graph.microsoft.com/.default'];

    // Fabrikam's administrator consents at the v2 admin-consent URL.
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const fabrikam = await context.newPage();
    fabrikam.on('dialog', (d) => d.accept());
    const q = new URLSearchParams({ client_id: clientId, scope: 'https://graph.microsoft.com/.default',
      redirect_uri: redirectUri, state: 'portal-mt' });
    await fabrikam.goto(`${FIX.base}/organizations/v2.0/adminconsent?${q}`);
    await signIn(fabrikam, FIX.b_admin_upn, FIX.b_admin_password);
    await fabrikam.waitForSelector('#forOrganization');
    await fabrikam.click('#idSIButton9');
    await fabrikam.waitForURL((u) => u.href.startsWith(redirectUri));
    assert.equal(new URL(fabrikam.url()).searchParams.get('admin_consent'), 'True');
    const granted = await cca(FIX.b_tenant_id).acquireTokenByClientCredential({ scopes: graphScope });
    assert.deepEqual(claims(granted.accessToken).roles, ['Application.Read.All']);

    // In Fabrikam's portal (the same browser, so no password again): Enterprise applications lists it,
    // with the permission Fabrikam granted; Delete.
    await fabrikam.goto(`${FIX.base}/portal/enterpriseApps`);
    await fabrikam.getByRole('heading', { name: /Enterprise applications/ }).waitFor();
    await check(fabrikam, 'enterprise-applications');
    await fabrikam.getByRole('link', { name: 'Contoso Partner Portal' }).click();
    await fabrikam.getByRole('heading', { name: 'Contoso Partner Portal | Properties' }).waitFor();
    assert.ok((await fabrikam.locator('main').textContent()).includes('Contoso'), 'its home tenant');
    await check(fabrikam, 'enterprise-application');
    await fabrikam.getByRole('link', { name: 'Permissions' }).click();
    await fabrikam.getByRole('cell', { name: 'Application.Read.All', exact: true }).waitFor();
    await check(fabrikam, 'enterprise-application-permissions');
    await fabrikam.getByRole('link', { name: 'Users and groups' }).click();
    await fabrikam.getByRole('heading', { name: 'Add Assignment' }).waitFor();
    await check(fabrikam, 'enterprise-application-users');
    await fabrikam.getByRole('link', { name: 'Properties' }).click();
    await fabrikam.getByRole('button', { name: 'Delete' }).click();
    await fabrikam.getByRole('heading', { name: /Enterprise applications/ }).waitFor();
    assert.equal(await fabrikam.getByRole('link', { name: 'Contoso Partner Portal' }).count(), 0);

    // Its tokens are refused in Fabrikam at once.
    await assert.rejects(cca(FIX.b_tenant_id).acquireTokenByClientCredential({ scopes: graphScope, skipCache: true }),
      (e) => /AADSTS700016/.test(e.errorMessage));
  } finally {
    await browser.close();
    server.close();
  }
});

test('a user without a role sees only the applications they register, and cannot grant consent', async () => {
  const browser = await launchChromium();
  try {
    const page = await (await browser.newContext({ ignoreHTTPSErrors: true })).newPage();
    await page.goto(`${FIX.base}/portal/applications`);
    await signIn(page, FIX.user_upn, FIX.user_password);
    await page.getByRole('heading', { name: 'App registrations' }).waitFor();
    assert.equal(await page.getByRole('link', { name: 'app-sec-reg' }).count(), 0, 'not someone else\'s');
    await page.getByRole('link', { name: 'New registration' }).click();
    await page.getByLabel('Name', { exact: false }).first().fill('alice-app');
    await page.getByRole('button', { name: 'Register' }).click();
    await page.getByRole('heading', { level: 1, name: 'alice-app' }).waitFor();
    await page.getByRole('link', { name: 'API permissions' }).click();
    await page.getByRole('link', { name: 'Add a permission' }).click();
    await page.getByRole('link', { name: 'Application permissions' }).click();
    await page.getByLabel(/^Application\.Read\.All/).check();
    await page.getByRole('button', { name: 'Add permissions' }).click();
    await page.getByRole('link', { name: /Grant admin consent for/ }).click();
    await page.getByRole('button', { name: 'Yes' }).click();
    await page.getByText("You don't have permission to grant admin consent").waitFor();
    await page.getByText(/^Not granted for /).waitFor();
    await check(page, 'no-consent-for-a-member');
    await page.getByRole('link', { name: 'Owners' }).click();
    await page.getByRole('cell', { name: FIX.user_upn, exact: true }).waitFor();
    await check(page, 'owners');
    await page.getByRole('navigation', { name: 'Directory' }).getByRole('link', { name: 'App registrations' }).click();
    await page.getByRole('heading', { name: 'App registrations' }).waitFor();
    assert.equal(await page.getByRole('link', { name: 'alice-app' }).count(), 1, 'hers is listed');
  } finally {
    await browser.close();
  }
});

/** Presses Tab until the focused element's accessible text matches `name` (at most 60 times). */
async function tabTo(page, name) {
  for (let i = 0; i < 60; i++) {
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(() => {
      const e = document.activeElement;
      const label = e.labels && e.labels[0] ? e.labels[0].textContent : '';
      return `${e.getAttribute('aria-label') || ''}|${e.textContent || ''}|${label}|${e.value || ''}`;
    });
    if (name.test(focused)) return;
  }
  throw new Error(`no element matching ${name} is reachable with Tab`);
}

test('the registration journey by keyboard alone', async () => {
  const browser = await launchChromium();
  try {
    const page = await (await browser.newContext({ ignoreHTTPSErrors: true })).newPage();
    // The sign-in pages put the focus in their one field (autofocus); typing goes there.
    const focusIn = (id) => page.waitForFunction((i) => document.activeElement?.id === i, id);
    await page.goto(`${FIX.base}/portal/`);
    await focusIn('i0116');
    await page.keyboard.type(FIX.admin_upn);
    await page.keyboard.press('Enter');
    await focusIn('i0118');
    await page.keyboard.type(FIX.admin_password);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: /Overview/ }).waitFor();
    await tabTo(page, /\|App registrations\|/);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'App registrations' }).waitFor();
    await tabTo(page, /\|New registration\|/);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Register an application' }).waitFor();
    await tabTo(page, /^\|\|Name/);
    await page.keyboard.type('keyboard-app');
    await tabTo(page, /Single tenant/);
    await page.keyboard.press('Space');
    await tabTo(page, /\|Register\|/);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'keyboard-app' }).waitFor();
    // The copy buttons and the blade's links are reachable too.
    await tabTo(page, /Copy Application \(client\) ID/);
    await tabTo(page, /\|Certificates & secrets\|/);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: /Certificates & secrets/ }).waitFor();
  } finally {
    await browser.close();
  }
});
