/**
 * UMID ships train.csv and val.csv only. Training picks its checkpoint, decision rule and count
 * rule on its validation images, so scoring on those same images would flatter the model. This
 * writes a dataset folder of the shared one's images (linked, not copied) whose train.csv keeps
 * all but `heldOut` of UMID's training images (seeded), val.csv holds those for validation, and
 * test.csv is UMID's val.csv: the model never chooses anything on the images it is scored on.
 */
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Random } from '../src/util/random.js';

export async function umidWithHeldOutValidation(source: string, dir: string, heldOut = 30, seed = 0): Promise<string> {
  await rm(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  symlinkSync(join(source, 'images'), join(dir, 'images'));
  const [header, ...rows] = readFileSync(join(source, 'train.csv'), 'utf8').trim().split('\n');
  const images = [...new Set(rows.map((row) => row.split(',')[0]))].sort();
  const validation = new Set(new Random(seed).shuffle(images).slice(0, heldOut));
  const write = (name: string, kept: string[]) => writeFileSync(join(dir, name), `${[header, ...kept].join('\n')}\n`);
  write(
    'train.csv',
    rows.filter((row) => !validation.has(row.split(',')[0])),
  );
  write(
    'val.csv',
    rows.filter((row) => validation.has(row.split(',')[0])),
  );
  writeFileSync(join(dir, 'test.csv'), readFileSync(join(source, 'val.csv')));
  return dir;
}
