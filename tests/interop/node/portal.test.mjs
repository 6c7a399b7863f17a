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
import { FIX, SHOTS, launchChromium } from './browser.mjs';

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
    await page.getByText('New client secret').click();
    await page.getByLabel('Description').fill('seed');
    await page.getByRole('button', { name: 'Add' }).click();
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

    const second = msalPythonToken(tokenEndpoint, clientId, secret);
    assert.deepEqual(claims(second).roles, ['Application.Read.All']);

    // At 320 px wide the pages still fit: nothing scrolls sideways.
    await page.setViewportSize({ width: 320, height: 640 });
    await page.reload();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than 320px`);
    await page.screenshot({ path: path.join(SHOTS, 'portal-320px.png'), fullPage: true });

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
