/**
 * Makes the README's picture of `pyocyte serve`: the viewer with an overlay and the cell table,
 * in real Chromium, on a synthetic dataset and a model trained on it.
 *   node --import tsx tests/serve/readme-screenshot.ts DATA RUN OUT.png [IMAGE_ID]
 */
import { startServer } from '../../src/workflows/serve/server.js';
import { launchChromium } from './browser.js';

const [data, run, out, imageId = '001'] = process.argv.slice(2);
if (!data || !run || !out) {
  console.error('usage: node --import tsx tests/serve/readme-screenshot.ts DATA RUN OUT.png [IMAGE_ID]');
  process.exit(2);
}
const server = await startServer({ data, model: run, port: 0, runs: `${run}-serve-runs`, log: () => {} });
const { browser, close } = await launchChromium();
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(120_000);
  await page.goto(server.url);
  await page.waitForSelector('body[data-ready=true]');
  await page.click(`.thumb[data-id="${imageId}"]`);
  await page.click('#predict');
  await page.waitForSelector('#total-count');
  await page.check('input[name=layer][value=instances]');
  await page.locator('#opacity').fill('0.9');
  await page.click('#cells th[data-key=areaPx]');
  await page.click('#cells tbody tr:nth-child(2)');
  await page.waitForTimeout(2500);
  await page.screenshot({ path: out });
  console.log(`wrote ${out}`);
} finally {
  await close();
  await server.close();
}
