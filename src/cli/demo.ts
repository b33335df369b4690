import { runDemo } from '../workflows/demo.js';
import { type CommandSpec, defineCommand } from './args.js';
import { ENGINE_FLAGS } from './common.js';

const spec: CommandSpec = {
  name: 'demo',
  summary: 'Synthesise 40 stained pus smears, split them 30/5/5, train a U-Net, evaluate it on the test images and segment them.',
  usage: 'pyocyte demo [--out DIR] [--minutes 3]',
  flags: {
    out: { type: 'string', short: 'o', description: 'working folder', defaultText: 'pyocyte-demo' },
    minutes: { type: 'number', description: 'training budget', defaultText: '3' },
    seed: { type: 'number', description: 'random seed', defaultText: '1' },
    ...ENGINE_FLAGS,
  },
};

/** `pyocyte demo`: the last line of stdout is JSON with `dice` and `seconds`. */
export const command = defineCommand(spec, async ({ flags: f }) => {
  const result = await runDemo({
    out: f.out as string | undefined, minutes: f.minutes as number | undefined, seed: f.seed as number | undefined,
    engine: f.engine as 'auto' | undefined, threads: f.threads as number | undefined,
  });
  console.log(`test Dice ${result.dice.toFixed(4)} (IoU ${result.iou.toFixed(4)}, cell detection F1 ${result.objectF1.toFixed(3)})`);
  console.log(`overlays, masks and cells.csv: ${result.predictions}`);
  console.log(`model: ${result.run}/model (try: npx pyocyte predict --model ${result.run} your-image.png --out results)`);
  console.log(JSON.stringify({ dice: result.dice, iou: result.iou, object_f1: result.objectF1, seconds: Math.round(result.seconds), train_seconds: Math.round(result.trainSeconds), predictions: result.predictions }));
  return 0;
});
