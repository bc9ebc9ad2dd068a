/** The service worker's logic: socket, polling, badge, notifications, sign-in and sign-out. */

import { ApiError, NetworkError, createApiClient, describeError, entitiesFrom } from './api.js';
import { signInWithGitHub } from './auth.js';
import { KEYS, socketUrl } from './config.js';
import { achievementText } from './caretakers.js';
import { badgeFor, becameCritical } from './health.js';
import { POLL_ALARM, SocketManager } from './socket.js';
import {
  appendHistory,
  clearSession,
  createSerializer,
  entityForRepository,
  findEntity,
  getServerUrl,
  getSession,
  patchEntity,
  pickCurrentId,
  prependActivity,
} from './store.js';

export const SESSION_ALARM = 'tamagitto-session';
// Renew the 24-hour session when less than this is left.
export const REFRESH_BEFORE_MS = 3 * 60 * 60 * 1000;

// What each optional notification says; the server's own message wins when it sends one.
const NOTICES = Object.freeze({
  dead: { title: 'Your Tamagitto pet died', fallback: (name) => `${name} has died.` },
  dying: { title: 'Your Tamagitto pet is dying', fallback: (name) => `${name} is in critical condition!` },
  hungry: { title: 'Your Tamagitto pet is hungry', fallback: (name) => `${name} is hungry` },
  achievement: { title: 'Achievement earned', fallback: (name) => `Someone earned an achievement on ${name}` },
});

export function createBackground({
  ext,
  fetchImpl,
  WebSocketImpl = globalThis.WebSocket,
  timers,
  random = Math.random,
  now = () => Date.now(),
}) {
  const storage = ext.storage.local;
  const serialize = createSerializer();
  let pollState = null; // 'ok' | 'offline' after a poll; null while the socket is live
  let lastConnection = null;

  const api = createApiClient({
    baseUrl: () => getServerUrl(storage),
    getToken: async () => (await getSession(storage))?.token,
    onUnauthorized: () => clearSession(storage),
    fetchImpl,
  });

  const socket = new SocketManager({
    getUrl: async () => {
      const session = await getSession(storage);
      return session?.token ? socketUrl(await getServerUrl(storage), session.token) : null;
    },
    WebSocketImpl,
    alarms: ext.alarms,
    timers,
    random,
    onMessage: (message) => handleSocketMessage(message),
    onStatus: (status) => {
      if (status === 'live') pollState = null;
      writeConnection();
    },
    poll: () => poll(),
  });

  function connectionState() {
    if (socket.status === 'live') return 'live';
    if (pollState === 'offline') return 'offline';
    if (pollState === 'ok') return 'polling';
    return 'connecting';
  }

  function writeConnection() {
    if (socket.status === 'stopped') return null;
    const state = connectionState();
    if (state === lastConnection) return null;
    lastConnection = state;
    return storage.set({ [KEYS.connection]: { state, since: now() } });
  }

  async function updateBadge() {
    const data = await storage.get([KEYS.entities, KEYS.currentEntityId, KEYS.session]);
    const entity = data[KEYS.session]
      ? findEntity(data[KEYS.entities], data[KEYS.currentEntityId])
      : null;
    const { text, color } = badgeFor(entity);
    await ext.action.setBadgeBackgroundColor({ color });
    await ext.action.setBadgeText({ text });
  }

  async function notify(kind, entity, message) {
    if (!ext.notifications || !ext.permissions) return;
    const allowed = await ext.permissions.contains({ permissions: ['notifications'] });
    if (!allowed) return;
    const { title, fallback } = NOTICES[kind] ?? NOTICES.dying;
    await ext.notifications.create(`tamagitto-${entity.id}-${kind}-${now()}`, {
      type: 'basic',
      iconUrl: ext.runtime.getURL('icons/icon128.png'),
      title,
      message: message || fallback(entity.name),
    });
  }

  /** Replace the cached pets with a fresh list (snapshot or poll), and notify about any that fell. */
  function applyEntities(list) {
    return serialize(async () => {
      const data = await storage.get([KEYS.entities, KEYS.currentEntityId]);
      const before = data[KEYS.entities] ?? [];
      await storage.set({
        [KEYS.entities]: list,
        [KEYS.currentEntityId]: pickCurrentId(list, data[KEYS.currentEntityId]),
        [KEYS.lastUpdated]: now(),
      });
      for (const entity of list) {
        const kind = becameCritical(findEntity(before, entity.id), entity);
        if (kind && findEntity(before, entity.id)) await notify(kind, entity);
      }
    });
  }

  /** Patch one cached pet from a socket message; a pet we have not cached yet means "poll". */
  async function updateEntity(id, patch, options) {
    const known = await patchCachedEntity(id, patch, options);
    if (!known) await poll();
  }

  function patchCachedEntity(id, patch, { historyPoint, message, notice } = {}) {
    return serialize(async () => {
      const data = await storage.get([KEYS.entities, KEYS.histories]);
      const before = findEntity(data[KEYS.entities], id);
      if (!before) return false;
      const after = { ...before, ...patch };
      const changes = {
        [KEYS.entities]: patchEntity(data[KEYS.entities], id, patch),
        [KEYS.lastUpdated]: now(),
      };
      if (historyPoint) changes[KEYS.histories] = appendHistory(data[KEYS.histories], before.id, historyPoint);
      await storage.set(changes);
      const kind = becameCritical(before, after) ?? notice;
      if (kind) await notify(kind, after, message);
      return true;
    });
  }

  function recordAnalysis(message) {
    return serialize(async () => {
      const data = await storage.get([KEYS.entities, KEYS.activity]);
      const entity = entityForRepository(data[KEYS.entities], message.repository);
      if (!entity) return;
      const analysis = {
        id: `live-${message.commit_sha}`,
        repository: message.repository,
        commit: { sha: message.commit_sha, message: message.commit_message ?? '' },
        quality_metrics: { overall_score: message.quality_score },
        health_impact: { delta: message.health_delta, reasons: message.reasons ?? [] },
        processed_at: message.timestamp,
      };
      await storage.set({ [KEYS.activity]: prependActivity(data[KEYS.activity], entity.id, analysis) });
    });
  }

  /** Someone earned an achievement on a cached pet: a notification when allowed (popups toast it). */
  async function announceAchievement(message) {
    const data = await storage.get([KEYS.entities]);
    const entity = findEntity(data[KEYS.entities], message.entity_id);
    if (entity) await notify('achievement', entity, achievementText(message));
  }

  async function handleSocketMessage(message) {
    switch (message.type) {
      case 'snapshot':
        await applyEntities(message.entities ?? []);
        break;
      case 'health_update':
        await updateEntity(
          message.entity_id,
          {
            health_score: message.health_score,
            state: message.state,
            ...(message.visual_url ? { visual_url: message.visual_url } : {}),
            ...(typeof message.sleeping === 'boolean' ? { sleeping: message.sleeping } : {}),
            last_updated: message.timestamp,
          },
          {
            historyPoint: {
              timestamp: message.timestamp,
              health_score: message.health_score,
              change_reason: message.change_reason,
            },
          },
        );
        break;
      case 'status_change':
        await updateEntity(
          message.entity_id,
          {
            status: message.new_status,
            health_score: message.health_score,
            last_updated: message.timestamp,
            ...(message.new_status === 'dead' ? { died_at: message.timestamp } : {}),
          },
          // "Mochi is hungry": decay started; the status itself stays as it was.
          { message: message.message, notice: message.reason === 'hungry' ? 'hungry' : undefined },
        );
        break;
      case 'analysis_complete':
        await recordAnalysis(message);
        break;
      case 'achievement':
        await announceAchievement(message);
        break;
      default:
        return; // unknown types are ignored: the server may add some before we know them
    }
    // Open popups re-render from storage; this tells them what happened, e.g. for a short toast.
    ext.runtime.sendMessage({ type: 'tamagitto:event', event: message }).catch(() => {});
  }

  /** One REST poll of the pets: the fallback while the socket is down, and "refresh" for the popup. */
  async function poll() {
    if (!(await getSession(storage))?.token) return { ok: false, error: { kind: 'api', code: 'invalid_token' } };
    try {
      await applyEntities(entitiesFrom(await api.entities()));
      pollState = 'ok';
      return { ok: true };
    } catch (error) {
      if (error instanceof NetworkError) pollState = 'offline';
      return { ok: false, error: describeError(error) };
    } finally {
      await writeConnection();
    }
  }

  async function refresh() {
    const result = await poll();
    if (result.ok || result.error?.kind === 'network') await socket.start();
    return result;
  }

  async function refreshSessionIfDue() {
    const session = await getSession(storage);
    if (!session?.expires_at) return;
    if (Date.parse(session.expires_at) - now() > REFRESH_BEFORE_MS) return;
    try {
      const renewed = await api.refreshSession();
      await storage.set({
        [KEYS.session]: { ...session, token: renewed.session_token, expires_at: renewed.expires_at },
      });
    } catch (error) {
      if (!(error instanceof NetworkError || error instanceof ApiError)) throw error;
    }
  }

  async function signIn() {
    try {
      const session = await signInWithGitHub({ ext, api });
      return { ok: true, user: session.user };
    } catch (error) {
      return { ok: false, error: { ...describeError(error), code: error.code ?? describeError(error).code } };
    }
  }

  async function signOut() {
    try {
      await api.logout();
    } catch {
      // revoking is best effort; the local session goes either way
    }
    await clearSession(storage);
    return { ok: true };
  }

  function onMessage(message) {
    switch (message?.type) {
      case 'refresh':
        return refresh();
      case 'signIn':
        return signIn();
      case 'signOut':
        return signOut();
      default:
        return null;
    }
  }

  async function onAlarm(alarm) {
    if (alarm?.name === SESSION_ALARM) return refreshSessionIfDue();
    if (alarm?.name === POLL_ALARM) socket.handleAlarm(alarm);
    return undefined;
  }

  async function onStorageChanged(changes, area) {
    if (area !== 'local') return;
    if (KEYS.session in changes || KEYS.serverUrl in changes) {
      const oldToken = changes[KEYS.session]?.oldValue?.token;
      const newToken = changes[KEYS.session]?.newValue?.token;
      const session = await getSession(storage);
      if (!session?.token) {
        lastConnection = null;
        pollState = null;
        await socket.stop();
      } else if (KEYS.serverUrl in changes || oldToken !== newToken) {
        await socket.restart();
      }
    }
    if (KEYS.entities in changes || KEYS.currentEntityId in changes || KEYS.session in changes) {
      await updateBadge();
    }
  }

  async function init() {
    await ext.alarms.create(SESSION_ALARM, { periodInMinutes: 60 });
    await updateBadge();
    if ((await getSession(storage))?.token) {
      await socket.start();
      await refreshSessionIfDue();
    }
  }

  return {
    api,
    socket,
    init,
    onMessage,
    onAlarm,
    onStorageChanged,
    handleSocketMessage,
    poll,
    refresh,
    signIn,
    signOut,
    updateBadge,
  };
}
