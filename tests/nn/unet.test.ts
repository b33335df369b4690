import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createEngine } from '../../src/engine/index.js';
import { nextValidTileSize, resolveUNetConfig, UNet, unetOutputSize, validTileSizes } from '../../src/nn/unet.js';
import { PyocyteError } from '../../src/util/errors.js';

const engine = createEngine({ backend: 'reference' });

describe('unetOutputSize / validTileSizes / nextValidTileSize', () => {
  test("valid depth 4: 572 → 388 (the paper's tile)", () => {
    assert.equal(unetOutputSize(572, { depth: 4, padding: 'valid' }), 388);
  });

  test('valid depth 2: 60 → 20, 44 → 4; 42 (15 px at the second pooling) and 40 (shrinks to nothing) → null', () => {
    assert.equal(unetOutputSize(60, { depth: 2, padding: 'valid' }), 20);
    assert.equal(unetOutputSize(44, { depth: 2, padding: 'valid' }), 4);
    assert.equal(unetOutputSize(42, { depth: 2, padding: 'valid' }), null);
    assert.equal(unetOutputSize(40, { depth: 2, padding: 'valid' }), null);
  });

  test('same depth 3: multiples of 8 map to themselves, 12 and 7 → null', () => {
    for (const size of [8, 16, 64, 256]) assert.equal(unetOutputSize(size, { depth: 3, padding: 'same' }), size);
    assert.equal(unetOutputSize(12, { depth: 3, padding: 'same' }), null);
    assert.equal(unetOutputSize(7, { depth: 3, padding: 'same' }), null);
  });

  test('same depth 4, 1..100: the multiples of 16', () => {
    assert.deepEqual(validTileSizes({ depth: 4, padding: 'same', min: 1, max: 100 }), [16, 32, 48, 64, 80, 96]);
  });

  test('valid depth 4, 560..600: 572 and 588 only (sizes ≡ 12 mod 16 above the minimum)', () => {
    assert.deepEqual(validTileSizes({ depth: 4, padding: 'valid', min: 560, max: 600 }), [572, 588]);
  });

  test('valid depth 2, every listed size has an output and every other size has none', () => {
    const sizes = new Set(validTileSizes({ depth: 2, padding: 'valid', min: 1, max: 80 }));
    for (let s = 1; s <= 80; s++) assert.equal(unetOutputSize(s, { depth: 2, padding: 'valid' }) !== null, sizes.has(s), `size ${s}`);
    assert.deepEqual([...sizes].slice(0, 4), [44, 48, 52, 56]);
  });

  test('nextValidTileSize: same depth 4 250 → 256, 256 → 256; valid depth 4 570 → 572', () => {
    assert.equal(nextValidTileSize(250, { depth: 4, padding: 'same' }), 256);
    assert.equal(nextValidTileSize(256, { depth: 4, padding: 'same' }), 256);
    assert.equal(nextValidTileSize(570, { depth: 4, padding: 'valid' }), 572);
  });
});

describe('resolveUNetConfig', () => {
  const base = { inChannels: 3, classes: 1 };

  test('defaults: depth 4, filters 16 (the training default), same padding, batch norm, no dropout', () => {
    assert.deepEqual(resolveUNetConfig(base), {
      inChannels: 3,
      classes: 1,
      depth: 4,
      filters: 16,
      padding: 'same',
      norm: 'batch',
      dropout: 0,
    });
  });

  const bad: [string, Record<string, unknown>, RegExp][] = [
    ['padding=reflect lists the valid paddings', { padding: 'reflect' }, /unknown padding 'reflect'.*same, valid/],
    ['norm=group lists the valid norms', { norm: 'group' }, /unknown norm 'group'.*batch, none/],
    ['classes=2 is a binary task: use classes=1', { classes: 2 }, /classes = 1/],
    ['classes=0', { classes: 0 }, /classes must be a positive integer, got 0/],
    ['filters=2.5', { filters: 2.5 }, /filters must be a positive integer/],
    ['inChannels=0', { inChannels: 0 }, /inChannels must be a positive integer/],
    ['depth=0', { depth: 0 }, /depth must be a positive integer/],
    ['depth=7 is too deep', { depth: 7 }, /depth 7 is too deep/],
    ['dropout=1', { dropout: 1 }, /dropout must be in \[0, 1\)/],
    ['dropout=-0.1', { dropout: -0.1 }, /dropout must be in \[0, 1\)/],
  ];
  for (const [name, override, pattern] of bad) {
    test(name, () => {
      assert.throws(
        () => resolveUNetConfig({ ...base, ...override } as never),
        (e: unknown) => e instanceof PyocyteError && pattern.test(e.message),
      );
    });
  }
});

describe('UNet parameters', () => {
  test("depth 2 filters 4, 3 → 1 class, batch norm: names and shapes equal torch_unet.py's state_dict", () => {
    const net = new UNet(engine, resolveUNetConfig({ inChannels: 3, classes: 1, depth: 2, filters: 4 }));
    const shapes = Object.fromEntries(net.parameters().map((p) => [p.name, [...p.value.shape]]));
    assert.deepEqual(shapes, {
      'dec.0.0.weight': [8, 16, 3, 3],
      'dec.0.1.bias': [8],
      'dec.0.1.weight': [8],
      'dec.0.3.weight': [8, 8, 3, 3],
      'dec.0.4.bias': [8],
      'dec.0.4.weight': [8],
      'dec.1.0.weight': [4, 8, 3, 3],
      'dec.1.1.bias': [4],
      'dec.1.1.weight': [4],
      'dec.1.3.weight': [4, 4, 3, 3],
      'dec.1.4.bias': [4],
      'dec.1.4.weight': [4],
      'down.0.0.weight': [4, 3, 3, 3],
      'down.0.1.bias': [4],
      'down.0.1.weight': [4],
      'down.0.3.weight': [4, 4, 3, 3],
      'down.0.4.bias': [4],
      'down.0.4.weight': [4],
      'down.1.0.weight': [8, 4, 3, 3],
      'down.1.1.bias': [8],
      'down.1.1.weight': [8],
      'down.1.3.weight': [8, 8, 3, 3],
      'down.1.4.bias': [8],
      'down.1.4.weight': [8],
      'head.bias': [1],
      'head.weight': [1, 4, 1, 1],
      'mid.0.weight': [16, 8, 3, 3],
      'mid.1.bias': [16],
      'mid.1.weight': [16],
      'mid.3.weight': [16, 16, 3, 3],
      'mid.4.bias': [16],
      'mid.4.weight': [16],
      'up.0.bias': [8],
      'up.0.weight': [16, 8, 2, 2],
      'up.1.bias': [4],
      'up.1.weight': [8, 4, 2, 2],
    });
    assert.deepEqual(
      net
        .buffers()
        .map((b) => b.name)
        .sort(),
      ['dec.0.1', 'dec.0.4', 'dec.1.1', 'dec.1.4', 'down.0.1', 'down.0.4', 'down.1.1', 'down.1.4', 'mid.1', 'mid.4']
        .flatMap((n) => [`${n}.running_mean`, `${n}.running_var`])
        .sort(),
    );
  });

  test("depth 2 filters 4 without norm: convolutions 0 and 2 with biases (torch's Conv, ReLU, Conv, ReLU)", () => {
    const net = new UNet(engine, resolveUNetConfig({ inChannels: 3, classes: 1, depth: 2, filters: 4, norm: 'none' }));
    const names = net
      .parameters()
      .map((p) => p.name)
      .filter((n) => n.startsWith('down.0.'));
    assert.deepEqual(names, ['down.0.0.bias', 'down.0.0.weight', 'down.0.2.bias', 'down.0.2.weight']);
    assert.deepEqual(net.buffers(), []);
  });

  test('filters 16 depth 4, 3 → 1: 1942577 parameters, as torch_unet.py counts them', () => {
    const net = new UNet(engine, resolveUNetConfig({ inChannels: 3, classes: 1, depth: 4, filters: 16 }));
    assert.equal(net.parameterCount(), 1942577);
  });

  test('same seed gives the same initial weights; another seed different ones', async () => {
    const config = resolveUNetConfig({ inChannels: 3, classes: 1, depth: 1, filters: 2 });
    const weights = async (seed: number) =>
      engine.read(new UNet(engine, config, { seed }).parameters().find((p) => p.name === 'down.0.0.weight')!.value);
    assert.deepEqual(await weights(5), await weights(5));
    assert.notDeepEqual(await weights(5), await weights(6));
  });
});
