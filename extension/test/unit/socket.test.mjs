import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import { KEEPALIVE_MS, POLL_ALARM, SocketManager, backoffDelay } from '../../src/socket.js';
import { createFakeChrome } from '../helpers/fake-chrome.mjs';
import { FakeClock } from '../helpers/fake-timers.mjs';
import { FakeWebSocket } from '../helpers/fake-websocket.mjs';

beforeEach(() => FakeWebSocket.reset());

function setup({ url = 'ws://pets.test/api/ws?token=t', random = () => 0.5 } = {}) {
  const clock = new FakeClock(0);
  const chrome = createFakeChrome();
  const events = { messages: [], statuses: [], polls: 0 };
  const manager = new SocketManager({
    getUrl: async () => url,
    WebSocketImpl: FakeWebSocket,
    alarms: chrome.alarms,
    timers: clock,
    random,
    onMessage: (m) => events.messages.push(m),
    onStatus: (s) => events.statuses.push(s),
    poll: async () => {
      events.polls += 1;
    },
  });
  chrome.alarms.onAlarm.addListener((alarm) => manager.handleAlarm(alarm));
  return { clock, chrome, events, manager };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

test('backoff doubles from 1 s, is capped, and is jittered within [cap/2, cap]', () => {
  const mid = { random: () => 0.5 };
  assert.deepEqual([0, 1, 2, 3, 4].map((n) => backoffDelay(n, mid)), [750, 1500, 3000, 6000, 12000]);
  assert.equal(backoffDelay(20, mid), 45000, 'capped at 60 s');
  assert.equal(backoffDelay(3, { random: () => 0 }), 4000);
  assert.equal(backoffDelay(3, { random: () => 0.999999 }), 8000);
  const samples = new Set(Array.from({ length: 50 }, () => backoffDelay(4)));
  assert.ok(samples.size > 10, 'real jitter spreads clients out');
  for (const value of samples) assert.ok(value >= 8000 && value <= 16000);
});

test('opens, reports live, passes JSON messages on and ignores junk', async () => {
  const { manager, events } = setup();
  await manager.start();
  const ws = FakeWebSocket.last;
  assert.equal(ws.url, 'ws://pets.test/api/ws?token=t');
  ws.open();
  ws.receive({ type: 'health_update', entity_id: 'e', health_score: 50 });
  ws.receive('not json');
  ws.receive({ no: 'type' });
  assert.deepEqual(events.statuses, ['connecting', 'live']);
  assert.deepEqual(events.messages, [{ type: 'health_update', entity_id: 'e', health_score: 50 }]);
});

test('sends a keepalive every 20 s while open, and stops when closed', async () => {
  const { manager, clock } = setup();
  await manager.start();
  const ws = FakeWebSocket.last;
  ws.open();
  await clock.advance(KEEPALIVE_MS * 3);
  assert.deepEqual(ws.sent.map((s) => JSON.parse(s).type), ['keepalive', 'keepalive', 'keepalive']);
  await manager.stop();
  await clock.advance(KEEPALIVE_MS * 3);
  assert.equal(ws.sent.length, 3);
});

test('reconnects with growing delays after failures, and resets the backoff once open', async () => {
  const { manager, clock } = setup();
  await manager.start();
  const delays = [];
  for (let i = 0; i < 4; i += 1) {
    FakeWebSocket.last.fail();
    delays.push(clock.pending()[0]);
    const before = FakeWebSocket.instances.length;
    await clock.advance(delays.at(-1));
    assert.equal(FakeWebSocket.instances.length, before + 1, 'dialled again when the delay ran out');
  }
  assert.deepEqual(delays, [750, 1500, 3000, 6000]);
  FakeWebSocket.last.open();
  FakeWebSocket.last.fail();
  assert.equal(clock.pending()[0], 750, 'a successful open resets the backoff');
});

test('a dropped socket falls back to polling: one poll at once, then a 30 s alarm until it reopens', async () => {
  const { manager, chrome, events, clock } = setup();
  await manager.start();
  FakeWebSocket.last.open();
  assert.equal(chrome.alarms.all.size, 0, 'no polling while live');

  FakeWebSocket.last.fail();
  await settle();
  assert.equal(events.polls, 1);
  assert.deepEqual(chrome.alarms.all.get(POLL_ALARM), { name: POLL_ALARM, periodInMinutes: 0.5 });

  await clock.advance(750); // reconnect attempt fails too: no extra immediate poll
  FakeWebSocket.last.fail();
  await settle();
  assert.equal(events.polls, 1);

  await chrome.alarms.fire(POLL_ALARM);
  await chrome.alarms.fire(POLL_ALARM);
  await settle();
  assert.equal(events.polls, 3, 'each alarm polls');

  await clock.advance(1500);
  FakeWebSocket.last.open();
  await settle();
  assert.equal(chrome.alarms.all.has(POLL_ALARM), false, 'polling stops when the socket is back');
  assert.equal(events.statuses.at(-1), 'live');
});

test('a poll alarm in a fresh worker (timers lost) dials again', async () => {
  const { manager, chrome } = setup();
  await manager.start();
  FakeWebSocket.last.fail();
  // Simulate the worker losing its in-memory timer, as after a restart.
  manager.timers.clearTimeout(manager.reconnectTimer);
  manager.reconnectTimer = null;
  const before = FakeWebSocket.instances.length;
  await chrome.alarms.fire(POLL_ALARM);
  await settle();
  assert.equal(FakeWebSocket.instances.length, before + 1);
});

test('a handshake that hangs is abandoned after the connect timeout', async () => {
  const { manager, clock } = setup();
  await manager.start();
  const ws = FakeWebSocket.last;
  await clock.advance(10_000);
  assert.equal(ws.closedWith?.code, 4000);
  assert.equal(manager.status, 'reconnecting');
});

test('stop closes the socket, cancels reconnects and polling, and stays quiet', async () => {
  const { manager, chrome, clock, events } = setup();
  await manager.start();
  FakeWebSocket.last.fail();
  await settle();
  await manager.stop();
  const count = FakeWebSocket.instances.length;
  await clock.advance(120_000);
  assert.equal(FakeWebSocket.instances.length, count, 'no reconnect after stop');
  assert.equal(chrome.alarms.all.size, 0);
  assert.equal(events.statuses.at(-1), 'stopped');
  assert.equal(manager.handleAlarm({ name: POLL_ALARM }), true);
  await settle();
  assert.equal(events.polls, 1, 'a stale alarm after stop does not poll');
});

test('no URL (signed out) means no socket at all', async () => {
  const { manager } = setup({ url: null });
  await manager.start();
  assert.equal(FakeWebSocket.instances.length, 0);
});
