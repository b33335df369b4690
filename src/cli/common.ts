import { readFileSync } from 'node:fs';
import { fail } from '../util/errors.js';

/** Reads a JSON options file (`--config`), failing with the file's name. */
export function readJsonOptions(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return fail(`cannot read the config file ${path}`);
  }
  try {
    const value = JSON.parse(text) as unknown;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(`${path} must hold a JSON object of options`);
    return value as Record<string, unknown>;
  } catch (error) {
    return fail(`${path} is not valid JSON: ${(error as Error).message}`);
  }
}

/** Aborts on the first Ctrl-C (the job saves and stops cleanly); a second Ctrl-C quits at once. */
export function interruptSignal(what: string): AbortSignal {
  const controller = new AbortController();
  process.on('SIGINT', () => {
    if (controller.signal.aborted) process.exit(130);
    process.stderr.write(`\n${what}: stopping after the current step and saving (Ctrl-C again to quit now)\n`);
    controller.abort();
  });
  return controller.signal;
}
