/**
 * The Count tab: counts per class, threshold and minimum-size sliders (re-segmenting on the
 * server at once), downloads, and the sortable cell table linked with the viewer.
 */
import { type CellRow, type PredictionResult, api, urls } from './api.js';
import { byId, formatNumber, guarded, h } from './ui.js';

type SortKey = 'id' | 'className' | 'areaPx' | 'equivalentDiameterPx' | 'circularity' | 'score';

export class CountPanel {
  result?: PredictionResult;
  private imageId?: string;
  private sort: { key: SortKey; descending: boolean } = { key: 'id', descending: false };
  private selected?: number;
  private readonly threshold = byId<HTMLInputElement>('threshold');
  private readonly minSize = byId<HTMLInputElement>('min-size');
  private pending?: ReturnType<typeof setTimeout>;
  /**
   * The sliders moved since the last re-segmentation. Only their values are sent: a range input
   * rounds to its step, so resending the other one would quietly move the model's tuned threshold
   * (0.575 shown on a 0.01 grid becomes 0.58) when only the size changed.
   */
  private readonly moved = new Set<'threshold' | 'minSizePx'>();

  constructor(
    /** Called with a new result (the overlay must be redrawn). */
    private readonly onResult: (result: PredictionResult) => void,
    /** Called when a row is clicked: find the cell in the viewer. */
    private readonly onSelect: (cell: CellRow) => void,
  ) {
    for (const th of document.querySelectorAll<HTMLElement>('#cells th')) {
      th.addEventListener('click', () => {
        const key = th.dataset.key as SortKey;
        this.sort = { key, descending: this.sort.key === key ? !this.sort.descending : key !== 'id' && key !== 'className' };
        this.renderTable();
      });
    }
    const resegment = (slider: 'threshold' | 'minSizePx') => () => {
      byId('threshold-value').textContent = this.threshold.value;
      byId('min-size-value').textContent = this.minSize.value;
      this.moved.add(slider);
      clearTimeout(this.pending);
      this.pending = setTimeout(() => void this.resegment(), 60);
    };
    this.threshold.addEventListener('input', resegment('threshold'));
    this.minSize.addEventListener('input', resegment('minSizePx'));
  }

  private async resegment(): Promise<void> {
    const id = this.imageId;
    if (!id || !this.result) return;
    const params = {
      ...(this.moved.has('threshold') ? { threshold: Number(this.threshold.value) } : {}),
      ...(this.moved.has('minSizePx') ? { minSizePx: Number(this.minSize.value) } : {}),
    };
    this.moved.clear();
    const result = await guarded(() => api.predict(id, params));
    if (result && id === this.imageId) this.show(result);
  }

  /** Clears the panel for another image. */
  reset(imageId: string | undefined, binary: boolean): void {
    this.imageId = imageId;
    this.result = undefined;
    this.moved.clear();
    this.selected = undefined;
    this.threshold.disabled = !binary;
    this.threshold.title = binary ? '' : 'multi-class models take the most probable class';
    byId('counts').replaceChildren(h('span', { class: 'muted', text: imageId ? 'Not predicted yet: press Predict.' : '' }));
    byId('downloads').replaceChildren();
    byId('cells').querySelector('tbody')!.replaceChildren();
  }

  show(result: PredictionResult): void {
    if (result.image !== this.imageId) return;
    this.result = result;
    this.threshold.value = String(result.params.threshold);
    this.minSize.value = String(result.params.minSizePx);
    byId('threshold-value').textContent = result.params.threshold.toFixed(2);
    byId('min-size-value').textContent = String(result.params.minSizePx);
    const perClass = Object.entries(result.counts).map(([name, n]) => h('div', {}, `${name}: `, h('b', { text: n })));
    byId('counts').replaceChildren(h('div', {}, h('span', { id: 'total-count', class: 'total', text: result.total }), ' cells'), ...perClass);
    const id = result.image;
    byId('downloads').replaceChildren(...['mask.png', 'instances.png', 'overlay.png', 'cells.csv'].map((kind) =>
      h('a', { href: urls.download(id, kind), download: '', text: kind })), h('a', { href: '/api/summary.csv', download: '', text: 'summary.csv' }));
    this.renderTable();
    this.onResult(result);
  }

  private renderTable(): void {
    const { key, descending } = this.sort;
    for (const th of document.querySelectorAll<HTMLElement>('#cells th')) {
      th.classList.toggle('sorted-asc', th.dataset.key === key && !descending);
      th.classList.toggle('sorted-desc', th.dataset.key === key && descending);
    }
    const cells = [...(this.result?.cells ?? [])].sort((a, b) => {
      const order = a[key] < b[key] ? -1 : a[key] > b[key] ? 1 : 0;
      return descending ? -order : order;
    });
    const rows = cells.map((cell) => {
      const row = h('tr', { 'data-id': cell.id, class: cell.id === this.selected ? 'selected' : undefined },
        h('td', { text: cell.id }), h('td', { text: cell.className }), h('td', { text: cell.areaPx }),
        h('td', { text: formatNumber(cell.equivalentDiameterPx) }), h('td', { text: formatNumber(cell.circularity) }), h('td', { text: formatNumber(cell.score) }));
      row.addEventListener('click', () => {
        this.select(cell.id);
        this.onSelect(cell);
      });
      return row;
    });
    byId('cells').querySelector('tbody')!.replaceChildren(...rows);
  }

  /** Marks a cell's row (0 clears) and scrolls it into view; returns the cell. */
  select(id: number): CellRow | undefined {
    this.selected = id || undefined;
    let found: CellRow | undefined;
    for (const row of document.querySelectorAll<HTMLElement>('#cells tbody tr')) {
      const match = Number(row.dataset.id) === id;
      row.classList.toggle('selected', match);
      if (match) row.scrollIntoView({ block: 'nearest' });
    }
    if (id) found = this.result?.cells.find((c) => c.id === id);
    return found;
  }
}
