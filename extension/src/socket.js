/** The live connection: one WebSocket with reconnect backoff, keepalive, and a polling fallback on chrome.alarms. */

export const KEEPALIVE_MS = 20_000;
export const CONNECT_TIMEOUT_MS = 10_000;
export const POLL_ALARM = 'tamagitto-poll';
export const POLL_PERIOD_MINUTES = 0.5;

const OPEN = 1;

/** Exponential backoff with "equal jitter": half the capped delay is fixed, half is random. */
export function backoffDelay(attempt, { baseMs = 1000, maxMs = 60_000, random = Math.random } = {}) {
  const cap = Math.min(maxMs, baseMs * 2 ** attempt);
  return Math.round(cap / 2 + random() * (cap / 2));
}

const defaultTimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (id) => clearTimeout(id),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (id) => clearInterval(id),
};

/**
 * Keeps one socket open while started.
 *
 * - `getUrl()` gives the URL to dial (null means "nothing to connect to": stay idle).
 * - On open: backoff resets, a keepalive goes out every 20 s (an MV3 service worker stays alive
 *   while messages flow), and polling stops.
 * - On close or failure: a reconnect is scheduled with backoff and jitter, and polling starts: one
 *   poll at once and then every 30 s through `alarms`, until a socket opens again.
 * - `onStatus(status)` reports 'connecting' | 'live' | 'reconnecting' | 'stopped'.
 */
export class SocketManager {
  constructor({
    getUrl,
    WebSocketImpl = globalThis.WebSocket,
    alarms,
    onMessage = () => {},
    onStatus = () => {},
    poll = async () => {},
    timers = defaultTimers,
    random = Math.random,
    baseDelayMs = 1000,
    maxDelayMs = 60_000,
  }) {
    Object.assign(this, { getUrl, WebSocketImpl, alarms, onMessage, onStatus, poll, timers, random });
    this.baseDelayMs = baseDelayMs;
    this.maxDelayMs = maxDelayMs;
    this.ws = null;
    this.attempts = 0;
    this.status = 'stopped';
    this.started = false;
    this.polling = false;
    this.reconnectTimer = null;
    this.keepaliveTimer = null;
    this.connectTimer = null;
  }

  async start() {
    this.started = true;
    if (this.ws || this.reconnectTimer) return;
    await this.connect();
  }

  async stop() {
    this.started = false;
    this.clearTimers();
    const ws = this.ws;
    this.ws = null;
    if (ws) ws.close(1000, 'stopped');
    this.attempts = 0;
    await this.stopPolling();
    this.setStatus('stopped');
  }

  /** Drop the current socket and dial again now (the server URL or the token changed). */
  async restart() {
    await this.stop();
    await this.start();
  }

  async connect() {
    this.timers.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    if (!this.started) return;
    const url = await this.getUrl();
    if (!url || !this.started || this.ws) return;

    let ws;
    try {
      ws = new this.WebSocketImpl(url);
    } catch {
      this.handleClose(null);
      return;
    }
    this.ws = ws;
    this.setStatus('connecting');
    this.connectTimer = this.timers.setTimeout(() => {
      if (this.ws === ws && ws.readyState !== OPEN) ws.close(4000, 'connect timeout');
    }, CONNECT_TIMEOUT_MS);

    ws.onopen = () => {
      if (this.ws !== ws) return;
      this.timers.clearTimeout(this.connectTimer);
      this.attempts = 0;
      this.setStatus('live');
      this.startKeepalive(ws);
      this.stopPolling();
    };
    ws.onmessage = (event) => {
      if (this.ws !== ws) return;
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return; // not ours to understand; the server only sends JSON text frames
      }
      if (message && typeof message.type === 'string') this.onMessage(message);
    };
    ws.onerror = () => {}; // a close event always follows; that is where recovery happens
    ws.onclose = () => this.handleClose(ws);
  }

  handleClose(ws) {
    if (ws && this.ws !== ws) return;
    this.ws = null;
    this.timers.clearTimeout(this.connectTimer);
    this.timers.clearInterval(this.keepaliveTimer);
    this.keepaliveTimer = null;
    if (!this.started) return;
    const delay = backoffDelay(this.attempts, {
      baseMs: this.baseDelayMs,
      maxMs: this.maxDelayMs,
      random: this.random,
    });
    this.attempts += 1;
    this.reconnectTimer = this.timers.setTimeout(() => this.connect(), delay);
    this.setStatus('reconnecting', delay);
    this.startPolling();
  }

  startKeepalive(ws) {
    this.timers.clearInterval(this.keepaliveTimer);
    this.keepaliveTimer = this.timers.setInterval(() => {
      if (ws.readyState === OPEN) ws.send(JSON.stringify({ type: 'keepalive' }));
    }, KEEPALIVE_MS);
  }

  startPolling() {
    if (this.polling) return;
    this.polling = true;
    this.alarms.create(POLL_ALARM, { periodInMinutes: POLL_PERIOD_MINUTES });
    this.runPoll();
  }

  async stopPolling() {
    if (!this.polling) return;
    this.polling = false;
    await this.alarms.clear(POLL_ALARM);
  }

  runPoll() {
    Promise.resolve()
      .then(() => this.poll())
      .catch(() => {}); // the poll reports its own outcome; a failure must not stop the schedule
  }

  /** Route alarms here. A poll alarm polls, and dials again if the worker lost its timers. */
  handleAlarm(alarm) {
    if (alarm?.name !== POLL_ALARM) return false;
    if (!this.started) return true;
    this.runPoll();
    if (!this.ws && !this.reconnectTimer) this.connect();
    return true;
  }

  clearTimers() {
    this.timers.clearTimeout(this.reconnectTimer);
    this.timers.clearTimeout(this.connectTimer);
    this.timers.clearInterval(this.keepaliveTimer);
    this.reconnectTimer = this.connectTimer = this.keepaliveTimer = null;
  }

  setStatus(status, retryInMs) {
    this.status = status;
    this.onStatus(status, retryInMs);
  }
}
