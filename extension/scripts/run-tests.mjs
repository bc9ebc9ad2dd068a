/** Run one suite (`unit`, `e2e` or `firefox`) with node's test runner: every test/<suite>/*.test.mjs file. */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const suite = process.argv[2] ?? 'unit';
const dir = fileURLToPath(new URL(`../test/${suite}/`, import.meta.url));
const files = readdirSync(dir)
  .filter((name) => name.endsWith('.test.mjs'))
  .sort()
  .map((name) => join(dir, name));
if (!files.length) {
  console.error(`no test files in ${dir}`);
  process.exit(1);
}
const timeout = { e2e: 180_000, firefox: 60_000 }[suite];
const args = ['--test', '--test-concurrency=1', ...(timeout ? [`--test-timeout=${timeout}`] : []), ...process.argv.slice(3), ...files];
const { status } = spawnSync(process.execPath, args, { stdio: 'inherit' });
process.exit(status ?? 1);
