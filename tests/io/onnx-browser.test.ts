/**
 * The exported self-contained ONNX in real Chromium with onnxruntime-web (WASM backend): the same
 * raw image gives onnxruntime-node's outputs within 1e-4. Prints the browser's inference time for
 * a 512² image with the default U-Net (depth 4, 16 filters), single-threaded.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { createEngine } from '../../src/engine/index.js';
import { unet } from '../../src/nn/model.js';
import { Random } from '../../src/util/random.js';
import { exportImageOnnx } from '../../src/workflows/export.js';
import { browserSkipReason, launchChromium } from '../serve/browser.js';

const skip = browserSkipReason();
const ORT_WEB = fileURLToPath(new URL('../../node_modules/onnxruntime-web/dist/', import.meta.url));
const TYPES: Record<string, string> = { '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.html': 'text/html' };

/** Serves onnxruntime-web's files under /ort/, the page, and the model and input bytes. */
async function serve(files: Record<string, Uint8Array>): Promise<{ url: string; server: Server }> {
  const server = createServer(async (request, response) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    try {
      const body = path.startsWith('/ort/') ? await readFile(join(ORT_WEB, path.slice(5).replace(/[^\w.-]/g, ''))) : files[path];
      if (!body) throw new Error('not found');
      response.writeHead(200, { 'content-type': TYPES[path.slice(path.lastIndexOf('.'))] ?? 'application/octet-stream' });
      response.end(body);
    } catch {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

const PAGE = `<!doctype html><meta charset="utf-8"><script type="module">
import * as ort from '/ort/ort.wasm.min.mjs';
ort.env.wasm.wasmPaths = '/ort/';
ort.env.wasm.numThreads = 1;
window.runModel = async (height, width, runs) => {
  const bytes = new Uint8Array(await (await fetch('/model.onnx')).arrayBuffer());
  const pixels = new Uint8Array(await (await fetch('/image.raw')).arrayBuffer());
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
  const feeds = { image: new ort.Tensor('uint8', pixels, [1, 3, height, width]) };
  let outputs = await session.run(feeds);
  const start = performance.now();
  for (let i = 0; i < runs; i++) outputs = await session.run(feeds);
  const milliseconds = runs > 0 ? (performance.now() - start) / runs : 0;
  return { probabilities: Array.from(outputs.probabilities.data), mask: Array.from(outputs.mask.data), milliseconds };
};
window.ready = true;
</script>`;

describe('self-contained ONNX in Chromium with onnxruntime-web (WASM)', { skip }, () => {
  const cases = [
    {
      name: 'tiny 3-class valid net, 90×70 uint8 image',
      config: { classes: 3, depth: 2, filters: 4, padding: 'valid' as const },
      height: 70,
      width: 90,
      runs: 0,
    },
    { name: 'default binary net (depth 4, 16 filters), 512×512 uint8 image', config: { classes: 1 }, height: 512, width: 512, runs: 1 },
  ];
  for (const c of cases) {
    test(`${c.name}: matches onnxruntime-node within 1e-4`, async () => {
      const model = unet({ inChannels: 3, ...c.config }, { engine: createEngine({ backend: 'reference' }), seed: 8 });
      const bytes = await exportImageOnnx(model, { inputType: 'uint8' });
      const rng = new Random(12);
      const pixels = Uint8Array.from({ length: 3 * c.height * c.width }, (_, i) => (i % 97 < 40 ? 200 : 40) + rng.int(0, 30));
      const node = await (await ort.InferenceSession.create(bytes)).run({
        image: new ort.Tensor('uint8', pixels, [1, 3, c.height, c.width]),
      });
      const { url, server } = await serve({ '/index.html': new TextEncoder().encode(PAGE), '/model.onnx': bytes, '/image.raw': pixels });
      const { browser, close } = await launchChromium();
      try {
        const page = await browser.newPage();
        await page.goto(`${url}/index.html`);
        await page.waitForFunction(() => (globalThis as unknown as { ready?: boolean }).ready === true);
        const web = await page.evaluate(
          ([height, width, runs]) =>
            (
              globalThis as unknown as {
                runModel: (h: number, w: number, r: number) => Promise<{ probabilities: number[]; mask: number[]; milliseconds: number }>;
              }
            ).runModel(height, width, runs),
          [c.height, c.width, c.runs] as const,
        );
        const expected = node.probabilities.data as Float32Array;
        assert.equal(web.probabilities.length, expected.length);
        let maxAbs = 0;
        for (let i = 0; i < expected.length; i++) maxAbs = Math.max(maxAbs, Math.abs(web.probabilities[i] - expected[i]));
        assert.ok(maxAbs <= 1e-4, `max |web − node| = ${maxAbs}`);
        const mask = node.mask.data as Uint8Array;
        let differ = 0;
        for (let i = 0; i < mask.length; i++) if (web.mask[i] !== mask[i]) differ++;
        assert.ok(differ <= 2, `${differ} mask pixels differ`);
        if (c.runs > 0)
          console.log(
            `# onnxruntime-web (WASM, 1 thread) in Chromium: ${c.height}×${c.width} image in ${web.milliseconds.toFixed(0)} ms (one run after a warm-up run)`,
          );
      } finally {
        await close();
        server.close();
      }
    });
  }
});
