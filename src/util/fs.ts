import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
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

/**
 * Repairs what a killed process left of atomic writes directly in `folder`: a folder that
 * {@link writeFolderAtomic} had moved aside when the process died, before its replacement was
 * renamed in, is put back (the write is lost, the previous version stays), and every other
 * temporary sibling is removed. Call it only while no other process writes there (e.g. when a run
 * resumes). Returns the names of the folders put back.
 */
export async function recoverAtomicWrites(folder: string): Promise<string[]> {
  if (!existsSync(folder)) return [];
  const leftovers = (await readdir(folder))
    .map((entry) => ({ entry, match: /^\.(.+)\.(tmp|new|old)-\d+-([0-9a-z]+)$/.exec(entry) }))
    .filter((e): e is { entry: string; match: RegExpExecArray } => e.match !== null)
    // Newest first, so of two folders moved aside for one target the later one is put back.
    .sort((a, b) => parseInt(b.match[3], 36) - parseInt(a.match[3], 36));
  const restored: string[] = [];
  for (const { entry, match } of leftovers) {
    const target = join(folder, match[1]);
    if (match[2] === 'old' && !existsSync(target)) {
      await rename(join(folder, entry), target);
      restored.push(match[1]);
    } else {
      await rm(join(folder, entry), { recursive: true, force: true });
    }
  }
  return restored;
}

/**
 * A folder's entries by kind, in `readdir`'s order, symbolic links followed: a dataset whose
 * `images/` links to shared storage is a dataset like any other. A broken link counts as a file,
 * so reading it later fails with a message naming it rather than the file vanishing silently.
 */
export async function listFolder(dir: string): Promise<{ files: string[]; folders: string[] }> {
  const files: string[] = [];
  const folders: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    let isFile = entry.isFile();
    let isFolder = entry.isDirectory();
    if (entry.isSymbolicLink()) {
      const target = await stat(join(dir, entry.name)).catch(() => undefined);
      isFile = target ? target.isFile() : true;
      isFolder = target?.isDirectory() ?? false;
    }
    if (isFile) files.push(entry.name);
    else if (isFolder) folders.push(entry.name);
  }
  return { files, folders };
}
