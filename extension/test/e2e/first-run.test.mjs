/**
 * The first run in real headless Chromium: a fresh profile, no server saved. The popup asks for
 * the server and checks `/healthz` before saving (a web server that is not Tamagitto is refused,
 * the real one is kept), and Options reports the host permission, the check and the save.
 *
 * The extension is built for the backend's origin (`scripts/build.mjs --server`), with the
 * impostor's origin added to its host permissions: a headless browser cannot click "Allow" on
 * a permission prompt, so both grants come with the install, as a user's earlier "Allow" would.
 */

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { originPattern } from '../../src/config.js';
import { launchWithExtension } from '../../scripts/chromium.mjs';
import { startBackend } from './backend.mjs';

const BUILD = fileURLToPath(new URL('../../scripts/build.mjs', import.meta.url));

let backend;
let impostor;
let browser;
let built;

/** Some other web server on loopback: everything is a 404. */
function startImpostor() {
  const server = createServer((request, response) => response.writeHead(404, { 'Content-Type': 'text/plain' }).end('no'));
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${server.address().port}` })));
}

/** The extension built for `server`, with `extra` origins granted at install. */
async function buildFor(server, extra) {
  const out = await mkdtemp(join(tmpdir(), 'tamagitto-ext-'));
  execFileSync(process.execPath, [BUILD, '--server', server, '--out', out], { stdio: 'ignore' });
  const path = join(out, 'manifest.json');
  const manifest = JSON.parse(await readFile(path, 'utf8'));
  manifest.host_permissions.push(...extra.map((url) => originPattern(url)));
  await writeFile(path, JSON.stringify(manifest, null, 2));
  return out;
}

before(async () => {
  backend = await startBackend();
  impostor = await startImpostor();
  built = await buildFor(backend.url, [impostor.url]);
  browser = await launchWithExtension({ extensionDir: built });
});

after(async () => {
  await browser?.close();
  await backend?.stop().catch(() => {});
  await backend?.quit?.();
  impostor?.server.close();
  if (built) await rm(built, { recursive: true, force: true });
});

const stored = () => browser.worker.evaluate(() => chrome.storage.local.get('serverUrl'));

test('the first run checks /healthz before saving the server, then offers sign-in', async () => {
  assert.deepEqual(await stored(), {}, 'a fresh profile has no server saved');
  const page = await browser.context.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(browser.popupUrl);
  await page.getByTestId('first-run').waitFor();
  assert.equal(await page.getByTestId('server-input').inputValue(), backend.url, 'the build default is offered');

  await page.getByTestId('server-input').fill(impostor.url);
  await page.getByTestId('save-server').click();
  await page.getByTestId('server-error').waitFor();
  assert.match(await page.getByTestId('server-error').textContent(), /\/healthz answered 404/);
  assert.deepEqual(await stored(), {}, 'nothing saved for a server that is not Tamagitto');

  await page.getByTestId('server-input').fill(backend.url);
  await page.getByTestId('save-server').click();
  await page.getByTestId('connect-github').waitFor();
  assert.deepEqual(await stored(), { serverUrl: backend.url });
  assert.match(await page.getByTestId('signin').textContent(), new RegExp(`Server: ${backend.url}`));
  assert.deepEqual(errors, []);
});

test('Options shows whether the host permission, the server check and the save worked', async () => {
  const page = await browser.context.newPage();
  await page.goto(`chrome-extension://${browser.extensionId}/options.html`);
  const check = (name) => page.locator(`#checks [data-check="${name}"]`);
  await check('permission').waitFor();
  assert.equal(await check('permission').getAttribute('data-ok'), 'true');
  assert.match(await check('permission').textContent(), /granted/);

  await page.fill('#server-url', impostor.url);
  await page.click('button[type=submit]');
  await check('health').waitFor();
  assert.deepEqual(
    await page.$$eval('#checks li', (items) => items.map((li) => [li.dataset.check, li.dataset.ok])),
    [['permission', 'true'], ['health', 'false'], ['saved', 'false']],
  );
  assert.match(await check('health').textContent(), /answered 404/);
  assert.deepEqual(await stored(), { serverUrl: backend.url }, 'the working server stays');

  await page.fill('#server-url', backend.url);
  await page.click('button[type=submit]');
  await page.waitForFunction(() => document.querySelector('#checks [data-check="saved"]')?.dataset.ok === 'true');
  assert.match(await check('health').textContent(), /healthz answered ok/);
});
