/**
 * Connected-component labelling for dataset statistics (object counts and sizes). Two passes with
 * union–find over a flat parent array: linear in the number of pixels, no recursion.
 */

/** Connected components of a foreground mask. */
export interface Components {
  /** Component id per pixel `[H, W]`, 1…count; 0 is background. */
  ids: Int32Array;
  count: number;
  /** Pixel count per component; `areas[0]` is unused (0). */
  areas: number[];
}

function find(parent: Int32Array, i: number): number {
  while (parent[i] !== i) {
    parent[i] = parent[parent[i]];
    i = parent[i];
  }
  return i;
}

/**
 * Labels the connected regions of `mask` (any non-zero value is foreground).
 * @param mask `[H, W]` values; e.g. binary labels.
 * @param options.connectivity 8 (default: diagonal neighbours join) or 4.
 */
export function labelComponents(
  mask: ArrayLike<number>, width: number, height: number, options: { connectivity?: 4 | 8 } = {},
): Components {
  const diagonal = (options.connectivity ?? 8) === 8;
  const provisional = new Int32Array(width * height);
  const parent = new Int32Array(width * height + 1);
  let next = 1;
  const union = (a: number, b: number) => {
    const ra = find(parent, a);
    const rb = find(parent, b);
    if (ra < rb) parent[rb] = ra;
    else if (rb < ra) parent[ra] = rb;
  };
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      if (!mask[i]) continue;
      // Neighbours already visited: left, and the three above (or just above for 4-connectivity).
      const left = x > 0 ? provisional[i - 1] : 0;
      const up = y > 0 ? provisional[i - width] : 0;
      const upLeft = diagonal && x > 0 && y > 0 ? provisional[i - width - 1] : 0;
      const upRight = diagonal && x < width - 1 && y > 0 ? provisional[i - width + 1] : 0;
      let label = left || up || upLeft || upRight;
      if (label === 0) {
        label = next++;
        parent[label] = label;
      } else {
        for (const other of [left, up, upLeft, upRight]) if (other && other !== label) union(label, other);
      }
      provisional[i] = label;
    }
  }
  const final = new Int32Array(next);
  let count = 0;
  for (let label = 1; label < next; label++) {
    const root = find(parent, label);
    if (final[root] === 0) final[root] = ++count;
    final[label] = final[root];
  }
  const areas = new Array<number>(count + 1).fill(0);
  for (let i = 0; i < provisional.length; i++) {
    if (provisional[i]) {
      const id = final[provisional[i]];
      provisional[i] = id;
      areas[id]++;
    }
  }
  return { ids: provisional, count, areas };
}

/** The pixel area of each object id in an instance image (0 = background is skipped). */
export function instanceAreas(instances: Int32Array): number[] {
  const areas = new Map<number, number>();
  for (let i = 0; i < instances.length; i++) {
    const id = instances[i];
    if (id !== 0) areas.set(id, (areas.get(id) ?? 0) + 1);
  }
  return [...areas.values()];
}

/** The diameter of a disc with the same area: `2·sqrt(area/π)`, in pixels. */
export function equivalentDiameter(area: number): number {
  return 2 * Math.sqrt(area / Math.PI);
}
