/** Options page entry point. */
import { getExt } from './src/browser.js';
import { initOptions } from './src/options.js';

initOptions({ ext: getExt(), doc: document });
