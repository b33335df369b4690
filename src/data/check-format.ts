import type { DatasetSummary } from './check.js';
import type { DatasetConvention } from './dataset.js';
import { formatValue } from './intensity.js';

const LAYOUTS: Record<DatasetConvention, string> = {
  nnunet: 'nnU-Net imagesTr/ + labelsTr/',
  'images-masks': 'images/ + masks/',
  'suffix-mask': '<name>_mask files beside the images',
};

const percent = (part: number, total: number) => `${((100 * part) / Math.max(1, total)).toFixed(1)}%`;

/** Masks with more distinct values than this (instance ids, 16-bit labels) are summarised. */
const LISTED_VALUES = 12;

/**
 * Distinct values with pixel counts; rare ones (< 0.1% each) are summarised on one line. Many
 * values (an instance mask's ids) are summarised by count and range after the most frequent few.
 */
function maskValueText(summary: DatasetSummary): string {
  const histogram = summary.maskValues!;
  const total = histogram.counts.reduce((a, b) => a + b, 0);
  const count = histogram.values.length;
  if (count > LISTED_VALUES) {
    const order = histogram.values.map((v, i) => [v, histogram.counts[i]] as const).sort((a, b) => b[1] - a[1] || a[0] - b[0]);
    const top = order.slice(0, 3);
    const rest = order.slice(3);
    const restPixels = rest.reduce((n, [, c]) => n + c, 0);
    const low = Math.min(...rest.map(([v]) => v));
    const high = Math.max(...rest.map(([v]) => v));
    return (
      `${count} distinct values from ${histogram.values[0]} to ${histogram.values[count - 1]}: ` +
      `${top.map(([v, c]) => `${v} (${percent(c, total)})`).join(', ')} and ${rest.length} more between ${low} and ${high} (${percent(restPixels, total)} of pixels)`
    );
  }
  const common: string[] = [];
  const rare: string[] = [];
  let rarePixels = 0;
  histogram.values.forEach((value, i) => {
    const pixels = histogram.counts[i];
    if (pixels >= total / 1000 || count <= 8) common.push(`${value} (${percent(pixels, total)})`);
    else {
      rare.push(String(value));
      rarePixels += pixels;
    }
  });
  if (rare.length > 0) common.push(`and ${rare.length} rare value${rare.length === 1 ? '' : 's'} in ${rarePixels} px: ${rare.join(', ')}`);
  return common.join(', ');
}

/** Up to this many images, `data check` lists each one's value range; beyond, their spread (or all with `ranges`). */
const LISTED_RANGES = 30;

/** Each image's stored value range (minimum–maximum) when there are few or `all`; otherwise their spread. */
function rangeLines(summary: DatasetSummary, all: boolean): string[] {
  const ranges = summary.valueRanges;
  const text = (low: number, high: number) => `${formatValue(low)}–${formatValue(high)}`;
  if (ranges.length <= LISTED_RANGES || all) {
    const width = Math.max(...ranges.map((r) => r.image.length));
    return [
      line('value ranges', 'minimum–maximum of the stored values, per image'),
      ...ranges.map((r) => `    ${r.image.padEnd(width)}  ${text(r.range.min, r.range.max)}`),
    ];
  }
  const mins = ranges.map((r) => r.range.min).filter(Number.isFinite);
  const maxs = ranges.map((r) => r.range.max).filter(Number.isFinite);
  return [
    line(
      'value ranges',
      `minimum ${text(Math.min(...mins), Math.max(...mins))}, maximum ${text(Math.min(...maxs), Math.max(...maxs))} over ${ranges.length} images (each image's: --ranges)`,
    ),
  ];
}

function line(label: string, text: string): string {
  return `  ${label.padEnd(14)} ${text}`;
}

/**
 * The plain-text report `pyocyte data check` prints.
 * @param options.ranges list every image's value range, however many there are (default: up to 30).
 */
export function formatSummary(summary: DatasetSummary, options: { ranges?: boolean } = {}): string {
  const lines: string[] = [];
  const layout = summary.convention ? ` (${LAYOUTS[summary.convention]})` : '';
  lines.push(`Dataset ${summary.root}${layout}`);
  if (summary.convention) {
    const unlabelled = summary.unlabelled > 0 ? `, ${summary.unlabelled} images without masks` : '';
    lines.push(line('pairs', `${summary.pairs} image/mask pairs${unlabelled}`));
    if (summary.split) {
      const { train, val, test, source, leftOut } = summary.split;
      const unused = leftOut > 0 ? `; ${leftOut} image${leftOut === 1 ? '' : 's'} left out` : '';
      lines.push(line('split', `train ${train}, val ${val}, test ${test} (${source}${unused})`));
    }
    const sizes = summary.sizes;
    if (sizes.length > 0) {
      const text =
        sizes.length <= 4
          ? sizes.map((s) => `${s.width}×${s.height} (${s.count})`).join(', ')
          : `${sizes.length} sizes, from ${Math.min(...sizes.map((s) => s.width))}×${Math.min(...sizes.map((s) => s.height))} to ${Math.max(...sizes.map((s) => s.width))}×${Math.max(...sizes.map((s) => s.height))}`;
      lines.push(line('image sizes', text));
    }
    const kinds = Object.entries(summary.imageKinds)
      .map(([kind, count]) => `${kind} (${count})`)
      .join(', ');
    if (kinds) lines.push(line('images', kinds));
    const maskKinds = Object.entries(summary.maskKinds)
      .map(([kind, count]) => `${kind} (${count})`)
      .join(', ');
    if (maskKinds) lines.push(line('masks', maskKinds));
    if (summary.valueRanges.length > 0) lines.push(...rangeLines(summary, options.ranges ?? false));
    lines.push(
      line(
        'pixel size',
        summary.pixelSizeUm ? `${summary.pixelSizeUm} µm/px` : 'unknown (set "pixelSizeUm" in pyocyte.json or pass --pixel-size)',
      ),
    );
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
    lines.push(
      line(
        'objects',
        `${o.count} (connected regions), median equivalent diameter ${o.medianDiameterPx.toFixed(1)} px (10th–90th percentile ${o.p10DiameterPx.toFixed(1)}–${o.p90DiameterPx.toFixed(1)} px)`,
      ),
    );
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
