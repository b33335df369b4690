import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

function tempSibling(path: string, kind: string): string {
  return join(dirname(path), `.${basename(path)}.${kind}-${process.pid}-${Date.now().toString(36)}`);
}

/** Writes and fsyncs a file, so that a rename after it publishes complete data. */
async function writeFileDurable(path: string, data: string | Uint8Array): Promise<void> {
  const handle = await open(path, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Writes a file atomically: to a temporary file in the same folder, fsync'd, then renamed over
 * the target. An interrupted write never leaves a half-written checkpoint or report behind.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = tempSibling(path, 'tmp');
  try {
    await writeFileDurable(tmp, data);
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}

/** The synchronous twin of {@link writeFileAtomic}, for small files written at exit. */
export function writeFileAtomicSync(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = tempSibling(path, 'tmp');
  try {
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw error;
  }
}

/**
 * Writes several files into `dir` as one unit: into a temporary sibling folder, then swapped in
 * by renames, so readers see the old folder or the new one, never a mix.
 */
export async function writeFolderAtomic(dir: string, files: Record<string, string | Uint8Array>): Promise<void> {
  await mkdir(dirname(dir), { recursive: true });
  const fresh = tempSibling(dir, 'new');
  const old = tempSibling(dir, 'old');
  await mkdir(fresh, { recursive: true });
  try {
    for (const [name, content] of Object.entries(files)) await writeFileDurable(join(fresh, name), content);
    if (existsSync(dir)) await rename(dir, old);
    await rename(fresh, dir);
  } catch (error) {
    await rm(fresh, { recursive: true, force: true });
    throw error;
  }
  await rm(old, { recursive: true, force: true });
}
