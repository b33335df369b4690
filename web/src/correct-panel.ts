/**
 * The Correct tab: tools that edit the image's mask on the server (brush, eraser, fill, delete a
 * cell, draw a new cell, change a cell's class), undo and redo, and saving into the dataset.
 * Tools are entries of {@link TOOLS}: box and point annotations slot in here as more entries once
 * the library trains on them (issue 11).
 */
import { type AnnotationSummary, api } from './api.js';
import { byId, guarded, h, showMessage } from './ui.js';
import type { DrawTool, Point } from './viewer.js';

interface ToolSettings {
  radius: number;
  classIndex: number;
}

interface ToolSpec {
  label: string;
  title: string;
  gesture: DrawTool['gesture'];
  request(points: Point[], settings: ToolSettings): Record<string, unknown>;
}

export const TOOLS: Record<string, ToolSpec> = {
  brush: {
    label: 'Brush', title: 'paint the chosen class; starting inside a cell grows it, outside starts a new cell', gesture: 'stroke',
    request: (points, s) => ({ op: 'brush', points, radius: s.radius, classIndex: s.classIndex }),
  },
  erase: { label: 'Eraser', title: 'paint background', gesture: 'stroke', request: (points, s) => ({ op: 'erase', points, radius: s.radius }) },
  fill: {
    label: 'Fill', title: 'fill the closed outline under the click with a new cell', gesture: 'click',
    request: ([point], s) => ({ op: 'fill', point, classIndex: s.classIndex }),
  },
  polygon: {
    label: 'New cell', title: 'draw the outline of a new cell', gesture: 'lasso',
    request: (points, s) => ({ op: 'polygon', points, classIndex: s.classIndex }),
  },
  delete: { label: 'Delete cell', title: 'remove the cell under the click', gesture: 'click', request: ([point]) => ({ op: 'delete', point }) },
  setClass: {
    label: 'Set class', title: 'give the cell under the click the chosen class', gesture: 'click',
    request: ([point], s) => ({ op: 'setClass', point, classIndex: s.classIndex }),
  },
};

export class CorrectPanel {
  summary?: AnnotationSummary;
  private imageId?: string;
  private tool = 'brush';
  private active = false;
  private readonly brushSize = byId<HTMLInputElement>('brush-size');
  private readonly classSelect = byId<HTMLSelectElement>('class-select');

  constructor(
    /** Sets (or clears) the viewer's drawing tool. */
    private readonly setViewerTool: (tool: DrawTool | undefined) => void,
    /** Called when the annotation changed (the overlay must be redrawn). */
    private readonly onChange: (summary: AnnotationSummary) => void,
    /** Called after a save (the gallery shows the image has a mask). */
    private readonly onSaved: () => void,
  ) {
    byId('tools').replaceChildren(...Object.entries(TOOLS).map(([name, spec]) => {
      const button = h('button', { 'data-tool': name, title: spec.title, text: spec.label });
      button.addEventListener('click', () => this.choose(name));
      return button;
    }));
    this.brushSize.addEventListener('input', () => {
      byId('brush-size-value').textContent = this.brushSize.value;
      this.choose(this.tool);
    });
    byId('undo').addEventListener('click', () => void this.send({ op: 'undo' }));
    byId('redo').addEventListener('click', () => void this.send({ op: 'redo' }));
    byId('use-prediction').addEventListener('click', () => void this.send({ op: 'usePrediction' }));
    byId('save').addEventListener('click', () => void this.save());
    document.addEventListener('keydown', (event) => {
      if (!this.active || !(event.ctrlKey || event.metaKey) || event.key.toLowerCase() !== 'z') return;
      event.preventDefault();
      void this.send({ op: event.shiftKey ? 'redo' : 'undo' });
    });
  }

  setClasses(names: readonly string[]): void {
    const current = this.classSelect.value;
    this.classSelect.replaceChildren(...names.slice(1).map((name, k) => h('option', { value: k + 1, text: name })));
    if (current) this.classSelect.value = current;
  }

  /** Turns the tools on (Correct tab shown) or off; the annotation is read when first needed. */
  async activate(active: boolean): Promise<void> {
    this.active = active;
    this.choose(this.tool);
    if (active) await this.load();
  }

  /** Shows another image's annotation (read now if the tab is shown, else when it is). */
  async open(imageId: string | undefined): Promise<void> {
    this.imageId = imageId;
    this.summary = undefined;
    this.render();
    if (this.active) await this.load();
  }

  private async load(): Promise<void> {
    const imageId = this.imageId;
    if (!imageId || this.summary?.image === imageId) return;
    const summary = await guarded(() => api.annotation(imageId));
    if (summary && this.imageId === imageId) this.update(summary);
  }

  private choose(name: string): void {
    this.tool = name;
    for (const button of document.querySelectorAll<HTMLElement>('#tools button')) button.classList.toggle('active', button.dataset.tool === name);
    if (!this.active) return this.setViewerTool(undefined);
    const spec = TOOLS[name];
    this.setViewerTool({
      gesture: spec.gesture,
      radius: Number(this.brushSize.value),
      done: (points) => void this.send(spec.request(points, { radius: Number(this.brushSize.value), classIndex: Number(this.classSelect.value || 1) })),
    });
  }

  private async send(edit: Record<string, unknown>): Promise<void> {
    const id = this.imageId;
    if (!id) return;
    const summary = await guarded(() => api.edit(id, edit));
    if (summary && id === this.imageId) this.update(summary);
  }

  private async save(): Promise<void> {
    const id = this.imageId;
    if (!id) return;
    const saved = await guarded(() => api.save(id));
    if (!saved) return;
    showMessage(`saved ${saved.mask}${saved.original ? ` (the original is kept in ${saved.original})` : ''}`, 'info');
    if (id === this.imageId) this.update(saved.summary);
    this.onSaved();
  }

  private update(summary: AnnotationSummary): void {
    this.summary = summary;
    this.render();
    this.onChange(summary);
  }

  private render(): void {
    const s = this.summary;
    byId<HTMLButtonElement>('undo').disabled = !s?.canUndo;
    byId<HTMLButtonElement>('redo').disabled = !s?.canRedo;
    byId<HTMLButtonElement>('save').disabled = !s;
    byId('annotation-status').textContent = !s ? ''
      : `${s.cells} cells in the ${s.hasMask ? 'mask' : 'new mask'}${s.dirty ? ' — not saved' : s.hasMask ? ' — saved' : ''}`;
  }
}
