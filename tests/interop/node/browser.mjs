// What the headless-Chromium suites share: the fixture, Graph calls with a management token, Debian's
// Chromium launched by playwright-core, and the folder screenshots go to ($GATEHOUSE_SCREENSHOTS).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { chromium } from 'playwright-core';

export const FIX = JSON.parse(fs.readFileSync(process.env.GATEHOUSE_FIXTURE, 'utf8'));
export const HOST = new URL(FIX.base).host;
export const SHOTS = process.env.GATEHOUSE_SCREENSHOTS || fs.mkdtempSync('/tmp/gatehouse-shots-');
fs.mkdirSync(SHOTS, { recursive: true });

/** A Graph token of a tenant's management application (by default the fixture's first tenant's). */
export async function managementToken(tenant = FIX.tenant_id, clientId = FIX.admin_id, secret = FIX.admin_secret) {
  const r = await fetch(`${FIX.base}/${tenant}/oauth2/v2.0/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: secret,
      scope: 'https://graph.microsoft.com/.default' }),
  });
  return (await r.json()).access_token;
}

/** A Graph call that must succeed: its JSON body, or null. */
export async function graph(token, method, p, body) {
  const r = await fetch(`${FIX.base}/v1.0/${p}`, {
    method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body && JSON.stringify(body),
  });
  const text = await r.text();
  assert.ok(r.ok, `${method} ${p}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

export function launchChromium() {
  return chromium.launch({
    executablePath: process.env.GATEHOUSE_CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
}
