/**
 * `pyocyte serve` refuses what a local tool must refuse: paths outside its folders (raw, encoded,
 * double-encoded, through a symlink), oversized and non-image uploads, foreign Host and Origin
 * headers, and requests without the token when bound beyond localhost. Errors are JSON messages
 * without stack traces. Real HTTP on 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { readImage } from '../../src/io/image/image-io.js';
import { type RunningServer, startServer } from '../../src/workflows/serve/server.js';
import { TEST_ENGINE, tempFolder, tinyDataset, untrainedRun } from '../cli/helpers.js';

interface Reply {
  status: number;
  body: string;
  json?: { error?: string } & Record<string, unknown>;
}

/** One HTTP request with the path sent exactly as given (no normalisation of `..`). */
function raw(
  port: number,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: options.headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        let json: Reply['json'];
        try {
          json = JSON.parse(body) as Reply['json'];
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, body, json });
      });
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

function assertJsonError(reply: Reply, status: number | number[], pattern?: RegExp): void {
  const statuses = Array.isArray(status) ? status : [status];
  assert.ok(statuses.includes(reply.status), `status ${reply.status}, expected ${statuses.join(' or ')}: ${reply.body.slice(0, 300)}`);
  assert.equal(typeof reply.json?.error, 'string', `a JSON { error } body: ${reply.body.slice(0, 300)}`);
  assert.doesNotMatch(reply.body, /\n\s+at\s|\\n\s+at\s/, 'no stack trace');
  assert.doesNotMatch(reply.body, /root:.*:0:0:/, 'no /etc/passwd content');
  if (pattern) assert.match(reply.json!.error!, pattern);
}

async function upload(server: RunningServer, name: string, bytes: Uint8Array, type = 'image/png'): Promise<Reply> {
  const form = new FormData();
  form.append('file', new Blob([bytes], { type }), name);
  const response = await fetch(`http://127.0.0.1:${server.port}/api/uploads`, { method: 'POST', body: form });
  const body = await response.text();
  let json: Reply['json'];
  try {
    json = JSON.parse(body) as Reply['json'];
  } catch {
    json = undefined;
  }
  return { status: response.status, body, json };
}

describe('pyocyte serve on 127.0.0.1 with a 6-image dataset, 16 kB uploads and 0.002 Mpx images at most', () => {
  let tmp: ReturnType<typeof tempFolder>;
  let server: RunningServer;
  let data = '';
  before(async () => {
    tmp = tempFolder('serve-security');
    data = await tinyDataset(join(tmp.dir, 'data'));
    await untrainedRun(join(tmp.dir, 'run'));
    symlinkSync('/etc/passwd', join(data, 'leak.txt'));
    mkdirSync(join(tmp.dir, 'outside'));
    writeFileSync(join(tmp.dir, 'outside', 'secret.txt'), 'secret');
    server = await startServer({
      data,
      model: join(tmp.dir, 'run'),
      runs: join(tmp.dir, 'runs'),
      port: 0,
      engine: TEST_ENGINE,
      maxUploadMb: 16 / 1024,
      maxMegapixels: 0.002,
      log: () => {},
    });
  });
  after(async () => {
    await server?.close();
    tmp?.remove();
  });

  test('a file of the dataset is served: /files/data/split.json is 200', async () => {
    const reply = await raw(server.port, '/files/data/split.json');
    assert.equal(reply.status, 200, reply.body);
    assert.ok(Array.isArray((reply.json as { train?: unknown }).train));
  });

  for (const path of [
    '/../../etc/passwd',
    '/%2e%2e/%2e%2e/etc/passwd',
    '/files/data/../../../../../etc/passwd',
    '/files/data/..%2f..%2f..%2f..%2f..%2fetc%2fpasswd',
    '/files/data/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
    '/files/data/%252e%252e%252f%252e%252e%252f%252e%252e%252fetc%252fpasswd',
    '/files/data/..%5c..%5c..%5cetc%5cpasswd',
    '/files/data/../outside/secret.txt',
    '/files/runs/%2e%2e/outside/secret.txt',
  ]) {
    test(`GET ${path} is refused with a JSON error`, async () => {
      assertJsonError(await raw(server.port, path), [400, 403, 404]);
    });
  }

  test('a symlink in the dataset to /etc/passwd is refused with 403', async () => {
    assertJsonError(await raw(server.port, '/files/data/leak.txt'), 403, /links outside/);
  });

  test('an upload of 20 kB (limit 16 kB) gets 413 naming the limit', async () => {
    const bytes = new Uint8Array(20 * 1024);
    bytes.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    assertJsonError(await upload(server, 'big.png', bytes), 413, /larger than this server's limit/);
  });

  test('a text file named notes.png gets 415 saying it is a text file', async () => {
    assertJsonError(
      await upload(server, 'notes.png', new TextEncoder().encode('hello, this is not an image\n')),
      415,
      /notes\.png is a text file/,
    );
  });

  test('a 64×64 PNG (4096 px, limit 2000 px) gets 413 naming the megapixel limit', async () => {
    const png = await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 200, g: 100, b: 100 } } })
      .png()
      .toBuffer();
    assertJsonError(await upload(server, 'large.png', png), 413, /above this server's limit of 0\.002 Mpx/);
  });

  test('a 40×40 JPEG named photo.png is sniffed by content, saved as photo.jpg and joins the gallery', async () => {
    const jpeg = await sharp({ create: { width: 40, height: 40, channels: 3, background: { r: 200, g: 100, b: 100 } } })
      .jpeg()
      .toBuffer();
    const reply = await upload(server, 'photo.png', jpeg);
    assert.equal(reply.status, 200, reply.body);
    const added = (reply.json as { added: { id: string; name: string }[] }).added;
    assert.deepEqual(
      added.map((a) => a.name),
      ['photo.jpg'],
    );
    const gallery = (await raw(server.port, '/api/images')).json as unknown as { id: string }[];
    assert.ok(gallery.some((g) => g.id === 'photo'));
  });

  test('a brush stroke on the uploaded photo, saved, adds images/photo.jpg and masks/photo.png (black cells on white, as the dataset)', async () => {
    const post = (path: string, payload: unknown) =>
      raw(server.port, path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload) });
    const edited = await post('/api/images/photo/annotation/edit', {
      op: 'brush',
      points: [
        [10, 20],
        [30, 20],
      ],
      radius: 3,
      classIndex: 1,
    });
    assert.equal(edited.status, 200, edited.body);
    assert.equal((edited.json as { cells: number }).cells, 1);
    const saved = await post('/api/images/photo/annotation/save', {});
    assert.equal(saved.status, 200, saved.body);
    assert.ok(existsSync(join(data, 'images', 'photo.jpg')));
    const mask = await readImage(join(data, 'masks', 'photo.png'));
    const values = new Set(mask.data);
    assert.deepEqual(
      [...values].sort((a, b) => a - b),
      [0, 255],
    );
    assert.equal(mask.data[20 * 40 + 20], 0, 'the stroke is a black cell');
    assert.equal(mask.data[0], 255, 'the background stays white');
    assert.equal((saved.json as { original?: string }).original, undefined, 'a new mask has no original to keep');
  });

  test('Host: evil.example is refused with 403 even on localhost (DNS rebinding)', async () => {
    assertJsonError(await raw(server.port, '/api/session', { headers: { host: 'evil.example' } }), 403, /Host 'evil\.example'/);
  });

  test('a POST with Origin http://evil.example is refused with 403', async () => {
    const reply = await raw(server.port, '/api/images/001/predict', {
      method: 'POST',
      headers: { origin: 'http://evil.example', 'content-type': 'application/json' },
      body: '{}',
    });
    assertJsonError(reply, 403, /evil\.example may not change/);
  });

  test('a malformed JSON body gets a 400 JSON message, not a stack trace', async () => {
    const reply = await raw(server.port, '/api/images/001/predict', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"threshold":',
    });
    assertJsonError(reply, 400);
  });

  test('an unknown image gets 404 naming it', async () => {
    assertJsonError(await raw(server.port, '/api/images/nope/annotation'), 404, /no image 'nope'/);
  });
});

describe('pyocyte serve bound to 0.0.0.0 with a token', () => {
  let tmp: ReturnType<typeof tempFolder>;
  let server: RunningServer;
  const token = 'a'.repeat(16) + 'b'.repeat(16);
  before(async () => {
    tmp = tempFolder('serve-token');
    const data = await tinyDataset(join(tmp.dir, 'data'), { count: 3, split: [1, 1, 1] });
    server = await startServer({ data, runs: join(tmp.dir, 'runs'), host: '0.0.0.0', port: 0, token, engine: TEST_ENGINE, log: () => {} });
  });
  after(async () => {
    await server?.close();
    tmp?.remove();
  });

  test('the printed URL carries the token', () => {
    assert.match(server.url, new RegExp(`\\?token=${token}$`));
  });

  test('a request without the token gets 401', async () => {
    assertJsonError(await raw(server.port, '/api/session', { headers: { host: `127.0.0.1:${server.port}` } }), 401, /access token/);
  });

  test('the right token but Host: evil.example gets 403', async () => {
    assertJsonError(await raw(server.port, `/api/session?token=${token}`, { headers: { host: 'evil.example' } }), 403, /Host/);
  });

  test('the right token and Host 127.0.0.1 get 200 and a session cookie', async () => {
    const reply = await raw(server.port, `/api/session?token=${token}`, { headers: { host: `127.0.0.1:${server.port}` } });
    assert.equal(reply.status, 200, reply.body);
    assert.equal((reply.json as { dataset: { name: string } }).dataset.name, 'data');
    const cookie = await raw(server.port, '/api/session', {
      headers: { host: `127.0.0.1:${server.port}`, cookie: `pyocyte_token=${token}` },
    });
    assert.equal(cookie.status, 200, cookie.body);
  });

  test('a wrong token of the same length gets 401', async () => {
    assertJsonError(await raw(server.port, `/api/session?token=${'c'.repeat(32)}`, { headers: { host: `127.0.0.1:${server.port}` } }), 401);
  });
});
