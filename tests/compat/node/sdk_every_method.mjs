// Calls every method of Shlink's official JS SDK against a running shortener and checks the
// answers. Run by tests/compat/shlink/test_sdk.py: node sdk_every_method.mjs BASE_URL API_KEY
// (fetch|node). Prints the names of the methods it called, one per line, then "ok".
import assert from 'node:assert/strict';
import { ShlinkApiClient } from '@shlinkio/shlink-js-sdk';
import { ErrorType } from '@shlinkio/shlink-js-sdk/api-contract';
import { FetchHttpClient } from '@shlinkio/shlink-js-sdk/fetch';
import { NodeHttpClient } from '@shlinkio/shlink-js-sdk/node';

const [baseUrl, apiKey, transport] = process.argv.slice(2);
const http = transport === 'node' ? new NodeHttpClient() : new FetchHttpClient();
const api = new ShlinkApiClient(http, { baseUrl, apiKey });
const called = new Set();
const call = async (name, ...args) => {
  called.add(name);
  return api[name](...args);
};
const problem = async (promise, type) => {
  try {
    await promise;
  } catch (error) {
    assert.equal(error.type, type, JSON.stringify(error));
    return error;
  }
  assert.fail(`expected a ${type} problem`);
};
const authority = new URL(baseUrl).host;

// health, mercure
const health = await call('health');
assert.equal(health.status, 'pass');
assert.match(health.version, /^4\.\d+\.\d+$/);
await problem(call('mercureInfo'), ErrorType.MERCURE_NOT_CONFIGURED);

// short URLs
const created = await call('createShortUrl', {
  longUrl: 'https://example.com/sdk', customSlug: 'sdk-one', tags: ['sdk', 'one'], title: 'SDK',
  maxVisits: 100, findIfExists: true,
});
assert.equal(created.shortCode, 'sdk-one');
assert.equal(created.shortUrl, `${baseUrl}/sdk-one`);
assert.deepEqual(created.tags, ['one', 'sdk']);
assert.equal(created.meta.maxVisits, 100);
assert.equal(created.domain, null);
assert.deepEqual(created.visitsSummary, { total: 0, nonBots: 0, bots: 0 });
const again = await call('createShortUrl', {
  longUrl: 'https://example.com/sdk', customSlug: 'sdk-one', tags: ['sdk', 'one'], maxVisits: 100,
  findIfExists: true,
});
assert.equal(again.shortCode, 'sdk-one');
await problem(
  call('createShortUrl', { longUrl: 'https://example.com/x', customSlug: 'sdk-one' }),
  ErrorType.INVALID_SLUG,
);
await problem(call('createShortUrl', { longUrl: 'nope' }), ErrorType.INVALID_ARGUMENT);
const two = await call('createShortUrl', { longUrl: 'https://example.com/two', tags: ['sdk'] });

const list = await call('listShortUrls', {
  page: '1', itemsPerPage: 1, tags: ['sdk'], tagsMode: 'all', orderBy: { field: 'shortCode', dir: 'ASC' },
  excludeMaxVisitsReached: true, excludePastValidUntil: true, searchTerm: 'example.com',
});
assert.equal(list.pagination.totalItems, 2);
assert.equal(list.pagination.pagesCount, 2);
assert.equal(list.data.length, 1);
assert.deepEqual(
  (await api.listShortUrls({ orderBy: { field: 'shortCode', dir: 'DESC' } })).data.map((s) => s.shortCode),
  [two.shortCode, 'sdk-one'].sort().reverse(),
);

const got = await call('getShortUrl', { shortCode: 'sdk-one', domain: authority });
assert.equal(got.title, 'SDK');
await problem(call('getShortUrl', { shortCode: 'missing' }), ErrorType.INVALID_SHORTCODE);
await problem(call('getShortUrl', { shortCode: 'sdk-one', domain: 'other.example' }), ErrorType.DOMAIN_NOT_FOUND);

const updated = await call('updateShortUrl', { shortCode: 'sdk-one' }, {
  longUrl: 'https://example.com/sdk2', title: null, tags: ['sdk'], maxVisits: null, validUntil: null,
});
assert.equal(updated.longUrl, 'https://example.com/sdk2');
assert.equal(updated.title, null);
assert.deepEqual(updated.tags, ['sdk']);
assert.equal(updated.meta.maxVisits, null);

// redirect rules
const none = await call('getShortUrlRedirectRules', { shortCode: 'sdk-one' });
assert.deepEqual(none, { defaultLongUrl: 'https://example.com/sdk2', redirectRules: [] });
const rules = await call('setShortUrlRedirectRules', { shortCode: 'sdk-one' }, {
  redirectRules: [{
    longUrl: 'https://example.com/android',
    conditions: [{ type: 'device', matchKey: null, matchValue: 'android' }],
  }],
});
assert.equal(rules.redirectRules[0].priority, 1);
assert.equal(rules.redirectRules[0].conditions[0].matchValue, 'android');
assert.equal((await api.getShortUrl({ shortCode: 'sdk-one' })).hasRedirectRules, true);

// visits: three redirects (one by a crawler), then every way of reading them
for (const ua of ['Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)']) {
  const response = await fetch(`${baseUrl}/sdk-one`, { redirect: 'manual', headers: { 'User-Agent': ua } });
  assert.equal(response.status, 302);
}
const deadline = Date.now() + 15000;
let visits;
do {
  visits = await call('getShortUrlVisits', { shortCode: 'sdk-one' }, { page: 1, itemsPerPage: 5000 });
  if (visits.pagination.totalItems < 3) await new Promise((r) => setTimeout(r, 100));
} while (visits.pagination.totalItems < 3 && Date.now() < deadline);
assert.equal(visits.pagination.totalItems, 3);
assert.equal(visits.data.filter((v) => v.potentialBot).length, 1);
assert.equal(visits.data[0].visitedUrl, `${baseUrl}/sdk-one`);
const humans = await api.getShortUrlVisits({ shortCode: 'sdk-one' }, { excludeBots: true });
assert.equal(humans.pagination.totalItems, 2);
assert.equal((await call('getTagVisits', 'sdk', { page: 1, itemsPerPage: 2 })).pagination.pagesCount, 2);
assert.equal((await call('getDomainVisits', 'DEFAULT')).pagination.totalItems, 3);
assert.equal((await call('getNonOrphanVisits', { startDate: '2000-01-01T00:00:00+00:00' })).data.length, 3);
assert.deepEqual((await call('getOrphanVisits', { type: 'regular_404' })).data, []);
const overview = await call('getVisitsOverview');
assert.deepEqual(overview.nonOrphanVisits, { total: 3, nonBots: 2, bots: 1 });
assert.deepEqual(overview.orphanVisits, { total: 0, nonBots: 0, bots: 0 });
assert.equal((await api.getShortUrl({ shortCode: 'sdk-one' })).visitsSummary.total, 3);

// tags
assert.deepEqual(await call('listTags'), { data: ['sdk'] });
const stats = await call('tagsStats');
assert.deepEqual(stats.data[0], { tag: 'sdk', shortUrlsCount: 2, visitsSummary: { total: 3, nonBots: 2, bots: 1 } });
assert.deepEqual(await call('editTag', { oldName: 'sdk', newName: 'renamed' }), { oldName: 'sdk', newName: 'renamed' });
await problem(api.editTag({ oldName: 'sdk', newName: 'x' }), ErrorType.TAG_NOT_FOUND);
assert.deepEqual((await api.listTags()).data, ['renamed']);
assert.deepEqual(await call('deleteTags', ['renamed']), { tags: ['renamed'] });
assert.deepEqual((await api.listTags()).data, []);

// domains
const domains = await call('listDomains');
assert.equal(domains.data.length, 1);
assert.equal(domains.data[0].domain, authority);
assert.equal(domains.data[0].isDefault, true);
await problem(call('editDomainRedirects', { domain: authority, baseUrlRedirect: 'https://example.com' }), 'https://shlink.io/api/error/invalid-domain');

// deleting visits, then short URLs
assert.deepEqual(await call('deleteShortUrlVisits', { shortCode: 'sdk-one' }), { deletedVisits: 3 });
assert.equal((await api.getShortUrlVisits({ shortCode: 'sdk-one' })).pagination.totalItems, 0);
assert.deepEqual(await call('deleteOrphanVisits'), { deletedVisits: 0 });
assert.equal(await call('deleteShortUrl', { shortCode: 'sdk-one' }), undefined);
await api.deleteShortUrl({ shortCode: two.shortCode });
await problem(api.deleteShortUrl({ shortCode: 'sdk-one' }), ErrorType.INVALID_SHORTCODE);
assert.equal((await api.listShortUrls()).pagination.totalItems, 0);

// every method the SDK offers was called
const offered = Object.getOwnPropertyNames(ShlinkApiClient.prototype).filter((n) => n !== 'constructor');
assert.deepEqual(offered.filter((n) => !called.has(n)), []);
for (const name of [...called].sort()) console.log(name);
console.log('ok');
