/** A fetch wrapper for the Tamagitto REST API: bearer auth, error bodies, 401 sign-out and 429 backoff. */

/** An answer from the server that is not 2xx, carrying the contract's `{error, message, details}`. */
export class ApiError extends Error {
  constructor({ status, code, message, details, body, retryAfterMs }) {
    super(message || code || `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.code = code ?? 'http_error';
    this.details = details;
    this.body = body;
    this.retryAfterMs = retryAfterMs;
  }
}

/** The server could not be reached at all (refused, DNS, timeout): the popup shows "offline". */
export class NetworkError extends Error {
  constructor(message, cause) {
    super(message);
    this.name = 'NetworkError';
    this.cause = cause;
  }
}

/** Retry-After is either delta-seconds or an HTTP date; returns milliseconds, or null if unusable. */
export function parseRetryAfter(value, nowMs = Date.now()) {
  if (value == null || value === '') return null;
  const text = String(value).trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const date = Date.parse(text);
  if (Number.isNaN(date)) return null;
  return Math.max(0, date - nowMs);
}

const realSleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Create a client. `baseUrl` and `getToken` may be values or (async) functions, so one client
 * follows the options page and token refreshes without being rebuilt.
 *
 * - 401 on an authenticated call: `onUnauthorized()` runs (it signs out), then ApiError is thrown.
 * - 429: the client waits Retry-After (or an exponential fallback), blocks its other calls for
 *   that long, and retries up to `maxRetries` times when the wait is at most `maxWaitMs`;
 *   otherwise it throws ApiError `rate_limit_exceeded` with `retryAfterMs`.
 */
export function createApiClient({
  baseUrl,
  getToken = () => null,
  onUnauthorized = () => {},
  fetchImpl = (...args) => globalThis.fetch(...args),
  sleep = realSleep,
  now = () => Date.now(),
  maxRetries = 2,
  maxWaitMs = 30_000,
  timeoutMs = 10_000,
} = {}) {
  let blockedUntil = 0;

  const resolve = async (value) => (typeof value === 'function' ? value() : value);

  async function waitForRateLimit() {
    const wait = blockedUntil - now();
    if (wait <= 0) return;
    if (wait > maxWaitMs) {
      throw new ApiError({
        status: 429,
        code: 'rate_limit_exceeded',
        message: 'Too many requests; try again shortly.',
        retryAfterMs: wait,
      });
    }
    await sleep(wait);
  }

  async function send(method, url, headers, body) {
    const controller = typeof AbortController === 'function' ? new AbortController() : null;
    const timer = controller ? setTimeout(() => controller.abort(), timeoutMs) : null;
    try {
      return await fetchImpl(url, { method, headers, body, signal: controller?.signal });
    } catch (error) {
      throw new NetworkError(`Cannot reach the Tamagitto server (${error?.message ?? error})`, error);
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  async function readBody(response) {
    if (response.status === 204) return null;
    const text = await response.text();
    if (!text) return null;
    try {
      return JSON.parse(text);
    } catch {
      return { message: text };
    }
  }

  async function request(method, path, { query, body, auth = true } = {}) {
    const url = new URL(`/api${path}`, await resolve(baseUrl));
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined && value !== null) url.searchParams.set(key, String(value));
    }
    const headers = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (auth) {
      const token = await resolve(getToken);
      if (!token) throw new ApiError({ status: 401, code: 'invalid_token', message: 'Not signed in.' });
      headers.Authorization = `Bearer ${token}`;
    }
    const payload = body === undefined ? undefined : JSON.stringify(body);

    for (let attempt = 0; ; attempt += 1) {
      await waitForRateLimit();
      const response = await send(method, url.href, headers, payload);
      const data = await readBody(response);
      if (response.ok) return data;

      const error = new ApiError({
        status: response.status,
        code: data?.error,
        message: data?.message,
        details: data?.details,
        body: data,
      });
      if (response.status === 401 && auth) {
        await onUnauthorized(error);
        throw error;
      }
      if (response.status === 429) {
        const retryAfter =
          parseRetryAfter(response.headers.get('Retry-After'), now()) ?? 1000 * 2 ** attempt;
        blockedUntil = Math.max(blockedUntil, now() + retryAfter);
        error.code = data?.error ?? 'rate_limit_exceeded';
        error.retryAfterMs = retryAfter;
        if (attempt < maxRetries && retryAfter <= maxWaitMs) continue;
      }
      throw error;
    }
  }

  const id = (value) => encodeURIComponent(value);
  return {
    request,
    initiateSignIn: (redirectUri) =>
      request('POST', '/auth/github/initiate', { body: { redirect_uri: redirectUri }, auth: false }),
    completeSignIn: (code, state) =>
      request('POST', '/auth/github/callback', { body: { code, state }, auth: false }),
    refreshSession: () => request('POST', '/auth/refresh', { body: {} }),
    logout: () => request('POST', '/auth/logout', { body: {} }),
    me: () => request('GET', '/me'),
    repositories: (query = {}) =>
      request('GET', '/repositories', { query: { type: 'all', sort: 'updated', per_page: 100, ...query } }),
    monitor: (githubRepoId, preferences = {}) =>
      request('POST', `/repositories/${id(githubRepoId)}/monitor`, {
        body: { entity_preferences: preferences },
      }),
    unmonitor: (githubRepoId) => request('DELETE', `/repositories/${id(githubRepoId)}/monitor`),
    entities: () => request('GET', '/entities'),
    currentEntity: () => request('GET', '/entities/current'),
    entity: (entityId) => request('GET', `/entities/${id(entityId)}`),
    renameEntity: (entityId, name) => request('PATCH', `/entities/${id(entityId)}`, { body: { name } }),
    healthHistory: (entityId, { days = 30, granularity = 'daily' } = {}) =>
      request('GET', `/entities/${id(entityId)}/health-history`, { query: { days, granularity } }),
    resetEntity: (entityId) => request('POST', `/entities/${id(entityId)}/reset`, { body: {} }),
    hibernate: (entityId, until) =>
      request('POST', `/entities/${id(entityId)}/hibernate`, { body: until ? { until } : {} }),
    wake: (entityId) => request('DELETE', `/entities/${id(entityId)}/hibernate`),
    caretakers: (entityId, { days = 30 } = {}) =>
      request('GET', `/entities/${id(entityId)}/caretakers`, { query: { days } }),
    recentAnalyses: ({ limit = 10, repositoryId } = {}) =>
      request('GET', '/analysis/recent', { query: { limit, repository_id: repositoryId } }),
  };
}

/** `GET /entities` may answer a bare list or `{entities: [...]}`; both mean the same pets. */
export function entitiesFrom(data) {
  if (Array.isArray(data)) return data;
  if (Array.isArray(data?.entities)) return data.entities;
  if (data?.entity) return [data.entity];
  return [];
}

/** A plain, cloneable description of an error, for runtime messages and the popup state. */
export function describeError(error) {
  if (error instanceof NetworkError) return { kind: 'network', code: 'offline', message: error.message };
  if (error instanceof ApiError) {
    return {
      kind: 'api',
      status: error.status,
      code: error.code,
      message: error.message,
      retryAfterMs: error.retryAfterMs,
    };
  }
  return { kind: 'internal', code: 'internal', message: String(error?.message ?? error) };
}
