/** A fresh jsdom document with the popup's root element. */
import { JSDOM } from 'jsdom';

export function createDom() {
  const dom = new JSDOM('<!doctype html><html><body><div id="app"></div></body></html>', { pretendToBeVisual: true });
  const { document } = dom.window;
  return { dom, window: dom.window, document, root: document.getElementById('app') };
}

export const text = (node) => node?.textContent.replace(/\s+/g, ' ').trim() ?? '';
export const byTestId = (root, id) => root.querySelector(`[data-testid="${id}"]`);
