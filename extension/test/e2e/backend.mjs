/**
 * Which server the end-to-end suite runs against.
 *
 * By default: a real `tamagitto serve` (embedded mode), seeded through the app's own paths by
 * real-seed.mjs + real_backend.py: sign-in through initiate/callback, a signed installation
 * webhook and a signed push through the real pipeline, with GitHub faked on loopback. Needs the
 * project's Python environment (`uv sync`) and tests/fixtures' npm modules (webhook payloads).
 *
 * Other choices:
 *   TAMAGITTO_E2E_BACKEND=fake          the in-process node fake (fake-server.mjs): no Python
 *   TAMAGITTO_E2E_SEED=/path/to/seed.mjs another seeding module (TAMAGITTO_E2E_SERVER=<origin>
 *                                        is passed to it as `serverUrl`)
 * A seed module exports `startBackend({ serverUrl })`, resolving to
 *   { url, session: {token, user, expires_at}, entity, changeHealth(), stop(), quit?() }
 * where `entity` is the seeded pet as GET /api/entities shows it, `changeHealth()` makes its
 * health change through the app's own path (e.g. a second signed push) and may resolve to the new
 * score, `stop()` stops the server process (the suite checks the popup goes offline), and the
 * optional `quit()` releases everything else once the suite is done.
 */

import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startFakeServer } from './fake-server.mjs';
import { startBackend as startRealBackend } from './real-seed.mjs';

export async function startBackend() {
  const serverUrl = process.env.TAMAGITTO_E2E_SERVER ? new URL(process.env.TAMAGITTO_E2E_SERVER).origin : undefined;
  const seedPath = process.env.TAMAGITTO_E2E_SEED;
  if (seedPath) {
    const seed = await import(pathToFileURL(resolve(seedPath)).href);
    return seed.startBackend({ serverUrl });
  }
  const choice = process.env.TAMAGITTO_E2E_BACKEND ?? 'real';
  if (choice === 'real') return startRealBackend({ serverUrl });
  if (choice !== 'fake') throw new Error(`TAMAGITTO_E2E_BACKEND must be "real" or "fake", not ${JSON.stringify(choice)}`);

  const fake = await startFakeServer();
  let next = fake.entity.health_score;
  return {
    url: fake.url,
    session: { token: fake.token, user: { id: 1, username: 'octocat' }, expires_at: new Date(Date.now() + 86_400_000).toISOString() },
    entity: structuredClone(fake.entity),
    fake,
    async changeHealth() {
      next = next >= 50 ? next - 17 : next + 17; // 72 -> 55 -> 38 ...
      fake.setHealth(next, 'complexity rose');
      return next;
    },
    stop: () => fake.stop(),
  };
}
