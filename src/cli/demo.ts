import { runDemo } from '../workflows/demo.js';
import { DEMO_OPTIONS } from '../workflows/options.js';
import { defineCommand } from './args.js';

const spec = {
  name: 'demo',
  summary:
    'Synthesise 40 stained pus smears (--images), split them 30/5/5, train a U-Net, evaluate it on the test images and segment them.',
  usage: 'pyocyte demo [--out DIR] [--minutes 3]',
  options: DEMO_OPTIONS,
} as const;

/** `pyocyte demo`: the last line of stdout is JSON with `dice` and `seconds`. */
export const command = defineCommand(spec, async ({ options }) => {
  const result = await runDemo(options);
  const { cells } = result;
  console.log(`test Dice ${result.dice.toFixed(4)} (IoU ${result.iou.toFixed(4)})`);
  console.log(
    `cells against the generator's ${cells.truth === 'label images' ? 'instance labels' : 'masks (connected components: a lower bound)'}: ` +
      `AP@0.5 ${cells.ap50.toFixed(3)} (F1 ${cells.f1.toFixed(3)}), ${cells.predictedCells} found for ${cells.trueCells} true, ` +
      `count error ${cells.countMae.toFixed(1)} cells per image (${(100 * cells.countMeanRelativeError).toFixed(1)}%)`,
  );
  console.log(`overlays, masks and cells.csv: ${result.predictions}`);
  console.log(`model: ${result.run}/model (try: npx pyocyte predict --model ${result.run} your-image.png --out results)`);
  console.log(
    JSON.stringify({
      dice: result.dice,
      iou: result.iou,
      object_f1: result.objectF1,
      'ap_0.5': cells.ap50,
      count_mae: cells.countMae,
      seconds: Math.round(result.seconds),
      train_seconds: Math.round(result.trainSeconds),
      predictions: result.predictions,
    }),
  );
  return 0;
});
