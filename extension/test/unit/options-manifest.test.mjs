import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { test } from 'node:test';
import { DEFAULT_SERVER_URL, KEYS, normalizeServerUrl, originPattern, socketUrl } from '../../src/config.js';
import { saveReport, saveServerUrl, setNotifications } from '../../src/options.js';
import { entity, session } from '../fixtures.mjs';
import { createFakeChrome } from '../helpers/fake-chrome.mjs';
import { createFakeFetch, refused } from '../helpers/fake-fetch.mjs';

// A Tamagitto server's liveness answer, for every origin asked.
const healthy = () => createFakeFetch(({ url }) => (url.pathname === '/healthz' ? { body: { status: 'ok' } } : { status: 404, body: {} }));

const root = new URL('../../', import.meta.url);
const read = (path) => readFile(new URL(path, root), 'utf8');

test('server URLs are reduced to an origin; bad ones are refused', () => {
  assert.equal(normalizeServerUrl(' https://pets.example.com/some/path?q=1 '), 'https://pets.example.com');
  assert.equal(normalizeServerUrl('http://127.0.0.1:8080'), 'http://127.0.0.1:8080');
  assert.throws(() => normalizeServerUrl('pets.example.com'), /full URL/);
  assert.throws(() => normalizeServerUrl('ftp://pets.example.com'), /http/);
  assert.equal(originPattern('http://localhost:3000'), 'http://localhost:3000/*');
  assert.equal(originPattern('https://pets.example.com'), 'https://pets.example.com/*');
  assert.equal(originPattern('http://localhost:3000', { port: false }), 'http://localhost/*', 'Firefox match patterns take no port');
  assert.equal(socketUrl('https://pets.example.com', 'a.b.c'), 'wss://pets.example.com/api/ws?token=a.b.c');
});

test('saving a new server asks for its host permission, then signs out and stores it', async () => {
  const chrome = createFakeChrome({ storage: { [KEYS.session]: session(), [KEYS.entities]: [entity()] } });
  const result = await saveServerUrl({ ext: chrome, input: 'https://pets.example.com/', fetchImpl: healthy() });
  assert.deepEqual(result, { origin: 'https://pets.example.com', changed: true, permission: true, checked: 'https://pets.example.com/healthz' });
  assert.deepEqual(chrome.calls.permissionRequests, [{ origins: ['https://pets.example.com/*'] }]);
  assert.deepEqual(chrome.storage.local.data, { [KEYS.serverUrl]: 'https://pets.example.com' });

  await saveServerUrl({ ext: chrome, input: 'https://other.example.com', fetchImpl: healthy() });
  assert.equal(chrome.permissions.granted.has('https://pets.example.com/*'), false, 'the old optional grant is given back');
});

test('on Firefox the host permission asked for has no port, and a grant the new server shares is kept', async () => {
  const firefox = createFakeChrome({ storage: { [KEYS.session]: session() } });
  firefox.runtime.getURL = (path) => `moz-extension://0b6c1a3e-1111-4222-8333-944455556666/${path}`;
  await saveServerUrl({ ext: firefox, input: 'http://pets.example.com:8080', fetchImpl: healthy() });
  assert.deepEqual(firefox.calls.permissionRequests, [{ origins: ['http://pets.example.com/*'] }]);
  await saveServerUrl({ ext: firefox, input: 'http://pets.example.com:9090', fetchImpl: healthy() });
  assert.equal(firefox.permissions.granted.has('http://pets.example.com/*'), true, 'same host, same pattern: not given back');
  assert.equal(firefox.storage.local.data[KEYS.serverUrl], 'http://pets.example.com:9090');
});

test('saving the same server keeps the session; a refused permission changes nothing', async () => {
  const chrome = createFakeChrome({ storage: { [KEYS.session]: session() } });
  assert.equal((await saveServerUrl({ ext: chrome, input: DEFAULT_SERVER_URL, fetchImpl: healthy() })).changed, false);
  assert.ok(chrome.storage.local.data[KEYS.session]);

  const refusing = createFakeChrome({ storage: { [KEYS.session]: session() }, grantOnRequest: false });
  await assert.rejects(saveServerUrl({ ext: refusing, input: 'https://pets.example.com', fetchImpl: healthy() }), /not granted/);
  assert.ok(refusing.storage.local.data[KEYS.session]);
  assert.equal(refusing.storage.local.data[KEYS.serverUrl], undefined);
});

test('a server that fails /healthz is not saved, and the report says which step failed', async () => {
  const cases = [
    [createFakeFetch(() => ({ status: 404, body: {} })), /answered 404/],
    [createFakeFetch(() => ({ body: { hello: 'world' } })), /did not answer as a Tamagitto server/],
    [createFakeFetch(refused), /Could not reach https:\/\/pets\.example\.com\/healthz/],
  ];
  for (const [fetchImpl, message] of cases) {
    const chrome = createFakeChrome({ storage: { [KEYS.session]: session() } });
    const error = await saveServerUrl({ ext: chrome, input: 'https://pets.example.com', fetchImpl }).catch((e) => e);
    assert.match(error.message, message);
    assert.equal(error.step, 'health');
    assert.equal(chrome.storage.local.data[KEYS.serverUrl], undefined, 'nothing saved');
    assert.ok(chrome.storage.local.data[KEYS.session], 'still signed in');
    assert.equal(fetchImpl.calls[0].url.href, 'https://pets.example.com/healthz');
    const report = saveReport(null, error);
    assert.deepEqual(report.map(([name, , ok]) => [name, ok]), [['permission', true], ['health', false], ['saved', false]]);
  }
  const refusing = createFakeChrome({ grantOnRequest: false });
  const error = await saveServerUrl({ ext: refusing, input: 'https://pets.example.com', fetchImpl: healthy() }).catch((e) => e);
  assert.equal(error.step, 'permission');
  assert.deepEqual(saveReport(null, error).map(([, text, ok]) => [text, ok]), [['Host permission: refused', false], ['Server check: not run', false], ['Not saved', false]]);
});

test('the first run stores the default server once it answers /healthz', async () => {
  const chrome = createFakeChrome();
  const result = await saveServerUrl({ ext: chrome, input: DEFAULT_SERVER_URL, fetchImpl: healthy() });
  assert.equal(result.changed, false);
  assert.equal(chrome.storage.local.data[KEYS.serverUrl], DEFAULT_SERVER_URL);
  assert.deepEqual(saveReport(result).map(([, , ok]) => ok), [true, true, true]);
});

test('notifications are an optional permission, requested and removed on demand', async () => {
  const chrome = createFakeChrome();
  assert.equal(await setNotifications({ ext: chrome, enabled: true }), true);
  assert.equal(chrome.permissions.granted.has('notifications'), true);
  assert.equal(await setNotifications({ ext: chrome, enabled: false }), false);
  assert.equal(chrome.permissions.granted.has('notifications'), false);
});

test('manifest: MV3, the listed permissions only, strict CSP, Firefox settings', async () => {
  const manifest = JSON.parse(await read('manifest.json'));
  assert.equal(manifest.manifest_version, 3);
  assert.deepEqual(manifest.permissions.sort(), ['alarms', 'identity', 'storage']);
  assert.deepEqual(manifest.optional_permissions, ['notifications']);
  assert.deepEqual(manifest.host_permissions, [originPattern(DEFAULT_SERVER_URL)], 'host permission for the default server only');
  assert.equal(manifest.content_security_policy.extension_pages, "script-src 'self'; object-src 'self'");
  assert.equal(manifest.background.service_worker, 'background.js');
  assert.equal(manifest.background.type, 'module');
  assert.ok(manifest.browser_specific_settings.gecko.id);
  assert.equal(manifest.action.default_popup, 'popup.html');
});

test('icons: 16, 32, 48 and 128 px PNGs exist with those sizes', async () => {
  const manifest = JSON.parse(await read('manifest.json'));
  for (const size of [16, 32, 48, 128]) {
    const png = await readFile(new URL(manifest.icons[size], root));
    assert.equal(png.subarray(1, 4).toString(), 'PNG');
    assert.equal(png.readUInt32BE(16), size, `width of ${manifest.icons[size]}`);
    assert.equal(png.readUInt32BE(20), size, `height of ${manifest.icons[size]}`);
  }
});

test('pages load only local module scripts: no inline script, no remote code', async () => {
  for (const page of ['popup.html', 'options.html']) {
    const html = await read(page);
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    assert.ok(scripts.length > 0);
    for (const [, attrs, body] of scripts) {
      assert.equal(body.trim(), '', `${page}: inline script`);
      const src = /src="([^"]+)"/.exec(attrs)?.[1];
      assert.ok(src && !/^[a-z]+:|^\/\//i.test(src), `${page}: script from ${src}`);
    }
    assert.doesNotMatch(html, /\son[a-z]+=/i, `${page}: inline event handler`);
  }
  const sources = [];
  for (const dir of ['src', '.']) {
    for (const name of await readdir(new URL(dir + '/', root))) if (name.endsWith('.js')) sources.push(await read(`${dir}/${name}`));
  }
  for (const source of sources) {
    assert.doesNotMatch(source, /\beval\(|new Function\(|innerHTML\s*=|import\(\s*['"]https?:/);
  }
});

test('build: a Firefox manifest gets an event-page background; --server moves host permission and default', async () => {
  const { buildManifest, configWithServer } = await import('../../scripts/build.mjs');
  const manifest = JSON.parse(await read('manifest.json'));
  const firefox = buildManifest(manifest, { target: 'firefox', server: 'https://pets.example.com/x' });
  assert.deepEqual(firefox.background, { scripts: ['background.js'], type: 'module' });
  assert.equal(firefox.key, undefined);
  assert.deepEqual(firefox.host_permissions, ['https://pets.example.com/*']);
  assert.equal(firefox.browser_specific_settings.gecko.id, manifest.browser_specific_settings.gecko.id);
  assert.deepEqual(buildManifest(manifest, { target: 'firefox' }).host_permissions, ['http://localhost/*'], 'Firefox: the default server without its port');
  assert.deepEqual(buildManifest(manifest, { target: 'firefox', server: 'http://127.0.0.1:8080' }).host_permissions, ['http://127.0.0.1/*']);
  assert.deepEqual(buildManifest(manifest, { server: 'http://127.0.0.1:8080' }).host_permissions, ['http://127.0.0.1:8080/*'], 'Chrome keeps the port');
  const chrome = buildManifest(manifest, { target: 'chrome' });
  assert.deepEqual(chrome, manifest, 'a plain chrome build is the source manifest');
  assert.equal(buildManifest(manifest, { store: true }).key, undefined);
  assert.throws(() => buildManifest(manifest, { target: 'safari' }), /unknown target/);
  const config = configWithServer(await read('src/config.js'), 'https://pets.example.com/');
  assert.match(config, /^export const DEFAULT_SERVER_URL = 'https:\/\/pets\.example\.com';$/m);
});
