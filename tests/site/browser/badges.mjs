// Screenshots of README badges as headless Chromium draws them, for pixel checks in pytest
// (tests/site/test_badge_browser.py):
//   node tests/site/browser/badges.mjs <base-url> <out-dir> <path>...
// Each badge is opened as its own document at twice the pixel density, cut to its own size.
// Prints one JSON object on its last stdout line: {badges: [{path, status, width, height, file}]}.
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(new URL("../../../site/package.json", import.meta.url));
const { chromium } = require("playwright-core");

const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"];
const SCALE = 2;

async function shoot(browser, base, outDir, badgePath, index) {
  const context = await browser.newContext({ viewport: { width: 400, height: 200 }, deviceScaleFactor: SCALE });
  const page = await context.newPage();
  const errors = [];
  page.on("console", (msg) => { if (msg.type() === "error") errors.push(msg.text()); });
  const response = await page.goto(`${base}${badgePath}`, { waitUntil: "load" });
  const size = await page.evaluate(() => ({
    width: Number(document.documentElement.getAttribute("width")),
    height: Number(document.documentElement.getAttribute("height")),
  }));
  const file = path.join(outDir, `badge-${index}.png`);
  await page.screenshot({ path: file, clip: { x: 0, y: 0, ...size } });
  await context.close();
  return { path: badgePath, status: response.status(), ...size, file, errors };
}

const [base, outDir, ...paths] = process.argv.slice(2);
const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
try {
  const badges = [];
  for (const [i, p] of paths.entries()) badges.push(await shoot(browser, base, outDir, p, i));
  console.log(JSON.stringify({ scale: SCALE, badges }));
} finally {
  await browser.close();
}
