import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { staleGeneratedFiles } from '../../scripts/generate-options.js';
import { PREDICT_DEFAULTS } from '../../src/infer/options.js';
import { UNET_DEFAULTS } from '../../src/nn/unet.js';
import { TRAIN_DEFAULTS } from '../../src/train/options.js';
import { defaultsOf, defineOptions, omitOptions, optionDoc, parseOptionText, renderOptionInterface } from '../../src/util/options.js';

const COLOURS = { red: 1, green: 2 } as const;
const TABLE = defineOptions({
  inputFile: { type: 'string', required: true, placeholder: 'FILE', doc: 'the file to read' },
  tileSize: { type: 'number', default: 512, doc: 'tile side in pixels' },
  colour: { type: 'string', choices: COLOURS, default: 'red', doc: 'pen colour' },
  rate: { type: 'number', flag: 'lr', defaultText: "the model's", doc: 'learning rate' },
  hidden: { type: 'boolean', flag: false, doc: 'a switch' },
});

describe('option tables', () => {
  test('defaultsOf {tileSize 512, colour red, rate with defaultText only}: the two constants', () => {
    assert.deepEqual(defaultsOf(TABLE), { tileSize: 512, colour: 'red' });
  });

  test('omitOptions drops colour and rate, keeps the order of the rest', () => {
    assert.deepEqual(Object.keys(omitOptions(TABLE, 'colour', 'rate')), ['inputFile', 'tileSize', 'hidden']);
  });

  test('optionDoc: sentence case, the default in backticks or as text, the flag or "Library only"', () => {
    assert.equal(optionDoc('tileSize', TABLE.tileSize), 'Tile side in pixels. Default `512`. CLI: `--tile-size`.');
    assert.equal(optionDoc('rate', TABLE.rate), "Learning rate. Default: the model's. CLI: `--lr`.");
    assert.equal(optionDoc('hidden', TABLE.hidden), 'A switch. Library only.');
  });

  test('renderOptionInterface: required without ?, choices as a literal union', () => {
    assert.equal(
      renderOptionInterface('T', omitOptions(TABLE, 'rate', 'hidden'), 'The table.'),
      [
        '/** The table. */',
        'export interface T {',
        '  /** The file to read. CLI: `--input-file`. */',
        '  inputFile: string;',
        '  /** Tile side in pixels. Default `512`. CLI: `--tile-size`. */',
        '  tileSize?: number;',
        '  /** Pen colour. Default `red`. CLI: `--colour`. */',
        "  colour?: 'red' | 'green';",
        '}',
      ].join('\n'),
    );
  });

  test('a 200-character doc is wrapped in a block comment of lines ≤ 110 characters', () => {
    const text = renderOptionInterface('T', { long: { type: 'string', doc: 'word '.repeat(40).trim() } }, 'S.');
    const lines = text.split('\n');
    assert.equal(lines[2], '  /**');
    assert.ok(lines.filter((l) => l.startsWith('   * ')).every((l) => l.length <= 115));
  });

  test('parseOptionText: number "abc" fails naming the flag; choice "blue" lists red, green', () => {
    assert.throws(() => parseOptionText(TABLE.tileSize, 'tile-size', 'abc'), /option --tile-size needs a number, got 'abc'/);
    assert.throws(() => parseOptionText(TABLE.colour, 'colour', 'blue'), /option --colour must be one of red, green; got 'blue'/);
    assert.equal(parseOptionText(TABLE.tileSize, 'tile-size', '256'), 256);
  });

  test('a choice with `what` fails as lookup does: unknown pen colour', () => {
    const spec = { type: 'string', choices: COLOURS, what: 'pen colour', doc: 'x' } as const;
    assert.throws(() => parseOptionText(spec, 'colour', 'blue'), /unknown pen colour 'blue'; valid pen colours are: red, green$/);
  });

  test('defineOptions rejects a flag used twice, a flag not in kebab-case, a default that is not a choice', () => {
    assert.throws(
      () => defineOptions({ a: { type: 'string', flag: 'x', doc: '' }, b: { type: 'string', flag: 'x', doc: '' } }),
      /--x is used twice/,
    );
    assert.throws(() => defineOptions({ a: { type: 'string', flag: 'Big', doc: '' } }), /not kebab-case/);
    assert.throws(() => defineOptions({ a: { type: 'string', choices: COLOURS, default: 'blue', doc: '' } }), /not a choice/);
    assert.throws(() => defineOptions({ a: { type: 'number', default: 'x' as never, doc: '' } }), /not a number/);
  });
});

describe('the defaults have one home', () => {
  test('PREDICT_DEFAULTS: tile 512, overlap 0.25, smallest cell 30 px', () => {
    assert.deepEqual(PREDICT_DEFAULTS, { tileSize: 512, overlapFraction: 0.25, minSizePx: 30 });
  });

  test('TRAIN_DEFAULTS take the architecture from UNET_DEFAULTS (16 filters) and the validation tile from PREDICT_DEFAULTS', () => {
    for (const key of ['padding', 'depth', 'filters', 'norm', 'dropout'] as const)
      assert.equal(TRAIN_DEFAULTS[key], UNET_DEFAULTS[key], key);
    assert.equal(UNET_DEFAULTS.filters, 16);
    assert.equal(TRAIN_DEFAULTS.validationTileSize, PREDICT_DEFAULTS.tileSize);
  });
});

describe('generated option interfaces', () => {
  test('every options.generated.ts matches its table (else run `npm run options`)', () => {
    assert.deepEqual(staleGeneratedFiles(), []);
  });
});
