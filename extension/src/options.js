/** The options page: the server URL (with its host permission) and optional notifications. */

import { isFirefox } from './browser.js';
import { DEFAULT_SERVER_URL, KEYS, normalizeServerUrl, originPattern } from './config.js';
import { ServerSetupError, checkServer } from './server-check.js';
import { clearSession, getServerUrl } from './store.js';

/**
 * Point the extension at a server: host permission, then `/healthz`, then save. The permission
 * is requested first and directly, because Chrome only shows the prompt inside the click's user
 * gesture. Nothing is saved unless the server answers as Tamagitto does. A new server means a new
 * account, so the session and caches are dropped. Resolves to what each step did; a failed step
 * throws a `ServerSetupError` naming it.
 */
export async function saveServerUrl({ ext, input, fetchImpl = globalThis.fetch }) {
  let origin;
  try {
    origin = normalizeServerUrl(input);
  } catch (error) {
    throw new ServerSetupError('url', error.message);
  }
  const patternOf = (url) => originPattern(url, { port: !isFirefox(ext) });
  const granted = await ext.permissions.request({ origins: [patternOf(origin)] });
  if (!granted) throw new ServerSetupError('permission', `Permission to reach ${origin} was not granted.`, { permission: false });
  const checked = await checkServer(origin, { fetchImpl });
  const storage = ext.storage.local;
  const stored = (await storage.get(KEYS.serverUrl))[KEYS.serverUrl];
  const previous = stored || DEFAULT_SERVER_URL;
  const result = { origin, changed: previous !== origin, permission: true, checked };
  if (!result.changed) {
    if (!stored) await storage.set({ [KEYS.serverUrl]: origin }); // the first run's choice
    return result;
  }
  await clearSession(storage);
  await storage.set({ [KEYS.serverUrl]: origin });
  const old = patternOf(previous);
  if (old !== patternOf(DEFAULT_SERVER_URL) && old !== patternOf(origin)) {
    // The old origin was an optional grant; give it back (the default one is in the manifest, and
    // on Firefox another port of the same host shares the new server's pattern).
    await ext.permissions.remove({ origins: [old] }).catch(() => false);
  }
  return result;
}

/** The three lines Options shows after Save: permission, server check, saved. */
export function saveReport(result, error) {
  const permission = result?.permission ?? error?.permission ?? null;
  const step = error?.step;
  return [
    ['permission', permission === null ? 'Host permission: not asked' : `Host permission: ${permission ? 'granted' : 'refused'}`, permission !== false],
    ['health', result ? `Server check: ${result.checked} answered ok` : step === 'health' ? `Server check: ${error.message}` : 'Server check: not run', Boolean(result)],
    ['saved', result ? `Saved: ${result.origin}${result.changed ? ' (sign in again from the toolbar popup)' : ''}` : 'Not saved', Boolean(result)],
  ];
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
  const checks = doc.getElementById('checks');
  await showGranted({ ext, checks, origin: input.value });

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    let result = null;
    let failure = null;
    try {
      result = await saveServerUrl({ ext, input: input.value || DEFAULT_SERVER_URL });
      input.value = result.origin;
    } catch (error) {
      failure = error;
    }
    showReport(doc, checks, saveReport(result, failure));
    if (failure) say(failure.message, true);
    else say(result.changed ? `Saved. Sign in again from the toolbar popup to use ${result.origin}.` : `Already using ${result.origin}.`);
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

/** One line per step, marked ok or failed (`data-check`, `data-ok` for tests and styles). */
function showReport(doc, checks, lines) {
  checks.replaceChildren(
    ...lines.map(([name, text, ok]) => {
      const item = doc.createElement('li');
      item.dataset.check = name;
      item.dataset.ok = String(ok);
      item.className = ok ? 'ok' : 'failed';
      item.textContent = `${ok ? '✓' : '✗'} ${text}`;
      return item;
    }),
  );
}

/** On opening Options: does the saved server's host permission hold? */
async function showGranted({ ext, checks, origin }) {
  const pattern = originPattern(origin, { port: !isFirefox(ext) });
  const granted = await ext.permissions.contains({ origins: [pattern] }).catch(() => false);
  showReport(checks.ownerDocument, checks, [['permission', `Host permission for ${pattern}: ${granted ? 'granted' : 'not granted'}`, granted]]);
}
