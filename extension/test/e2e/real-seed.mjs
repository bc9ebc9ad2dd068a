/**
 * The default backend of the end-to-end suite: a real `tamagitto serve`, seeded through the app's
 * own paths by real_backend.py (signed webhooks through the real pipeline, GitHub faked on
 * loopback, sign-in through initiate/callback). Implements the contract at the top of
 * backend.mjs by driving that harness over its stdin/stdout (one JSON line per answer).
 *
 * The harness runs under `uv run --frozen --project <repo root> python`; set
 * TAMAGITTO_E2E_PYTHON to a Python executable (with the project's dependencies) to skip uv.
 */

import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const HARNESS = fileURLToPath(new URL('./real_backend.py', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const READY_TIMEOUT_MS = 90_000;
const ANSWER_TIMEOUT_MS = 45_000;

/** `uv`, or `python3 -m uv` where only the module is installed (as scripts/test allows). */
function uv() {
  if (process.env.UV) return [process.env.UV];
  const found = spawnSync('uv', ['--version'], { stdio: 'ignore' });
  return found.status === 0 ? ['uv'] : ['python3', '-m', 'uv'];
}

function command(port) {
  const args = [HARNESS, ...(port ? ['--port', String(port)] : [])];
  const python = process.env.TAMAGITTO_E2E_PYTHON;
  if (python) return [python, args];
  const [file, ...prefix] = uv();
  return [file, [...prefix, 'run', '--frozen', '--quiet', '--project', ROOT, 'python', ...args]];
}

/** `serverUrl`, when given, only chooses the port: the harness always starts its own server. */
export async function startBackend({ serverUrl } = {}) {
  const port = serverUrl ? new URL(serverUrl).port : '';
  const [file, args] = command(port);
  const child = spawn(file, args, { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  const stderr = [];
  child.stderr.on('data', (chunk) => {
    stderr.push(chunk);
    if (process.env.TAMAGITTO_E2E_VERBOSE) process.stderr.write(chunk);
  });
  const exited = new Promise((resolve) => child.on('close', (code, signal) => resolve(code ?? signal)));
  const spawnFailed = new Promise((_, reject) =>
    child.on('error', (error) => reject(new Error(`could not start the e2e harness (${file}): ${error.message}`))),
  );
  spawnFailed.catch(() => {}); // raced in answer(); this only marks it handled
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const log = () => Buffer.concat(stderr).toString().trim();

  /** The harness's next answer; rejects with its stderr if it fails, dies or stays silent. */
  async function answer(what, timeout) {
    let timer;
    const next = lines.next().then(({ value, done }) => {
      if (done) throw new Error(`the e2e harness exited while waiting for ${what}`);
      return JSON.parse(value);
    });
    const late = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the e2e harness gave no ${what} within ${timeout / 1000} s`)), timeout);
    });
    try {
      const message = await Promise.race([next, late, spawnFailed]);
      if (message.error) throw new Error(message.error);
      return message;
    } catch (error) {
      error.message += `\n--- harness stderr ---\n${log()}`;
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  function send(line) {
    if (child.exitCode === null && child.stdin.writable) child.stdin.write(`${line}\n`);
  }

  async function quit() {
    send('quit');
    child.stdin.end();
    const timer = setTimeout(() => child.kill('SIGTERM'), 20_000);
    await exited;
    clearTimeout(timer);
    process.off('exit', killOnExit);
  }

  let ready;
  try {
    ready = await answer('ready line', READY_TIMEOUT_MS);
  } catch (error) {
    child.kill('SIGTERM');
    await exited;
    process.off('exit', killOnExit);
    throw error;
  }

  let serverStopped = false;
  return {
    url: ready.url,
    session: ready.session,
    entity: ready.entity,
    /** A second signed push (a committed AWS key); resolves to the health the API then shows. */
    async changeHealth() {
      send('push');
      return (await answer('health after the second push', ANSWER_TIMEOUT_MS)).health;
    },
    /**
     * Stop the server (the suite then expects "offline"); fails if the app sent GitHub a request
     * its OpenAPI description rejects. Later calls do nothing; `quit()` ends the harness.
     */
    async stop() {
      if (serverStopped) return;
      serverStopped = true;
      send('stop');
      const { github_errors: errors } = await answer('stop acknowledgement', ANSWER_TIMEOUT_MS);
      if (errors?.length) throw new Error(`requests GitHub's OpenAPI description rejects: ${errors.join('; ')}`);
    },
    quit,
  };
}
