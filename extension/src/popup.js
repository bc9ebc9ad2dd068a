/** The popup controller: render the cache at once, then refresh, and follow storage and runtime messages. */

import { ApiError, createApiClient, describeError } from './api.js';
import { KEYS } from './config.js';
import { cooldownExpiresAt, remainingMs, startCooldownTimer } from './cooldown.js';
import { saveServerUrl } from './options.js';
import { cachePicture } from './pictures.js';
import { achievementText } from './caretakers.js';
import { createView, pictureUrl } from './render.js';
import { currentEntity, initialState, reduce, repoKey, screenOf } from './state.js';
import { clearSession, findEntity, readCache } from './store.js';

export const FIRST_RENDER_MARK = 'tamagitto:first-render';
const TOAST_MS = 4000;

export function createPopup({ ext, doc, root, now = () => Date.now(), fetchImpl, timers = globalThis }) {
  const storage = ext.storage.local;
  let state = initialState(now());
  let firstRenderMarked = false;
  let stopCooldown = null;
  let toastTimer = null;

  const api = createApiClient({
    baseUrl: () => state.serverUrl,
    getToken: () => state.session?.token,
    onUnauthorized: () => clearSession(storage),
    fetchImpl,
  });

  const send = (message) =>
    ext.runtime.sendMessage(message).catch((error) => ({ ok: false, error: describeError(error) }));

  const actions = {
    onSignIn: async () => {
      dispatch({ type: 'signin:start' });
      dispatch({ type: 'signin:done', result: await send({ type: 'signIn' }) });
    },
    onSignOut: () => send({ type: 'signOut' }),
    onRetry: () => refresh(),
    onNavigate: (view) => dispatch({ type: 'navigate', view }),
    onOpenOptions: () => ext.runtime.openOptionsPage(),
    onSelectEntity: (id) => {
      dispatch({ type: 'select', id });
      storage.set({ [KEYS.currentEntityId]: id });
      loadDetails(id);
    },
    onToggleHistory: () => dispatch({ type: 'history:toggle' }),
    onSearch: (query) => dispatch({ type: 'repos:query', query }),
    onLoadRepositories: () => loadRepositories(),
    onToggleMonitor: (repo, on) => toggleMonitor(repo, on),
    onReset: (id) => resetEntity(id),
    onHibernate: (id) => restEntity(id, true),
    onWake: (id) => restEntity(id, false),
    onSaveServer: (input) => saveServer(input),
  };

  const view = createView(doc, root, actions);

  function dispatch(action) {
    state = reduce(state, action);
    const rendered = view.update(state);
    afterRender();
    return rendered;
  }

  function afterRender() {
    const screen = screenOf(state);
    if (!firstRenderMarked && (screen === 'dashboard' || screen === 'death')) {
      firstRenderMarked = true;
      globalThis.performance?.mark?.(FIRST_RENDER_MARK);
      doc.documentElement.dataset.firstRender = 'done';
    }
    if (screen === 'repositories' && state.repositories.items === null && !state.repositories.loading && !state.repositories.error) {
      loadRepositories();
    }
    syncCooldown(screen);
  }

  // The death screen ticks every second until revival is allowed; other screens need no clock.
  function syncCooldown(screen) {
    const entity = screen === 'death' ? currentEntity(state) : null;
    const expiresAt = entity ? cooldownExpiresAt(entity, state.cooldowns) : null;
    const wanted = expiresAt && remainingMs(expiresAt, now()) > 0 ? `${entity.id}@${expiresAt}` : null;
    if (stopCooldown?.key === wanted) return;
    stopCooldown?.();
    stopCooldown = null;
    if (!wanted) return;
    const stop = startCooldownTimer({
      expiresAt,
      now,
      timers,
      onTick: () => {
        if (stopCooldown) dispatch({ type: 'tick', now: now() });
      },
      onDone: () => dispatch({ type: 'tick', now: now() }),
    });
    stopCooldown = Object.assign(() => stop(), { key: wanted });
  }

  async function refresh() {
    if (!state.session) return;
    dispatch({ type: 'refresh:start' });
    const result = await send({ type: 'refresh' });
    dispatch({ type: 'refresh:done', result, now: now() });
    const entity = currentEntity(state);
    if (entity) await loadDetails(entity.id);
  }

  /** History and recent analyses for one pet; cached, so the next popup opens with them. */
  async function loadDetails(id) {
    const entity = findEntity(state.entities, id);
    if (!entity) return;
    cachePicture({ storage, url: pictureUrl(entity, state.serverUrl), fetchImpl }).catch(() => false);
    const [history, analyses, care] = await Promise.allSettled([
      api.healthHistory(id, { days: 30, granularity: 'daily' }),
      api.recentAnalyses({ limit: 20, repositoryId: entity.repository?.id }),
      api.caretakers(id, { days: 30 }),
    ]);
    const stored = await storage.get([KEYS.histories, KEYS.activity, KEYS.caretakers]);
    const changes = {};
    if (care.status === 'fulfilled' && care.value && typeof care.value === 'object') {
      changes[KEYS.caretakers] = { ...stored[KEYS.caretakers], [id]: care.value };
    }
    if (history.status === 'fulfilled' && Array.isArray(history.value?.health_history)) {
      // One row per change when the server sends them: decay days, deaths and revivals stay rows.
      const rows = Array.isArray(history.value.changes) ? history.value.changes : history.value.health_history;
      changes[KEYS.histories] = { ...stored[KEYS.histories], [id]: rows };
    }
    if (analyses.status === 'fulfilled' && Array.isArray(analyses.value?.analyses)) {
      const name = entity.repository?.full_name;
      const mine = analyses.value.analyses.filter((a) => {
        const repo = typeof a.repository === 'string' ? a.repository : a.repository?.full_name;
        return !name || !repo || repo === name;
      });
      changes[KEYS.activity] = { ...stored[KEYS.activity], [id]: mine };
    }
    if (Object.keys(changes).length) await storage.set(changes);
  }

  /** The first run's server: permission, /healthz, then saved; storage.onChanged moves on to sign-in. */
  async function saveServer(input) {
    dispatch({ type: 'server:start' });
    try {
      await saveServerUrl({ ext, input, fetchImpl });
      dispatch({ type: 'server:done' });
    } catch (error) {
      dispatch({ type: 'server:done', error: { message: error.message, step: error.step ?? null } });
    }
  }

  async function loadRepositories() {
    dispatch({ type: 'repos:start' });
    try {
      const data = await api.repositories();
      dispatch({ type: 'repos:done', items: data?.repositories ?? [] });
    } catch (error) {
      dispatch({ type: 'repos:failed', error: describeError(error) });
    }
  }

  async function toggleMonitor(repo, on) {
    const id = repoKey(repo);
    dispatch({ type: 'repos:pending', id });
    try {
      if (on) await api.monitor(id, {});
      else await api.unmonitor(id);
      dispatch({ type: 'repos:toggled', id, monitoring: on });
      await send({ type: 'refresh' }); // the worker fetches the new (or archived) pet
    } catch (error) {
      dispatch({ type: 'repos:toggled', id, monitoring: !on, error: describeError(error) });
    }
  }

  async function resetEntity(id) {
    dispatch({ type: 'reset:start' });
    try {
      await api.resetEntity(id);
      await send({ type: 'refresh' });
      dispatch({ type: 'reset:done' });
    } catch (error) {
      if (error instanceof ApiError && error.code === 'cooldown_active') {
        const expires = error.body?.cooldown_expires ?? error.details?.cooldown_expires;
        if (expires) {
          const stored = await storage.get(KEYS.cooldowns);
          await storage.set({ [KEYS.cooldowns]: { ...stored[KEYS.cooldowns], [id]: expires } });
        }
      }
      dispatch({ type: 'reset:done', error: describeError(error) });
    }
  }

  /** Hibernate or wake (push access needed: the server's refusal is shown as it words it). */
  async function restEntity(id, asleep) {
    try {
      const body = asleep ? await api.hibernate(id) : await api.wake(id);
      await send({ type: 'refresh' }); // the worker caches the pet with its new picture
      showToast(body?.message ?? (asleep ? 'Asleep.' : 'Awake.'));
    } catch (error) {
      showToast(describeError(error).message || 'Could not change that; try again.');
    }
  }

  function onStorageChanged(changes, area) {
    if (area !== 'local') return;
    const values = {};
    for (const [key, change] of Object.entries(changes)) values[key] = change.newValue;
    dispatch({ type: 'storage', changes: values });
  }

  function onRuntimeMessage(message) {
    if (message?.type !== 'tamagitto:event') return;
    const event = message.event;
    const entity = currentEntity(state);
    if (event?.type === 'health_update' && entity && String(event.entity_id) === String(entity.id) && event.change_reason) {
      showToast(`${entity.name}: ${Math.round(event.health_score)} — ${event.change_reason}`);
    } else if (event?.type === 'status_change' && event.message) {
      showToast(event.message);
    } else if (event?.type === 'achievement') {
      showToast(achievementText(event));
      if (entity) loadDetails(entity.id); // the caretakers list now shows it
    }
  }

  function showToast(text) {
    dispatch({ type: 'toast', text });
    timers.clearTimeout(toastTimer);
    toastTimer = timers.setTimeout(() => dispatch({ type: 'toast:clear' }), TOAST_MS);
  }

  async function start() {
    dispatch({ type: 'cache', cache: await readCache(storage), now: now() });
    ext.storage.onChanged.addListener(onStorageChanged);
    ext.runtime.onMessage.addListener(onRuntimeMessage);
    await refresh();
  }

  return { start, dispatch, actions, get state() { return state; } };
}
