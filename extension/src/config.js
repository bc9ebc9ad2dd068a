/** Build-time defaults, storage keys and server URL helpers shared by every extension page. */

// The build script (scripts/build.mjs --server URL) rewrites this line for self-hosted builds.
export const DEFAULT_SERVER_URL = 'http://localhost:3000';

// Everything the extension keeps in storage.local. The service worker owns session-derived data
// (entities, connection); the popup owns view caches (histories, activity, cooldowns).
export const KEYS = Object.freeze({
  serverUrl: 'serverUrl',
  session: 'session',
  entities: 'entities',
  currentEntityId: 'currentEntityId',
  histories: 'histories',
  activity: 'activity',
  cooldowns: 'cooldowns',
  lastUpdated: 'lastUpdated',
  connection: 'connection',
  pictures: 'pictures', // picture URL -> data: URL, the server's own picture kept for offline
  caretakers: 'caretakers', // entity id -> GET /entities/{id}/caretakers (who keeps it alive)
});

export const ALL_KEYS = Object.values(KEYS);

// Signing out (or a 401) forgets everything that belongs to the user; the server URL stays.
export const SESSION_KEYS = ALL_KEYS.filter((key) => key !== KEYS.serverUrl);

/** Validate a user-typed server URL and reduce it to its origin ("https://pets.example.com"). */
export function normalizeServerUrl(input) {
  let url;
  try {
    url = new URL(String(input ?? '').trim());
  } catch {
    throw new Error('Enter a full URL such as https://tamagitto.example.com');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error('The server URL must start with http:// or https://');
  }
  return url.origin;
}

/**
 * The host-permission match pattern that covers one server origin. Firefox's match patterns take
 * no port: it accepts `http://localhost:3000/*`, even reports it from `permissions.contains`, but
 * the pattern matches no URL, so the grant does nothing and every request to the server meets
 * CORS. Without a port a pattern covers every port of the host, so Firefox gets
 * `{ port: false }`; Chrome keeps the exact origin.
 */
export function originPattern(serverUrl, { port: withPort = true } = {}) {
  const { protocol, hostname, port } = new URL(serverUrl);
  return `${protocol}//${hostname}${withPort && port ? `:${port}` : ''}/*`;
}

/** The WebSocket URL for a server origin, with the session token in the query string. */
export function socketUrl(serverUrl, token) {
  const url = new URL('/api/ws', serverUrl);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.searchParams.set('token', token);
  return url.href;
}
