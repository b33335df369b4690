/**
 * `pyocyte serve` end to end in real Chromium, as a user works: open a synthetic dataset, predict
 * an image (the page's count equals `pyocyte predict`'s), move the sliders, find a cell from the
 * table, paint a correction and save it (the mask file changes, the original is kept in
 * masks/.orig/), then fine-tune for 20 s with live progress and see the result update.
 * Skips, saying why, when Debian's chromium is not installed.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { readImage } from '../../src/io/image/image-io.js';
import { type RunningServer, startServer } from '../../src/workflows/serve/server.js';
import { train } from '../../src/workflows/train.js';
import { QUIET, TEST_ENGINE, TINY_TRAINING, describeRun, runCli, tempFolder, tinyDataset } from '../cli/helpers.js';
import { browserSkipReason, launchChromium } from './browser.js';

const skip = browserSkipReason();
const timings: Record<string, number> = {};

async function timed<T>(name: string, action: () => Promise<T>): Promise<T> {
  const start = Date.now();
  try {
    return await action();
  } finally {
    timings[name] = Date.now() - start;
  }
}

function foregroundPixels(data: ArrayLike<number>, background: number): number {
  let n = 0;
  for (let i = 0; i < data.length; i++) n += data[i] !== background ? 1 : 0;
  return n;
}

describe('pyocyte serve in Chromium on 6 synthetic 96×96 smears with a tiny model', { skip }, () => {
  let tmp: ReturnType<typeof tempFolder>;
  let server: RunningServer;
  let close: (() => Promise<void>) | undefined;
  let page: Page;
  let data = '';
  let run = '';

  before(async () => {
    tmp = tempFolder('serve-browser');
    data = await tinyDataset(join(tmp.dir, 'data'), { width: 96, height: 96 });
    run = (await timed('train tiny model (3 epochs)', () => train({ data, out: join(tmp.dir, 'run'), ...TINY_TRAINING, epochs: 3 }, QUIET)))
      .runDir;
    server = await startServer({
      data,
      model: run,
      runs: join(tmp.dir, 'runs'),
      port: 0,
      engine: TEST_ENGINE,
      train: { ...TINY_TRAINING },
      log: () => {},
    });
    const launched = await timed('launch chromium', () => launchChromium());
    close = launched.close;
    page = await launched.browser.newPage();
    page.setDefaultTimeout(60_000);
  });
  after(async () => {
    await close?.();
    await server?.close();
    tmp?.remove();
    console.log(`browser timings (ms): ${JSON.stringify(timings)}`);
  });

  test('the page opens with the 6 images in the gallery and the first one in the viewer', async () => {
    await timed('open page', async () => {
      await page.goto(server.url);
      await page.waitForSelector('body[data-ready=true]');
    });
    assert.equal(await page.locator('.thumb').count(), 6);
    assert.equal(await page.getAttribute('.thumb.current', 'data-id'), '001');
    await page.waitForSelector('#viewer canvas');
  });

  test('Predict shows the count pyocyte predict gives for 001.png, a row per cell, and per-class counts', async () => {
    await timed('predict one image', async () => {
      await page.click('#predict');
      await page.waitForSelector('#total-count');
    });
    const shown = Number(await page.textContent('#total-count'));
    const cli = runCli(
      ['predict', '--model', run, join(data, 'images', '001.png'), '--out', join(tmp.dir, 'cli-out'), '--engine', TEST_ENGINE],
      { timeoutMs: 180_000 },
    );
    assert.equal(cli.code, 0, describeRun(cli));
    assert.equal(shown, cli.lastJson?.cells, `page ${shown}, pyocyte predict ${String(cli.lastJson?.cells)}`);
    assert.equal(await page.locator('#cells tbody tr').count(), shown);
    assert.match((await page.textContent('#counts')) ?? '', /foreground: \d+/);
    assert.equal(await page.textContent('.thumb.current .count'), String(shown));
    const csv = await (await page.request.get(new URL('/api/images/001/download/cells.csv', server.url).href)).text();
    assert.equal(csv.trim().split('\n').length, shown + 1, 'cells.csv: a header and a row per cell');
    const mask = await page.request.get(new URL('/api/images/001/download/mask.png', server.url).href);
    assert.deepEqual([...(await mask.body()).subarray(1, 4)], [0x50, 0x4e, 0x47], 'mask.png is a PNG');
  });

  test('the threshold and min-size sliders re-segment at once; a table row finds its cell', async () => {
    const before = Number(await page.textContent('#total-count'));
    // The model's own minimum size (its instance rule's, for a model trained for separation).
    const initialMinSize = await page.inputValue('#min-size');
    await timed('slider re-segment', async () => {
      const response = page.waitForResponse((r) => r.url().endsWith('/api/images/001/predict') && r.request().method() === 'POST');
      await page.locator('#min-size').fill('400');
      await response;
    });
    const state = (await (await page.request.get(new URL('/api/images/001/prediction', server.url).href)).json()) as {
      params: { minSizePx: number };
      total: number;
    };
    assert.equal(state.params.minSizePx, 400);
    await page.waitForFunction(`document.querySelector('#total-count')?.textContent === '${state.total}'`);
    assert.ok(state.total <= before, `${state.total} cells ≥ 400 px, ${before} ≥ ${initialMinSize} px`);
    await page.locator('#min-size').fill(initialMinSize);
    await page.waitForFunction(`document.querySelector('#total-count')?.textContent === '${before}'`);
    if (before > 0) {
      // The roundest cell: the centre of its box lies inside it.
      await page.click('#cells th[data-key=circularity]');
      await page.click('#cells tbody tr:first-child');
      const id = await page.getAttribute('#cells tbody tr.selected', 'data-id');
      await page.waitForSelector('.cell-highlight', { state: 'attached' });
      // The row's cell is now in the middle of the viewer: clicking there finds the row again.
      await page.click('#cells th[data-key=id]');
      await page.waitForTimeout(1200);
      const box = (await page.locator('#viewer').boundingBox())!;
      const lookup = page.waitForResponse((r) => r.url().includes('/cell-at'));
      await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
      const found = (await (await lookup).json()) as { id: number };
      assert.equal(String(found.id), id, 'the click found the cell of the row');
      assert.equal(await page.getAttribute('#cells tbody tr.selected', 'data-id'), id);
    }
  });

  test('a brush stroke across the image, saved, changes masks/001.png and keeps the original in masks/.orig/', async () => {
    const maskFile = join(data, 'masks', '001.png');
    const original = readFileSync(maskFile);
    const originalMask = await readImage(maskFile);
    await page.click('.tabs button[data-tab=correct]');
    await page.waitForSelector('#annotation-status:has-text("cells in the mask")');
    await page.click('#tools button[data-tool=brush]');
    await page.locator('#brush-size').fill('8');
    const box = (await page.locator('#viewer').boundingBox())!;
    await timed('paint stroke', async () => {
      await page.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.5);
      await page.mouse.down();
      for (let k = 1; k <= 10; k++) await page.mouse.move(box.x + box.width * (0.3 + 0.04 * k), box.y + box.height * 0.5, { steps: 2 });
      await page.mouse.up();
      await page.waitForSelector('#annotation-status:has-text("not saved")');
    });
    assert.equal(await page.isDisabled('#undo'), false);
    await timed('save mask', async () => {
      await page.click('#save');
      await page.waitForSelector('#message:has-text("saved")');
    });
    const saved = readFileSync(maskFile);
    assert.notDeepEqual(saved, original, 'the mask file changed');
    assert.deepEqual(readFileSync(join(data, 'masks', '.orig', '001.png')), original, 'the original is kept byte for byte');
    const savedMask = await readImage(maskFile);
    // Synthetic masks are black cells on white: the stroke adds black pixels.
    assert.ok(foregroundPixels(savedMask.data, 255) > foregroundPixels(originalMask.data, 255) + 50, 'the stroke added cell pixels');
    await page.click('#save');
    await page.waitForSelector('#message:has-text("saved")');
    assert.deepEqual(readFileSync(join(data, 'masks', '.orig', '001.png')), original, 'a second save keeps the first original');
  });

  test('fine-tuning for 20 s shows live progress, then the new model re-predicts and shows before/after', async () => {
    await page.click('.tabs button[data-tab=train]');
    await page.locator('#train-minutes').fill(String(20 / 60));
    const modelBefore = await page.textContent('#model-name');
    const started = Date.now();
    await page.click('#train-finetune');
    await page.waitForFunction("/step \\d+/.test(document.querySelector('#train-status').textContent)");
    await page.waitForFunction("document.querySelector('#train-progress').value > 0");
    timings['first progress'] = Date.now() - started;
    await page.waitForSelector('#comparison-table', { timeout: 240_000 });
    timings['fine-tune 20 s until before/after'] = Date.now() - started;
    assert.equal(await page.getAttribute('#train-status', 'data-state'), 'done', (await page.textContent('#train-status')) ?? '');
    const trainLog = (await page.textContent('#train-log')) ?? '';
    console.log(`training log:\n${trainLog}`);
    assert.match(trainLog, /model saved/);
    assert.match((await page.textContent('#comparison')) ?? '', /Validation Dice .* → \d/);
    assert.equal(await page.locator('#comparison-table tbody tr').count(), 1);
    const modelAfter = await page.textContent('#model-name');
    assert.notEqual(modelAfter, modelBefore);
    assert.match(modelAfter ?? '', /finetune-/);
    await page.waitForSelector('#total-count', { state: 'attached' });
    const state = (await (await page.request.get(new URL('/api/images/001/prediction', server.url).href)).json()) as { total: number };
    await page.waitForFunction(`document.querySelector('#total-count')?.textContent === '${state.total}'`);
    const runs = join(tmp.dir, 'runs');
    const session = (await (await page.request.get(new URL('/api/session', server.url).href)).json()) as { model: { path: string } };
    assert.ok(session.model.path.startsWith(runs) && existsSync(join(session.model.path, 'model', 'model.json')), session.model.path);
  });

  test('training from scratch can be cancelled: it stops after its current step and keeps the model in use', async () => {
    const modelBefore = await page.textContent('#model-name');
    await page.locator('#train-minutes').fill('5');
    const started = Date.now();
    await page.click('#train-scratch');
    await page.waitForFunction("/step \\d+/.test(document.querySelector('#train-status').textContent)", undefined, { timeout: 120_000 });
    await page.click('#train-cancel');
    await page.waitForFunction("document.querySelector('#train-status').dataset.state === 'cancelled'", undefined, { timeout: 60_000 });
    timings['train from scratch, cancel'] = Date.now() - started;
    assert.match((await page.textContent('#train-status')) ?? '', /resume with pyocyte train --resume/);
    assert.equal(await page.textContent('#model-name'), modelBefore);
    assert.equal(await page.isHidden('#train-cancel'), true);
  });
});
