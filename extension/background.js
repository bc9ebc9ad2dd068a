/** Service worker entry point: wires the extension events to src/background-core.js. */

import { createBackground } from './src/background-core.js';
import { describeError } from './src/api.js';
import { getExt } from './src/browser.js';

const ext = getExt();
const background = createBackground({ ext });

// Listeners are registered synchronously at the top level, so a worker woken by an event gets it.
ext.runtime.onMessage.addListener((message, sender, sendResponse) => {
  if (sender?.id && sender.id !== ext.runtime.id) return false;
  const result = background.onMessage(message);
  if (!result) return false;
  result.then(sendResponse, (error) => sendResponse({ ok: false, error: describeError(error) }));
  return true; // answer asynchronously
});
ext.alarms.onAlarm.addListener((alarm) => background.onAlarm(alarm));
ext.storage.onChanged.addListener((changes, area) => background.onStorageChanged(changes, area));

background.init();
