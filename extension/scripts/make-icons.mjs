/**
 * Draw the toolbar icons from the pet sprite: writes icons/sprite.svg (the source) and
 * icons/icon{16,32,48,128}.png, rendered by headless Chromium with a transparent background.
 * Run with `npm run icons`; the outputs are committed.
 */

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { spriteMarkup } from '../src/sprites.js';
import { EXTENSION_DIR, launchBrowser } from './chromium.mjs';

export const ICON_SIZES = [16, 32, 48, 128];
export const ICON_SPRITE = ['pet', 'thriving'];

const iconsDir = join(EXTENSION_DIR, 'icons');
const markup = spriteMarkup(...ICON_SPRITE, 128);
await writeFile(join(iconsDir, 'sprite.svg'), `${markup}\n`);

const browser = await launchBrowser();
try {
  const page = await browser.newPage();
  for (const size of ICON_SIZES) {
    await page.setViewportSize({ width: size, height: size });
    await page.setContent(
      `<!doctype html><style>html,body{margin:0;background:transparent}svg{display:block}</style>${spriteMarkup(...ICON_SPRITE, size)}`,
    );
    const png = await page.locator('svg').screenshot({ omitBackground: true });
    await writeFile(join(iconsDir, `icon${size}.png`), png);
    console.log(`icons/icon${size}.png ${png.length} bytes`);
  }
} finally {
  await browser.close();
}
