#!/usr/bin/env node
// Builds the oneDNN addon with node-gyp. It never fails the install: without oneDNN or a compiler,
// pyocyte runs on its reference engine and says so when it starts.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const log = (msg) => process.stderr.write(`build-addon: ${msg}\n`);
const output = join(root, 'build/Release/pyocyte.node');
const stampFile = join(root, 'build/sources.sha256');

function sourcesHash() {
  const h = createHash('sha256');
  const files = [
    'binding.gyp',
    ...readdirSync(join(root, 'native'))
      .sort()
      .map((f) => `native/${f}`),
  ];
  for (const f of files) h.update(f).update(readFileSync(join(root, f)));
  h.update(process.version);
  return h.digest('hex');
}

function nodeGypScript() {
  try {
    return createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js');
  } catch {
    const bundled = process.env.npm_config_node_gyp;
    return bundled && existsSync(bundled) ? bundled : undefined;
  }
}

const hash = sourcesHash();
if (existsSync(output) && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === hash) process.exit(0);

const headers = ['/usr/include', '/usr/local/include', process.env.DNNL_ROOT && join(process.env.DNNL_ROOT, 'include')]
  .filter(Boolean)
  .some((d) => existsSync(join(d, 'oneapi/dnnl/dnnl.hpp')));
if (!headers) {
  log('oneDNN headers not found (apt-get install libdnnl-dev); skipping the native engine build.');
  process.exit(0);
}
const gyp = nodeGypScript();
if (!gyp) {
  log('node-gyp not found; skipping the native engine build.');
  process.exit(0);
}
// Offline machines cannot download Node's headers, so point node-gyp at the ones installed beside node.
const prefix = join(dirname(process.execPath), '..');
const args = [gyp, 'rebuild', '--release', '-j', 'max'];
if (existsSync(join(prefix, 'include/node/node_api.h'))) args.push(`--nodedir=${prefix}`);
log('building the oneDNN engine (about a minute)');
const r = spawnSync(process.execPath, args, { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
if (r.status !== 0 || !existsSync(output)) {
  log('the native engine did not build (see the compiler messages above); pyocyte will use the slow reference engine.');
  process.exit(0);
}
writeFileSync(stampFile, hash);
log('built build/Release/pyocyte.node');
