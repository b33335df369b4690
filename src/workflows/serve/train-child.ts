/**
 * The training process of `pyocyte serve`: forked by the server, it runs the library's `train`
 * and posts progress over IPC, so training never blocks the server and can be killed outright.
 * Messages in: `{ type: 'start', options }`, `{ type: 'abort' }`. Out: see {@link ChildMessage}.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { TrainOptions } from '../../train/options.js';
import type { TrainResultSummary } from './api-types.js';
import { PyocyteError } from '../../util/errors.js';
import { train } from '../train.js';

/** What the training process tells the server. */
export type ChildMessage =
  | { type: 'step'; step: number }
  | { type: 'epoch'; entry: Record<string, unknown> }
  | { type: 'log'; line: string }
  | { type: 'done'; result: TrainResultSummary }
  | { type: 'error'; message: string };

const controller = new AbortController();
const send = (message: ChildMessage, then: () => void = () => {}) => process.send?.(message, then);

/** Posts each new line of RUN/log.jsonl (one per epoch). */
function epochWatcher(runDir: string): () => void {
  const file = join(runDir, 'log.jsonl');
  let seen = 0;
  let mtime = 0;
  return () => {
    if (!existsSync(file)) return;
    const modified = statSync(file).mtimeMs;
    if (modified === mtime) return;
    mtime = modified;
    const lines = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .filter((l) => l.length > 0);
    for (const line of lines.slice(seen)) send({ type: 'epoch', entry: JSON.parse(line) as Record<string, unknown> });
    seen = lines.length;
  };
}

async function run(options: TrainOptions): Promise<void> {
  const checkEpochs = epochWatcher(options.out);
  let lastStepMessage = 0;
  try {
    const result = await train(options, {
      signal: controller.signal,
      progressStream: null,
      log: (line) => send({ type: 'log', line }),
      onStep: (step) => {
        checkEpochs();
        if (Date.now() - lastStepMessage > 250) {
          lastStepMessage = Date.now();
          send({ type: 'step', step });
        }
      },
    });
    checkEpochs();
    // The native engine's thread keeps the process alive: exit once the message is out.
    send({ type: 'done', result }, () => process.exit(0));
  } catch (error) {
    const message = error instanceof PyocyteError ? error.message : `internal error: ${(error as Error).message ?? String(error)}`;
    if (!(error instanceof PyocyteError)) process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    send({ type: 'error', message }, () => process.exit(1));
  }
}

process.on('message', (message: { type: string; options?: TrainOptions }) => {
  if (message.type === 'start' && message.options) void run(message.options);
  else if (message.type === 'abort') controller.abort();
});
// The server went away: stop after the current step, saving the checkpoint.
process.on('disconnect', () => controller.abort());
