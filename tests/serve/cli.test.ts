/**
 * `pyocyte serve` as a user starts it: it prints the address (with a token when bound beyond
 * localhost), serves the page and the API, and stops cleanly on Ctrl-C. Bad flags fail in one line.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { REPO_ROOT, assertOneLineError, runCli, tempFolder, tinyDataset } from '../cli/helpers.js';

/** Starts `pyocyte serve ARGS`, resolves with its printed URL and a function that sends SIGINT and resolves with the exit code. */
function serve(args: string[]): Promise<{ url: string; stop: () => Promise<number | null> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', ...args], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no address printed within 120 s:\n${output}`));
    }, 120_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /open (http:\/\/\S+)/.exec(output);
      if (!match) return;
      clearTimeout(timer);
      const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
      resolve({
        url: match[1],
        stop: async () => {
          child.kill('SIGINT');
          return exited;
        },
      });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`pyocyte serve exited with ${code} before printing an address:\n${output}`));
    });
  });
}

describe('pyocyte serve from the command line on a 3-image dataset', () => {
  let tmp: ReturnType<typeof tempFolder>;
  let data = '';
  before(async () => {
    tmp = tempFolder('serve-cli');
    data = await tinyDataset(join(tmp.dir, 'data'), { count: 3, split: [1, 1, 1] });
  });
  after(() => tmp.remove());

  test('--port 0 --no-open prints the address; the page and /api/images answer; Ctrl-C exits 0', async () => {
    const server = await serve(['--data', data, '--runs', join(tmp.dir, 'runs'), '--port', '0', '--no-open']);
    try {
      assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
      const page = await fetch(server.url);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /<title>pyocyte<\/title>/);
      const images = (await (await fetch(new URL('/api/images', server.url))).json()) as { id: string }[];
      assert.deepEqual(
        images.map((i) => i.id),
        ['001', '002', '003'],
      );
    } finally {
      assert.equal(await server.stop(), 0);
    }
  });

  test('--host 0.0.0.0 prints an address with a 48-digit token, and refuses requests without it', async () => {
    const server = await serve(['--data', data, '--runs', join(tmp.dir, 'runs'), '--host', '0.0.0.0', '--port', '0', '--no-open']);
    try {
      assert.match(server.url, /\?token=[0-9a-f]{48}$/);
      const refused = await fetch(new URL('/api/session', server.url.split('?')[0]));
      assert.equal(refused.status, 401);
      assert.equal((await fetch(server.url)).status, 200);
    } finally {
      assert.equal(await server.stop(), 0);
    }
  });

  test('serve without --data fails in one line naming --data', () => {
    assertOneLineError(runCli(['serve', '--no-open']), /'serve' needs --data DIR/);
  });

  test('serve --data on a missing folder fails in one line naming it', () => {
    assertOneLineError(
      runCli(['serve', '--data', join(tmp.dir, 'nope'), '--no-open', '--port', '0']),
      /dataset folder .*nope does not exist/,
    );
  });
});
