/** The options page: the server URL (with its host permission) and optional notifications. */

import { isFirefox } from './browser.js';
import { DEFAULT_SERVER_URL, KEYS, normalizeServerUrl, originPattern } from './config.js';
import { clearSession, getServerUrl } from './store.js';

/**
 * Point the extension at another server. The host permission is requested first and directly,
 * because Chrome only shows the prompt inside the click's user gesture. A new server means a new
 * account, so the session and caches are dropped.
 */
export async function saveServerUrl({ ext, input }) {
  const origin = normalizeServerUrl(input);
  const patternOf = (url) => originPattern(url, { port: !isFirefox(ext) });
  const granted = await ext.permissions.request({ origins: [patternOf(origin)] });
  if (!granted) throw new Error(`Permission to reach ${origin} was not granted.`);
  const storage = ext.storage.local;
  const previous = await getServerUrl(storage);
  if (previous === origin) return { origin, changed: false };
  await clearSession(storage);
  await storage.set({ [KEYS.serverUrl]: origin });
  const old = patternOf(previous);
  if (old !== patternOf(DEFAULT_SERVER_URL) && old !== patternOf(origin)) {
    // The old origin was an optional grant; give it back (the default one is in the manifest, and
    // on Firefox another port of the same host shares the new server's pattern).
    await ext.permissions.remove({ origins: [old] }).catch(() => false);
  }
  return { origin, changed: true };
}

export async function setNotifications({ ext, enabled }) {
  const request = { permissions: ['notifications'] };
  if (enabled) return ext.permissions.request(request);
  await ext.permissions.remove(request);
  return false;
}

export async function initOptions({ ext, doc }) {
  const form = doc.getElementById('server-form');
  const input = doc.getElementById('server-url');
  const status = doc.getElementById('status');
  const notify = doc.getElementById('notifications');
  const say = (text, isError = false) => {
    status.textContent = text;
    status.className = isError ? 'error-text' : 'muted';
  };

  input.value = await getServerUrl(ext.storage.local);
  input.placeholder = DEFAULT_SERVER_URL;
  notify.checked = await ext.permissions.contains({ permissions: ['notifications'] });

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      const { origin, changed } = await saveServerUrl({ ext, input: input.value || DEFAULT_SERVER_URL });
      input.value = origin;
      say(changed ? `Saved. Sign in again from the toolbar popup to use ${origin}.` : `Already using ${origin}.`);
    } catch (error) {
      say(error.message, true);
    }
  });
  doc.getElementById('reset-server').addEventListener('click', () => {
    input.value = DEFAULT_SERVER_URL;
    form.requestSubmit();
  });
  notify.addEventListener('change', async () => {
    try {
      notify.checked = await setNotifications({ ext, enabled: notify.checked });
      say(notify.checked ? 'You will be told when a pet is dying or dies.' : 'Notifications are off.');
    } catch (error) {
      notify.checked = false;
      say(error.message, true);
    }
  });
}
