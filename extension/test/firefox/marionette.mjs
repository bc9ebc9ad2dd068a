/**
 * A tiny client for Firefox's built-in Marionette protocol (no geckodriver, no downloads), enough
 * to start a headless Firefox with a throwaway profile, install a temporary add-on, navigate and
 * run scripts.
 *
 * Wire format: every packet is `<byte length>:<JSON>`. On connect the server sends a hello
 * (`{"applicationType":"gecko","marionetteProtocol":3}`); then a command is
 * `[0, id, "Domain:Command", params]` and its answer `[1, id, error|null, result|null]`.
 */

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function firefoxPath() {
  if (process.env.FIREFOX_PATH) return process.env.FIREFOX_PATH;
  return ['/usr/bin/firefox-esr', '/usr/bin/firefox'].find((path) => existsSync(path)) ?? 'firefox-esr';
}

export class MarionetteError extends Error {
  constructor(command, { error, message, stacktrace }) {
    super(`${command}: ${error}: ${message}`);
    this.name = 'MarionetteError';
    this.code = error;
    this.stacktrace = stacktrace;
  }
}

/** One Marionette connection: `command(name, params)` resolves with the result or rejects with a MarionetteError. */
export class MarionetteClient {
  #socket;
  #buffer = Buffer.alloc(0);
  #nextId = 1;
  #pending = new Map();
  #hello;
  #closed = null;

  constructor(socket) {
    this.#socket = socket;
    this.hello = new Promise((resolve, reject) => {
      this.#hello = { resolve, reject };
    });
    socket.on('data', (chunk) => this.#receive(chunk));
    socket.on('error', (error) => this.#fail(error));
    socket.on('close', () => this.#fail(new Error('Marionette connection closed')));
  }

  static connect(port, host = '127.0.0.1') {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host });
      socket.once('connect', () => {
        socket.removeListener('error', reject);
        resolve(new MarionetteClient(socket));
      });
      socket.once('error', reject);
    });
  }

  #fail(error) {
    if (this.#closed) return;
    this.#closed = error;
    this.#hello?.reject(error);
    for (const { reject } of this.#pending.values()) reject(error);
    this.#pending.clear();
  }

  #receive(chunk) {
    this.#buffer = Buffer.concat([this.#buffer, chunk]);
    for (;;) {
      const colon = this.#buffer.indexOf(0x3a); // ':'
      if (colon < 0) return;
      const length = Number(this.#buffer.subarray(0, colon).toString('ascii'));
      if (!Number.isInteger(length)) return this.#fail(new Error(`bad Marionette packet header ${this.#buffer.subarray(0, colon)}`));
      if (this.#buffer.length < colon + 1 + length) return;
      const body = JSON.parse(this.#buffer.subarray(colon + 1, colon + 1 + length).toString('utf8'));
      this.#buffer = this.#buffer.subarray(colon + 1 + length);
      this.#dispatch(body);
    }
  }

  #dispatch(packet) {
    if (!Array.isArray(packet)) {
      this.#hello?.resolve(packet);
      this.#hello = null;
      return;
    }
    const [type, id, error, result] = packet;
    const pending = this.#pending.get(id);
    if (type !== 1 || !pending) return;
    this.#pending.delete(id);
    if (error) pending.reject(new MarionetteError(pending.name, error));
    else pending.resolve(result);
  }

  command(name, params = {}) {
    if (this.#closed) return Promise.reject(this.#closed);
    const id = this.#nextId++;
    const json = Buffer.from(JSON.stringify([0, id, name, params]), 'utf8');
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { name, resolve, reject });
      this.#socket.write(Buffer.concat([Buffer.from(`${json.length}:`, 'ascii'), json]));
    });
  }

  setContext(context) {
    return this.command('Marionette:SetContext', { value: context });
  }

  /** Run a function body in the current context; `arguments[0..]` are `args`. Resolves with its return value. */
  async execute(script, args = []) {
    return (await this.command('WebDriver:ExecuteScript', { script, args })).value;
  }

  /** Like execute, but the script may `return` a promise (an async function body). */
  async executeAsync(script, args = [], timeout = 10_000) {
    const wrapped = `const resolve = arguments[arguments.length - 1];
      (async (...args) => { ${script} })(...Array.prototype.slice.call(arguments, 0, -1))
        .then((value) => resolve({ ok: true, value }), (error) => resolve({ ok: false, error: String(error) + '\\n' + (error && error.stack || '') }));`;
    const { value } = await this.command('WebDriver:ExecuteAsyncScript', { script: wrapped, args, scriptTimeout: timeout });
    if (!value?.ok) throw new Error(`script failed: ${value?.error}`);
    return value.value;
  }

  navigate(url) {
    return this.command('WebDriver:Navigate', { url });
  }

  end() {
    this.#fail(new Error('Marionette connection closed by the client'));
    this.#socket.destroy();
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const PREFS = {
  'xpinstall.signatures.required': false,
  'extensions.autoDisableScopes': 0,
  'devtools.chrome.enabled': true,
  'browser.shell.checkDefaultBrowser': false,
  'browser.startup.homepage_override.mstone': 'ignore',
  'browser.startup.page': 0,
  'browser.aboutwelcome.enabled': false,
  'datareporting.policy.dataSubmissionEnabled': false,
  'datareporting.healthreport.uploadEnabled': false,
  'toolkit.telemetry.reportingpolicy.firstRun': false,
  'app.update.auto': false,
  'app.update.disabledForTesting': true,
  'network.proxy.type': 0,
  'browser.safebrowsing.malware.enabled': false,
  'browser.safebrowsing.phishing.enabled': false,
  'extensions.getAddons.cache.enabled': false,
  'extensions.update.enabled': false,
  'browser.newtabpage.enabled': false,
  'network.captive-portal-service.enabled': false,
  'network.connectivity-service.enabled': false,
};

/**
 * Start headless Firefox with a fresh profile and Marionette on a free loopback port; resolves
 * with `{ client, process, profile, stderr(), close() }` once a WebDriver session is open.
 */
export async function launchFirefox({ binary = firefoxPath(), timeout = 30_000, prefs = {} } = {}) {
  const profile = await mkdtemp(join(tmpdir(), 'tamagitto-firefox-'));
  const port = await freePort();
  const userJs = Object.entries({ ...PREFS, ...prefs, 'marionette.port': port })
    .map(([name, value]) => `user_pref(${JSON.stringify(name)}, ${JSON.stringify(value)});`)
    .join('\n');
  await writeFile(join(profile, 'user.js'), `${userJs}\n`);

  const child = spawn(binary, ['--headless', '--marionette', '--remote-allow-system-access', '--no-remote', '-profile', profile, 'about:blank'], {
    env: { ...process.env, MOZ_HEADLESS: '1', MOZ_CRASHREPORTER_DISABLE: '1', MOZ_DISABLE_AUTO_SAFE_MODE: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk) => {
    output = (output + chunk).slice(-20_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let gone = null;
  exited.then((status) => {
    gone = status;
  });

  const cleanup = async () => {
    if (!gone) {
      child.kill('SIGKILL');
      await exited;
    }
    await rm(profile, { recursive: true, force: true, maxRetries: 3 });
  };

  let client;
  try {
    const end = Date.now() + timeout;
    for (;;) {
      if (gone) throw new Error(`Firefox exited early (${JSON.stringify(gone)}):\n${output}`);
      try {
        client = await MarionetteClient.connect(port);
        await client.hello;
        break;
      } catch (error) {
        client?.end();
        client = null;
        if (Date.now() > end) throw new Error(`no Marionette on port ${port} after ${timeout} ms (${error.message}):\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    await client.command('WebDriver:NewSession', { capabilities: { alwaysMatch: { acceptInsecureCerts: true } } });
  } catch (error) {
    client?.end();
    await cleanup();
    throw error;
  }

  return {
    client,
    process: child,
    profile,
    output: () => output,
    async close() {
      try {
        await Promise.race([
          client.command('Marionette:Quit', { flags: ['eForceQuit'] }).catch(() => {}),
          new Promise((resolve) => setTimeout(resolve, 5000)),
        ]);
        await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
      } finally {
        client.end();
        await cleanup();
      }
    },
  };
}
