/** Popup entry point. */
import { getExt } from './src/browser.js';
import { createPopup } from './src/popup.js';

createPopup({ ext: getExt(), doc: document, root: document.getElementById('app') }).start();
