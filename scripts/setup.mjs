#!/usr/bin/env node
// Makes a fresh clone runnable: npm dependencies, oneDNN (apt), the native addon, the TS build;
// with --with-redis also redis-server (apt), which the queue tests and bench:scale start.
// Uses only Node's standard library because it runs before `npm ci`. Each step is skipped when
// its result is already there, so `npm test` and `npm run demo` stay quick after the first run.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const log = (msg) => process.stderr.write(`setup: ${msg}\n`);

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'], ...opts });
  return r.status === 0;
}

function newestMtime(dir, filter) {
  let newest = 0;
  if (!existsSync(dir)) return 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(p, filter));
    else if (filter(p)) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

export function oneDnnInstalled() {
  return (
    ['/usr/include/oneapi/dnnl/dnnl.hpp', '/usr/local/include/oneapi/dnnl/dnnl.hpp'].some(existsSync) ||
    (process.env.DNNL_ROOT !== undefined && existsSync(join(process.env.DNNL_ROOT, 'include/oneapi/dnnl/dnnl.hpp')))
  );
}

/** Installs Debian packages with apt-get when root or password-less sudo allows it; false when it cannot. */
function aptInstall(packages) {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const hasApt = existsSync('/usr/bin/apt-get');
  const sudoOk = !isRoot && hasApt && spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0;
  if (!hasApt || !(isRoot || sudoOk)) return false;
  const pre = isRoot ? [] : ['-n'];
  const apt = (args) =>
    run(isRoot ? 'apt-get' : 'sudo', [...pre, ...(isRoot ? [] : ['apt-get']), ...args], {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  return apt(['update', '-qq']) && apt(['install', '-y', '-qq', ...packages]);
}

function ensureOneDnn() {
  if (oneDnnInstalled()) return;
  log('oneDNN (libdnnl-dev) is missing; installing it with apt-get');
  if (aptInstall(['libdnnl-dev'])) return;
  log('apt-get could not install libdnnl-dev (it needs root or password-less sudo)');
  log('WARNING: oneDNN is not installed, so the fast native engine cannot be built.');
  log('         Install it with `sudo apt-get install libdnnl-dev` (Debian/Ubuntu), then run `npm run setup`.');
  log('         Until then pyocyte uses its pure-TypeScript reference engine, which is far slower.');
}

function redisServerInstalled() {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** The queue tests and bench:scale start their own redis-server (Debian's package). */
function ensureRedisServer() {
  if (redisServerInstalled()) return;
  log('redis-server is missing (the queue tests need it); installing it with apt-get');
  if (aptInstall(['redis-server']) && redisServerInstalled()) return;
  log('WARNING: redis-server could not be installed, so the queue tests will be skipped.');
  log('         Install it with `sudo apt-get install redis-server`.');
}

function ensureNpmDependencies() {
  const stamp = join(root, 'node_modules/.package-lock.json');
  const lock = join(root, 'package-lock.json');
  if (existsSync(stamp) && existsSync(lock) && statSync(stamp).mtimeMs >= statSync(lock).mtimeMs) return;
  log('installing npm dependencies');
  const env = { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' };
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  if (!run(npm, existsSync(lock) ? ['ci', '--no-audit', '--no-fund'] : ['install'], { env })) {
    log('npm could not install the dependencies; see the messages above');
    process.exit(1);
  }
}

function ensureAddon() {
  // build-addon.mjs keeps a stamp of the sources it built, so this is a no-op when nothing changed.
  run(process.execPath, [join(root, 'scripts/build-addon.mjs')]);
}

function ensureTypeScriptBuild() {
  const built = join(root, 'dist/cli/main.js');
  const srcNewest = newestMtime(join(root, 'src'), (p) => p.endsWith('.ts'));
  if (existsSync(built) && statSync(built).mtimeMs >= srcNewest && newestMtime(join(root, 'dist'), () => true) >= srcNewest) return;
  log('compiling TypeScript');
  try {
    execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
  } catch {
    log('TypeScript compilation failed; see the messages above');
    process.exit(1);
  }
}

/**
 * Debian's chromium, for the browser tests of `pyocyte serve` (playwright-core drives it; Playwright's
 * own browser download cannot work offline). Only for `npm test`; without it those tests skip.
 */
function ensureChromium() {
  if (process.env.npm_lifecycle_event !== 'test' || existsSync('/usr/bin/chromium')) return;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const hasApt = existsSync('/usr/bin/apt-get');
  const sudoOk = !isRoot && hasApt && spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0;
  if (!hasApt || !(isRoot || sudoOk)) {
    log('chromium is missing and apt-get is not available to install it; the browser tests of pyocyte serve will skip');
    return;
  }
  log('chromium (for the browser tests) is missing; installing it with apt-get');
  const apt = (args) =>
    run(isRoot ? 'apt-get' : 'sudo', [...(isRoot ? [] : ['-n', 'apt-get']), '-o', 'DPkg::Lock::Timeout=600', ...args], {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  if (!(apt(['update', '-qq']) && apt(['install', '-y', '-qq', 'chromium'])))
    log('apt-get could not install chromium; the browser tests will skip');
}

/** The web app of `pyocyte serve` (web/ → dist/web), rebuilt when its sources are newer. */
function ensureWebBuild() {
  const built = join(root, 'dist/web/app.js');
  const newest = Math.max(
    newestMtime(join(root, 'web'), () => true),
    newestMtime(join(root, 'node_modules/openseadragon'), () => true),
  );
  if (existsSync(built) && statSync(built).mtimeMs >= newest) return;
  log('bundling the web app');
  if (!run(process.execPath, [join(root, 'web/build.mjs')])) {
    log('bundling the web app failed; see the messages above');
    process.exit(1);
  }
}

ensureOneDnn();
if (process.argv.includes('--with-redis')) ensureRedisServer();
ensureNpmDependencies();
ensureAddon();
ensureTypeScriptBuild();
ensureWebBuild();
ensureChromium();
