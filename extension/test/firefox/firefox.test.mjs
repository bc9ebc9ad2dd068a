/**
 * The Firefox build in a real headless Firefox (Debian's firefox-esr; FIREFOX_PATH overrides),
 * driven through its built-in Marionette protocol (marionette.mjs: no geckodriver, no downloads).
 *
 * `npm run build -- --target firefox --server <fake API>` is installed as a temporary add-on and
 * its popup opened as a tab. Without a session it shows the sign-in screen; with a session put
 * into browser.storage.local from the extension's own page, the event-page background connects
 * to the node fake API (test/e2e/fake-server.mjs) over REST and /api/ws, and the popup shows the
 * pet, goes live, follows a pushed health change and sets the toolbar badge. The fake API sends
 * no CORS headers to moz-extension:// origins, so the REST calls only succeed through the
 * manifest's host permission. Firefox's console must hold no error from the extension.
 */

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startFakeServer } from '../e2e/fake-server.mjs';
import { launchFirefox } from './marionette.mjs';

const EXTENSION_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const GECKO_ID = 'tamagitto@tamagitto.dev';

let fake;
let workDir;
let addonDir;
let firefox;
let client;
let base; // moz-extension://<uuid>/

before(async () => {
  fake = await startFakeServer();
  workDir = await mkdtemp(join(tmpdir(), 'tamagitto-ff-test-'));
  addonDir = join(workDir, 'firefox');
  await promisify(execFile)(process.execPath, ['scripts/build.mjs', '--target', 'firefox', '--server', fake.url, '--out', addonDir], { cwd: EXTENSION_ROOT });
  firefox = await launchFirefox();
  client = firefox.client;
  const { value: id } = await client.command('Addon:Install', { path: addonDir, temporary: true });
  assert.equal(id, GECKO_ID);
  await client.setContext('chrome');
  const uuids = JSON.parse(await client.execute('return Services.prefs.getStringPref("extensions.webextensions.uuids", "{}");'));
  await client.setContext('content');
  assert.ok(uuids[GECKO_ID], `no moz-extension UUID for ${GECKO_ID} in ${JSON.stringify(uuids)}`);
  base = `moz-extension://${uuids[GECKO_ID]}/`;
});

after(async () => {
  await firefox?.close();
  await fake?.stop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

async function waitFor(check, what, timeout = 10_000) {
  const end = Date.now() + timeout;
  let last;
  while (Date.now() < end) {
    last = await check();
    if (last) return last;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
}

/** Text (or an attribute) of the first element matching a selector in the current page, or null. */
const read = (selector, attribute = null) =>
  client.execute(
    'const el = document.querySelector(arguments[0]); return el ? (arguments[1] ? el.getAttribute(arguments[1]) : el.textContent) : null;',
    [selector, attribute],
  );
const screen = () => read('#app', 'data-screen');

/**
 * Errors Firefox recorded for the extension: uncaught exceptions and rejections in its pages and
 * background (script errors from moz-extension://<uuid>/), network and CORS errors about the API,
 * and console.error calls from its files.
 */
async function extensionErrors() {
  await client.setContext('chrome');
  try {
    return await client.execute(
      `const [prefix, server] = arguments;
       const out = [];
       for (const m of Services.console.getMessageArray() || []) {
         if (!(m instanceof Ci.nsIScriptError)) continue;
         if (m.flags & (Ci.nsIScriptError.warningFlag | Ci.nsIScriptError.infoFlag)) continue;
         const text = m.sourceName + ':' + m.lineNumber + ' ' + m.errorMessage;
         if (m.sourceName.startsWith(prefix) || m.errorMessage.includes(prefix) || m.errorMessage.includes(server)) out.push(text);
       }
       const storage = Cc['@mozilla.org/consoleAPI-storage;1'].getService(Ci.nsIConsoleAPIStorage);
       for (const e of storage.getEvents()) {
         if (e.level === 'error' && String(e.filename).startsWith(prefix)) out.push('console.error ' + e.filename + ':' + e.lineNumber + ' ' + JSON.stringify(e.arguments));
       }
       return out;`,
      [base, fake.url],
    );
  } finally {
    await client.setContext('content');
  }
}

test('the Firefox build installs: event page, gecko id, host permission Firefox can match', async () => {
  const manifest = JSON.parse(await readFile(join(addonDir, 'manifest.json'), 'utf8'));
  assert.deepEqual(manifest.background, { scripts: ['background.js'], type: 'module' });
  assert.equal(manifest.key, undefined);
  assert.deepEqual(manifest.host_permissions, ['http://127.0.0.1/*'], 'no port: Firefox match patterns take none');

  await client.navigate(`${base}popup.html`);
  const granted = await client.executeAsync('return browser.permissions.getAll();');
  assert.deepEqual(granted.origins, ['http://127.0.0.1/*']);
  assert.deepEqual([...granted.permissions].sort(), ['alarms', 'identity', 'storage']);
});

test('the error collector sees an uncaught error thrown in an extension page', async () => {
  // Guards the final "no errors" check against collecting nothing at all.
  await client.navigate(`${base}popup.html`);
  await client.execute('setTimeout(() => { throw new Error("tamagitto-probe"); });');
  const line = await waitFor(async () => (await extensionErrors()).find((text) => text.includes('tamagitto-probe')), 'the probe error', 5000);
  assert.ok(line.startsWith(base), line);
});

test('on first run the popup asks for the server, then shows the sign-in screen', async () => {
  await client.navigate(`${base}popup.html`);
  await waitFor(async () => (await screen()) === 'firstrun', 'the first-run screen');
  // Saving goes through the permission prompt, which Marionette cannot answer: store the
  // server as the first-run form would after its /healthz check.
  await client.executeAsync('await browser.storage.local.set({ serverUrl: args[0] });', [fake.url]);
  await waitFor(async () => (await screen()) === 'signin', 'the sign-in screen');
  assert.equal(await read('[data-testid="connect-github"]'), 'Connect GitHub');
  assert.match(await read('[data-testid="signin"]'), new RegExp(`Server: ${fake.url.replace(/\./g, '\\.')}`));
  assert.equal(fake.requests.length, 0, 'no API call without a session');
});

test('the options page loads with the build\'s server and the notifications switch', async () => {
  await client.navigate(`${base}options.html`);
  await waitFor(async () => (await client.execute('return document.getElementById("server-url").value;')) === fake.url, 'the server URL field');
  assert.equal(await client.execute('return document.getElementById("notifications").checked;'), false);
});

test('with a session in browser.storage.local the popup shows the pet, goes live and follows pushes', async () => {
  await client.navigate(`${base}popup.html`);
  const session = { token: fake.token, user: { id: 1, username: 'octocat' }, expires_at: new Date(Date.now() + 86_400_000).toISOString() };
  await client.executeAsync('await browser.storage.local.set({ serverUrl: args[0], session: args[1] });', [fake.url, session]);

  await client.navigate(`${base}popup.html`);
  await waitFor(async () => (await screen()) === 'dashboard', 'the dashboard');
  assert.equal(await read('[data-testid="pet-name"]'), fake.entity.name);
  assert.equal(await read('[data-testid="health-score"]'), '72');
  await waitFor(async () => (await read('[data-testid="connection"]', 'data-state')) === 'live', 'a live socket');
  // History and activity come over REST from the popup, the pets from the background's refresh.
  await waitFor(async () => (await read('[data-testid="activity"]'))?.includes('Add parser tests'), 'recent activity');
  const chart = () => read('[data-testid="health-chart"] svg', 'aria-label');
  await waitFor(async () => (await chart())?.endsWith('to 79'), 'the 30-day chart of the fake history (50 to 79)');
  const calls = fake.requests.map(({ method, path, auth }) => `${method} ${path} ${auth ? 'bearer' : '-'}`);
  for (const call of ['GET /api/entities bearer', 'GET /api/entities/pet-1/health-history bearer', 'GET /api/analysis/recent bearer']) {
    assert.ok(calls.includes(call), `${call} in ${calls.join(', ')}`);
  }
  assert.ok(!calls.some((call) => call.startsWith('OPTIONS')), 'no CORS preflight: the host permission covers the server');
  await waitFor(async () => (await client.executeAsync('return browser.action.getBadgeText({});')) === '72', 'the badge');

  // A health_update pushed over /api/ws reaches the open popup without a reload, and the badge.
  await client.execute('document.documentElement.dataset.sameDocument = "yes";');
  fake.setHealth(55, 'complexity rose');
  await waitFor(async () => (await read('[data-testid="health-score"]')) === '55', 'the pushed health in the popup');
  assert.equal(await read('html', 'data-same-document'), 'yes', 'the popup was not reloaded');
  await waitFor(async () => (await client.executeAsync('return browser.action.getBadgeText({});')) === '55', 'the badge follows');
  await waitFor(async () => (await chart())?.endsWith('to 55'), 'the chart ends at the pushed health');
});

test('Firefox logged no error from the extension', async () => {
  const errors = (await extensionErrors()).filter((line) => !line.includes('tamagitto-probe'));
  assert.deepEqual(errors, []);
});
