import { parse } from 'csv-parse/sync';
import { PyocyteError } from '../../util/errors.js';
import { type BoxAnnotation, POINT_LABEL_PREFIX, type PointAnnotation } from './types.js';

/** What a CSV annotation file yields: boxes and points, and one line per bad row. */
export interface ParsedAnnotations {
  boxes: BoxAnnotation[];
  points: PointAnnotation[];
  /** Bad rows, each `file:line: problem`. */
  problems: string[];
}

const BOX_COLUMNS = ['xmin', 'ymin', 'xmax', 'ymax'] as const;

/**
 * Reads a CSV of boxes or points. Columns, matched without regard to case or surrounding spaces:
 * - boxes: `image,xmin,ymin,xmax,ymax,label` (UMID, VoTT exports); a row with xmin = xmax and
 *   ymin = ymax, or labelled `point-…`, is a point at the box's centre;
 * - points: `image,x,y,label`, or Fiji's multi-point export (`X,Y` and optionally `Counter`, no
 *   image column: the file then names its image, `defaultImage`).
 * A missing label column makes every object `cell`. Coordinates are pixels.
 * @throws PyocyteError when the header has neither the box nor the point columns.
 */
export function parseAnnotationCsv(text: string, file: string, defaultImage?: string): ParsedAnnotations {
  let rows: string[][];
  try {
    rows = parse(text, { skip_empty_lines: true, relax_column_count: true, bom: true, trim: true });
  } catch (error) {
    throw new PyocyteError(`${file} is not valid CSV: ${(error as Error).message}`, { file });
  }
  const result: ParsedAnnotations = { boxes: [], points: [], problems: [] };
  if (rows.length === 0) return result;
  const header = rows[0].map((h) => h.toLowerCase());
  const column = (name: string) => header.indexOf(name);
  const imageColumn = [column('image'), column('filename'), column('file')].find((i) => i >= 0) ?? -1;
  const labelColumn = [column('label'), column('class'), column('counter')].find((i) => i >= 0) ?? -1;
  const isBoxes = BOX_COLUMNS.every((c) => column(c) >= 0);
  const isPoints = column('x') >= 0 && column('y') >= 0;
  if (!isBoxes && !isPoints) {
    throw new PyocyteError(
      `${file}: the header "${rows[0].join(',')}" has neither box columns (image,xmin,ymin,xmax,ymax,label) nor point columns (image,x,y,label or Fiji's X,Y)`,
      { file },
    );
  }
  if (imageColumn < 0 && !defaultImage) {
    throw new PyocyteError(`${file} has no image column; add one (image,x,y,label) or name the file after its image`, { file });
  }
  const numberColumns = isBoxes ? BOX_COLUMNS.map(column) : [column('x'), column('y')];
  for (let r = 1; r < rows.length; r++) {
    const row = rows[r];
    const where = `${file}:${r + 1}`;
    const image = imageColumn >= 0 ? row[imageColumn] : defaultImage!;
    const label = labelColumn >= 0 ? (row[labelColumn] ?? '') : 'cell';
    const values = numberColumns.map((c) => Number(row[c]));
    if (!image) result.problems.push(`${where}: no image name`);
    else if (!label) result.problems.push(`${where}: no label`);
    else if (values.some((v, i) => row[numberColumns[i]] === undefined || row[numberColumns[i]] === '' || !Number.isFinite(v)))
      result.problems.push(`${where}: coordinates ${numberColumns.map((c) => row[c] ?? '(missing)').join(',')} are not all numbers`);
    else if (!isBoxes) result.points.push({ image, label, x: values[0], y: values[1] });
    else {
      const [xmin, ymin, xmax, ymax] = values;
      // Labellers' point clicks drift into boxes a pixel or two wide; the label says what they are.
      if ((xmin === xmax && ymin === ymax) || label.startsWith(POINT_LABEL_PREFIX))
        result.points.push({ image, label, x: (xmin + xmax) / 2, y: (ymin + ymax) / 2 });
      else result.boxes.push({ image, label, xmin, ymin, xmax, ymax });
    }
  }
  return result;
}
