import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KEYS } from '../../src/config.js';
import { createPopup } from '../../src/popup.js';
import { NOW, analysis, deadEntity, entity, history, repositories, session } from '../fixtures.mjs';
import { byTestId, createDom, text } from '../helpers/dom.mjs';
import { createFakeChrome, flush } from '../helpers/fake-chrome.mjs';
import { createFakeFetch, errorBody } from '../helpers/fake-fetch.mjs';
import { FakeClock } from '../helpers/fake-timers.mjs';

function deferred() {
  let resolve;
  const promise = new Promise((r) => (resolve = r));
  return { promise, resolve };
}

/** A popup over a fake browser; `worker(message)` plays the service worker's side of sendMessage. */
function open({ storage = {}, server, worker } = {}) {
  const { document, root } = createDom();
  const ctx = {
    worker: worker ?? (async () => ({ ok: true })),
    server: server ?? (({ url }) => {
      if (url.pathname.endsWith('/health-history')) return { body: { entity_id: 'ent-1', health_history: history(NOW), summary: { current_health: 79, trend: 'improving', days_tracked: 30 } } };
      if (url.pathname === '/api/analysis/recent') return { body: { analyses: [analysis(), analysis({ id: 'an-2', repository: { full_name: 'other/repo' }, commit: { sha: 'bbbbbbb' } })] } };
      if (url.pathname === '/api/repositories') return { body: { repositories: repositories(), total_count: 3, has_more: false } };
      return { status: 201, body: {} };
    }),
  };
  const chrome = createFakeChrome({
    storage: { [KEYS.serverUrl]: 'http://pets.test', [KEYS.session]: session(), [KEYS.entities]: [entity()], [KEYS.currentEntityId]: 'ent-1', [KEYS.lastUpdated]: NOW - 60_000, ...storage },
    onSendMessage: (message) => ctx.worker(message),
  });
  const fetchImpl = createFakeFetch((request) => ctx.server(request));
  const clock = new FakeClock(NOW);
  const popup = createPopup({ ext: chrome, doc: document, root, now: clock.now, fetchImpl, timers: clock });
  return Object.assign(ctx, { chrome, fetchImpl, clock, popup, document, root, data: chrome.storage.local.data });
}

test('the cached pet is on screen before the worker or the network answer', async () => {
  const pending = deferred();
  const ctx = open({ worker: () => pending.promise });
  ctx.popup.start();
  await flush(2);
  assert.equal(ctx.root.dataset.screen, 'dashboard');
  assert.equal(text(byTestId(ctx.root, 'pet-name')), 'Mochi');
  assert.equal(text(byTestId(ctx.root, 'health-score')), '72');
  assert.equal(ctx.document.documentElement.dataset.firstRender, 'done');
  assert.ok(byTestId(ctx.root, 'refreshing'), 'a refresh is under way');
  assert.deepEqual(ctx.chrome.calls.sendMessage, [{ type: 'refresh' }]);
  assert.equal(ctx.fetchImpl.calls.length, 0);
  pending.resolve({ ok: true });
  await flush(10);
  assert.equal(byTestId(ctx.root, 'refreshing'), null);
});

test('after refresh the popup loads history and activity for the pet and caches them', async () => {
  const ctx = open();
  await ctx.popup.start();
  await flush(10);
  assert.equal(ctx.data[KEYS.histories]['ent-1'].length, 30);
  assert.deepEqual(ctx.data[KEYS.activity]['ent-1'].map((a) => a.id), ['an-1'], 'only this repository');
  assert.equal(byTestId(ctx.root, 'health-chart').querySelector('svg').dataset.points, '30');
  assert.equal(byTestId(ctx.root, 'activity').querySelectorAll('li').length, 1);
  const paths = ctx.fetchImpl.calls.map((c) => c.url.pathname + c.url.search);
  assert.ok(paths.includes('/api/entities/ent-1/health-history?days=30&granularity=daily'));
  assert.ok(paths.includes('/api/analysis/recent?limit=20'));
});

test('a storage change from the worker updates the health in place', async () => {
  const ctx = open();
  await ctx.popup.start();
  await flush(10);
  const chart = byTestId(ctx.root, 'health-chart');
  await ctx.chrome.storage.local.set({ [KEYS.entities]: [entity({ health_score: 66 })] });
  await flush(3);
  assert.equal(text(byTestId(ctx.root, 'health-score')), '66');
  assert.equal(byTestId(ctx.root, 'health-chart'), chart);
});

test('a live event message shows a short toast that goes away', async () => {
  const ctx = open();
  await ctx.popup.start();
  ctx.chrome.runtime.onMessage.emit({ type: 'tamagitto:event', event: { type: 'health_update', entity_id: 'ent-1', health_score: 76, change_reason: 'tests added' } });
  assert.equal(text(byTestId(ctx.root, 'toast')), 'Mochi: 76 — tests added');
  await ctx.clock.advance(5000);
  assert.equal(byTestId(ctx.root, 'toast'), null);
});

test('a 401 from the API signs the popup out', async () => {
  const ctx = open({ server: () => ({ status: 401, body: errorBody('invalid_token', 'expired') }) });
  await ctx.popup.start();
  await flush(10);
  assert.equal(ctx.data[KEYS.session], undefined);
  assert.equal(ctx.root.dataset.screen, 'signin');
});

test('Connect GitHub asks the worker to sign in and waits for it', async () => {
  const answer = deferred();
  const ctx = open({ storage: { [KEYS.session]: undefined }, worker: (m) => (m.type === 'signIn' ? answer.promise : { ok: true }) });
  await ctx.popup.start();
  byTestId(ctx.root, 'connect-github').click();
  assert.equal(byTestId(ctx.root, 'connect-github').disabled, true);
  answer.resolve({ ok: false, error: { message: 'The sign-in window was closed.' } });
  await flush(3);
  assert.equal(byTestId(ctx.root, 'connect-github').disabled, false);
  assert.match(text(ctx.root), /The sign-in window was closed/);
});

test('death screen counts down live and enables "Create new pet" when the cooldown ends', async () => {
  const dead = deadEntity({ died_at: new Date(NOW - 48 * 3_600_000 + 3000).toISOString() }); // 3 s left
  const ctx = open({ storage: { [KEYS.entities]: [dead], [KEYS.currentEntityId]: dead.id } });
  await ctx.popup.start();
  await flush(5);
  assert.equal(ctx.root.dataset.screen, 'death');
  assert.equal(text(byTestId(ctx.root, 'cooldown')), '00:00:03');
  assert.equal(byTestId(ctx.root, 'revive').disabled, true);
  await ctx.clock.advance(1000);
  assert.equal(text(byTestId(ctx.root, 'cooldown')), '00:00:02');
  await ctx.clock.advance(2000);
  assert.ok(byTestId(ctx.root, 'cooldown-over'));
  assert.equal(byTestId(ctx.root, 'revive').disabled, false);
  assert.equal(ctx.clock.pending().length, 0, 'the ticking stops');

  const before = ctx.chrome.calls.sendMessage.length;
  byTestId(ctx.root, 'revive').click();
  await flush(10);
  assert.equal(ctx.fetchImpl.calls.at(-1).method, 'POST');
  assert.equal(ctx.fetchImpl.calls.at(-1).url.pathname, '/api/entities/ent-dead/reset');
  assert.deepEqual(ctx.chrome.calls.sendMessage.slice(before), [{ type: 'refresh' }]);
});

test('a cooldown_active answer to reset keeps the server expiry and restarts the countdown', async () => {
  const dead = deadEntity({ died_at: new Date(NOW - 49 * 3_600_000).toISOString() });
  const expires = new Date(NOW + 90_000).toISOString();
  const ctx = open({
    storage: { [KEYS.entities]: [dead], [KEYS.currentEntityId]: dead.id },
    server: ({ url }) =>
      url.pathname.endsWith('/reset')
        ? { status: 400, body: errorBody('cooldown_active', 'The pet died too recently.', { cooldown_expires: expires }) }
        : { body: {} },
  });
  await ctx.popup.start();
  await flush(5);
  byTestId(ctx.root, 'revive').click();
  await flush(10);
  assert.equal(ctx.data[KEYS.cooldowns][dead.id], expires);
  assert.equal(text(byTestId(ctx.root, 'cooldown')), '00:01:30');
  assert.match(text(ctx.root), /died too recently/);
});

test('repositories: loaded on demand, and a toggle monitors through the API then refreshes', async () => {
  const ctx = open({ storage: { [KEYS.entities]: [] } });
  await ctx.popup.start();
  await flush(10);
  assert.equal(ctx.root.dataset.screen, 'repositories');
  const toggles = ctx.root.querySelectorAll('[data-testid="repo-toggle"]');
  assert.equal(toggles.length, 3);
  const gears = ctx.root.querySelector('li[data-repo="octo/gears"] input');
  gears.checked = true;
  gears.dispatchEvent(new ctx.document.defaultView.Event('change'));
  await flush(10);
  const call = ctx.fetchImpl.calls.find((c) => c.method === 'POST');
  assert.equal(call.url.pathname, '/api/repositories/103/monitor');
  assert.deepEqual(call.body, { entity_preferences: {} });
  assert.deepEqual(ctx.chrome.calls.sendMessage.at(-1), { type: 'refresh' });
  assert.equal(ctx.root.querySelector('li[data-repo="octo/gears"] input').checked, true);
});

test('switching pets remembers the choice and loads that pet\'s details', async () => {
  const ctx = open({ storage: { [KEYS.entities]: [entity(), entity({ id: 'ent-2', name: 'Rex', repository: { full_name: 'octo/rex' } })] } });
  await ctx.popup.start();
  await flush(10);
  ctx.root.querySelector('[data-entity="ent-2"]').click();
  await flush(10);
  assert.equal(text(byTestId(ctx.root, 'pet-name')), 'Rex');
  assert.equal(ctx.data[KEYS.currentEntityId], 'ent-2');
  assert.ok(ctx.fetchImpl.calls.some((c) => c.url.pathname === '/api/entities/ent-2/health-history'));
});

test('the first run asks for the server and saves it only once /healthz answers', async () => {
  let healthy = false;
  const ctx = open({
    storage: { [KEYS.serverUrl]: undefined, [KEYS.session]: undefined },
    server: ({ url }) => (url.pathname === '/healthz' && healthy ? { body: { status: 'ok' } } : { status: 404, body: {} }),
  });
  await ctx.popup.start();
  await flush(5);
  assert.equal(ctx.root.dataset.screen, 'firstrun');
  const form = byTestId(ctx.root, 'first-run');
  byTestId(ctx.root, 'server-input').value = 'http://pets.test:8000/some/page';
  form.requestSubmit();
  await flush(10);
  assert.match(text(byTestId(ctx.root, 'server-error')), /http:\/\/pets\.test:8000\/healthz answered 404/);
  assert.equal(byTestId(ctx.root, 'server-error').dataset.step, 'health');
  assert.equal(ctx.data[KEYS.serverUrl], undefined, 'nothing saved');
  assert.equal(ctx.root.dataset.screen, 'firstrun');

  healthy = true;
  byTestId(ctx.root, 'server-input').value = 'http://pets.test:8000';
  byTestId(ctx.root, 'first-run').requestSubmit();
  await flush(10);
  assert.equal(ctx.data[KEYS.serverUrl], 'http://pets.test:8000');
  assert.deepEqual(ctx.chrome.calls.permissionRequests.at(-1), { origins: ['http://pets.test:8000/*'] });
  assert.equal(ctx.root.dataset.screen, 'signin');
  assert.match(text(ctx.root), /Server: http:\/\/pets\.test:8000/);
});

test('the per-change rows are cached for the history when the server sends them', async () => {
  const changes = [{ timestamp: new Date(NOW).toISOString(), health_score: 0, health_before: 0, applied: 0, change_reason: 'death', decay_start: false }];
  const ctx = open({
    server: ({ url }) => (url.pathname.endsWith('/health-history')
      ? { body: { entity_id: 'ent-1', health_history: history(NOW), changes, summary: {} } }
      : { body: { analyses: [] } }),
  });
  await ctx.popup.start();
  await flush(10);
  assert.deepEqual(ctx.data[KEYS.histories]['ent-1'], changes);
});

test('caretakers are fetched for the pet, cached, shown, and an achievement toasts', async () => {
  const care = {
    entity_id: 'ent-1', repository_id: 7, enabled: true, days: 30,
    period: { since: 't', commits: 3, people: 1, caretakers: [{ person: { key: 'gh:ada', name: 'Ada', login: 'ada' }, added: 9, taken_away: 2, net: 7, commits: 3, streak: { current: 2, best: 4 }, best_commit: { sha: 'abcdef1234', message: 'Add tests', points: 6, delta: 6, reasons: [] } }] },
    all_time: { since: null, commits: 3, people: 1, caretakers: [] },
    streak: { current: 2, best: 4 },
    achievements: [{ code: 'first_test', emoji: '🧪', title: 'First test', description: 'd', person: { key: 'gh:ada', name: 'Ada' }, commit_sha: 'abcdef1234', earned_at: 't' }],
  };
  const asked = [];
  const ctx = open({ server: ({ url }) => {
    asked.push(url.pathname + url.search);
    if (url.pathname === '/api/entities/ent-1/caretakers') return { body: care };
    return { body: {} };
  } });
  await ctx.popup.start();
  await flush(10);
  assert.ok(asked.includes('/api/entities/ent-1/caretakers?days=30'));
  assert.deepEqual(ctx.data[KEYS.caretakers]['ent-1'], care);
  const section = byTestId(ctx.root, 'caretakers');
  assert.match(text(section), /Ada \+9 −2 · 3 commits · 🔥 2 days/);
  assert.match(text(section), /best: abcdef1 \+6 Add tests/);
  assert.match(text(byTestId(ctx.root, 'pet-streak')), /2 days in a row/);
  assert.match(text(byTestId(ctx.root, 'achievement-list')), /🧪 First test — Ada abcdef1/);
  ctx.chrome.runtime.onMessage.emit({ type: 'tamagitto:event', event: { type: 'achievement', entity_id: 'ent-1', message: 'Ada earned 🧪 First test on octo/mochi' } });
  assert.equal(text(byTestId(ctx.root, 'toast')), 'Ada earned 🧪 First test on octo/mochi');
});
