/**
 * What `pyocyte serve` works on: the dataset's images (and images dropped onto the page), their
 * decoded rasters, display copies and tile pyramids, and the model in use.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import sharp from 'sharp';
import { discoverDataset, type DatasetIndex } from '../../data/dataset.js';
import { createEngine, type Engine } from '../../engine/index.js';
import { drawOverlay } from '../../image/overlay.js';
import type { RasterImage } from '../../image/types.js';
import { IMAGE_FORMATS, sniffFormat, checkImageBytes } from '../../io/image/formats.js';
import { readImage, readImageInfo } from '../../io/image/image-io.js';
import { loadModel, readModelJson, resolveModelPath, runFolderOf } from '../../io/model-file.js';
import type { Model } from '../../nn/model.js';
import { writeFileAtomic } from '../../util/fs.js';
import { HttpError } from './security.js';
import { buildPyramid } from './tiles.js';
import type { ServeOptions } from './options.js';

/** One image of the gallery. */
export interface GalleryImage {
  /** Unique among the gallery's images; the file name without extension. */
  id: string;
  /** The file name as shown. */
  name: string;
  imagePath: string;
  /** The dataset mask, when there is one. */
  maskPath?: string;
  source: 'dataset' | 'upload';
  width: number;
  height: number;
}

/** The model in use and a number that changes whenever it is replaced. */
export interface ModelSlot {
  model?: Model;
  /** The run folder (or model file) it was loaded from. */
  path?: string;
  version: number;
}

const LRU_RASTERS = 6;

export class Workspace {
  readonly images = new Map<string, GalleryImage>();
  readonly slot: ModelSlot = { version: 0 };
  readonly engine: Engine;
  private index!: DatasetIndex;
  private rasters = new Map<string, Promise<RasterImage>>();
  private pyramids = new Map<string, Promise<string>>();
  private thumbnails = new Map<string, Promise<Buffer>>();

  private constructor(
    readonly options: ServeOptions,
    readonly cacheDir: string,
  ) {
    this.engine = createEngine({ backend: options.engine, threads: options.threads, warn: options.log });
  }

  /** Indexes the dataset (images without masks too) and loads the model, if one is given. */
  static async open(options: ServeOptions, cacheDir: string): Promise<Workspace> {
    const workspace = new Workspace(options, cacheDir);
    workspace.index = await discoverDataset(options.data, { requireMasks: false });
    for (const pair of workspace.index.pairs) {
      const info = await readImageInfo(pair.imagePath);
      workspace.images.set(pair.stem, {
        id: pair.stem,
        name: basename(pair.imagePath),
        imagePath: pair.imagePath,
        maskPath: pair.maskPath,
        source: 'dataset',
        width: info.width,
        height: info.height,
      });
    }
    if (options.model) await workspace.useModel(options.model);
    return workspace;
  }

  get dataset(): DatasetIndex {
    return this.index;
  }

  /** Loads a model (a run folder or model.json) and makes it the one in use. */
  async useModel(path: string): Promise<void> {
    resolveModelPath(path);
    const model = await loadModel(path, { engine: this.engine });
    Object.assign(this.slot, { model, path, version: this.slot.version + 1 });
  }

  /** The run folder of the model in use (a folder the server may show files from). */
  modelRunFolder(): string | undefined {
    return this.slot.path === undefined ? undefined : runFolderOf(this.slot.path);
  }

  /** The model's architecture from its file, for fine-tuning. */
  async modelArchitecture(): Promise<Record<string, unknown> | undefined> {
    if (!this.slot.path) return undefined;
    const { name: _name, ...architecture } = (await readModelJson(this.slot.path)).json.architecture;
    return architecture;
  }

  image(id: string): GalleryImage {
    const image = this.images.get(id);
    if (!image) throw new HttpError(404, `no image '${id}' in this session; reload the gallery`);
    return image;
  }

  /** The decoded image file, cached for the last few images. */
  raster(id: string): Promise<RasterImage> {
    const image = this.image(id);
    let raster = this.rasters.get(id);
    if (!raster) {
      raster = readImage(image.imagePath, { maxPixels: this.options.maxMegapixels * 1e6 });
      raster.catch(() => this.rasters.delete(id));
      this.rasters.set(id, raster);
      while (this.rasters.size > LRU_RASTERS) this.rasters.delete(this.rasters.keys().next().value!);
    } else {
      this.rasters.delete(id);
      this.rasters.set(id, raster);
    }
    return raster;
  }

  /** The image as 8-bit RGB for display (16-bit and float images stretched, gray replicated). */
  async displayRaster(id: string): Promise<RasterImage> {
    const raster = await this.raster(id);
    return drawOverlay(raster, new Uint8Array(raster.width * raster.height));
  }

  /** The folder of the image's DeepZoom tiles (`<level>/<column>_<row>.jpeg`), cut on first use. */
  pyramid(id: string): Promise<string> {
    let dir = this.pyramids.get(id);
    if (!dir) {
      const target = join(this.cacheDir, 'tiles', encodeURIComponent(id));
      dir = this.displayRaster(id).then(async (rgb) => {
        await buildPyramid(rgb, target);
        return target;
      });
      dir.catch(() => this.pyramids.delete(id));
      this.pyramids.set(id, dir);
    }
    return dir;
  }

  /** A JPEG thumbnail at most 192 px on its longer side. */
  thumbnail(id: string): Promise<Buffer> {
    let thumb = this.thumbnails.get(id);
    if (!thumb) {
      thumb = this.displayRaster(id).then((rgb) =>
        sharp(rgb.data, { raw: { width: rgb.width, height: rgb.height, channels: 3 } })
          .resize(192, 192, { fit: 'inside' })
          .jpeg({ quality: 80 })
          .toBuffer(),
      );
      thumb.catch(() => this.thumbnails.delete(id));
      this.thumbnails.set(id, thumb);
    }
    return thumb;
  }

  /**
   * Adds an uploaded image: its format is sniffed from its bytes (never taken from its name), its
   * size checked against the megapixel cap, and it is saved under the uploads folder.
   * @throws HttpError 415 for bytes that are no image pyocyte reads, 413 for too many pixels.
   */
  async addUpload(fileName: string, bytes: Buffer): Promise<GalleryImage> {
    const format = sniffFormat(bytes.subarray(0, 64));
    const cleanName =
      basename(fileName)
        .replace(/[^A-Za-z0-9._-]+/g, '_')
        .replace(/^\.+/, '') || 'upload';
    if (format === undefined) {
      try {
        checkImageBytes(cleanName, bytes.subarray(0, 4096), bytes.length);
      } catch (error) {
        throw new HttpError(415, (error as Error).message);
      }
      throw new HttpError(415, `${cleanName} is not an image pyocyte reads`);
    }
    const stem = basename(cleanName, extname(cleanName)) || 'upload';
    let id = stem;
    for (let k = 2; this.images.has(id); k++) id = `${stem}_${k}`;
    const dir = join(this.options.runs, 'uploads');
    const path = join(dir, `${id}${IMAGE_FORMATS[format].extensions[0]}`);
    await mkdir(dir, { recursive: true });
    await writeFileAtomic(path, bytes);
    const info = await readImageInfo(path).catch((error: Error) => {
      throw new HttpError(415, error.message);
    });
    if (info.width * info.height > this.options.maxMegapixels * 1e6) {
      throw new HttpError(
        413,
        `${cleanName} is ${info.width}×${info.height} (${((info.width * info.height) / 1e6).toFixed(1)} Mpx), above this server's limit of ${this.options.maxMegapixels} Mpx`,
      );
    }
    const image: GalleryImage = { id, name: basename(path), imagePath: path, source: 'upload', width: info.width, height: info.height };
    this.images.set(id, image);
    return image;
  }

  /**
   * Where an image's mask goes in the dataset's layout; an uploaded image is first copied into
   * the dataset's image folder, so that it trains with the rest.
   */
  async maskTarget(image: GalleryImage): Promise<string> {
    if (image.maskPath) return image.maskPath;
    const { root, convention } = this.index;
    if (image.source === 'upload') {
      const folder = convention === 'nnunet' ? 'imagesTr' : convention === 'images-masks' ? 'images' : '';
      const name = convention === 'nnunet' ? `${image.id}_0000${extname(image.imagePath)}` : basename(image.imagePath);
      const target = join(root, folder, name);
      if (existsSync(target)) throw new HttpError(409, `the dataset already has ${join(folder, name)}; rename the upload`);
      await mkdir(join(root, folder), { recursive: true });
      await copyFile(image.imagePath, target);
      Object.assign(image, { imagePath: target, source: 'dataset' });
    }
    if (convention === 'suffix-mask') return join(root, `${image.id}_mask.png`);
    const folder =
      convention === 'nnunet' ? 'labelsTr' : existsSync(join(root, 'labels')) && !existsSync(join(root, 'masks')) ? 'labels' : 'masks';
    return join(root, folder, `${image.id}.png`);
  }
}
