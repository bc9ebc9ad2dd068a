/** A fetch double: `handler({method, url, headers, body})` returns {status, body, headers} or throws. */
export function createFakeFetch(handler) {
  const calls = [];
  const fetchImpl = async (url, init = {}) => {
    const request = {
      method: init.method ?? 'GET',
      url: new URL(url),
      headers: init.headers ?? {},
      body: init.body ? JSON.parse(init.body) : undefined,
    };
    calls.push(request);
    const answer = await handler(request);
    const status = answer.status ?? 200;
    const text = answer.body === undefined || status === 204 ? null : JSON.stringify(answer.body);
    return new Response(text, { status, headers: answer.headers ?? { 'Content-Type': 'application/json' } });
  };
  fetchImpl.calls = calls;
  return fetchImpl;
}

export const refused = () => {
  throw new TypeError('Failed to fetch');
};

export function errorBody(error, message, extra = {}) {
  return { error, message, timestamp: '2026-11-25T12:00:00Z', ...extra };
}
