/** A small in-memory stand-in for the `chrome` extension APIs this extension uses, promise style. */

const clone = (value) => (value === undefined ? undefined : structuredClone(value));

export class FakeEvent {
  constructor() {
    this.listeners = [];
  }
  addListener(fn) {
    this.listeners.push(fn);
  }
  removeListener(fn) {
    this.listeners = this.listeners.filter((l) => l !== fn);
  }
  hasListener(fn) {
    return this.listeners.includes(fn);
  }
  emit(...args) {
    return this.listeners.map((fn) => fn(...args));
  }
}

function createStorageArea(name, initial, onChanged) {
  const data = clone(initial) ?? {};
  const notify = (changes) => {
    if (Object.keys(changes).length) setImmediate(() => onChanged.emit(changes, name));
  };
  const keysOf = (keys) => {
    if (keys == null) return Object.keys(data);
    if (typeof keys === 'string') return [keys];
    if (Array.isArray(keys)) return keys;
    return Object.keys(keys);
  };
  return {
    data,
    async get(keys) {
      const out = {};
      if (keys && typeof keys === 'object' && !Array.isArray(keys)) Object.assign(out, clone(keys));
      for (const key of keysOf(keys)) if (key in data) out[key] = clone(data[key]);
      return out;
    },
    async set(items) {
      const changes = {};
      for (const [key, value] of Object.entries(items)) {
        changes[key] = { oldValue: clone(data[key]), newValue: clone(value) };
        data[key] = clone(value);
      }
      notify(changes);
    },
    async remove(keys) {
      const changes = {};
      for (const key of keysOf(keys)) {
        if (key in data) {
          changes[key] = { oldValue: clone(data[key]) };
          delete data[key];
        }
      }
      notify(changes);
    },
    async clear() {
      await this.remove(Object.keys(data));
    },
  };
}

/**
 * `options.storage` seeds storage.local; `options.granted` lists granted optional permissions;
 * `options.grantOnRequest` decides permissions.request; `options.launchWebAuthFlow` scripts the
 * OAuth window; `options.onSendMessage(message)` answers runtime.sendMessage (the other context).
 */
export function createFakeChrome(options = {}) {
  const id = options.id ?? 'abcdefghijklmnopabcdefghijklmnop';
  const onChanged = new FakeEvent();
  const granted = new Set(options.granted ?? []);
  const alarms = new Map();
  const badge = { text: '', color: null };
  const calls = { notifications: [], sendMessage: [], openOptionsPage: 0, permissionRequests: [] };

  const chrome = {
    calls,
    storage: {
      onChanged,
      local: createStorageArea('local', options.storage, onChanged),
    },
    runtime: {
      id,
      onMessage: new FakeEvent(),
      getURL: (path) => `chrome-extension://${id}/${path}`,
      async sendMessage(message) {
        calls.sendMessage.push(message);
        if (options.onSendMessage) return options.onSendMessage(message);
        throw new Error('Could not establish connection. Receiving end does not exist.');
      },
      async openOptionsPage() {
        calls.openOptionsPage += 1;
      },
    },
    alarms: {
      onAlarm: new FakeEvent(),
      async create(name, info) {
        alarms.set(name, { name, ...info });
      },
      async clear(name) {
        return alarms.delete(name);
      },
      async get(name) {
        return alarms.get(name);
      },
      /** Test helper: fire an alarm as Chrome would. */
      fire(name) {
        return Promise.all(chrome.alarms.onAlarm.emit({ name, scheduledTime: Date.now() }));
      },
      all: alarms,
    },
    action: {
      badge,
      async setBadgeText({ text }) {
        badge.text = text;
      },
      async getBadgeText() {
        return badge.text;
      },
      async setBadgeBackgroundColor({ color }) {
        badge.color = color;
      },
    },
    notifications: {
      async create(notificationId, details) {
        calls.notifications.push({ id: notificationId, ...details });
        return notificationId;
      },
    },
    permissions: {
      granted,
      async contains({ permissions = [], origins = [] }) {
        return [...permissions, ...origins].every((p) => granted.has(p));
      },
      async request(request) {
        calls.permissionRequests.push(request);
        const ok = options.grantOnRequest ?? true;
        if (ok) for (const p of [...(request.permissions ?? []), ...(request.origins ?? [])]) granted.add(p);
        return ok;
      },
      async remove({ permissions = [], origins = [] }) {
        for (const p of [...permissions, ...origins]) granted.delete(p);
        return true;
      },
    },
    identity: {
      getRedirectURL: (path = '') => `https://${id}.chromiumapp.org/${path}`,
      async launchWebAuthFlow(details) {
        if (!options.launchWebAuthFlow) throw new Error('no auth flow scripted');
        return options.launchWebAuthFlow(details);
      },
    },
  };
  return chrome;
}

/** Let queued storage events and promise chains run. */
export async function flush(rounds = 5) {
  for (let i = 0; i < rounds; i += 1) await new Promise((resolve) => setImmediate(resolve));
}
