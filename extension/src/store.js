/** The storage.local cache: reading it, clearing a session, and pure helpers over the cached pets. */

import { ALL_KEYS, DEFAULT_SERVER_URL, KEYS, SESSION_KEYS } from './config.js';

export const HISTORY_LIMIT = 500;
export const ACTIVITY_LIMIT = 20;

export async function readCache(storage) {
  const data = await storage.get(ALL_KEYS);
  return {
    serverUrl: data[KEYS.serverUrl] || DEFAULT_SERVER_URL,
    serverSaved: Boolean(data[KEYS.serverUrl]), // false on the first run: ask which server
    session: data[KEYS.session] ?? null,
    entities: data[KEYS.entities] ?? [],
    currentEntityId: data[KEYS.currentEntityId] ?? null,
    histories: data[KEYS.histories] ?? {},
    activity: data[KEYS.activity] ?? {},
    cooldowns: data[KEYS.cooldowns] ?? {},
    lastUpdated: data[KEYS.lastUpdated] ?? null,
    connection: data[KEYS.connection] ?? null,
    pictures: data[KEYS.pictures] ?? {},
    caretakers: data[KEYS.caretakers] ?? {},
  };
}

export async function getServerUrl(storage) {
  const data = await storage.get(KEYS.serverUrl);
  return data[KEYS.serverUrl] || DEFAULT_SERVER_URL;
}

export async function getSession(storage) {
  const data = await storage.get(KEYS.session);
  return data[KEYS.session] ?? null;
}

/** Forget the user: session, pets and caches. Listeners react to the removal of `session`. */
export async function clearSession(storage) {
  await storage.remove(SESSION_KEYS);
}

/**
 * A queue for read-modify-write updates of storage from one context, so two socket messages
 * arriving together cannot both read the old list and lose one update.
 */
export function createSerializer() {
  let tail = Promise.resolve();
  return (task) => {
    const run = tail.then(task, task);
    tail = run.catch(() => {});
    return run;
  };
}

const sameId = (a, b) => a != null && b != null && String(a) === String(b);

export function findEntity(entities, id) {
  return (entities ?? []).find((entity) => sameId(entity.id, id)) ?? null;
}

/** Keep the chosen pet if it still exists, else the most recently updated living one. */
export function pickCurrentId(entities, preferredId) {
  if (!entities?.length) return null;
  if (findEntity(entities, preferredId)) return preferredId;
  const byRecent = [...entities].sort(
    (a, b) =>
      (a.status === 'dead') - (b.status === 'dead') ||
      Date.parse(b.last_updated ?? 0) - Date.parse(a.last_updated ?? 0),
  );
  return byRecent[0].id;
}

export function patchEntity(entities, id, patch) {
  return (entities ?? []).map((entity) => (sameId(entity.id, id) ? { ...entity, ...patch } : entity));
}

/** The pet that lives in a repository, by full name ("octo/repo"); analyses name repositories so. */
export function entityForRepository(entities, repository) {
  const name = typeof repository === 'string' ? repository : repository?.full_name;
  if (!name) return null;
  return (entities ?? []).find((entity) => entity.repository?.full_name === name) ?? null;
}

/** Append one point to a pet's cached history, newest last, bounded. */
export function appendHistory(histories, id, point) {
  const list = [...(histories?.[id] ?? []), point].slice(-HISTORY_LIMIT);
  return { ...histories, [id]: list };
}

/** Put one analysis in front of a pet's cached activity, replacing an older copy of the same commit. */
export function prependActivity(activity, id, analysis) {
  const sha = analysis.commit?.sha;
  const rest = (activity?.[id] ?? []).filter((item) => !sha || item.commit?.sha !== sha);
  return { ...activity, [id]: [analysis, ...rest].slice(0, ACTIVITY_LIMIT) };
}
