import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeSafetensors, encodeSafetensors, readSafetensors, writeSafetensors, formatByteCount } from '../../src/io/safetensors.js';
import { PyocyteError } from '../../src/util/errors.js';

const ascii = (text: string): number[] => [...Buffer.from(text, 'utf8')];
const u64 = (n: number): number[] => [n, 0, 0, 0, 0, 0, 0, 0];
const f32 = (values: number[]): number[] => [...new Uint8Array(Float32Array.from(values).buffer)];

/** Builds a file from a header object and data bytes, padding like the reference. */
function handMade(header: unknown, data: number[], pad = true): Uint8Array {
  let json = JSON.stringify(header);
  if (pad) json = json.padEnd(Math.ceil(json.length / 8) * 8, ' ');
  return Uint8Array.from([...u64(Buffer.byteLength(json)), ...ascii(json), ...data]);
}

function expectError(bytes: Uint8Array, pattern: RegExp): void {
  assert.throws(
    () => decodeSafetensors(bytes, { file: 'model.safetensors' }),
    (e: unknown) =>
      e instanceof PyocyteError && e.file === 'model.safetensors' && pattern.test(e.message) && e.message.startsWith('model.safetensors'),
  );
}

describe('safetensors golden bytes (what the reference serialize() writes)', () => {
  test('attn.0 F32 [1,2,3] = 0..5: 64-byte header, no padding', () => {
    const bytes = encodeSafetensors({ 'attn.0': { shape: [1, 2, 3], data: Float32Array.from([0, 1, 2, 3, 4, 5]) } });
    const json = '{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}';
    assert.equal(json.length, 64);
    assert.deepEqual([...bytes], [...u64(64), ...ascii(json), ...f32([0, 1, 2, 3, 4, 5])]);
  });

  test('attn0 F32 [1,1,2,3]: header padded with 7 spaces to 72', () => {
    const bytes = encodeSafetensors({ attn0: { shape: [1, 1, 2, 3], data: Float32Array.from([0, 1, 2, 3, 4, 5]) } });
    const json = '{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}       ';
    assert.deepEqual([...bytes], [...u64(72), ...ascii(json), ...f32([0, 1, 2, 3, 4, 5])]);
  });

  test('no tensors: {} plus 6 spaces; with metadata framework=pt: __metadata__ only', () => {
    assert.deepEqual([...encodeSafetensors({})], [...u64(8), ...ascii('{}      ')]);
    assert.deepEqual(
      [...encodeSafetensors({}, { metadata: { framework: 'pt' } })],
      [...u64(40), ...ascii('{"__metadata__":{"framework":"pt"}}     ')],
    );
  });

  test('mixed dtypes u8 a, F32 b, I64 c, F32 a2: ordered I64, F32 (by name), U8', () => {
    const bytes = encodeSafetensors(
      {
        a: { shape: [1], data: Uint8Array.from([7]) },
        b: { shape: [1], data: Float32Array.from([1]) },
        c: { shape: [1], data: BigInt64Array.from([2n]) },
        a2: { shape: [1], data: Float32Array.from([3]) },
      },
      { metadata: { z: '1', epoch: '40' } },
    );
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const header = Buffer.from(bytes.subarray(8, 8 + headerLength))
      .toString('utf8')
      .trimEnd();
    assert.equal(
      header,
      '{"__metadata__":{"epoch":"40","z":"1"},' +
        '"c":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},"a2":{"dtype":"F32","shape":[1],"data_offsets":[8,12]},' +
        '"b":{"dtype":"F32","shape":[1],"data_offsets":[12,16]},"a":{"dtype":"U8","shape":[1],"data_offsets":[16,17]}}',
    );
    assert.equal(headerLength % 8, 0);
  });
});

describe('safetensors round trip', () => {
  test('NaN payloads, -0, denormals, infinities survive bit-exactly', () => {
    const bits = Uint32Array.from([0x7fc00001, 0x7f800001, 0xffc12345, 0x80000000, 0x00000001, 0x807fffff, 0x7f800000, 0x3f800000]);
    const decoded = decodeSafetensors(encodeSafetensors({ w: { shape: [2, 4], data: new Float32Array(bits.buffer) } }));
    assert.equal(decoded.tensors.w.dtype, 'F32');
    assert.deepEqual(decoded.tensors.w.shape, [2, 4]);
    assert.deepEqual([...new Uint32Array(decoded.tensors.w.data.buffer)], [...bits]);
  });

  test('F16 and BF16 bits, I32, I64, U8, metadata and an empty [0,3] tensor', () => {
    const tensors = {
      half: { dtype: 'F16' as const, shape: [3], data: Uint16Array.from([0x3c00, 0x7e01, 0x8000]) },
      brain: { dtype: 'BF16' as const, shape: [1, 2], data: Uint16Array.from([0x3f80, 0xff81]) },
      counts: { shape: [2], data: Int32Array.from([-5, 2147483647]) },
      steps: { shape: [1], data: BigInt64Array.from([-9007199254740993n]) },
      mask: { shape: [3], data: Uint8Array.from([0, 255, 1]) },
      none: { shape: [0, 3], data: new Float32Array(0) },
    };
    const decoded = decodeSafetensors(encodeSafetensors(tensors, { metadata: { format: 'pt', 'pyocyte.classes': 'background,cell' } }));
    assert.deepEqual(decoded.metadata, { format: 'pt', 'pyocyte.classes': 'background,cell' });
    for (const [name, tensor] of Object.entries(tensors)) {
      assert.deepEqual(decoded.tensors[name].shape, tensor.shape, name);
      assert.deepEqual([...decoded.tensors[name].data], [...tensor.data], name);
      assert.equal(decoded.tensors[name].data.constructor, tensor.data.constructor, name);
    }
    assert.equal(decoded.tensors.half.dtype, 'F16');
    assert.equal(decoded.tensors.counts.dtype, 'I32');
  });

  test('a subarray view encodes only its own elements', () => {
    const big = Float32Array.from([9, 1, 2, 9]);
    const decoded = decodeSafetensors(encodeSafetensors({ v: { shape: [2], data: big.subarray(1, 3) } }));
    assert.deepEqual([...decoded.tensors.v.data], [1, 2]);
  });

  test('decoding from a Buffer view at an odd offset', () => {
    const bytes = encodeSafetensors({ w: { shape: [2], data: Float32Array.from([0.25, 8]) } });
    const pooled = Buffer.concat([Buffer.from([1, 2, 3]), bytes]).subarray(3);
    assert.deepEqual([...decodeSafetensors(pooled).tensors.w.data], [0.25, 8]);
  });

  test('file round trip through writeSafetensors/readSafetensors', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'pyocyte-st-')), 'model.safetensors');
    await writeSafetensors(path, { w: { shape: [2], data: Float32Array.from([0.5, -1]) } }, { metadata: { epoch: '3' } });
    const file = await readSafetensors(path);
    assert.deepEqual([...file.tensors.w.data], [0.5, -1]);
    assert.equal(file.metadata.epoch, '3');
  });

  test("a tensor named '__proto__' is an ordinary key", () => {
    const decoded = decodeSafetensors(encodeSafetensors({ ['__proto__']: { shape: [1], data: Uint8Array.from([4]) } }));
    assert.deepEqual(Object.keys(decoded.tensors), ['__proto__']);
  });
});

describe('safetensors errors', () => {
  const valid = encodeSafetensors({ w: { shape: [1000, 1000], data: new Float32Array(1_000_000) } });

  test('4 MB of data truncated to 1 MB', () => {
    const dataStart = 8 + Number(new DataView(valid.buffer).getBigUint64(0, true));
    expectError(valid.subarray(0, dataStart + 1_000_000), /is truncated: header says 4\.0 MB of data, file has 1\.0 MB; copy/);
  });

  test('file cut inside the header', () => expectError(valid.subarray(0, 20), /is truncated: the header alone/));
  test('5 bytes', () => expectError(Uint8Array.from([1, 2, 3, 4, 5]), /fewer than the 8-byte/));
  test('header length 2^40', () => expectError(Uint8Array.from([0, 0, 0, 0, 0, 1, 0, 0, 32]), /header length field/));

  test('bad JSON header', () => {
    expectError(Uint8Array.from([...u64(8), ...ascii('{"w":{  ')]), /corrupt header \(not valid UTF-8 JSON/);
  });

  test('overlapping offsets [0,8] and [4,12]', () => {
    const header = { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } };
    expectError(handMade(header, new Array(12).fill(0)), /tensors 'a' and 'b' overlap/);
  });

  test('offsets [0,8] for F32 [3]', () => {
    expectError(
      handMade({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, new Array(8).fill(0)),
      /F32\[3\] \(12 bytes\) but data_offsets span 8/,
    );
  });

  test('unknown dtype and trailing bytes', () => {
    expectError(
      handMade({ a: { dtype: 'F128', shape: [1], data_offsets: [0, 16] } }, new Array(16).fill(0)),
      /unsupported dtype "F128"; supported: BOOL/,
    );
    expectError(handMade({ a: { dtype: 'U8', shape: [1], data_offsets: [0, 1] } }, [1, 2]), /1 bytes after the last tensor/);
  });

  test('unpadded header from another writer is accepted', () => {
    const decoded = decodeSafetensors(handMade({ a: { dtype: 'I32', shape: [1], data_offsets: [0, 4] } }, [1, 0, 0, 0], false));
    assert.deepEqual([...decoded.tensors.a.data], [1]);
  });

  test('encode: Uint16Array without dtype, shape/data mismatch', () => {
    assert.throws(() => encodeSafetensors({ h: { shape: [1], data: Uint16Array.from([1]) } }), /needs an explicit dtype/);
    assert.throws(
      () => encodeSafetensors({ w: { shape: [2, 2], data: new Float32Array(3) } }),
      /F32\[2,2\] \(16 bytes\) but its data has 12 bytes/,
    );
    assert.throws(
      () => encodeSafetensors({ w: { dtype: 'F33' as 'F32', shape: [1], data: new Float32Array(1) } }),
      /valid safetensors dtypes are: BOOL/,
    );
  });

  test('missing file names the path', async () => {
    const path = join(tmpdir(), 'pyocyte-no-such-dir', 'model.safetensors');
    await assert.rejects(
      readSafetensors(path),
      (e: unknown) => e instanceof PyocyteError && e.message.includes(path) && /ENOENT/.test(e.message),
    );
  });

  test('formatByteCount 812, 3400, 4e6', () => {
    assert.deepEqual([812, 3400, 4e6].map(formatByteCount), ['812 B', '3.4 kB', '4.0 MB']);
  });

  test('non-UTF-8 header bytes', () => {
    expectError(Uint8Array.from([...u64(8), 0x7b, 0xff, 0xfe, 0x7d, 32, 32, 32, 32]), /not valid UTF-8 JSON/);
  });
});
