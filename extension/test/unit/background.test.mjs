import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import { SESSION_ALARM, createBackground } from '../../src/background-core.js';
import { KEYS } from '../../src/config.js';
import { STATE_COLORS } from '../../src/health.js';
import { POLL_ALARM } from '../../src/socket.js';
import { NOW, entity, session } from '../fixtures.mjs';
import { createFakeChrome, flush } from '../helpers/fake-chrome.mjs';
import { createFakeFetch, errorBody, refused } from '../helpers/fake-fetch.mjs';
import { FakeClock } from '../helpers/fake-timers.mjs';
import { FakeWebSocket } from '../helpers/fake-websocket.mjs';

beforeEach(() => FakeWebSocket.reset());

/** A worker with a fake browser around it; `server` answers REST calls (replace it per test). */
function boot({ storage = {}, granted = [], chromeOptions = {} } = {}) {
  const chrome = createFakeChrome({
    storage: { [KEYS.serverUrl]: 'http://pets.test', [KEYS.session]: session(), ...storage },
    granted,
    onSendMessage: async () => undefined,
    ...chromeOptions,
  });
  const ctx = { server: () => ({ body: { entities: [entity()] } }) };
  const fetchImpl = createFakeFetch((request) => ctx.server(request));
  const clock = new FakeClock(NOW);
  const bg = createBackground({ ext: chrome, fetchImpl, WebSocketImpl: FakeWebSocket, timers: clock, random: () => 0.5, now: clock.now });
  chrome.storage.onChanged.addListener((changes, area) => bg.onStorageChanged(changes, area));
  chrome.alarms.onAlarm.addListener((alarm) => bg.onAlarm(alarm));
  return Object.assign(ctx, { chrome, fetchImpl, clock, bg, data: chrome.storage.local.data });
}

async function live(ctx, entities = [entity()]) {
  await ctx.bg.init();
  FakeWebSocket.last.open();
  FakeWebSocket.last.receive({ type: 'snapshot', entities });
  await flush(10);
}

test('with a session the worker dials the socket with the token and reports live', async () => {
  const ctx = boot();
  await ctx.bg.init();
  assert.equal(FakeWebSocket.last.url, 'ws://pets.test/api/ws?token=session-token-abc');
  FakeWebSocket.last.open();
  await flush();
  assert.equal(ctx.data[KEYS.connection].state, 'live');
  assert.ok(ctx.chrome.alarms.all.has(SESSION_ALARM));
});

test('without a session: no socket, empty badge', async () => {
  const ctx = boot({ storage: { [KEYS.session]: undefined } });
  await ctx.bg.init();
  assert.equal(FakeWebSocket.instances.length, 0);
  assert.equal(ctx.chrome.action.badge.text, '');
});

test('snapshot caches the pets, picks the current one and sets the badge', async () => {
  const ctx = boot();
  await live(ctx, [entity(), entity({ id: 'ent-2', name: 'Rex', health_score: 90, last_updated: new Date(NOW - 10 * 86_400_000).toISOString() })]);
  assert.equal(ctx.data[KEYS.entities].length, 2);
  assert.equal(ctx.data[KEYS.currentEntityId], 'ent-1', 'the most recently updated pet');
  assert.deepEqual(ctx.chrome.action.badge, { text: '72', color: STATE_COLORS.healthy });
  assert.equal(ctx.data[KEYS.lastUpdated], NOW);
});

test('health_update changes the cached pet, its history and the badge, and tells open popups', async () => {
  const ctx = boot();
  await live(ctx);
  FakeWebSocket.last.receive({ type: 'health_update', entity_id: 'ent-1', health_score: 35, state: 'poor', visual_url: '/img/poor.png', change_reason: 'complexity rose', timestamp: '2026-11-25T12:01:00Z' });
  await flush(10);
  const [pet] = ctx.data[KEYS.entities];
  assert.equal(pet.health_score, 35);
  assert.equal(pet.visual_url, '/img/poor.png');
  assert.deepEqual(ctx.data[KEYS.histories]['ent-1'], [{ timestamp: '2026-11-25T12:01:00Z', health_score: 35, change_reason: 'complexity rose' }]);
  assert.deepEqual(ctx.chrome.action.badge, { text: '35', color: STATE_COLORS.poor });
  assert.equal(ctx.chrome.calls.sendMessage.at(-1).event.type, 'health_update');
});

test('two updates arriving together are both applied (no lost read-modify-write)', async () => {
  const ctx = boot();
  await live(ctx, [entity(), entity({ id: 'ent-2', name: 'Rex' })]);
  FakeWebSocket.last.receive({ type: 'health_update', entity_id: 'ent-1', health_score: 50, state: 'okay', timestamp: 't1' });
  FakeWebSocket.last.receive({ type: 'health_update', entity_id: 'ent-2', health_score: 20, state: 'poor', timestamp: 't2' });
  await flush(15);
  assert.deepEqual(ctx.data[KEYS.entities].map((e) => e.health_score), [50, 20]);
});

test('a pet that starts dying raises one notification, only when notifications are allowed', async () => {
  const allowed = boot({ granted: ['notifications'] });
  await live(allowed);
  const dyingUpdate = { type: 'health_update', entity_id: 'ent-1', health_score: 15, state: 'dying', timestamp: 't' };
  FakeWebSocket.last.receive(dyingUpdate);
  await flush(10);
  FakeWebSocket.last.receive({ ...dyingUpdate, health_score: 12 });
  await flush(10);
  assert.equal(allowed.chrome.calls.notifications.length, 1);
  assert.equal(allowed.chrome.calls.notifications[0].title, 'Your Tamagitto pet is dying');
  assert.match(allowed.chrome.calls.notifications[0].message, /Mochi is in critical condition/);
  assert.equal(allowed.chrome.calls.notifications[0].iconUrl, 'chrome-extension://abcdefghijklmnopabcdefghijklmnop/icons/icon128.png');

  FakeWebSocket.reset();
  const denied = boot();
  await live(denied);
  FakeWebSocket.last.receive(dyingUpdate);
  await flush(10);
  assert.equal(denied.chrome.calls.notifications.length, 0);
  assert.equal(denied.chrome.action.badge.text, '15', 'the badge still updates');
});

test('status_change to dead: RIP badge and a notification with the server message', async () => {
  const ctx = boot({ granted: ['notifications'] });
  await live(ctx, [entity({ health_score: 5, status: 'dying' })]);
  FakeWebSocket.last.receive({ type: 'status_change', entity_id: 'ent-1', old_status: 'dying', new_status: 'dead', health_score: 0, message: 'Mochi has died.', timestamp: '2026-11-25T12:05:00Z' });
  await flush(10);
  assert.equal(ctx.data[KEYS.entities][0].status, 'dead');
  assert.equal(ctx.data[KEYS.entities][0].died_at, '2026-11-25T12:05:00Z');
  assert.deepEqual(ctx.chrome.action.badge, { text: 'RIP', color: STATE_COLORS.dead });
  assert.deepEqual(ctx.chrome.calls.notifications.map((n) => [n.title, n.message]), [['Your Tamagitto pet died', 'Mochi has died.']]);
});

test('analysis_complete lands in the activity of the pet of that repository', async () => {
  const ctx = boot();
  await live(ctx);
  FakeWebSocket.last.receive({ type: 'analysis_complete', repository: 'octo/mochi', commit_sha: 'abc1234def', quality_score: 88, health_delta: 3, timestamp: 't' });
  FakeWebSocket.last.receive({ type: 'analysis_complete', repository: 'someone/else', commit_sha: 'zzz', quality_score: 1, health_delta: -9, timestamp: 't' });
  await flush(10);
  const items = ctx.data[KEYS.activity]['ent-1'];
  assert.equal(items.length, 1);
  assert.equal(items[0].commit.sha, 'abc1234def');
  assert.equal(items[0].health_impact.delta, 3);
});

test('socket down: polls REST at once (polling), and reports offline when the server is gone', async () => {
  const ctx = boot();
  await live(ctx);
  ctx.server = () => ({ body: { entities: [entity({ health_score: 64 })] } });
  FakeWebSocket.last.fail();
  await flush(10);
  assert.equal(ctx.fetchImpl.calls.at(-1).url.pathname, '/api/entities');
  assert.equal(ctx.fetchImpl.calls.at(-1).headers.Authorization, 'Bearer session-token-abc');
  assert.equal(ctx.data[KEYS.entities][0].health_score, 64);
  assert.equal(ctx.data[KEYS.connection].state, 'polling');
  assert.equal(ctx.chrome.action.badge.text, '64');

  ctx.server = refused;
  await ctx.chrome.alarms.fire(POLL_ALARM);
  await flush(10);
  assert.equal(ctx.data[KEYS.connection].state, 'offline');
  assert.equal(ctx.data[KEYS.entities][0].health_score, 64, 'the cache stays');

  ctx.server = () => ({ body: { entities: [entity({ health_score: 66 })] } });
  await ctx.clock.advance(1000); // backoff ran out: dial again, and this time it works
  FakeWebSocket.last.open();
  await flush(10);
  assert.equal(ctx.data[KEYS.connection].state, 'live');
  assert.equal(ctx.chrome.alarms.all.has(POLL_ALARM), false);
});

test('a 401 while polling signs out: session and caches gone, socket stopped, badge cleared', async () => {
  const ctx = boot();
  await live(ctx);
  ctx.server = () => ({ status: 401, body: errorBody('invalid_token', 'revoked') });
  FakeWebSocket.last.fail();
  await flush(15);
  assert.deepEqual(Object.keys(ctx.data), [KEYS.serverUrl]);
  assert.equal(ctx.chrome.action.badge.text, '');
  const count = FakeWebSocket.instances.length;
  await ctx.clock.advance(120_000);
  assert.equal(FakeWebSocket.instances.length, count, 'no reconnecting after sign-out');
  assert.equal(ctx.chrome.alarms.all.has(POLL_ALARM), false);
});

test('sign-in: initiate, launchWebAuthFlow, state checked, callback, session stored, socket dialled', async () => {
  const flows = [];
  const ctx = boot({
    storage: { [KEYS.session]: undefined },
    chromeOptions: {
      launchWebAuthFlow: async (details) => {
        flows.push(details);
        return 'https://abcdefghijklmnopabcdefghijklmnop.chromiumapp.org/oauth?code=c0de&state=st-1';
      },
    },
  });
  ctx.server = ({ url, body }) => {
    if (url.pathname === '/api/auth/github/initiate') return { body: { oauth_url: 'https://github.test/login/oauth/authorize?x=1', state: 'st-1' } };
    if (url.pathname === '/api/auth/github/callback') {
      assert.deepEqual(body, { code: 'c0de', state: 'st-1' });
      return { body: { session_token: 'new-token', user: { id: 7, username: 'hubot' }, expires_at: '2026-11-26T12:00:00Z' } };
    }
    return { body: { entities: [] } };
  };
  await ctx.bg.init();
  const result = await ctx.bg.onMessage({ type: 'signIn' });
  assert.equal(result.ok, true);
  assert.deepEqual(ctx.fetchImpl.calls[0].body, { redirect_uri: 'https://abcdefghijklmnopabcdefghijklmnop.chromiumapp.org/oauth' });
  assert.deepEqual(flows, [{ url: 'https://github.test/login/oauth/authorize?x=1', interactive: true }]);
  assert.equal(ctx.data[KEYS.session].token, 'new-token');
  await flush(10);
  assert.equal(FakeWebSocket.last.url, 'ws://pets.test/api/ws?token=new-token');
});

test('sign-in refuses an answer whose state does not match', async () => {
  const ctx = boot({
    storage: { [KEYS.session]: undefined },
    chromeOptions: { launchWebAuthFlow: async () => 'https://x.chromiumapp.org/oauth?code=c0de&state=forged' },
  });
  ctx.server = () => ({ body: { oauth_url: 'https://github.test/login', state: 'st-1' } });
  const result = await ctx.bg.onMessage({ type: 'signIn' });
  assert.equal(result.ok, false);
  assert.equal(result.error.code, 'state_mismatch');
  assert.equal(ctx.fetchImpl.calls.length, 1, 'the callback was never called');
  assert.equal(ctx.data[KEYS.session], undefined);
});

test('sign-out revokes the session on the server and forgets it locally', async () => {
  const ctx = boot();
  await live(ctx);
  ctx.server = () => ({ status: 204 });
  await ctx.bg.onMessage({ type: 'signOut' });
  await flush(10);
  assert.equal(ctx.fetchImpl.calls.at(-1).url.pathname, '/api/auth/logout');
  assert.deepEqual(Object.keys(ctx.data), [KEYS.serverUrl]);
  assert.equal(ctx.chrome.action.badge.text, '');
  assert.equal(FakeWebSocket.last.readyState, FakeWebSocket.CLOSED);
});

test('a session close to expiry is renewed by the hourly alarm, and the socket re-dials with it', async () => {
  const ctx = boot({ storage: { [KEYS.session]: session({ expires_at: new Date(NOW + 30 * 86_400_000).toISOString() }) } });
  await live(ctx);
  ctx.server = ({ url }) => (url.pathname === '/api/auth/refresh' ? { body: { session_token: 'renewed', expires_at: new Date(NOW + 86_400_000).toISOString() } } : { body: [] });
  await ctx.chrome.alarms.fire(SESSION_ALARM);
  assert.equal(ctx.fetchImpl.calls.length, 0, 'not due yet');
  ctx.data[KEYS.session].expires_at = new Date(NOW + 3_600_000).toISOString();
  await ctx.chrome.alarms.fire(SESSION_ALARM);
  await flush(10);
  assert.equal(ctx.data[KEYS.session].token, 'renewed');
  assert.equal(ctx.data[KEYS.session].user.username, 'octocat');
  assert.equal(FakeWebSocket.last.url, 'ws://pets.test/api/ws?token=renewed');
});

test('the popup refresh message polls and answers with the outcome', async () => {
  const ctx = boot();
  await ctx.bg.init();
  assert.deepEqual(await ctx.bg.onMessage({ type: 'refresh' }), { ok: true });
  ctx.server = refused;
  const failed = await ctx.bg.onMessage({ type: 'refresh' });
  assert.equal(failed.ok, false);
  assert.equal(failed.error.kind, 'network');
  assert.equal(ctx.bg.onMessage({ type: 'something-else' }), null);
});

test('an update for a pet not cached yet (a new one) triggers a poll that fetches it', async () => {
  const ctx = boot();
  await live(ctx);
  ctx.server = () => ({ body: { entities: [entity(), entity({ id: 'ent-new', name: 'Pip', health_score: 50 })] } });
  FakeWebSocket.last.receive({ type: 'health_update', entity_id: 'ent-new', health_score: 50, state: 'okay', timestamp: 't' });
  await flush(15);
  assert.equal(ctx.fetchImpl.calls.at(-1).url.pathname, '/api/entities');
  assert.deepEqual(ctx.data[KEYS.entities].map((e) => e.name), ['Mochi', 'Pip']);
});

test('an achievement raises a notification with the server sentence and reaches open popups', async () => {
  const ctx = boot({ granted: ['notifications'] });
  await live(ctx);
  const earned = { type: 'achievement', entity_id: 'ent-1', repository_id: 7, repository: 'octo/mochi', code: 'first_test', emoji: '🧪', title: 'First test', description: 'Their first commit that added test cases.', person: { key: 'gh:ada', name: 'Ada', login: 'ada' }, commit_sha: 'abc1234', message: 'Ada earned 🧪 First test on octo/mochi', timestamp: 't' };
  FakeWebSocket.last.receive(earned);
  FakeWebSocket.last.receive({ ...earned, entity_id: 'not-ours' });
  await flush(10);
  assert.deepEqual(ctx.chrome.calls.notifications.map((n) => [n.title, n.message]), [['Achievement earned', 'Ada earned 🧪 First test on octo/mochi']]);
  assert.equal(ctx.chrome.calls.sendMessage.at(-1).event.type, 'achievement');
});
