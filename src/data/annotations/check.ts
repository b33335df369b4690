import { readImageInfo } from '../../io/image/image-io.js';
import { PyocyteError } from '../../util/errors.js';
import { mapPool } from '../../util/pool.js';
import { chooseClasses, indexAnnotatedDataset } from './dataset.js';
import { classesOf } from './rasterize.js';
import { className, isIgnoreLabel } from './types.js';
import { chooseWorkingScale, WORKING_DIAMETER_PX, type WorkingScale } from './working-scale.js';

/** Per class: boxes, points, and the distribution of box sides in pixels. */
export interface ClassAnnotationStats {
  boxes: number;
  points: number;
  /** Box width and height quantiles (10 %, 50 %, 90 %), pixels; absent without boxes. */
  widthPx?: [number, number, number];
  heightPx?: [number, number, number];
}

/** What `data check` found in an annotated dataset. */
export interface AnnotationCheck {
  root: string;
  files: { path: string; split?: string; images: number }[];
  images: number;
  annotatedImages: number;
  /** Label as written → class statistics (by class after `point-` merging; `missedlabel` under its own name). */
  classes: Record<string, ClassAnnotationStats>;
  /** The working scale train would choose without a pixel size, from every annotated image's boxes. */
  workingScale: WorkingScale;
  warnings: string[];
  /** Anything that would make training wrong; non-empty makes `data check` exit 1. */
  problems: string[];
}

const quantiles = (values: number[]): [number, number, number] => {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.round(q * (sorted.length - 1)))];
  return [at(0.1), at(0.5), at(0.9)];
};

/** Box sides more than this many pixels past the image edge are reported (annotation tools clip at the edge). */
const EDGE_TOLERANCE_PX = 1;

/**
 * Checks an annotated dataset (images/ plus box/point files): unreadable annotation rows, annotations
 * of images that do not exist, images without annotations, degenerate boxes (zero or negative width
 * or height), boxes and points outside their image, labels outside `classes`; each named. Counts
 * boxes and points per class and the box-size distribution per class.
 */
export async function checkAnnotations(dir: string, options: { classes?: string[] } = {}): Promise<AnnotationCheck> {
  const problems: string[] = [];
  const warnings: string[] = [];
  const found = await indexAnnotatedDataset(dir, problems);
  for (const name of found.unknownImages) problems.push(`${name} is annotated but there is no such image in ${dir}/images`);
  if (found.unannotated.length > 0) {
    warnings.push(
      `${found.unannotated.length} images have no annotation and are left out of training: ${found.unannotated.slice(0, 10).join(', ')}${found.unannotated.length > 10 ? ', …' : ''}`,
    );
  }
  const sizes = new Map<string, { width: number; height: number }>();
  await mapPool([...found.byStem.keys()], 8, async (stem) => {
    const pair = found.pairs.find((p) => p.stem === stem)!;
    try {
      const info = await readImageInfo(pair.imagePath, { name: pair.imagePath });
      sizes.set(stem, info);
    } catch (error) {
      if (!(error instanceof PyocyteError)) throw error;
      problems.push(error.message);
    }
  });
  let keep: string[] | undefined;
  try {
    keep = options.classes ? chooseClasses(found.byStem.values(), options.classes) : undefined;
  } catch (error) {
    if (!(error instanceof PyocyteError)) throw error;
    problems.push(error.message);
  }
  const stats: Record<string, ClassAnnotationStats & { widths: number[]; heights: number[] }> = {};
  const statsOf = (label: string) => {
    const name = isIgnoreLabel(label) ? label : className(label);
    stats[name] ??= { boxes: 0, points: 0, widths: [], heights: [] };
    return stats[name];
  };
  for (const [stem, image] of found.byStem) {
    const size = sizes.get(stem);
    const where = (label: string, text: string) => `${image.image}: ${label} ${text}`;
    for (const box of image.boxes) {
      const entry = statsOf(box.label);
      const [w, h] = [box.xmax - box.xmin, box.ymax - box.ymin];
      const text = `box (${[box.xmin, box.ymin, box.xmax, box.ymax].map((v) => Math.round(v * 10) / 10).join(', ')})`;
      if (w <= 0 || h <= 0) {
        problems.push(where(box.label, `${text} is degenerate (width ${w.toFixed(1)}, height ${h.toFixed(1)} px)`));
        continue;
      }
      entry.boxes++;
      entry.widths.push(w);
      entry.heights.push(h);
      if (!size) continue;
      const { width, height } = size;
      if (box.xmax <= 0 || box.ymax <= 0 || box.xmin >= width || box.ymin >= height)
        problems.push(where(box.label, `${text} lies outside the ${width}×${height} image`));
      else if (
        box.xmin < -EDGE_TOLERANCE_PX ||
        box.ymin < -EDGE_TOLERANCE_PX ||
        box.xmax > width + EDGE_TOLERANCE_PX ||
        box.ymax > height + EDGE_TOLERANCE_PX
      )
        warnings.push(where(box.label, `${text} reaches past the edge of the ${width}×${height} image; it is clipped`));
    }
    for (const point of image.points) {
      statsOf(point.label).points++;
      if (size && (point.x < 0 || point.y < 0 || point.x > size.width || point.y > size.height))
        problems.push(
          where(point.label, `point (${point.x.toFixed(1)}, ${point.y.toFixed(1)}) lies outside the ${size.width}×${size.height} image`),
        );
    }
    if (keep) {
      for (const object of [...image.boxes, ...image.points]) {
        if (!isIgnoreLabel(object.label) && !keep.includes(className(object.label)))
          warnings.push(`${image.image}: label ${object.label} is not among --classes ${keep.join(',')}; it is trained as background`);
      }
    }
  }
  const classes: Record<string, ClassAnnotationStats> = {};
  for (const [name, { widths, heights, ...counts }] of Object.entries(stats).sort(([a], [b]) => (a < b ? -1 : 1))) {
    classes[name] = { ...counts, ...(widths.length > 0 ? { widthPx: quantiles(widths), heightPx: quantiles(heights) } : {}) };
    if (counts.boxes === 0 && !isIgnoreLabel(name))
      warnings.push(`class ${name} has points but no boxes: training needs --cell-diameter to know how large its cells are`);
  }
  return {
    root: dir,
    files: found.annotations.files.map((f) => ({ path: f.path, split: f.split, images: f.images.length })),
    images: found.pairs.length,
    annotatedImages: found.byStem.size,
    classes,
    workingScale: chooseWorkingScale(found.byStem.values(), keep ?? classesOf(found.byStem.values())),
    warnings: collapse(warnings),
    problems: collapse(problems),
  };
}

/** At most 20 lines of a kind, then a count of the rest (a bad export repeats one mistake many times). */
function collapse(lines: string[], limit = 20): string[] {
  return lines.length <= limit ? lines : [...lines.slice(0, limit), `… and ${lines.length - limit} more like these`];
}

/** The report `pyocyte data check` prints for an annotated dataset. */
export function formatAnnotationCheck(check: AnnotationCheck): string {
  const lines = [
    `dataset ${check.root}: ${check.images} images, ${check.annotatedImages} annotated (boxes and points, no masks)`,
    `annotation files: ${check.files.map((f) => `${f.path} (${f.images} images${f.split ? `, ${f.split}` : ''})`).join(', ')}`,
    '',
    'class          boxes  points  box width px (p10 / median / p90)  box height px (p10 / median / p90)',
  ];
  const q = (v?: [number, number, number]) => (v ? v.map((x) => x.toFixed(0).padStart(4)).join(' / ') : '     –');
  for (const [name, s] of Object.entries(check.classes)) {
    lines.push(
      `${name.padEnd(13)} ${String(s.boxes).padStart(6)} ${String(s.points).padStart(7)}  ${q(s.widthPx).padEnd(34)} ${q(s.heightPx)}`,
    );
  }
  const { scale, medianBoxDiameterPx } = check.workingScale;
  if (medianBoxDiameterPx !== undefined)
    lines.push(
      '',
      `working scale without a pixel size: ×${scale} (boxes ${medianBoxDiameterPx.toFixed(1)} px across at the median${scale === 1 ? '' : `, brought to ${WORKING_DIAMETER_PX} px`}; train measures its training images' boxes; --image-scale sets it)`,
    );
  if (check.warnings.length > 0) lines.push('', 'warnings:', ...check.warnings.map((w) => `  - ${w}`));
  lines.push('', check.problems.length > 0 ? `problems (${check.problems.length}):` : 'no problems found');
  lines.push(...check.problems.map((p) => `  - ${p}`));
  return lines.join('\n');
}
