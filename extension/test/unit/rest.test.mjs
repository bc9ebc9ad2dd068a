/** Pets can rest: the Hibernate / Wake up button and the optional "hungry" notification. */
import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import { createBackground } from '../../src/background-core.js';
import { KEYS } from '../../src/config.js';
import { createPopup } from '../../src/popup.js';
import { NOW, entity, session } from '../fixtures.mjs';
import { byTestId, createDom, text } from '../helpers/dom.mjs';
import { createFakeChrome, flush } from '../helpers/fake-chrome.mjs';
import { createFakeFetch, errorBody } from '../helpers/fake-fetch.mjs';
import { FakeClock } from '../helpers/fake-timers.mjs';
import { FakeWebSocket } from '../helpers/fake-websocket.mjs';

beforeEach(() => FakeWebSocket.reset());

function popup({ pet = entity(), server }) {
  const { document, root } = createDom();
  const chrome = createFakeChrome({
    storage: { [KEYS.serverUrl]: 'http://pets.test', [KEYS.session]: session(), [KEYS.entities]: [pet], [KEYS.currentEntityId]: pet.id },
    onSendMessage: async () => ({ ok: true }),
  });
  const fetchImpl = createFakeFetch((request) => server(request));
  const clock = new FakeClock(NOW);
  const instance = createPopup({ ext: chrome, doc: document, root, now: clock.now, fetchImpl, timers: clock });
  return { chrome, fetchImpl, root, popup: instance, data: chrome.storage.local.data };
}

const quiet = ({ url }) => (url.pathname.endsWith('/health-history') ? { body: { health_history: [] } } : { body: { analyses: [] } });

test('Hibernate asks the server, then refreshes the cached pet and says so', async () => {
  const ctx = popup({
    server: (request) =>
      request.url.pathname.endsWith('/hibernate')
        ? { body: { entity: entity({ sleeping: true }), message: 'Mochi is asleep until its next commit.' } }
        : quiet(request),
  });
  await ctx.popup.start();
  await flush(5);
  assert.match(text(byTestId(ctx.root, 'rest-note')), /stops decay/);
  byTestId(ctx.root, 'hibernate').click();
  assert.equal(byTestId(ctx.root, 'hibernate').disabled, true, 'no second request while waiting');
  await flush(10);
  const call = ctx.fetchImpl.calls.find((c) => c.url.pathname.endsWith('/hibernate'));
  assert.equal(call.method, 'POST');
  assert.equal(call.url.pathname, '/api/entities/ent-1/hibernate');
  assert.deepEqual(ctx.chrome.calls.sendMessage.at(-1), { type: 'refresh' });
  assert.equal(text(byTestId(ctx.root, 'toast')), 'Mochi is asleep until its next commit.');
});

test('a sleeping pet shows Wake up, which sends DELETE', async () => {
  const until = new Date(NOW + 20 * 86_400_000).toISOString();
  const ctx = popup({
    pet: entity({ sleeping: true, sleep_until: until }),
    server: (request) => (request.method === 'DELETE' ? { body: { entity: entity(), message: 'Mochi is awake.' } } : quiet(request)),
  });
  await ctx.popup.start();
  await flush(5);
  assert.equal(byTestId(ctx.root, 'hibernate'), null);
  assert.match(text(byTestId(ctx.root, 'rest-note')), /^Asleep until .+ or its next commit/);
  byTestId(ctx.root, 'wake').click();
  await flush(10);
  const call = ctx.fetchImpl.calls.find((c) => c.method === 'DELETE');
  assert.equal(call.url.pathname, '/api/entities/ent-1/hibernate');
  assert.equal(text(byTestId(ctx.root, 'toast')), 'Mochi is awake.');
});

test('without push access the server refusal is shown and the button comes back', async () => {
  const ctx = popup({
    server: (request) =>
      request.url.pathname.endsWith('/hibernate')
        ? { status: 403, body: errorBody('insufficient_permissions', 'This needs push or admin rights on the repository.') }
        : quiet(request),
  });
  await ctx.popup.start();
  await flush(5);
  byTestId(ctx.root, 'hibernate').click();
  await flush(10);
  assert.equal(text(byTestId(ctx.root, 'toast')), 'This needs push or admin rights on the repository.');
  assert.equal(byTestId(ctx.root, 'hibernate').disabled, false);
  assert.deepEqual(ctx.chrome.calls.sendMessage, [{ type: 'refresh' }], 'no refresh after a refusal');
});

function worker(granted) {
  const chrome = createFakeChrome({
    storage: { [KEYS.serverUrl]: 'http://pets.test', [KEYS.session]: session() },
    granted,
    onSendMessage: async () => undefined,
  });
  const fetchImpl = createFakeFetch(() => ({ body: { entities: [entity()] } }));
  const clock = new FakeClock(NOW);
  const bg = createBackground({ ext: chrome, fetchImpl, WebSocketImpl: FakeWebSocket, timers: clock, random: () => 0.5, now: clock.now });
  return { chrome, bg, data: chrome.storage.local.data };
}

const hungry = {
  type: 'status_change',
  entity_id: 'ent-1',
  old_status: 'alive',
  new_status: 'alive',
  health_score: 70,
  message: 'Mochi is hungry',
  reason: 'hungry',
  timestamp: '2026-11-25T12:07:00Z',
};

test('"Mochi is hungry" raises a notification when notifications are allowed, and only then', async () => {
  for (const granted of [['notifications'], []]) {
    FakeWebSocket.reset();
    const ctx = worker(granted);
    await ctx.bg.init();
    FakeWebSocket.last.open();
    FakeWebSocket.last.receive({ type: 'snapshot', entities: [entity()] });
    await flush(10);
    FakeWebSocket.last.receive(hungry);
    await flush(10);
    const shown = ctx.chrome.calls.notifications.map((n) => [n.title, n.message]);
    assert.deepEqual(shown, granted.length ? [['Your Tamagitto pet is hungry', 'Mochi is hungry']] : []);
    assert.equal(ctx.data[KEYS.entities][0].status, 'alive');
    assert.equal(ctx.data[KEYS.entities][0].health_score, 70);
  }
});

test('a plain status_change that keeps the status notifies nobody', async () => {
  const ctx = worker(['notifications']);
  await ctx.bg.init();
  FakeWebSocket.last.open();
  FakeWebSocket.last.receive({ type: 'snapshot', entities: [entity()] });
  await flush(10);
  FakeWebSocket.last.receive({ ...hungry, reason: undefined, message: 'Mochi is recovering!' });
  await flush(10);
  assert.equal(ctx.chrome.calls.notifications.length, 0);
});

test('health_update carries sleeping into the cache, so the button follows the cron waking the pet', async () => {
  const ctx = worker([]);
  await ctx.bg.init();
  FakeWebSocket.last.open();
  FakeWebSocket.last.receive({ type: 'snapshot', entities: [entity({ sleeping: true })] });
  await flush(10);
  FakeWebSocket.last.receive({ type: 'health_update', entity_id: 'ent-1', health_score: 72, state: 'healthy', sleeping: false, change_reason: 'woke up', timestamp: 't' });
  await flush(10);
  assert.equal(ctx.data[KEYS.entities][0].sleeping, false);
});
