/**
 * Training-curve plots: a grid of panels (loss, Dice, IoU, accuracy...) drawn as SVG by pure
 * functions and rendered to PNG with sharp. No plotting dependency: the report of a training
 * run must render the same on every machine.
 */
import sharp from 'sharp';
import { fail } from '../util/errors.js';

/** One curve: `[x, y]` points, e.g. `[epoch, loss]`. Non-finite y values (NaN, null from JSON) leave a gap. */
export interface CurveLine {
  name: string;
  points: [number, number][];
}

/** One plot panel with its own y axis. */
export interface CurvePanel {
  title: string;
  yLabel: string;
  lines: CurveLine[];
  /** Fixed y range, e.g. `[0, 1]` for Dice; default: fitted to the data with round ticks. */
  yRange?: [number, number];
}

/** Everything in one figure: panels share the x label. */
export interface CurveFigure {
  title: string;
  xLabel: string;
  panels: CurvePanel[];
}

/** Options of {@link buildCurvesSvg} and {@link renderCurvesPng}. */
export interface CurveImageOptions {
  /** Pixels. Default 1200. */
  width?: number;
  /** Pixels. Default 800. */
  height?: number;
}

/** Okabe–Ito colours: distinguishable with the common colour-vision deficiencies. */
const LINE_COLOURS = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#999999'];
const FONT = 'DejaVu Sans, Helvetica, Arial, sans-serif';

/** Round tick values covering [min, max]: steps of 1, 2 or 5 × 10^k, about `count` of them. */
export function niceTicks(min: number, max: number, { count = 5 }: { count?: number } = {}): { ticks: number[]; step: number } {
  if (!(Number.isFinite(min) && Number.isFinite(max)) || max <= min) fail(`niceTicks needs finite min < max, got ${min}, ${max}`);
  const rough = (max - min) / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough * 0.999) ?? 10 * power;
  const ticks: number[] = [];
  // toPrecision removes float noise (0.6000000000000001) and `+ 0` turns -0 into 0.
  for (let i = Math.ceil(min / step - 1e-9); i * step <= max + step * 1e-9; i++) ticks.push(Number((i * step).toPrecision(12)) + 0);
  return { ticks, step };
}

/** A tick label with just enough decimals for `step`: 0.25 → '0.25', 2000 → '2000', 1e-6 → '1e-6'. */
export function formatTick(value: number, step: number): string {
  if (Math.abs(value) < step * 1e-6) return '0';
  if (Math.abs(value) >= 1e6 || step < 1e-4)
    return value.toExponential(Math.max(0, Math.round(Math.log10(Math.abs(value) / step)))).replace('e+', 'e');
  let decimals = 0;
  while (decimals < 10 && Math.abs(Math.round(step * 10 ** decimals) - step * 10 ** decimals) > 1e-6 * 10 ** decimals) decimals++;
  return value.toFixed(decimals);
}

/** The data range of the panel's finite points, widened when flat; undefined when there are none. */
function dataRange(values: number[]): [number, number] | undefined {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return undefined;
  const min = Math.min(...finite);
  const max = Math.max(...finite);
  if (max > min) return [min, max];
  const pad = min === 0 ? 1 : Math.abs(min) * 0.1;
  return [min - pad, max + pad];
}

/** An axis: the domain snapped outwards to round ticks. */
function axis(range: [number, number], count: number): { min: number; max: number; ticks: number[]; step: number } {
  const { step } = niceTicks(range[0], range[1], { count });
  const min = Math.floor(range[0] / step + 1e-9) * step;
  const max = Math.ceil(range[1] / step - 1e-9) * step;
  return { min, max, step, ticks: niceTicks(min, max, { count }).ticks.filter((t) => t >= min - step * 1e-9 && t <= max + step * 1e-9) };
}

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] as string);
}

function text(x: number, y: number, content: string, attributes = ''): string {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${attributes}>${escapeXml(content)}</text>`;
}

/** Splits a line into runs of consecutive finite points, sorted by x. */
export function finiteSegments(points: readonly [number, number][]): [number, number][][] {
  const sorted = points.filter((p) => p !== null && Number.isFinite(p[0])).sort((a, b) => a[0] - b[0]);
  const segments: [number, number][][] = [];
  let current: [number, number][] = [];
  for (const point of sorted) {
    if (Number.isFinite(point[1])) {
      current.push(point);
    } else if (current.length > 0) {
      segments.push(current);
      current = [];
    }
  }
  if (current.length > 0) segments.push(current);
  return segments;
}

/** The plot corner (top-right first) where a legend box covers the fewest data points. */
export function legendCorner(
  plot: { left: number; top: number; right: number; bottom: number },
  width: number,
  height: number,
  margin: number,
  points: readonly [number, number][],
): { left: number; top: number } {
  const corners = [
    { left: plot.right - width - margin, top: plot.top + margin },
    { left: plot.left + margin, top: plot.top + margin },
    { left: plot.right - width - margin, top: plot.bottom - height - margin },
    { left: plot.left + margin, top: plot.bottom - height - margin },
  ];
  const covered = (c: { left: number; top: number }): number =>
    points.filter(([x, y]) => x >= c.left - margin && x <= c.left + width + margin && y >= c.top - margin && y <= c.top + height + margin)
      .length;
  return corners.reduce((best, c) => (covered(c) < covered(best) ? c : best));
}

function panelSvg(
  panel: CurvePanel,
  xLabel: string,
  box: { x: number; y: number; width: number; height: number },
  font: number,
  index: number,
): string {
  const plot = {
    left: box.x + font * 5.2,
    top: box.y + font * 2.2,
    right: box.x + box.width - font * 1.2,
    bottom: box.y + box.height - font * 3.6,
  };
  const out: string[] = [];
  out.push(
    text(
      (plot.left + plot.right) / 2,
      box.y + font * 1.3,
      panel.title,
      `font-size="${font * 1.1}" font-weight="bold" text-anchor="middle"`,
    ),
  );
  const xs = panel.lines.flatMap((l) => l.points.map((p) => p?.[0]));
  const ys = panel.lines.flatMap((l) => l.points.filter((p) => p !== null && Number.isFinite(p[0])).map((p) => p[1]));
  const xRange = dataRange(xs);
  const yData = dataRange(ys);
  if (panel.yRange !== undefined && !(panel.yRange[1] > panel.yRange[0]))
    fail(`panel '${panel.title}' has an empty yRange [${panel.yRange}]`);
  const xAxis = axis(xRange ?? [0, 1], Math.max(2, Math.round((plot.right - plot.left) / (font * 7))));
  const yAxis = panel.yRange
    ? { min: panel.yRange[0], max: panel.yRange[1], ...niceTicks(panel.yRange[0], panel.yRange[1], { count: 5 }) }
    : axis(yData ?? [0, 1], Math.max(2, Math.round((plot.bottom - plot.top) / (font * 4))));
  const sx = (x: number): number => plot.left + ((x - xAxis.min) / (xAxis.max - xAxis.min)) * (plot.right - plot.left);
  const sy = (y: number): number => plot.bottom - ((y - yAxis.min) / (yAxis.max - yAxis.min)) * (plot.bottom - plot.top);

  for (const t of xAxis.ticks) {
    const x = sx(t).toFixed(1);
    out.push(`<line x1="${x}" y1="${plot.top}" x2="${x}" y2="${plot.bottom}" stroke="#e3e3e3"/>`);
    out.push(`<line x1="${x}" y1="${plot.bottom}" x2="${x}" y2="${plot.bottom + font * 0.4}" stroke="#444444"/>`);
    out.push(text(sx(t), plot.bottom + font * 1.5, formatTick(t, xAxis.step), 'text-anchor="middle"'));
  }
  for (const t of yAxis.ticks) {
    const y = sy(t).toFixed(1);
    out.push(`<line x1="${plot.left}" y1="${y}" x2="${plot.right}" y2="${y}" stroke="#e3e3e3"/>`);
    out.push(`<line x1="${plot.left - font * 0.4}" y1="${y}" x2="${plot.left}" y2="${y}" stroke="#444444"/>`);
    out.push(text(plot.left - font * 0.6, sy(t) + font * 0.35, formatTick(t, yAxis.step), 'text-anchor="end"'));
  }
  out.push(text((plot.left + plot.right) / 2, plot.bottom + font * 3, xLabel, 'text-anchor="middle"'));
  const yMid = (plot.top + plot.bottom) / 2;
  out.push(
    text(
      box.x + font * 1.1,
      yMid,
      panel.yLabel,
      `text-anchor="middle" transform="rotate(-90 ${(box.x + font * 1.1).toFixed(1)} ${yMid.toFixed(1)})"`,
    ),
  );

  const clip = `plot-clip-${index}`;
  out.push(
    `<clipPath id="${clip}"><rect x="${plot.left}" y="${plot.top}" width="${plot.right - plot.left}" height="${plot.bottom - plot.top}"/></clipPath>`,
  );
  out.push(`<g clip-path="url(#${clip})" fill="none" stroke-width="2" stroke-linejoin="round" stroke-linecap="round">`);
  panel.lines.forEach((line, i) => {
    const colour = LINE_COLOURS[i % LINE_COLOURS.length];
    const segments = finiteSegments(line.points);
    const markers = segments.reduce((n, s) => n + s.length, 0) <= 25;
    for (const segment of segments) {
      if (segment.length > 1)
        out.push(`<polyline stroke="${colour}" points="${segment.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ')}"/>`);
      if (markers || segment.length === 1) {
        for (const [x, y] of segment)
          out.push(`<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="3" fill="${colour}" stroke="none"/>`);
      }
    }
  });
  out.push('</g>');
  // The frame goes after the grid so that grid lines at the axis ends do not hide it.
  out.push(
    `<rect x="${plot.left}" y="${plot.top}" width="${plot.right - plot.left}" height="${plot.bottom - plot.top}" fill="none" stroke="#444444" stroke-width="1"/>`,
  );
  if (yData === undefined) out.push(text((plot.left + plot.right) / 2, yMid, 'no data', 'text-anchor="middle" fill="#888888"'));

  if (panel.lines.length > 0) {
    const rowHeight = font * 1.4;
    const legendWidth = font * 3.2 + Math.max(...panel.lines.map((l) => l.name.length)) * font * 0.62;
    const legendHeight = panel.lines.length * rowHeight + font * 0.5;
    const screenPoints = panel.lines.flatMap((l) =>
      finiteSegments(l.points)
        .flat()
        .map(([x, y]): [number, number] => [sx(x), sy(y)]),
    );
    const { left, top } = legendCorner(plot, legendWidth, legendHeight, font * 0.6, screenPoints);
    out.push(
      `<rect x="${left.toFixed(1)}" y="${top.toFixed(1)}" width="${legendWidth.toFixed(1)}" height="${legendHeight.toFixed(1)}" fill="#ffffff" fill-opacity="0.85" stroke="#bbbbbb"/>`,
    );
    panel.lines.forEach((line, i) => {
      const y = top + font * 0.25 + (i + 0.5) * rowHeight;
      out.push(
        `<line x1="${(left + font * 0.5).toFixed(1)}" y1="${y.toFixed(1)}" x2="${(left + font * 2.2).toFixed(1)}" y2="${y.toFixed(1)}" stroke="${LINE_COLOURS[i % LINE_COLOURS.length]}" stroke-width="2.5"/>`,
      );
      out.push(text(left + font * 2.6, y + font * 0.35, line.name));
    });
  }
  return out.join('\n');
}

/**
 * The figure as an SVG document: panels in a grid (2×2 for four, 3×2 for five or six), each
 * with round-number ticks, grid lines, a legend and its own y axis. Pure: same input, same text.
 */
export function buildCurvesSvg(figure: CurveFigure, { width = 1200, height = 800 }: CurveImageOptions = {}): string {
  if (!(Number.isInteger(width) && Number.isInteger(height) && width >= 200 && height >= 150)) {
    fail(`plot size must be whole pixels of at least 200×150, got ${width}×${height}`);
  }
  const count = Math.max(1, figure.panels.length);
  const columns = count <= 3 ? count : Math.ceil(Math.sqrt(count));
  const rows = Math.ceil(count / columns);
  const font = Math.min(16, Math.max(10, Math.min(width / columns, height / rows) / 28));
  const titleHeight = font * 2.8;
  const cellWidth = width / columns;
  const cellHeight = (height - titleHeight) / rows;
  const body = figure.panels.map((panel, i) =>
    panelSvg(
      panel,
      figure.xLabel,
      { x: (i % columns) * cellWidth, y: titleHeight + Math.floor(i / columns) * cellHeight, width: cellWidth, height: cellHeight },
      font,
      i,
    ),
  );
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${FONT}" font-size="${font.toFixed(1)}" fill="#222222">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    text(width / 2, titleHeight * 0.62, figure.title, `font-size="${(font * 1.35).toFixed(1)}" font-weight="bold" text-anchor="middle"`),
    ...body,
    '</svg>',
  ].join('\n');
}

/** Renders the figure to PNG bytes of exactly `width`×`height` pixels. */
export async function renderCurvesPng(figure: CurveFigure, options: CurveImageOptions = {}): Promise<Uint8Array> {
  const svg = buildCurvesSvg(figure, options);
  return new Uint8Array(await sharp(Buffer.from(svg)).png().toBuffer());
}
