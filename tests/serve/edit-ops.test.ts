import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type LabelState,
  applyPatch,
  cellAt,
  deleteCell,
  fillPolygon,
  fillRegion,
  nextCellId,
  paintStroke,
  setCellClass,
} from '../../src/workflows/serve/edit-ops.js';
import { levelSize, maxLevelOf, renderOverlayTile } from '../../src/workflows/serve/tiles.js';
import { allowedHostNames, bareHost, checkHostAndOrigin, isInside, isLoopbackHost } from '../../src/workflows/serve/security.js';

/** A state from rows of digits: the digit is the cell id, and its class is 1 (0 = background). */
function state(rows: string[]): LabelState {
  const height = rows.length;
  const width = rows[0].length;
  const instances = Int32Array.from(rows.join(''), (c) => Number(c));
  return { width, height, instances, labels: Uint8Array.from(instances, (v) => (v > 0 ? 1 : 0)) };
}

function rows(s: LabelState, plane: 'instances' | 'labels' = 'instances'): string[] {
  return Array.from({ length: s.height }, (_, y) => Array.from(s[plane].subarray(y * s.width, (y + 1) * s.width)).join(''));
}

describe('corrections on literal label maps', () => {
  test('a one-point brush of radius 1 at (2, 2) paints the 5-pixel cross with a new cell 1', () => {
    const s = state(['00000', '00000', '00000', '00000', '00000']);
    const patch = paintStroke(s, [[2, 2]], 1, 1, nextCellId(s.instances));
    assert.deepEqual(rows(s), ['00000', '00100', '01110', '00100', '00000']);
    assert.deepEqual([patch!.x, patch!.y, patch!.width, patch!.height], [1, 1, 3, 3]);
  });

  test('undo writes the patch back: before restores, after redoes', () => {
    const s = state(['000', '000', '000']);
    const patch = paintStroke(
      s,
      [
        [0, 1],
        [2, 1],
      ],
      0.5,
      1,
      4,
    )!;
    assert.deepEqual(rows(s), ['000', '444', '000']);
    applyPatch(s, patch, 'before');
    assert.deepEqual(rows(s), ['000', '000', '000']);
    applyPatch(s, patch, 'after');
    assert.deepEqual(rows(s), ['000', '444', '000']);
  });

  test('the eraser (class 0) clears a horizontal line through cell 2', () => {
    const s = state(['222', '222', '222']);
    paintStroke(
      s,
      [
        [0, 1],
        [2, 1],
      ],
      0.5,
      0,
      0,
    );
    assert.deepEqual(rows(s), ['222', '000', '222']);
    assert.deepEqual(rows(s, 'labels'), ['111', '000', '111']);
  });

  test('fill inside a closed ring of cell 1 makes cell 2; outside the ring is refused', () => {
    const s = state(['00000', '01110', '01010', '01110', '00000']);
    fillRegion(s, [2, 2], 1, 2);
    assert.deepEqual(rows(s), ['00000', '01110', '01210', '01110', '00000']);
    assert.throws(() => fillRegion(s, [0, 0], 1, 3), /reaches the image border/);
  });

  test('delete removes every pixel of the cell under the point, and nothing else', () => {
    const s = state(['1100', '1102', '0002']);
    deleteCell(s, [0, 0]);
    assert.deepEqual(rows(s), ['0000', '0002', '0002']);
    assert.equal(deleteCell(s, [0, 0]), undefined);
  });

  test('set class gives all of cell 3 class 2', () => {
    const s = state(['330', '300']);
    setCellClass(s, [1, 0], 2);
    assert.deepEqual(rows(s, 'labels'), ['220', '200']);
    assert.throws(() => setCellClass(s, [0, 0], 0), /object class/);
  });

  test('a polygon around the centre of a 5×5 map fills background pixels inside it, not other cells', () => {
    const s = state(['00000', '00000', '00900', '00000', '00000']);
    fillPolygon(
      s,
      [
        [0.5, 0.5],
        [3.5, 0.5],
        [3.5, 3.5],
        [0.5, 3.5],
      ],
      1,
      5,
    );
    assert.deepEqual(rows(s), ['00000', '05550', '05950', '05550', '00000']);
  });

  test('a point outside the image fails naming it', () => {
    assert.throws(() => cellAt(state(['00']), [5, 0]), /\(5, 0\) is outside the 2×1 image/);
  });
});

describe('overlay tiles on literal label maps', () => {
  test('a 600×300 image has levels 0…10; level 9 is 300×150', () => {
    assert.equal(maxLevelOf(600, 300), 10);
    assert.deepEqual(levelSize(600, 300, 9), { width: 300, height: 150, scale: 2 });
  });

  test('contours of a 2×2 cell in a 4×4 map: its four pixels are opaque yellow, the rest transparent', () => {
    const s = state(['0000', '0110', '0110', '0000']);
    const tile = renderOverlayTile(s, new Set(['contours']), maxLevelOf(4, 4), 0, 0);
    assert.deepEqual([tile.width, tile.height], [4, 4]);
    const alpha = Array.from({ length: 16 }, (_, i) => tile.data[i * 4 + 3]);
    assert.deepEqual(alpha, [0, 0, 0, 0, 0, 255, 255, 0, 0, 255, 255, 0, 0, 0, 0, 0]);
    assert.deepEqual(Array.from(tile.data.subarray(5 * 4, 5 * 4 + 3)), [255, 255, 0]);
  });

  test('a tile column past the level edge is empty', () => {
    const tile = renderOverlayTile(state(['11']), new Set(['contours']), 1, 1, 0);
    assert.deepEqual([tile.width, tile.height], [0, 0]);
  });
});

describe('host, origin and path checks', () => {
  test('loopback addresses and names', () => {
    assert.deepEqual(['127.0.0.1', 'localhost', '::1', '[::1]', '127.8.9.10', '0.0.0.0', '192.168.1.4'].map(isLoopbackHost), [
      true,
      true,
      true,
      true,
      true,
      false,
      false,
    ]);
  });

  test('bare hosts drop ports and brackets', () => {
    assert.deepEqual(['Example.org:8080', '[::1]:80', '127.0.0.1', '::1'].map(bareHost), ['example.org', '::1', '127.0.0.1', '::1']);
  });

  test('a server on 127.0.0.1 accepts localhost:8765, refuses evil.example and a POST from another origin', () => {
    const allowed = allowedHostNames('127.0.0.1');
    assert.doesNotThrow(() => checkHostAndOrigin({ host: 'localhost:8765', origin: 'http://localhost:8765' }, 'POST', allowed));
    assert.throws(() => checkHostAndOrigin({ host: 'evil.example:8765' }, 'GET', allowed), /Host 'evil\.example:8765'/);
    assert.throws(() => checkHostAndOrigin({ host: '127.0.0.1:8765', origin: 'http://evil.example' }, 'POST', allowed), /may not change/);
    assert.throws(() => checkHostAndOrigin({}, 'GET', allowed), /Host ''/);
  });

  test('isInside: /a/b inside /a, /a/../c and /ab not', () => {
    assert.equal(isInside('/a', '/a/b'), true);
    assert.equal(isInside('/a', '/a'), true);
    assert.equal(isInside('/a', '/c'), false);
    assert.equal(isInside('/a', '/ab'), false);
  });
});
