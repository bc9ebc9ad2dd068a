/**
 * End to end in real headless Chromium: the unpacked extension, a session put into
 * chrome.storage through the service worker (the OAuth window cannot be automated headless),
 * and a server that pushes health changes over the WebSocket: by default a real
 * `tamagitto serve` seeded through signed webhooks (see backend.mjs).
 */

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launchWithExtension } from '../../scripts/chromium.mjs';
import { startBackend } from './backend.mjs';

let backend;
let browser;

before(async () => {
  backend = await startBackend();
  browser = await launchWithExtension();
});

after(async () => {
  await browser?.close();
  await backend?.stop().catch(() => {});
  await backend?.quit?.();
});

const badgeText = () => browser.worker.evaluate(() => chrome.action.getBadgeText({}));

async function waitFor(check, what, timeout = 15_000) {
  const end = Date.now() + timeout;
  let last;
  while (Date.now() < end) {
    last = await check();
    if (last) return last;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
}

test('the popup shows the pet, follows live updates, and shows cached data when the server stops', async () => {
  const { entity } = backend;
  await browser.worker.evaluate(
    ({ url, session }) => chrome.storage.local.set({ serverUrl: url, session }),
    { url: backend.url, session: backend.session },
  );

  const page = await browser.context.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(browser.popupUrl);

  // 1. The popup shows the pet from the server.
  await page.getByTestId('pet-name').waitFor();
  assert.equal(await page.getByTestId('pet-name').textContent(), entity.name);
  const initial = Math.round(entity.health_score);
  await waitFor(async () => (await page.getByTestId('health-score').textContent()) === String(initial), 'initial score');
  await waitFor(async () => (await page.getByTestId('connection').getAttribute('data-state')) === 'live', 'live socket');
  await waitFor(async () => (await badgeText()) === String(initial), 'initial badge');
  await page.evaluate(() => {
    window.__sameDocument = true;
  });

  // 2. A pushed change reaches the open popup without a reload, and the badge.
  const expected = await backend.changeHealth();
  const shown = await waitFor(async () => {
    const text = await page.getByTestId('health-score').textContent();
    return text !== String(initial) && text;
  }, 'health change in the popup');
  if (typeof expected === 'number') assert.equal(shown, String(Math.round(expected)));
  assert.equal(await page.evaluate(() => window.__sameDocument), true, 'the popup was not reloaded');
  await waitFor(async () => (await badgeText()) === shown, 'badge text follows the health');
  const chartLabel = () => page.locator('[data-testid="health-chart"] svg').getAttribute('aria-label');
  await waitFor(async () => (await chartLabel()).endsWith(`to ${shown}`), 'the chart ends at the new health');

  // 3. Server gone: the open popup says offline and keeps the cached pet…
  await backend.stop();
  await page.getByTestId('offline-banner').waitFor({ timeout: 15_000 });
  assert.equal(await page.getByTestId('pet-name').textContent(), entity.name);
  assert.equal(await page.getByTestId('health-score').textContent(), shown);
  assert.equal(await page.getByTestId('connection').getAttribute('data-state'), 'offline');

  // …and so does a popup opened afterwards, straight from the cache.
  const again = await browser.context.newPage();
  await again.goto(browser.popupUrl);
  await again.getByTestId('offline-banner').waitFor({ timeout: 15_000 });
  assert.equal(await again.getByTestId('pet-name').textContent(), entity.name);
  assert.equal(await again.getByTestId('health-score').textContent(), shown);
  assert.equal(await badgeText(), shown, 'the badge keeps the last known health');
  assert.deepEqual(errors, []);
});
