import { join } from 'node:path';
import { renderCurvesPng } from '../io/plot.js';
import { writeFileAtomic } from '../util/fs.js';
import type { EpochLog } from './checkpoint.js';

/** Rewrites RUN/log.jsonl (one JSON object per epoch) and RUN/curves.png from the history. */
export async function writeTrainingLog(runDir: string, history: readonly EpochLog[]): Promise<void> {
  await writeFileAtomic(join(runDir, 'log.jsonl'), history.map((entry) => JSON.stringify(entry)).join('\n') + (history.length ? '\n' : ''));
  if (history.length === 0) return;
  const series = (pick: (e: EpochLog) => number | undefined): [number, number][] => history.map((e) => [e.epoch, pick(e) ?? Number.NaN]);
  const panel = (title: string, key: 'loss' | 'dice' | 'iou' | 'accuracy', yRange?: [number, number]) => ({
    title,
    yLabel: title,
    yRange,
    lines: [
      { name: 'train', points: series((e) => e.train[key]) },
      { name: 'validation', points: series((e) => e.val?.[key]) },
    ],
  });
  const png = await renderCurvesPng({
    title: 'pyocyte training',
    xLabel: 'epoch',
    panels: [panel('loss', 'loss'), panel('Dice (F1)', 'dice', [0, 1]), panel('IoU', 'iou', [0, 1]), panel('pixel accuracy', 'accuracy')],
  });
  await writeFileAtomic(join(runDir, 'curves.png'), png);
}
