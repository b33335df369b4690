import { runDemo } from '../workflows/demo.js';
import { DEMO_OPTIONS } from '../workflows/options.js';
import { defineCommand } from './args.js';

const spec = {
  name: 'demo',
  summary: 'Synthesise 40 stained pus smears, split them 30/5/5, train a U-Net, evaluate it on the test images and segment them.',
  usage: 'pyocyte demo [--out DIR] [--minutes 3]',
  options: DEMO_OPTIONS,
} as const;

/** `pyocyte demo`: the last line of stdout is JSON with `dice` and `seconds`. */
export const command = defineCommand(spec, async ({ options }) => {
  const result = await runDemo(options);
  console.log(`test Dice ${result.dice.toFixed(4)} (IoU ${result.iou.toFixed(4)}, cell detection F1 ${result.objectF1.toFixed(3)})`);
  console.log(`overlays, masks and cells.csv: ${result.predictions}`);
  console.log(`model: ${result.run}/model (try: npx pyocyte predict --model ${result.run} your-image.png --out results)`);
  console.log(
    JSON.stringify({
      dice: result.dice,
      iou: result.iou,
      object_f1: result.objectF1,
      seconds: Math.round(result.seconds),
      train_seconds: Math.round(result.trainSeconds),
      predictions: result.predictions,
    }),
  );
  return 0;
});
