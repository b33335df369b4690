import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAnnotationCsv } from '../../../src/data/annotations/csv.js';
import { parseCoco } from '../../../src/data/annotations/coco.js';
import { parseVocXml } from '../../../src/data/annotations/voc.js';
import { findAnnotationFiles, readAnnotations, splitOfFile } from '../../../src/data/annotations/read.js';
import { isAnnotatedDataset } from '../../../src/data/annotations/dataset.js';
import { PyocyteError, PyocyteErrors } from '../../../src/util/errors.js';

describe('parseAnnotationCsv', () => {
  test('UMID boxes: a zero-size box is a point', () => {
    const text = 'image,xmin,ymin,xmax,ymax,label\n1.jpg,10,20,30,44,pus\n1.jpg,5,6,5,6,point-rbc\n';
    const parsed = parseAnnotationCsv(text, 'train.csv');
    assert.deepEqual(parsed.boxes, [{ image: '1.jpg', label: 'pus', xmin: 10, ymin: 20, xmax: 30, ymax: 44 }]);
    assert.deepEqual(parsed.points, [{ image: '1.jpg', label: 'point-rbc', x: 5, y: 6 }]);
    assert.deepEqual(parsed.problems, []);
  });
  test('a point-pus row drawn as a 2-pixel box is a point at its centre', () => {
    const parsed = parseAnnotationCsv('image,xmin,ymin,xmax,ymax,label\n1.jpg,10,20,10,22,point-pus\n', 'val.csv');
    assert.deepEqual(parsed.points, [{ image: '1.jpg', label: 'point-pus', x: 10, y: 21 }]);
  });
  test('Fiji multi-point export (blank index column, X, Y, no image column) takes the image from the file name', () => {
    const parsed = parseAnnotationCsv(' ,X,Y\n1,12.5,7\n2,3,4\n', 'a.csv', 'a');
    assert.deepEqual(parsed.points, [
      { image: 'a', label: 'cell', x: 12.5, y: 7 },
      { image: 'a', label: 'cell', x: 3, y: 4 },
    ]);
  });
  test('a row with a non-number coordinate is a problem naming file and line', () => {
    const parsed = parseAnnotationCsv('image,x,y,label\n1.jpg,3,abc,pus\n1.jpg,1,2,pus\n', 'points.csv');
    assert.deepEqual(parsed.problems, ['points.csv:2: coordinates 3,abc are not all numbers']);
    assert.equal(parsed.points.length, 1);
  });
  test('a header without box or point columns throws naming the file', () => {
    assert.throws(
      () => parseAnnotationCsv('name,class\n1.jpg,1\n', 'classes.csv'),
      (e: Error) => e instanceof PyocyteError && /classes\.csv: the header/.test(e.message),
    );
  });
});

describe('parseCoco', () => {
  const coco = {
    images: [
      { id: 1, file_name: 'a.png', width: 8, height: 8 },
      { id: 2, file_name: 'empty.png', width: 8, height: 8 },
    ],
    categories: [{ id: 7, name: 'pus' }],
    annotations: [
      { image_id: 1, category_id: 7, bbox: [1, 2, 3, 4] },
      { image_id: 1, category_id: 7, keypoints: [5, 5, 2, 0, 0, 0] },
      { image_id: 1, category_id: 7, bbox: [0, 0, 4, 4], segmentation: [[0, 0, 4, 0, 4, 4]] },
      { image_id: 9, category_id: 7, bbox: [0, 0, 1, 1] },
    ],
  };
  test('boxes, visible keypoints as points, polygons; unknown image ids are problems', () => {
    const { images, problems } = parseCoco(JSON.stringify(coco), 'train.json');
    assert.deepEqual(images[0].boxes, [{ image: 'a.png', label: 'pus', xmin: 1, ymin: 2, xmax: 4, ymax: 6 }]);
    assert.deepEqual(images[0].points, [{ image: 'a.png', label: 'pus', x: 5, y: 5 }]);
    assert.deepEqual(images[0].polygons, [{ image: 'a.png', label: 'pus', points: [0, 0, 4, 0, 4, 4] }]);
    assert.equal(images[1].image, 'empty.png');
    assert.deepEqual(problems, ['train.json: annotation 4 refers to image id 9, which "images" does not list']);
  });
  test('JSON without COCO lists throws', () => {
    assert.throws(() => parseCoco('{"a":1}', 'x.json'), /x\.json is not COCO JSON/);
  });
});

describe('parseVocXml', () => {
  test('LabelImg Pascal VOC: size and boxes', () => {
    const xml = `<annotation><filename>a.jpg</filename><size><width>8</width><height>6</height><depth>3</depth></size>
      <object><name>pus</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>4</xmax><ymax>5</ymax></bndbox></object>
      <object><name>rbc</name><bndbox><xmin>x</xmin><ymin>1</ymin><xmax>4</xmax><ymax>5</ymax></bndbox></object></annotation>`;
    const { images, problems } = parseVocXml(xml, 'annotations/a.xml');
    assert.equal(images[0].width, 8);
    assert.equal(images[0].height, 6);
    assert.deepEqual(images[0].boxes, [{ image: 'a.jpg', label: 'pus', xmin: 1, ymin: 1, xmax: 4, ymax: 5 }]);
    assert.deepEqual(problems, ['annotations/a.xml: object 2 (rbc): <bndbox> needs numeric xmin, ymin, xmax, ymax']);
  });
  test('CVAT for images XML: boxes and points of several images', () => {
    const xml = `<annotations><image id="0" name="a.png" width="8" height="8"><box label="pus" xtl="1" ytl="2" xbr="3" ybr="4"/>
      <points label="rbc" points="5,6;7,1"/></image><image id="1" name="b.png" width="8" height="8"/></annotations>`;
    const { images } = parseVocXml(xml, 'test.xml');
    assert.deepEqual(
      images.map((i) => [i.image, i.boxes.length, i.points.length]),
      [
        ['a.png', 1, 2],
        ['b.png', 0, 0],
      ],
    );
    assert.deepEqual(images[0].points[1], { image: 'a.png', label: 'rbc', x: 7, y: 1 });
  });
  test('XML that is neither VOC nor CVAT throws naming the file', () => {
    assert.throws(() => parseVocXml('<svg/>', 'b.xml'), /b\.xml is neither Pascal VOC/);
  });
});

describe('readAnnotations', () => {
  test('train.csv and val.csv define the split; an image in both is a problem', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pyocyte-ann-'));
    await writeFile(join(dir, 'train.csv'), 'image,xmin,ymin,xmax,ymax,label\n1.jpg,1,1,4,4,pus\n2.jpg,1,1,4,4,rbc\n');
    await writeFile(join(dir, 'val.csv'), 'image,xmin,ymin,xmax,ymax,label\n3.jpg,1,1,4,4,pus\n');
    await writeFile(join(dir, 'split.json'), '{}');
    const set = await readAnnotations(dir);
    assert.deepEqual(
      [...set.splits],
      [
        ['1.jpg', 'train'],
        ['2.jpg', 'train'],
        ['3.jpg', 'val'],
      ],
    );
    await writeFile(join(dir, 'test.csv'), 'image,xmin,ymin,xmax,ymax,label\n1.jpg,1,1,4,4,pus\n');
    await assert.rejects(
      readAnnotations(dir),
      (e: Error) => e instanceof PyocyteErrors && /1\.jpg is annotated in both the test and the train files/.test(e.message),
    );
  });
  test('split from file names', () => {
    assert.deepEqual(['train.csv', 'val.xml', 'instances_test.json', 'cells.csv'].map(splitOfFile), ['train', 'val', 'test', undefined]);
  });
});

describe('an annotated dataset made of symbolic links (images/ and train.csv linked from shared storage)', () => {
  test('isAnnotatedDataset follows the links; findAnnotationFiles lists the linked train.csv', async () => {
    const shared = await mkdtemp(join(tmpdir(), 'pyocyte-shared-'));
    await mkdir(join(shared, 'images'));
    await writeFile(join(shared, 'train.csv'), 'image,xmin,ymin,xmax,ymax,label\n1.jpg,1,1,5,5,pus\n');
    const dir = await mkdtemp(join(tmpdir(), 'pyocyte-linked-'));
    await symlink(join(shared, 'images'), join(dir, 'images'));
    await symlink(join(shared, 'train.csv'), join(dir, 'train.csv'));
    assert.equal(await isAnnotatedDataset(dir), true);
    assert.deepEqual(await findAnnotationFiles(dir), ['train.csv']);
    await rm(dir, { recursive: true });
    await rm(shared, { recursive: true });
  });
});
