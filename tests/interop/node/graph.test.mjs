// Microsoft's Graph client for JavaScript (@microsoft/microsoft-graph-client), unmodified, against
// Gatehouse's Graph API: pointed at the server with `baseUrl` and `customHosts` (its auth middleware
// attaches tokens only to Graph's hosts or custom ones), with a token for Microsoft Graph from
// @azure/identity. Then applications with $top/$select paging through its PageIterator, $filter, $count.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { randomUUID } from 'node:crypto';
import { ClientSecretCredential } from '@azure/identity';
import { Client, PageIterator } from '@microsoft/microsoft-graph-client';
import { TokenCredentialAuthenticationProvider } from '@microsoft/microsoft-graph-client/authProviders/azureTokenCredentials/index.js';

const FIX = JSON.parse(fs.readFileSync(process.env.GATEHOUSE_FIXTURE, 'utf8'));

function client() {
  const credential = new ClientSecretCredential(FIX.tenant_id, FIX.admin_id, FIX.admin_secret, {
    authorityHost: FIX.base, disableInstanceDiscovery: true,
  });
  const authProvider = new TokenCredentialAuthenticationProvider(credential, {
    scopes: ['https://graph.microsoft.com/.default'],
  });
  return Client.initWithMiddleware({
    authProvider, baseUrl: FIX.base, customHosts: new Set([new URL(FIX.base).hostname]),
  });
}

test('Graph JS client: create, page with $top/$select, filter, count, delete', async () => {
  const graph = client();
  const prefix = `js-${randomUUID().slice(0, 6)}`;
  const made = [];
  for (let i = 0; i < 5; i++) {
    made.push(await graph.api('/applications').post({ displayName: `${prefix}-${i}` }));
  }
  const first = await graph.api('/applications')
    .filter(`startswith(displayName,'${prefix}')`).select('id,displayName').top(2).get();
  assert.equal(first.value.length, 2);
  assert.ok(first['@odata.nextLink'].startsWith(FIX.base), first['@odata.nextLink']);
  assert.deepEqual(Object.keys(first.value[0]).sort(), ['displayName', 'id']);
  const seen = [];
  await new PageIterator(graph, first, (a) => { seen.push(a.displayName); return true; }).iterate();
  assert.deepEqual(seen.sort(), made.map((a) => a.displayName).sort());

  const counted = await graph.api('/applications').header('ConsistencyLevel', 'eventual')
    .filter(`startswith(displayName,'${prefix}')`).count(true).top(1).get();
  assert.equal(counted['@odata.count'], 5);

  const byAppId = await graph.api(`/applications(appId='${made[0].appId}')`).select('appId').get();
  assert.equal(byAppId.appId, made[0].appId);
  await assert.rejects(graph.api('/applications').query({ $search: '"displayName:x"' }).get(),
    (e) => e.statusCode === 400 && e.code === 'Request_UnsupportedQuery');

  for (const a of made) await graph.api(`/applications/${a.id}`).delete();
  const left = await graph.api('/applications').filter(`startswith(displayName,'${prefix}')`).get();
  assert.deepEqual(left.value, []);
});
