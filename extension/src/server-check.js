/** Is a URL a Tamagitto server? Asked before the extension saves it (first run and Options). */

export const HEALTH_PATH = '/healthz';
const TIMEOUT_MS = 5000;

/** A failed step of saving a server: `step` is 'url', 'permission' or 'health'. */
export class ServerSetupError extends Error {
  constructor(step, message, { permission = null } = {}) {
    super(message);
    this.name = 'ServerSetupError';
    this.step = step;
    this.permission = permission;
  }
}

/**
 * GET `<origin>/healthz`: a Tamagitto server answers 200 `{"status": "ok"}`. Anything else (a
 * typo, a stopped server, some other web site) is refused with a message naming what came back,
 * so the user learns why before anything is saved.
 */
export async function checkServer(origin, { fetchImpl = globalThis.fetch, timeoutMs = TIMEOUT_MS } = {}) {
  const url = new URL(HEALTH_PATH, origin).href;
  let response;
  try {
    response = await fetchImpl(url, { cache: 'no-store', signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    throw new ServerSetupError('health', `Could not reach ${url} (${error?.message || error}).`, { permission: true });
  }
  const body = response.ok ? await response.json().catch(() => null) : null;
  if (!response.ok) {
    throw new ServerSetupError('health', `${url} answered ${response.status}: is this a Tamagitto server?`, { permission: true });
  }
  if (body?.status !== 'ok') {
    throw new ServerSetupError('health', `${url} did not answer as a Tamagitto server does.`, { permission: true });
  }
  return url;
}
