/**
 * The server's picture of a pet, kept in storage as a data: URL so the popup shows the same
 * picture offline. Picture URLs are content-hashed (`/images/{hash}.{ext}`), so each is fetched
 * once; a new picture (another state, a Gemini variant) is a new URL.
 */

import { KEYS } from './config.js';

export const PICTURE_LIMIT = 12;
export const MAX_PICTURE_BYTES = 512 * 1024;

function base64(bytes) {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/** Fetch and keep one picture unless it is already kept; resolves true when it stored one. */
export async function cachePicture({ storage, url, fetchImpl = globalThis.fetch }) {
  if (!url || !/^https?:/.test(url)) return false;
  const kept = (await storage.get(KEYS.pictures))[KEYS.pictures] ?? {};
  if (kept[url]) return false;
  const response = await fetchImpl(url);
  const type = (response.headers.get('Content-Type') ?? '').split(';')[0].trim();
  if (!response.ok || !type.startsWith('image/')) return false;
  const bytes = new Uint8Array(await response.arrayBuffer());
  if (bytes.length > MAX_PICTURE_BYTES) return false;
  const newest = Object.entries(kept).slice(-(PICTURE_LIMIT - 1));
  await storage.set({ [KEYS.pictures]: { ...Object.fromEntries(newest), [url]: `data:${type};base64,${base64(bytes)}` } });
  return true;
}
