/**
 * Maps `items` through an async function with at most `limit` calls in flight, keeping order.
 * Image decoding runs on libuv's thread pool, so a few files in flight keep the cores busy without
 * holding every decoded file in memory at once.
 */
export async function mapPool<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index], index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
