import type { DatasetSummary } from './check.js';
import type { DatasetConvention } from './dataset.js';

const LAYOUTS: Record<DatasetConvention, string> = {
  nnunet: 'nnU-Net imagesTr/ + labelsTr/',
  'images-masks': 'images/ + masks/',
  'suffix-mask': '<name>_mask files beside the images',
};

const percent = (part: number, total: number) => `${((100 * part) / Math.max(1, total)).toFixed(1)}%`;

/** Distinct values with pixel counts; rare ones (< 0.1% each) are summarised on one line. */
function maskValueText(summary: DatasetSummary): string {
  const histogram = summary.maskValues!;
  const total = histogram.counts.reduce((a, b) => a + b, 0);
  const common: string[] = [];
  const rare: string[] = [];
  let rarePixels = 0;
  histogram.values.forEach((value, i) => {
    const count = histogram.counts[i];
    if (count >= total / 1000 || histogram.values.length <= 8) common.push(`${value} (${percent(count, total)})`);
    else {
      rare.push(String(value));
      rarePixels += count;
    }
  });
  if (rare.length > 0) {
    const shown = rare.length > 12 ? `${rare.slice(0, 12).join(', ')}, …` : rare.join(', ');
    common.push(`and ${rare.length} rare value${rare.length === 1 ? '' : 's'} in ${rarePixels} px: ${shown}`);
  }
  return common.join(', ');
}

function line(label: string, text: string): string {
  return `  ${label.padEnd(14)} ${text}`;
}

/** The plain-text report `pyocyte data check` prints. */
export function formatSummary(summary: DatasetSummary): string {
  const lines: string[] = [];
  const layout = summary.convention ? ` (${LAYOUTS[summary.convention]})` : '';
  lines.push(`Dataset ${summary.root}${layout}`);
  if (summary.convention) {
    const unlabelled = summary.unlabelled > 0 ? `, ${summary.unlabelled} images without masks` : '';
    lines.push(line('pairs', `${summary.pairs} image/mask pairs${unlabelled}`));
    if (summary.split) {
      const { train, val, test, source } = summary.split;
      lines.push(line('split', `train ${train}, val ${val}, test ${test} (${source})`));
    }
    const sizes = summary.sizes;
    if (sizes.length > 0) {
      const text = sizes.length <= 4
        ? sizes.map((s) => `${s.width}×${s.height} (${s.count})`).join(', ')
        : `${sizes.length} sizes, from ${Math.min(...sizes.map((s) => s.width))}×${Math.min(...sizes.map((s) => s.height))} to ${Math.max(...sizes.map((s) => s.width))}×${Math.max(...sizes.map((s) => s.height))}`;
      lines.push(line('image sizes', text));
    }
    const kinds = Object.entries(summary.imageKinds).map(([kind, count]) => `${kind} (${count})`).join(', ');
    if (kinds) lines.push(line('images', kinds));
    const maskKinds = Object.entries(summary.maskKinds).map(([kind, count]) => `${kind} (${count})`).join(', ');
    if (maskKinds) lines.push(line('masks', maskKinds));
    lines.push(line('pixel size', summary.pixelSizeUm ? `${summary.pixelSizeUm} µm/px` : 'unknown (set "pixelSizeUm" in pyocyte.json or pass --pixel-size)'));
  }
  if (summary.maskValues) {
    lines.push(line('mask values', maskValueText(summary)));
    const polarity = summary.polarity ? `, objects are ${summary.polarity}` : '';
    const names = summary.classNames ? ` (${summary.classNames.join(', ')})` : '';
    lines.push(line('task', `${summary.task}, ${summary.classes ?? 2} classes${names}${polarity}`));
  }
  if (summary.classPixels) {
    const total = summary.classPixels.reduce((a, b) => a + b, 0);
    if (summary.task === 'binary') {
      lines.push(line('foreground', `${percent(total - summary.classPixels[0], total)} of pixels`));
    } else {
      const shares = summary.classPixels.map((n, c) => `${summary.classNames?.[c] ?? `class ${c}`} ${percent(n, total)}`);
      lines.push(line('classes', shares.join(', ')));
    }
  }
  if (summary.objects) {
    const o = summary.objects;
    lines.push(line('objects', `${o.count} (connected regions), median equivalent diameter ${o.medianDiameterPx.toFixed(1)} px (10th–90th percentile ${o.p10DiameterPx.toFixed(1)}–${o.p90DiameterPx.toFixed(1)} px)`));
  }
  for (const note of summary.notes) lines.push(`  note: ${note}`);
  for (const warning of summary.warnings) lines.push(`  warning: ${warning}`);
  if (summary.problems.length > 0) {
    lines.push(`${summary.problems.length} problem${summary.problems.length === 1 ? '' : 's'}:`);
    for (const problem of summary.problems) lines.push(`  - ${problem}`);
  } else {
    lines.push('OK: no problems found');
  }
  return lines.join('\n');
}
