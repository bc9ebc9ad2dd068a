#!/usr/bin/env node
/**
 * Popup time to first render from cache, in headless Chromium with the unpacked extension.
 *
 * The pet is cached first (a session in chrome.storage, and the service worker filling the cache
 * from a loopback fake API); then the popup is opened N times (20, or 5 with --quick) and each
 * open reports the `tamagitto:first-render` performance mark: milliseconds from navigation start
 * until the pet is on screen. Target (the seed's): under 500 ms.
 *
 * Needs: /usr/bin/chromium (Debian's `chromium`) and `cd extension && npm ci`.
 * Prints one line per open, then as its LAST line one JSON object:
 *   {"popup_first_render_ms_median": …, "target_ms": 500, "ratio": target/median, …}
 */

import { launchWithExtension } from '../extension/scripts/chromium.mjs';
import { startFakeServer } from '../extension/test/e2e/fake-server.mjs';

const TARGET_MS = 500;
const quick = process.argv.includes('--quick');
const opens = quick ? 5 : 20;

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

const server = await startFakeServer();
const browser = await launchWithExtension();
try {
  const session = { token: server.token, user: { id: 1, username: 'octocat' }, expires_at: new Date(Date.now() + 86_400_000).toISOString() };
  await browser.worker.evaluate(({ url, session }) => chrome.storage.local.set({ serverUrl: url, session }), { url: server.url, session });
  // Wait until the worker has cached the pet (from the socket's snapshot).
  await browser.worker.evaluate(async () => {
    for (let i = 0; i < 200; i += 1) {
      const { entities } = await chrome.storage.local.get('entities');
      if (entities?.length) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error('the pet was never cached');
  });

  const times = [];
  for (let i = 0; i < opens; i += 1) {
    const page = await browser.context.newPage();
    await page.goto(browser.popupUrl);
    await page.waitForFunction(() => document.documentElement.dataset.firstRender === 'done', null, { timeout: 10_000 });
    const ms = await page.evaluate(() => performance.getEntriesByName('tamagitto:first-render')[0].startTime);
    const name = await page.getByTestId('pet-name').textContent();
    if (name !== server.entity.name) throw new Error(`open ${i + 1} rendered "${name}"`);
    times.push(ms);
    console.log(`open ${String(i + 1).padStart(2)}: ${ms.toFixed(1)} ms`);
    await page.close();
  }
  const value = Math.round(median(times) * 10) / 10;
  console.log(
    JSON.stringify({
      popup_first_render_ms_median: value,
      target_ms: TARGET_MS,
      ratio: Math.round((TARGET_MS / value) * 10) / 10,
      opens,
      min_ms: Math.round(Math.min(...times) * 10) / 10,
      max_ms: Math.round(Math.max(...times) * 10) / 10,
    }),
  );
} finally {
  await browser.close();
  await server.stop();
}
