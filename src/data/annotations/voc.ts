import { XMLParser } from 'fast-xml-parser';
import { PyocyteError } from '../../util/errors.js';
import type { ImageAnnotations } from './types.js';

const number = (value: unknown) => (value === undefined || value === '' ? Number.NaN : Number(value));

interface VocObject {
  name?: string;
  bndbox?: Record<string, unknown>;
  point?: Record<string, unknown>;
}

/** Pascal VOC (LabelImg): one `<annotation>` per image with `<object><name/><bndbox>…</bndbox></object>`. */
function vocAnnotation(root: Record<string, unknown>, file: string, problems: string[]): ImageAnnotations {
  const size = (root.size ?? {}) as Record<string, unknown>;
  const image = String(root.filename ?? '');
  if (!image) throw new PyocyteError(`${file}: <annotation> has no <filename>`, { file });
  const entry: ImageAnnotations = {
    image,
    width: number(size.width) || undefined,
    height: number(size.height) || undefined,
    boxes: [],
    points: [],
    polygons: [],
  };
  for (const [i, object] of ((root.object ?? []) as VocObject[]).entries()) {
    const label = String(object.name ?? '');
    const where = `${file}: object ${i + 1}`;
    if (!label) problems.push(`${where} has no <name>`);
    else if (object.point) {
      const [x, y] = [number(object.point.x), number(object.point.y)];
      if (Number.isFinite(x) && Number.isFinite(y)) entry.points.push({ image, label, x, y });
      else problems.push(`${where} (${label}): <point> needs numeric <x> and <y>`);
    } else {
      const b = object.bndbox ?? {};
      const [xmin, ymin, xmax, ymax] = ['xmin', 'ymin', 'xmax', 'ymax'].map((k) => number(b[k]));
      if (![xmin, ymin, xmax, ymax].every(Number.isFinite))
        problems.push(`${where} (${label}): <bndbox> needs numeric xmin, ymin, xmax, ymax`);
      else entry.boxes.push({ image, label, xmin, ymin, xmax, ymax });
    }
  }
  return entry;
}

/** CVAT for images 1.1: `<annotations><image name width height><box label xtl ytl xbr ybr/><points label points="x,y;…"/></image>`. */
function cvatAnnotations(root: Record<string, unknown>, file: string, problems: string[]): ImageAnnotations[] {
  return ((root.image ?? []) as Record<string, unknown>[]).map((image, i) => {
    const name = String(image.name ?? '');
    if (!name) problems.push(`${file}: <image> ${i + 1} has no name attribute`);
    const entry: ImageAnnotations = {
      image: name,
      width: number(image.width) || undefined,
      height: number(image.height) || undefined,
      boxes: [],
      points: [],
      polygons: [],
    };
    for (const box of (image.box ?? []) as Record<string, unknown>[]) {
      const [xmin, ymin, xmax, ymax] = ['xtl', 'ytl', 'xbr', 'ybr'].map((k) => number(box[k]));
      if ([xmin, ymin, xmax, ymax].every(Number.isFinite))
        entry.boxes.push({ image: name, label: String(box.label), xmin, ymin, xmax, ymax });
      else problems.push(`${file}: a box of ${name} (${box.label}) needs numeric xtl, ytl, xbr, ybr`);
    }
    for (const points of (image.points ?? []) as Record<string, unknown>[]) {
      for (const pair of String(points.points ?? '').split(';')) {
        const [x, y] = pair.split(',').map(Number);
        if (Number.isFinite(x) && Number.isFinite(y)) entry.points.push({ image: name, label: String(points.label), x, y });
        else problems.push(`${file}: a point of ${name} (${points.label}) is "${pair}", not x,y`);
      }
    }
    return entry;
  });
}

/**
 * Reads Pascal VOC XML as LabelImg and CVAT ("Pascal VOC" export) write it, one image per file
 * (`<annotation>`), or CVAT's own XML for many images (`<annotations><image>…`). Boxes are
 * `xmin, ymin, xmax, ymax` in pixels; CVAT points become points.
 */
export function parseVocXml(text: string, file: string): { images: ImageAnnotations[]; problems: string[] } {
  let document: Record<string, unknown>;
  try {
    document = new XMLParser({
      ignoreAttributes: false,
      attributeNamePrefix: '',
      isArray: (name) => ['object', 'image', 'box', 'points'].includes(name),
    }).parse(text, true) as Record<string, unknown>;
  } catch (error) {
    throw new PyocyteError(`${file} is not valid XML: ${(error as Error).message}`, { file });
  }
  const problems: string[] = [];
  if (document.annotation) return { images: [vocAnnotation(document.annotation as Record<string, unknown>, file, problems)], problems };
  if (document.annotations) return { images: cvatAnnotations(document.annotations as Record<string, unknown>, file, problems), problems };
  throw new PyocyteError(`${file} is neither Pascal VOC (<annotation>) nor CVAT XML (<annotations>)`, { file });
}
