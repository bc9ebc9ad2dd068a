/**
 * Package the extension for a browser and a server:
 *   node scripts/build.mjs [--target chrome|firefox] [--server https://pets.example.com] [--store] [--out DIR]
 * Copies the runtime files to dist/<target>/ (git-ignored) and adjusts the copy:
 *  - --server: the default server URL and the manifest's host permission (self-hosted builds);
 *  - firefox: an event-page background (`background.scripts`: Firefox has no extension service
 *    workers), host permissions without a port (Firefox's match patterns take none), without
 *    the Chrome-only `key` and `minimum_chrome_version`;
 *  - --store: drops `key` (the stores assign the id; the key only pins the id of unpacked loads).
 * The source tree itself stays loadable unpacked in Chrome as it is.
 */

import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { originPattern } from '../src/config.js';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const RUNTIME_FILES = ['manifest.json', 'background.js', 'popup.html', 'popup.css', 'popup.js', 'options.html', 'options.css', 'options.js', 'src', 'icons'];
const DEFAULT_LINE = /^export const DEFAULT_SERVER_URL = '[^']*';$/m;

export function buildManifest(manifest, { target = 'chrome', server, store = false } = {}) {
  const out = structuredClone(manifest);
  if (server) {
    const { origin, protocol } = new URL(server);
    if (!/^https?:$/.test(protocol) || origin === 'null') throw new Error(`not an http(s) server URL: ${server}`);
    out.host_permissions = [originPattern(server)];
  }
  if (target === 'firefox') {
    out.background = { scripts: [manifest.background.service_worker], type: 'module' };
    // Firefox match patterns take no port (see originPattern): `http://localhost:3000/*` would
    // be accepted and granted, yet match nothing.
    out.host_permissions = out.host_permissions.map((pattern) => pattern.replace(/^([a-z*]+:\/\/[^/]*?):\d+\//, '$1/'));
    delete out.minimum_chrome_version;
    delete out.key;
  } else if (target !== 'chrome') {
    throw new Error(`unknown target ${target}`);
  }
  if (store) delete out.key;
  return out;
}

export function configWithServer(source, server) {
  if (!DEFAULT_LINE.test(source)) throw new Error('src/config.js lost its DEFAULT_SERVER_URL line');
  return source.replace(DEFAULT_LINE, `export const DEFAULT_SERVER_URL = '${new URL(server).origin}';`);
}

async function main() {
  const { values } = parseArgs({
    options: {
      target: { type: 'string', default: 'chrome' },
      server: { type: 'string' },
      store: { type: 'boolean', default: false },
      out: { type: 'string' },
    },
  });
  const out = resolve(values.out ?? join(ROOT, 'dist', values.target));
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  for (const name of RUNTIME_FILES) await cp(join(ROOT, name), join(out, name), { recursive: true });
  const manifest = JSON.parse(await readFile(join(ROOT, 'manifest.json'), 'utf8'));
  await writeFile(join(out, 'manifest.json'), `${JSON.stringify(buildManifest(manifest, values), null, 2)}\n`);
  if (values.server) {
    const config = join(out, 'src', 'config.js');
    await writeFile(config, configWithServer(await readFile(config, 'utf8'), values.server));
  }
  console.log(`built ${values.target} extension in ${out}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
