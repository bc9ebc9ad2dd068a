/**
 * Which server the end-to-end suite runs against.
 *
 * By default: the in-process fake (fake-server.mjs). To run against a real `tamagitto serve`, set
 *   TAMAGITTO_E2E_SERVER=http://127.0.0.1:8000        (the server's origin)
 *   TAMAGITTO_E2E_SEED=/path/to/seed.mjs               (a module that knows how to seed it)
 * The seed module exports `startBackend({ serverUrl })`, resolving to the same shape as the fake:
 *   { url, session: {token, user, expires_at}, entity, changeHealth(), stop() }
 * where `entity` is the seeded pet as GET /api/entities shows it, `changeHealth()` makes its
 * health change through the app's own path (e.g. a second signed push) and may resolve to the new
 * score, and `stop()` stops the server process (the suite checks the popup goes offline).
 */

import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startFakeServer } from './fake-server.mjs';

export async function startBackend() {
  const serverUrl = process.env.TAMAGITTO_E2E_SERVER;
  if (serverUrl) {
    const seedPath = process.env.TAMAGITTO_E2E_SEED;
    if (!seedPath) throw new Error('TAMAGITTO_E2E_SERVER is set but TAMAGITTO_E2E_SEED (the seeding module) is not');
    const seed = await import(pathToFileURL(resolve(seedPath)).href);
    return seed.startBackend({ serverUrl: new URL(serverUrl).origin });
  }

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
