import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { helpText, parseCommandLine } from '../../src/cli/args.js';
import { PyocyteError } from '../../src/util/errors.js';
import { defineOptions } from '../../src/util/options.js';

const SPEC = {
  name: 'try',
  summary: 'A command for tests.',
  usage: 'pyocyte try --model RUN [FILES...]',
  positionals: { min: 0, max: 2, name: 'files' },
  options: defineOptions({
    model: { type: 'string', required: true, short: 'm', placeholder: 'RUN', doc: 'the model' },
    tileSize: { type: 'number', default: 512, doc: 'tile side' },
    tta: { type: 'boolean', doc: 'test-time augmentation' },
    names: { type: 'list', doc: 'class names' },
    batchSize: { type: 'number', flag: 'batch', doc: 'patches per step' },
    mode: { type: 'string', choices: { fast: 1, slow: 2 }, doc: 'speed' },
  }),
} as const;

const parse = (...argv: string[]) => parseCommandLine(SPEC, argv);
const userError = (pattern: RegExp) => (e: unknown) => e instanceof PyocyteError && pattern.test(e.message);

describe('parseCommandLine', () => {
  test('-m R --tile-size 256 --batch=4 a.png: library names, numbers, the renamed flag, a positional', () => {
    assert.deepEqual(parse('-m', 'R', '--tile-size', '256', '--batch=4', 'a.png'), {
      options: { model: 'R', tileSize: 256, batchSize: 4 },
      positionals: ['a.png'],
    });
  });

  test('--tta, --no-tta, --tta=false: the last one wins', () => {
    assert.equal(parse('-m', 'R', '--tta').options.tta, true);
    assert.equal(parse('-m', 'R', '--tta', '--no-tta').options.tta, false);
    assert.equal(parse('-m', 'R', '--tta=false').options.tta, false);
  });

  test('--names a,b --names c: lists add up', () => {
    assert.deepEqual(parse('-m', 'R', '--names', 'a,b', '--names', 'c').options.names, ['a', 'b', 'c']);
  });

  test('-- passes --x as a positional', () => {
    assert.deepEqual(parse('-m', 'R', '--', '--x').positionals, ['--x']);
  });

  test('--bogus lists the valid flags; -q points to --help', () => {
    assert.throws(
      () => parse('-m', 'R', '--bogus'),
      userError(/^unknown option --bogus for 'try'; valid options are: --model, --tile-size, --tta, --names, --batch, --mode$/),
    );
    assert.throws(() => parse('-m', 'R', '-q'), userError(/^unknown option -q for 'try'; run 'pyocyte try --help'$/));
  });

  test('--tile-size without a value, --tile-size abc, --mode medium', () => {
    assert.throws(() => parse('-m', 'R', '--tile-size'), userError(/option --tile-size needs a value \(tile side\)/));
    assert.throws(() => parse('-m', 'R', '--tile-size', 'abc'), userError(/option --tile-size needs a number, got 'abc'/));
    assert.throws(() => parse('-m', 'R', '--mode', 'medium'), userError(/option --mode must be one of fast, slow; got 'medium'/));
  });

  test('no --model: the required flag with its placeholder; three positionals: the third is unexpected', () => {
    assert.throws(() => parse(), userError(/^'try' needs --model RUN; usage: pyocyte try/));
    assert.throws(() => parse('-m', 'R', 'a', 'b', 'c'), userError(/got unexpected argument 'c'/));
  });
});

describe('helpText', () => {
  test('rows show the short alias, the value, the doc and the default', () => {
    const text = helpText(SPEC);
    assert.match(text, /^A command for tests\.\n\nUsage: pyocyte try/);
    assert.match(text, /\n {2}-m, --model <RUN> +the model\n/);
    assert.match(text, /\n {2}--tile-size <n> +tile side \(default 512\)\n/);
    assert.match(text, /\n {2}--mode <fast\|slow> +speed\n/);
    assert.match(text, /\n {2}--help +show this help\n$/);
  });
});
