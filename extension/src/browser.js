/** The extension API namespace: Firefox's (or webextension-polyfill's) `browser`, else Chrome's `chrome`. */

// Both namespaces return promises from the calls this extension makes (Chrome since MV3), so the
// rest of the code is written once against promises and never touches callbacks.
export function getExt() {
  return globalThis.browser ?? globalThis.chrome;
}

/** Firefox (its pages live at moz-extension://), where match patterns cannot carry a port. */
export function isFirefox(ext) {
  return String(ext.runtime?.getURL?.('') ?? '').startsWith('moz-extension:');
}
