import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KEYS } from '../../src/config.js';
import { STATE_COLORS } from '../../src/health.js';
import { createView, pictureUrl, renderScreen, timeAgo } from '../../src/render.js';
import { initialState, reduce } from '../../src/state.js';
import { NOW, analysis, deadEntity, entity, history, repositories, session } from '../fixtures.mjs';
import { byTestId, createDom, text } from '../helpers/dom.mjs';

function stateWith(extra = {}, actions = []) {
  const cache = {
    serverUrl: 'http://pets.test',
    session: session(),
    entities: [entity()],
    currentEntityId: 'ent-1',
    histories: { 'ent-1': history(NOW) },
    activity: { 'ent-1': [analysis()] },
    cooldowns: {},
    lastUpdated: NOW - 120_000,
    connection: { state: 'live' },
    ...extra,
  };
  return actions.reduce(reduce, reduce(initialState(NOW), { type: 'cache', cache, now: NOW }));
}

function recorder() {
  const calls = [];
  const handler = (name) => (...args) => calls.push([name, ...args]);
  const actions = new Proxy({}, { get: (_, name) => handler(name) });
  return { calls, actions };
}

function render(state, actions = {}) {
  const { document } = createDom();
  return { document, node: renderScreen(document, state, actions) };
}

test('sign-in screen: Connect GitHub button, disabled while waiting, errors shown', () => {
  const { calls, actions } = recorder();
  const { node } = render(stateWith({ session: null }), actions);
  assert.equal(node.dataset.screen, 'signin');
  const button = byTestId(node, 'connect-github');
  assert.equal(text(button), 'Connect GitHub');
  button.click();
  assert.deepEqual(calls, [['onSignIn']]);
  assert.match(text(node), /Server: http:\/\/pets\.test/);

  const waiting = render(stateWith({ session: null }, [{ type: 'signin:start' }])).node;
  assert.equal(byTestId(waiting, 'connect-github').disabled, true);
  const failed = render(stateWith({ session: null }, [{ type: 'signin:done', result: { ok: false, error: { message: 'State mismatch' } } }])).node;
  assert.equal(text(failed.querySelector('[role=alert]')), 'State mismatch');
});

test('loading screen', () => {
  const { node } = render(initialState(NOW));
  assert.equal(node.dataset.screen, 'loading');
  assert.ok(byTestId(node, 'loading'));
});

test('error screen shows the server message and retries', () => {
  const { calls, actions } = recorder();
  const state = stateWith({ entities: [], lastUpdated: null }, [{ type: 'refresh:done', result: { ok: false, error: { kind: 'api', code: 'internal', message: 'Database unavailable' } } }]);
  const { node } = render(state, actions);
  assert.equal(node.dataset.screen, 'error');
  assert.match(text(node), /Database unavailable/);
  byTestId(node, 'retry').click();
  assert.deepEqual(calls, [['onRetry']]);
});

test('offline screen when the server is unreachable and nothing is cached', () => {
  const state = stateWith({ entities: [], lastUpdated: null }, [{ type: 'refresh:done', result: { ok: false, error: { kind: 'network', message: 'x' } } }]);
  const { node } = render(state);
  assert.equal(node.dataset.screen, 'offline');
  assert.match(text(node), /Cannot reach the Tamagitto server at http:\/\/pets\.test/);
});

test('dashboard: picture, name, species, health bar coloured by state, status, repository', () => {
  const state = stateWith({ entities: [entity({ health_score: 72.4, status: 'alive' })] });
  const { node } = render(state);
  assert.equal(node.dataset.screen, 'dashboard');
  assert.equal(text(byTestId(node, 'pet-name')), 'Mochi');
  assert.equal(text(byTestId(node, 'pet-species')), 'cat · pet');
  assert.equal(text(byTestId(node, 'health-score')), '72');
  assert.equal(text(byTestId(node, 'health-state')), 'healthy');
  const bar = byTestId(node, 'health-bar');
  assert.equal(bar.style.width, '72%');
  assert.equal(bar.style.backgroundColor, 'rgb(76, 175, 80)', `healthy colour ${STATE_COLORS.healthy}`);
  assert.equal(byTestId(node, 'pet-status'), null, 'alive needs no status tag');
  assert.equal(text(byTestId(node, 'pet-repository')), 'octo/mochi · TypeScript · updated 2 min ago');
  assert.ok(node.querySelector('svg[data-sprite="pet:healthy"]'), 'no visual_url: the built-in sprite');

  const dying = render(stateWith({ entities: [entity({ health_score: 12, status: 'dying' })] })).node;
  assert.equal(text(byTestId(dying, 'health-state')), 'dying');
  assert.equal(byTestId(dying, 'pet-status'), null, 'status "dying" would repeat the state');
  const flagged = render(stateWith({ entities: [entity({ health_score: 25, status: 'dying' })] })).node;
  assert.equal(text(byTestId(flagged, 'pet-status')), 'dying', 'the server says dying while the score reads poor');
  assert.equal(byTestId(dying, 'health-bar').style.backgroundColor, 'rgb(207, 34, 46)');
});

test('dashboard picture: the server image (relative URLs resolved), falling back to the sprite on error', () => {
  const state = stateWith({ entities: [entity({ visual_url: '/api/entities/ent-1/image?state=healthy' })] });
  const { node } = render(state);
  const img = node.querySelector('.picture img');
  assert.equal(img.getAttribute('src'), 'http://pets.test/api/entities/ent-1/image?state=healthy');
  img.dispatchEvent(new img.ownerDocument.defaultView.Event('error'));
  assert.equal(node.querySelector('.picture img'), null);
  assert.ok(node.querySelector('.picture svg[data-sprite]'));
  assert.equal(pictureUrl({ visual_url: 'javascript:alert(1)' }, 'http://pets.test'), null);
});

test('dashboard: recent activity with signed deltas and the top reasons by weight', () => {
  const state = stateWith({ activity: { 'ent-1': [analysis(), analysis({ commit: { sha: 'ffff000011112222', message: 'Huge refactor' }, health_impact: { delta: -6, reasons: [{ code: 'complexity_up', points: -6, detail: 'complexity rose' }] } })] } });
  const { node } = render(state);
  const rows = [...byTestId(node, 'activity').querySelectorAll('li')];
  assert.equal(rows.length, 2);
  assert.equal(text(rows[0].querySelector('.delta')), '+4');
  assert.equal(text(rows[0].querySelector('code')), 'a1b2c3d');
  assert.equal(text(rows[0].querySelector('.message')), 'Add parser tests');
  assert.equal(text(rows[0].querySelector('.reasons')), 'tests added (+5) · complexity rose (-1)');
  assert.ok(rows[1].querySelector('.delta').classList.contains('down'));
  const none = render(stateWith({ activity: {} })).node;
  assert.match(text(byTestId(none, 'activity')), /No commits analysed yet/);
});

test('dashboard: 30-day chart and the health history list behind "View health history"', () => {
  const { calls, actions } = recorder();
  const { node } = render(stateWith(), actions);
  assert.equal(byTestId(node, 'health-chart').querySelector('svg').dataset.points, '30');
  assert.equal(byTestId(node, 'history-list'), null);
  byTestId(node, 'toggle-history').click();
  byTestId(node, 'change-repository').click();
  assert.deepEqual(calls, [['onToggleHistory'], ['onNavigate', 'repositories']]);

  const open = render(stateWith({}, [{ type: 'history:toggle' }])).node;
  const items = byTestId(open, 'history-list').querySelectorAll('li');
  assert.equal(items.length, 10);
  assert.equal(text(items[0]), '2026-11-25 79 (+1) — tests added');
});

test('dashboard: a switcher between several pets', () => {
  const { calls, actions } = recorder();
  const { node } = render(stateWith({ entities: [entity(), entity({ id: 'ent-2', name: 'Rex', health_score: 33 })] }), actions);
  const buttons = byTestId(node, 'pet-switcher').querySelectorAll('button');
  assert.deepEqual([...buttons].map(text), ['Mochi · 72', 'Rex · 33']);
  assert.equal(buttons[0].getAttribute('aria-pressed'), 'true');
  buttons[1].click();
  assert.deepEqual(calls, [['onSelectEntity', 'ent-2']]);
  const single = render(stateWith()).node;
  assert.equal(byTestId(single, 'pet-switcher'), null);
});

test('death screen: live countdown with "Create new pet" disabled, enabled when the cooldown ends', () => {
  const { calls, actions } = recorder();
  const dead = deadEntity(); // died two hours before NOW: 46 h left
  const state = stateWith({ entities: [dead], currentEntityId: dead.id });
  const { node } = render(state, actions);
  assert.equal(node.dataset.screen, 'death');
  assert.equal(text(byTestId(node, 'pet-name')), 'Basil');
  assert.ok(node.querySelector('svg[data-sprite="plant:dead"]'));
  assert.equal(text(byTestId(node, 'cooldown')), '46:00:00');
  assert.equal(byTestId(node, 'revive').disabled, true);

  const later = reduce(state, { type: 'tick', now: Date.parse(dead.died_at) + 48 * 3_600_000 });
  const { node: ready } = render(later, actions);
  assert.ok(byTestId(ready, 'cooldown-over'));
  const button = byTestId(ready, 'revive');
  assert.equal(button.disabled, false);
  button.click();
  assert.deepEqual(calls, [['onReset', dead.id]]);

  const refused = render(reduce(later, { type: 'reset:done', error: { message: 'The pet died too recently' } })).node;
  assert.match(text(refused), /died too recently/);
});

test('repositories screen: search box, monitoring toggles, pending rows disabled, empty states', () => {
  const { calls, actions } = recorder();
  const state = stateWith({}, [{ type: 'navigate', view: 'repositories' }, { type: 'repos:done', items: repositories() }, { type: 'repos:pending', id: '102' }]);
  const { node } = render(state, actions);
  assert.equal(node.dataset.screen, 'repositories');
  const rows = [...byTestId(node, 'repo-list').querySelectorAll('li')];
  assert.deepEqual(rows.map((li) => li.dataset.repo), ['octo/mochi', 'octo/basil', 'octo/gears']);
  const toggles = rows.map((li) => byTestId(li, 'repo-toggle'));
  assert.deepEqual(toggles.map((t) => t.checked), [true, false, false]);
  assert.deepEqual(toggles.map((t) => t.disabled), [false, true, false]);
  toggles[2].checked = true;
  toggles[2].dispatchEvent(new toggles[2].ownerDocument.defaultView.Event('change'));
  assert.equal(calls[0][0], 'onToggleMonitor');
  assert.equal(calls[0][1].full_name, 'octo/gears');
  assert.equal(calls[0][2], true);
  const search = byTestId(node, 'repo-search');
  search.value = 'bas';
  search.dispatchEvent(new search.ownerDocument.defaultView.Event('input'));
  assert.deepEqual(calls[1], ['onSearch', 'bas']);
  assert.ok(byTestId(node, 'back'), 'back to the pet');

  const none = render(stateWith({ entities: [] }, [{ type: 'repos:done', items: [] }, { type: 'refresh:done', result: { ok: true } }])).node;
  assert.equal(none.dataset.screen, 'repositories');
  assert.match(text(none), /Turn on monitoring/);
  assert.match(text(none), /No repositories with the Tamagitto App installed/);
  assert.equal(byTestId(none, 'back'), null);
  const loading = render(stateWith({}, [{ type: 'navigate', view: 'repositories' }, { type: 'repos:start' }])).node;
  assert.match(text(loading), /Loading repositories/);
});

test('settings screen: server URL, user, options and sign out', () => {
  const { calls, actions } = recorder();
  const { node } = render(stateWith({}, [{ type: 'navigate', view: 'settings' }]), actions);
  assert.equal(node.dataset.screen, 'settings');
  assert.equal(text(byTestId(node, 'server-url')), 'http://pets.test');
  assert.match(text(node), /Signed in as octocat/);
  byTestId(node, 'open-options').click();
  byTestId(node, 'sign-out').click();
  byTestId(node, 'back').click();
  assert.deepEqual(calls, [['onOpenOptions'], ['onSignOut'], ['onNavigate', 'main']]);
});

test('text from the server is never parsed as markup', () => {
  const { node } = render(stateWith({ entities: [entity({ name: '<img src=x onerror=alert(1)>' })] }));
  assert.equal(node.querySelector('img[onerror]'), null);
  assert.equal(text(byTestId(node, 'pet-name')), '<img src=x onerror=alert(1)>');
});

test('view: offline banner over the cached pet, with retry', () => {
  const { document, root } = createDom();
  const { calls, actions } = recorder();
  const view = createView(document, root, actions);
  view.update(stateWith({}, [{ type: 'storage', changes: { [KEYS.connection]: { state: 'offline' } } }]));
  const banner = byTestId(root, 'offline-banner');
  assert.match(text(banner), /Offline — showing what was saved 2 min ago/);
  assert.equal(text(byTestId(root, 'pet-name')), 'Mochi');
  assert.equal(byTestId(root, 'connection').dataset.state, 'offline');
  banner.querySelector('button').click();
  assert.deepEqual(calls, [['onRetry']]);
});

test('view: a health update re-renders only what changed, keeping the chart and activity nodes', () => {
  const { document, root } = createDom();
  const view = createView(document, root);
  let state = stateWith();
  view.update(state);
  const chart = byTestId(root, 'health-chart');
  const activity = byTestId(root, 'activity');
  const name = byTestId(root, 'pet-name');

  state = reduce(state, { type: 'storage', changes: { [KEYS.entities]: [entity({ health_score: 65 })] } });
  assert.deepEqual(view.update(state), ['health'], 'same state band: only the health line');
  assert.equal(text(byTestId(root, 'health-score')), '65');
  assert.equal(byTestId(root, 'pet-name'), name, 'the pet section was left alone');
  const picture = root.querySelector('.picture');

  state = reduce(state, { type: 'storage', changes: { [KEYS.entities]: [entity({ health_score: 35, state: 'poor' })] } });
  assert.deepEqual(view.update(state), ['pet', 'health'], 'a new state band also changes the picture');
  assert.notEqual(root.querySelector('.picture'), picture);
  assert.ok(root.querySelector('svg[data-sprite="pet:poor"]'));
  assert.equal(text(byTestId(root, 'health-score')), '35');
  assert.equal(text(byTestId(root, 'health-state')), 'poor');
  assert.equal(byTestId(root, 'health-chart'), chart, 'chart node untouched');
  assert.equal(byTestId(root, 'activity'), activity, 'activity node untouched');
  assert.deepEqual(view.update(state), [], 'same state, nothing re-rendered');
});

test('view: moving between screens swaps the layout', () => {
  const { document, root } = createDom();
  const view = createView(document, root);
  let state = stateWith();
  view.update(state);
  assert.equal(root.dataset.screen, 'dashboard');
  state = reduce(state, { type: 'navigate', view: 'settings' });
  view.update(state);
  assert.equal(root.dataset.screen, 'settings');
  assert.equal(byTestId(root, 'pet-name'), null);
  state = reduce(state, { type: 'storage', changes: { [KEYS.session]: undefined } });
  view.update(state);
  assert.equal(root.dataset.screen, 'signin');
  assert.equal(byTestId(root, 'connection'), null);
});

test('timeAgo', () => {
  assert.equal(timeAgo(NOW - 10_000, NOW), 'just now');
  assert.equal(timeAgo(NOW - 5 * 60_000, NOW), '5 min ago');
  assert.equal(timeAgo(NOW - 3 * 3_600_000, NOW), '3 h ago');
  assert.equal(timeAgo(NOW - 2 * 86_400_000, NOW), '2 d ago');
  assert.equal(timeAgo(null, NOW), 'never');
});

test('history rows name the start of decay, deaths and revivals, and show applied beside scored', () => {
  const day = 86_400_000;
  const at = (n) => new Date(NOW - n * day).toISOString();
  const rows = [
    { timestamp: at(9), health_score: 100, health_before: 100, applied: 0, delta: 0, scored_delta: 9, change_reason: 'commit_analysis', commit_sha: 'abcdef1234', decay_start: false },
    { timestamp: at(5), health_score: 98, health_before: 100, applied: -2, delta: -2, change_reason: 'daily_decay', decay_start: true },
    { timestamp: at(4), health_score: 96, health_before: 98, applied: -2, delta: -2, change_reason: 'daily_decay', decay_start: false },
    { timestamp: at(3), health_score: 0, health_before: 0, applied: 0, delta: 0, change_reason: 'death', decay_start: false },
    { timestamp: at(1), health_score: 100, health_before: 0, applied: 100, delta: 100, change_reason: 'revival', generation: 2, decay_start: false },
  ];
  const capped = analysis({ health_impact: { delta: 9, applied: 0, applied_note: 'max', reason: 'tests added', reasons: [] } });
  const state = stateWith({ histories: { 'ent-1': rows }, activity: { 'ent-1': [capped] } }, [{ type: 'history:toggle' }]);
  const { node } = render(state);
  const items = [...byTestId(node, 'history-list').querySelectorAll('li')].map((li) => text(li));
  assert.match(items[0], /100 \(\+100\) — revived \(generation 2\)$/);
  assert.match(items[1], / 0 \(0\) — died$/);
  assert.match(items[2], /96 \(-2\) — daily decay$/);
  assert.match(items[3], /98 \(-2\) — decay started: no commits for a while$/);
  assert.match(items[4], /100 \(0, scored \+9\) — commit abcdef1$/);
  assert.equal(text(byTestId(node, 'activity-delta')), '0, scored +9', 'the +9 at 100 is not shown as a gain');
});

test('the pet picture comes from the cached server picture, alive or dead', () => {
  const url = 'http://pets.test/images/abc.svg';
  const cached = 'data:image/svg+xml;base64,PHN2Zy8+';
  const alive = render(stateWith({ entities: [entity({ visual_url: url })], pictures: { [url]: cached } })).node;
  assert.equal(alive.querySelector('.picture img').getAttribute('src'), cached);
  const dead = render(stateWith({ entities: [deadEntity({ visual_url: url })], pictures: { [url]: cached } })).node;
  assert.equal(dead.querySelector('.death .picture img').getAttribute('src'), cached, 'the server’s own dead picture');
  const fresh = render(stateWith({ entities: [entity({ visual_url: url })] })).node;
  assert.equal(fresh.querySelector('.picture img').getAttribute('src'), url, 'not cached yet: the server URL');
});

test('caretakers: hidden when the repository turned them off, a hint before the first answer', () => {
  const off = renderScreen(createDom().document, stateWith({ caretakers: { 'ent-1': { enabled: false } } }));
  assert.equal(byTestId(off, 'caretakers').hidden, true);
  const waiting = renderScreen(createDom().document, stateWith());
  assert.match(text(byTestId(waiting, 'caretakers')), /Loading caretakers/);
});
