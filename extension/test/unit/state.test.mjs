import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KEYS } from '../../src/config.js';
import { currentEntity, initialState, isOffline, reduce, screenOf, visibleRepositories } from '../../src/state.js';
import { NOW, deadEntity, entity, repositories, session } from '../fixtures.mjs';

const run = (actions, start = initialState(NOW)) => actions.reduce(reduce, start);
const cache = (extra = {}) => ({
  type: 'cache',
  now: NOW,
  cache: { serverUrl: 'http://pets.test', session: null, entities: [], currentEntityId: null, histories: {}, activity: {}, cooldowns: {}, lastUpdated: null, connection: null, ...extra },
});
const network = { kind: 'network', code: 'offline', message: 'Cannot reach the Tamagitto server' };

test('before the cache is read the popup shows loading; without a session, sign-in', () => {
  assert.equal(screenOf(initialState()), 'loading');
  assert.equal(screenOf(run([cache()])), 'signin');
});

test('sign-in -> loading -> dashboard as the session and then the pets arrive', () => {
  let state = run([cache(), { type: 'signin:start' }]);
  assert.equal(state.signingIn, true);
  state = reduce(state, { type: 'storage', changes: { [KEYS.session]: session() } });
  assert.equal(state.signingIn, false);
  assert.equal(screenOf(state), 'loading', 'signed in, nothing cached yet');
  state = reduce(state, { type: 'refresh:start' });
  state = reduce(state, { type: 'storage', changes: { [KEYS.entities]: [entity()], [KEYS.currentEntityId]: 'ent-1', [KEYS.lastUpdated]: NOW } });
  state = reduce(state, { type: 'refresh:done', result: { ok: true } });
  assert.equal(screenOf(state), 'dashboard');
  assert.equal(currentEntity(state).name, 'Mochi');
});

test('a failed sign-in stays on sign-in with the error', () => {
  const state = run([cache(), { type: 'signin:start' }, { type: 'signin:done', result: { ok: false, error: { message: 'cancelled' } } }]);
  assert.equal(screenOf(state), 'signin');
  assert.equal(state.signInError.message, 'cancelled');
});

test('cached pet renders at once and stays on the dashboard while refreshing and when offline', () => {
  let state = run([cache({ session: session(), entities: [entity()], lastUpdated: NOW - 5000 })]);
  assert.equal(screenOf(state), 'dashboard');
  state = reduce(state, { type: 'refresh:start' });
  assert.equal(screenOf(state), 'dashboard');
  state = reduce(state, { type: 'refresh:done', result: { ok: false, error: network } });
  assert.equal(screenOf(state), 'dashboard');
  assert.equal(isOffline(state), true);
});

test('the worker reporting the socket offline also marks the popup offline, and live clears it', () => {
  let state = run([cache({ session: session(), entities: [entity()], lastUpdated: NOW })]);
  state = reduce(state, { type: 'storage', changes: { [KEYS.connection]: { state: 'offline' } } });
  assert.equal(isOffline(state), true);
  state = reduce(state, { type: 'refresh:done', result: { ok: false, error: network } });
  state = reduce(state, { type: 'storage', changes: { [KEYS.connection]: { state: 'live' } } });
  assert.equal(isOffline(state), false);
  assert.equal(state.error, null);
});

test('with nothing cached: network failure -> offline screen, server failure -> error screen, retry -> loading', () => {
  const base = [cache({ session: session() }), { type: 'refresh:start' }];
  assert.equal(screenOf(run(base)), 'loading');
  assert.equal(screenOf(run([...base, { type: 'refresh:done', result: { ok: false, error: network } }])), 'offline');
  const failed = run([...base, { type: 'refresh:done', result: { ok: false, error: { kind: 'api', code: 'internal', message: 'boom' } } }]);
  assert.equal(screenOf(failed), 'error');
  assert.equal(screenOf(reduce(failed, { type: 'refresh:start' })), 'loading');
});

test('signed in without any pet: the repositories screen, to hatch one', () => {
  const state = run([cache({ session: session(), lastUpdated: NOW }), { type: 'refresh:done', result: { ok: true } }]);
  assert.equal(screenOf(state), 'repositories');
  const noActive = run([cache({ session: session() }), { type: 'refresh:done', result: { ok: false, error: { kind: 'api', code: 'no_active_entity' } } }]);
  assert.equal(screenOf(noActive), 'repositories');
});

test('a dead current pet shows the death screen; switching to a living one shows its dashboard', () => {
  let state = run([cache({ session: session(), entities: [deadEntity(), entity()], currentEntityId: 'ent-dead', lastUpdated: NOW })]);
  assert.equal(screenOf(state), 'death');
  state = reduce(state, { type: 'select', id: 'ent-1' });
  assert.equal(screenOf(state), 'dashboard');
  state = reduce(state, { type: 'storage', changes: { [KEYS.entities]: [deadEntity(), entity({ status: 'dead', died_at: new Date(NOW).toISOString() })] } });
  assert.equal(screenOf(state), 'death', 'the pet died while the popup was open');
});

test('settings and repositories are reachable from the dashboard and back', () => {
  let state = run([cache({ session: session(), entities: [entity()], lastUpdated: NOW })]);
  state = reduce(state, { type: 'navigate', view: 'settings' });
  assert.equal(screenOf(state), 'settings');
  state = reduce(state, { type: 'navigate', view: 'repositories' });
  assert.equal(screenOf(state), 'repositories');
  state = reduce(state, { type: 'navigate', view: 'main' });
  assert.equal(screenOf(state), 'dashboard');
});

test('losing the session anywhere returns to sign-in and forgets the view state', () => {
  let state = run([
    cache({ session: session(), entities: [entity()], lastUpdated: NOW }),
    { type: 'navigate', view: 'settings' },
    { type: 'repos:done', items: repositories() },
  ]);
  state = reduce(state, { type: 'storage', changes: { [KEYS.session]: undefined, [KEYS.entities]: undefined } });
  assert.equal(screenOf(state), 'signin');
  assert.equal(state.view, 'main');
  assert.equal(state.repositories.items, null);
  assert.deepEqual(state.entities, []);
  assert.equal(state.serverUrl, 'http://pets.test', 'the server choice survives');
});

test('repository search filters by name and lists monitored ones first; toggles track pending', () => {
  let state = run([cache({ session: session() }), { type: 'repos:done', items: repositories() }]);
  assert.deepEqual(visibleRepositories(state).map((r) => r.full_name), ['octo/mochi', 'octo/basil', 'octo/gears']);
  state = reduce(state, { type: 'repos:query', query: 'GE' });
  assert.deepEqual(visibleRepositories(state).map((r) => r.full_name), ['octo/gears']);
  state = reduce(state, { type: 'repos:pending', id: '103' });
  assert.equal(state.repositories.pending['103'], true);
  state = reduce(state, { type: 'repos:toggled', id: '103', monitoring: true });
  assert.equal(state.repositories.pending['103'], undefined);
  assert.equal(state.repositories.items.find((r) => r.id === 103).monitoring_enabled, true);
});
