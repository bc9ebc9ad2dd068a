import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiError, NetworkError, createApiClient, entitiesFrom, parseRetryAfter } from '../../src/api.js';
import { KEYS } from '../../src/config.js';
import { clearSession } from '../../src/store.js';
import { entity, session } from '../fixtures.mjs';
import { createFakeChrome } from '../helpers/fake-chrome.mjs';
import { createFakeFetch, errorBody, refused } from '../helpers/fake-fetch.mjs';

function client(fetchImpl, extra = {}) {
  const clock = { t: 1_000_000 };
  const sleeps = [];
  const api = createApiClient({
    baseUrl: 'http://pets.test:3000',
    getToken: () => 'tok-1',
    fetchImpl,
    now: () => clock.t,
    sleep: async (ms) => {
      sleeps.push(ms);
      clock.t += ms;
    },
    ...extra,
  });
  return { api, sleeps, clock };
}

test('requests go to /api with the bearer token, query and JSON body', async () => {
  const fetchImpl = createFakeFetch(() => ({ body: { ok: true } }));
  const { api } = client(fetchImpl);
  await api.healthHistory('ent 1', { days: 30 });
  await api.monitor(102, { name: 'Rex' });
  const [get, post] = fetchImpl.calls;
  assert.equal(get.url.href, 'http://pets.test:3000/api/entities/ent%201/health-history?days=30&granularity=daily');
  assert.equal(get.headers.Authorization, 'Bearer tok-1');
  assert.equal(post.method, 'POST');
  assert.equal(post.url.pathname, '/api/repositories/102/monitor');
  assert.deepEqual(post.body, { entity_preferences: { name: 'Rex' } });
});

test('sign-in endpoints are called without a session token', async () => {
  const fetchImpl = createFakeFetch(() => ({ body: { oauth_url: 'https://github.test/login', state: 's' } }));
  const { api } = client(fetchImpl, { getToken: () => null });
  await api.initiateSignIn('https://x.chromiumapp.org/oauth');
  assert.equal(fetchImpl.calls[0].headers.Authorization, undefined);
  assert.deepEqual(fetchImpl.calls[0].body, { redirect_uri: 'https://x.chromiumapp.org/oauth' });
});

test('an error body becomes an ApiError with the contract code, message and details', async () => {
  const fetchImpl = createFakeFetch(() => ({ status: 400, body: errorBody('invalid_request', 'days must be 1..90', { details: { parameter: 'days' } }) }));
  const { api } = client(fetchImpl);
  await assert.rejects(api.healthHistory('e', { days: 500 }), (error) => {
    assert.ok(error instanceof ApiError);
    assert.equal(error.status, 400);
    assert.equal(error.code, 'invalid_request');
    assert.equal(error.message, 'days must be 1..90');
    assert.deepEqual(error.details, { parameter: 'days' });
    return true;
  });
});

test('401 signs out: the stored session and caches are cleared, then the call fails', async () => {
  const chrome = createFakeChrome({ storage: { [KEYS.session]: session(), [KEYS.entities]: [entity()], [KEYS.serverUrl]: 'http://pets.test:3000' } });
  const fetchImpl = createFakeFetch(() => ({ status: 401, body: errorBody('invalid_token', 'expired') }));
  const { api } = client(fetchImpl, { onUnauthorized: () => clearSession(chrome.storage.local) });
  await assert.rejects(api.entities(), { name: 'ApiError', code: 'invalid_token' });
  const left = await chrome.storage.local.get(null);
  assert.deepEqual(Object.keys(left), [KEYS.serverUrl], 'only the server URL survives a sign-out');
  assert.equal(fetchImpl.calls.length, 1, 'a 401 is not retried');
});

test('without a token an authenticated call fails before touching the network', async () => {
  const fetchImpl = createFakeFetch(() => ({ body: {} }));
  const { api } = client(fetchImpl, { getToken: () => null });
  await assert.rejects(api.entities(), { code: 'invalid_token' });
  assert.equal(fetchImpl.calls.length, 0);
});

test('429 waits for Retry-After seconds, then retries and succeeds', async () => {
  let n = 0;
  const fetchImpl = createFakeFetch(() =>
    ++n === 1
      ? { status: 429, body: errorBody('rate_limit_exceeded', 'slow down'), headers: { 'Retry-After': '3' } }
      : { body: { entities: [entity()] } },
  );
  const { api, sleeps } = client(fetchImpl);
  const data = await api.entities();
  assert.equal(entitiesFrom(data)[0].name, 'Mochi');
  assert.deepEqual(sleeps, [3000]);
  assert.equal(fetchImpl.calls.length, 2);
});

test('429 blocks the client: the next call waits out the rest of Retry-After before sending', async () => {
  const answers = [
    { status: 429, body: errorBody('rate_limit_exceeded', 'slow down'), headers: { 'Retry-After': '10' } },
  ];
  const fetchImpl = createFakeFetch(() => answers.shift() ?? { body: {} });
  const { api, sleeps, clock } = client(fetchImpl, { maxRetries: 0 });
  await assert.rejects(api.me(), (error) => error.code === 'rate_limit_exceeded' && error.retryAfterMs === 10_000);
  clock.t += 4000;
  await api.me();
  assert.deepEqual(sleeps, [6000], 'the second call slept the remaining 6 s');
  assert.equal(fetchImpl.calls.length, 2);
});

test('429 with a long Retry-After fails at once with retryAfterMs instead of hanging', async () => {
  const fetchImpl = createFakeFetch(() => ({ status: 429, body: errorBody('rate_limit_exceeded', 'later'), headers: { 'Retry-After': '120' } }));
  const { api, sleeps } = client(fetchImpl);
  await assert.rejects(api.entities(), { code: 'rate_limit_exceeded', retryAfterMs: 120_000 });
  assert.deepEqual(sleeps, []);
  await assert.rejects(api.entities(), { code: 'rate_limit_exceeded' });
  assert.equal(fetchImpl.calls.length, 1, 'while blocked, calls fail locally');
});

test('429 without Retry-After backs off exponentially and gives up after maxRetries', async () => {
  const fetchImpl = createFakeFetch(() => ({ status: 429, body: errorBody('rate_limit_exceeded', 'no') }));
  const { api, sleeps } = client(fetchImpl, { maxRetries: 2 });
  await assert.rejects(api.entities(), { code: 'rate_limit_exceeded' });
  assert.deepEqual(sleeps, [1000, 2000]);
  assert.equal(fetchImpl.calls.length, 3);
});

test('an unreachable server is a NetworkError', async () => {
  const { api } = client(createFakeFetch(refused));
  await assert.rejects(api.entities(), (error) => error instanceof NetworkError);
});

test('parseRetryAfter reads seconds and HTTP dates', () => {
  const now = Date.parse('2026-11-25T12:00:00Z');
  assert.equal(parseRetryAfter('5', now), 5000);
  assert.equal(parseRetryAfter('Wed, 25 Nov 2026 12:00:30 GMT', now), 30_000);
  assert.equal(parseRetryAfter('Wed, 25 Nov 2026 11:00:00 GMT', now), 0);
  assert.equal(parseRetryAfter('soon', now), null);
  assert.equal(parseRetryAfter(null, now), null);
});

test('entitiesFrom accepts a list, {entities} or {entity}', () => {
  assert.equal(entitiesFrom([entity()]).length, 1);
  assert.equal(entitiesFrom({ entities: [entity(), entity({ id: 2 })] }).length, 2);
  assert.equal(entitiesFrom({ entity: entity() }).length, 1);
  assert.deepEqual(entitiesFrom(null), []);
});
