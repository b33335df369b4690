/**
 * The deep-zoom viewer: OpenSeadragon showing an image's tile pyramid and, above it, an overlay
 * layer whose tiles the server draws from the labels. Drawing tools take over mouse drags; a
 * preview of the stroke is drawn on a canvas until the server has applied it.
 */
import OpenSeadragon from 'openseadragon';
import { type GalleryEntry, urls } from './api.js';

export type Point = [number, number];

/** How a drawing tool uses the mouse: a drag of a round brush, a freehand outline, or a click. */
export interface DrawTool {
  gesture: 'stroke' | 'lasso' | 'click';
  /** Brush radius in image pixels (stroke). */
  radius?: number;
  /** Receives the image points of the gesture. */
  done(points: Point[]): void;
}

function tileSource(entry: GalleryEntry, url: (level: number, x: number, y: number) => string): object {
  return {
    width: entry.width, height: entry.height, tileSize: entry.tileSize, tileOverlap: 0, minLevel: 0, maxLevel: entry.maxLevel,
    getTileUrl: url,
  };
}

export class ImageViewer {
  readonly viewer: OpenSeadragon.Viewer;
  private entry?: GalleryEntry;
  private overlay?: OpenSeadragon.TiledImage;
  private overlayQuery?: string;
  private opacity = 0.8;
  private highlightElement = document.createElement('div');
  private tool?: DrawTool;
  private points: Point[] = [];
  private screenPoints: Point[] = [];
  /** Called with image coordinates when the user clicks without a drawing tool. */
  onClick?: (x: number, y: number) => void;

  constructor(element: HTMLElement, private readonly sketch: HTMLCanvasElement) {
    this.viewer = OpenSeadragon({
      element, drawer: 'canvas', showNavigationControl: false, showNavigator: true, navigatorPosition: 'BOTTOM_RIGHT',
      imageSmoothingEnabled: false, maxZoomPixelRatio: 16, visibilityRatio: 0.5, animationTime: 0.4, crossOriginPolicy: false,
      gestureSettingsMouse: { clickToZoom: false, dblClickToZoom: true },
    } as OpenSeadragon.Options);
    this.highlightElement.className = 'cell-highlight';
    this.viewer.addHandler('canvas-click', (e) => {
      const event = e as OpenSeadragon.CanvasClickEvent;
      if (!event.quick) return;
      const point = this.imagePoint(event.position);
      if (!point) return;
      if (this.tool?.gesture === 'click') {
        event.preventDefaultAction = true;
        this.tool.done([point]);
      } else if (!this.tool) this.onClick?.(point[0], point[1]);
    });
    this.viewer.addHandler('canvas-press', (e) => {
      if (!this.tool || this.tool.gesture === 'click') return;
      const position = (e as OpenSeadragon.CanvasPressEvent).position;
      const point = this.imagePoint(position);
      this.points = point ? [point] : [];
      this.screenPoints = [[position.x, position.y]];
      this.drawSketch();
    });
    this.viewer.addHandler('canvas-drag', (e) => {
      const event = e as OpenSeadragon.CanvasDragEvent;
      if (!this.tool || this.tool.gesture === 'click') return;
      event.preventDefaultAction = true;
      const point = this.imagePoint(event.position);
      if (point) this.points.push(point);
      this.screenPoints.push([event.position.x, event.position.y]);
      this.drawSketch();
    });
    this.viewer.addHandler('canvas-release', () => {
      if (!this.tool || this.tool.gesture === 'click' || this.points.length === 0) return;
      const points = this.points;
      this.points = [];
      this.tool.done(points);
    });
    new ResizeObserver(() => this.resizeSketch()).observe(element);
  }

  private imagePoint(position: OpenSeadragon.Point): Point | undefined {
    const image = this.viewer.world.getItemAt(0);
    if (!image) return undefined;
    const p = image.viewerElementToImageCoordinates(position);
    return [Math.round(p.x * 10) / 10, Math.round(p.y * 10) / 10];
  }

  /** Image pixels per screen pixel at the current zoom. */
  private screenScale(): number {
    const image = this.viewer.world.getItemAt(0);
    if (!image) return 1;
    const a = image.imageToViewerElementCoordinates(new OpenSeadragon.Point(0, 0));
    const b = image.imageToViewerElementCoordinates(new OpenSeadragon.Point(100, 0));
    return (b.x - a.x) / 100;
  }

  private resizeSketch(): void {
    this.sketch.width = this.sketch.clientWidth;
    this.sketch.height = this.sketch.clientHeight;
  }

  private drawSketch(): void {
    const context = this.sketch.getContext('2d')!;
    context.clearRect(0, 0, this.sketch.width, this.sketch.height);
    if (!this.tool || this.screenPoints.length === 0) return;
    context.strokeStyle = 'rgba(34, 211, 238, 0.7)';
    context.fillStyle = 'rgba(34, 211, 238, 0.25)';
    context.lineCap = 'round';
    context.lineJoin = 'round';
    context.lineWidth = this.tool.gesture === 'stroke' ? Math.max(1, 2 * (this.tool.radius ?? 1) * this.screenScale()) : 2;
    context.beginPath();
    this.screenPoints.forEach(([x, y], i) => (i === 0 ? context.moveTo(x, y) : context.lineTo(x, y)));
    if (this.screenPoints.length === 1) context.lineTo(this.screenPoints[0][0] + 0.01, this.screenPoints[0][1]);
    if (this.tool.gesture === 'lasso') {
      context.closePath();
      context.fill();
    }
    context.stroke();
  }

  /** Clears the stroke preview (once the server's overlay shows the result). */
  clearSketch(): void {
    this.screenPoints = [];
    this.drawSketch();
  }

  /** Shows an image; the overlay is set separately. */
  open(entry: GalleryEntry): void {
    this.entry = entry;
    this.overlay = undefined;
    this.overlayQuery = undefined;
    this.viewer.clearOverlays();
    this.viewer.open({ tileSource: tileSource(entry, (level, x, y) => urls.tile(entry.id, level, x, y)) });
  }

  /**
   * Shows the overlay drawn with `query` (source, layers, version), or none. The new layer is
   * added above the old one, which is removed once the new tiles are in (no flicker).
   */
  setOverlay(query: string | undefined): void {
    const entry = this.entry;
    if (!entry || query === this.overlayQuery) return;
    this.overlayQuery = query;
    const old = this.overlay;
    if (query === undefined) {
      if (old) this.viewer.world.removeItem(old);
      this.overlay = undefined;
      return;
    }
    this.viewer.addTiledImage({
      tileSource: tileSource(entry, (level, x, y) => urls.overlay(entry.id, level, x, y, query)),
      opacity: this.opacity,
      success: (event) => {
        const item = (event as unknown as { item: OpenSeadragon.TiledImage }).item;
        if (this.overlayQuery !== query || this.entry !== entry) {
          this.viewer.world.removeItem(item);
          return;
        }
        this.overlay = item;
        let removed = false;
        const removeOld = () => {
          if (removed || !old) return;
          removed = true;
          if (this.viewer.world.getIndexOfItem(old) >= 0) this.viewer.world.removeItem(old);
          this.clearSketch();
        };
        if (!old) this.clearSketch();
        item.addOnceHandler('fully-loaded-change', removeOld);
        setTimeout(removeOld, 1500);
      },
    });
  }

  setOpacity(opacity: number): void {
    this.opacity = opacity;
    this.overlay?.setOpacity(opacity);
  }

  /** Outlines a box of image pixels `[x0, y0, x1, y1)`; `focus` also zooms to it. */
  highlight(box: [number, number, number, number] | undefined, focus = false): void {
    const image = this.viewer.world.getItemAt(0);
    this.viewer.removeOverlay(this.highlightElement);
    if (!box || !image) return;
    const [x0, y0, x1, y1] = box;
    const rect = image.imageToViewportRectangle(x0 - 2, y0 - 2, x1 - x0 + 4, y1 - y0 + 4);
    this.viewer.addOverlay(this.highlightElement, rect);
    if (focus) {
      const side = Math.max(rect.width, rect.height) * 4;
      const center = rect.getCenter();
      this.viewer.viewport.fitBounds(new OpenSeadragon.Rect(center.x - side / 2, center.y - side / 2, side, side));
    }
  }

  setTool(tool: DrawTool | undefined): void {
    this.tool = tool;
    this.points = [];
    this.clearSketch();
  }
}
