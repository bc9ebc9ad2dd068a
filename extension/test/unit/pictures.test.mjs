import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KEYS } from '../../src/config.js';
import { PICTURE_LIMIT, cachePicture } from '../../src/pictures.js';
import { createFakeChrome } from '../helpers/fake-chrome.mjs';

const SVG = '<svg xmlns="http://www.w3.org/2000/svg"/>';

function server(type = 'image/svg+xml', status = 200) {
  const calls = [];
  const fetchImpl = async (url) => {
    calls.push(url);
    return new Response(SVG, { status, headers: { 'Content-Type': type } });
  };
  return Object.assign(fetchImpl, { calls });
}

test('a pet picture is fetched once and kept as a data: URL', async () => {
  const { storage } = createFakeChrome();
  const fetchImpl = server();
  const url = 'http://pets.test/images/abc.svg';
  assert.equal(await cachePicture({ storage: storage.local, url, fetchImpl }), true);
  assert.equal(await cachePicture({ storage: storage.local, url, fetchImpl }), false);
  assert.deepEqual(fetchImpl.calls, [url]);
  const kept = storage.local.data[KEYS.pictures][url];
  assert.equal(kept, `data:image/svg+xml;base64,${Buffer.from(SVG).toString('base64')}`);
});

test('errors, non-images and data: URLs are not kept; the cache stays bounded', async () => {
  const { storage } = createFakeChrome();
  assert.equal(await cachePicture({ storage: storage.local, url: 'http://pets.test/images/a.svg', fetchImpl: server('image/svg+xml', 404) }), false);
  assert.equal(await cachePicture({ storage: storage.local, url: 'http://pets.test/images/b.svg', fetchImpl: server('text/html') }), false);
  assert.equal(await cachePicture({ storage: storage.local, url: 'data:image/png;base64,AA', fetchImpl: server() }), false);
  assert.equal(storage.local.data[KEYS.pictures], undefined);
  for (let i = 0; i < PICTURE_LIMIT + 3; i += 1) {
    await cachePicture({ storage: storage.local, url: `http://pets.test/images/${i}.svg`, fetchImpl: server() });
  }
  const urls = Object.keys(storage.local.data[KEYS.pictures]);
  assert.equal(urls.length, PICTURE_LIMIT);
  assert.ok(urls.includes(`http://pets.test/images/${PICTURE_LIMIT + 2}.svg`) && !urls.includes('http://pets.test/images/0.svg'));
});
