/**
 * A stand-in Tamagitto API on loopback for the end-to-end tests and the popup benchmark: the
 * contract's REST shapes (CONTRACTS.md + issue 7) and the /api/ws WebSocket, one user, one pet.
 * It keeps to what the extension uses; the real `tamagitto serve` replaces it via backend.mjs.
 */

import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';
import { entity as entityFixture, history, analysis, repositories } from '../fixtures.mjs';

const json = (res, status, body, headers = {}) => {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(body === undefined ? undefined : JSON.stringify(body));
};
const error = (res, status, code, message) => json(res, status, { error: code, message, timestamp: new Date().toISOString() });

function cors(req) {
  const origin = req.headers.origin;
  if (!origin?.startsWith('chrome-extension://')) return {};
  return {
    'Access-Control-Allow-Origin': origin,
    'Access-Control-Allow-Headers': 'Authorization, Content-Type',
    'Access-Control-Allow-Methods': 'GET, POST, PATCH, DELETE, OPTIONS',
    'Access-Control-Allow-Private-Network': 'true',
    Vary: 'Origin',
  };
}

function tokenFrom(req, url) {
  const query = url.searchParams.get('token');
  if (query) return query;
  const auth = req.headers.authorization ?? '';
  if (auth.startsWith('Bearer ')) return auth.slice(7);
  const protocols = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
  return protocols[0] === 'bearer' ? protocols[1] : null;
}

export async function startFakeServer({ token = 'e2e-session-token', port = 0 } = {}) {
  const now = Date.now();
  const pet = entityFixture({ id: 'pet-1', name: 'Mochi', health_score: 72, state: 'healthy', last_updated: new Date(now).toISOString() });
  const points = history(now);
  const requests = [];

  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://localhost');
    requests.push({ method: req.method, path: url.pathname, auth: req.headers.authorization ?? null });
    const headers = cors(req);
    for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
    if (req.method === 'OPTIONS') return json(res, 204);
    if (tokenFrom(req, url) !== token) return error(res, 401, 'invalid_token', 'The session is missing, expired or revoked.');

    const route = `${req.method} ${url.pathname}`;
    if (route === 'GET /api/me') return json(res, 200, { id: 1, username: 'octocat', avatar_url: null, email: null });
    if (route === 'GET /api/entities') return json(res, 200, { entities: [pet] });
    if (route === 'GET /api/entities/current') return json(res, 200, { entity: pet, health_trend: points.map((p) => ({ date: p.timestamp.slice(0, 10), score: p.health_score })) });
    if (route === `GET /api/entities/${pet.id}`) return json(res, 200, { entity: pet });
    if (route === `GET /api/entities/${pet.id}/health-history`) {
      return json(res, 200, { entity_id: pet.id, health_history: points, summary: { current_health: pet.health_score, trend: 'improving', days_tracked: 30 } });
    }
    if (route === 'GET /api/analysis/recent') return json(res, 200, { analyses: [analysis({ repository: pet.repository.full_name })] });
    if (route === 'GET /api/repositories') return json(res, 200, { repositories: repositories(), total_count: 3, has_more: false });
    if (route === 'POST /api/auth/logout') return json(res, 204);
    return error(res, 404, 'not_found', `No route for ${route}`);
  });

  const wss = new WebSocketServer({ noServer: true, handleProtocols: (protocols) => (protocols.has('bearer') ? 'bearer' : false) });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url, 'http://localhost');
    if (url.pathname !== '/api/ws' || tokenFrom(req, url) !== token) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('message', () => {}); // keepalives are accepted and ignored
      ws.send(JSON.stringify({ type: 'snapshot', entities: [pet] }));
    });
  });

  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}`;

  const broadcast = (message) => {
    for (const client of wss.clients) client.send(JSON.stringify(message));
  };

  return {
    url,
    token,
    entity: pet,
    requests,
    socketCount: () => wss.clients.size,
    /** Set the pet's health and push a health_update, as the pipeline does after a commit. */
    setHealth(score, reason = 'tests added') {
      const timestamp = new Date().toISOString();
      pet.health_score = score;
      pet.state = score >= 80 ? 'thriving' : score >= 60 ? 'healthy' : score >= 40 ? 'okay' : score >= 20 ? 'poor' : 'dying';
      pet.last_updated = timestamp;
      points.push({ timestamp, health_score: score, change_reason: reason, delta: 0 });
      broadcast({ type: 'health_update', entity_id: pet.id, health_score: score, state: pet.state, visual_url: pet.visual_url, change_reason: reason, timestamp });
    },
    async stop() {
      for (const client of wss.clients) client.terminate();
      wss.close();
      server.closeAllConnections?.();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
