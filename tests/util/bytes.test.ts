import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { littleEndianBytes, swapBytes } from '../../src/util/bytes.js';

describe('byte order', () => {
  test('swapBytes [1,2,3,4,5,6,7,8] in 4-byte groups', () => {
    assert.deepEqual([...swapBytes(Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]), 4)], [4, 3, 2, 1, 8, 7, 6, 5]);
  });

  test('littleEndianBytes of Uint16Array [0x0102] is [2, 1]', () => {
    assert.deepEqual([...littleEndianBytes(Uint16Array.from([0x0102]))], [0x02, 0x01]);
  });
});
