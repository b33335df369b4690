/**
 * The Train tab: train from scratch or fine-tune the model in use for a time budget, live
 * progress (loss, validation Dice, time left) from the server's events, cancel, and the
 * before/after figures on the validation images when done.
 */
import { type Comparison, type TrainStatus, api, urls } from './api.js';
import { byId, formatNumber, formatSeconds, guarded, h } from './ui.js';

export class TrainPanel {
  /** @param hasModel whether there is a model to fine-tune */
  constructor(private readonly hasModel: () => boolean) {
    const start = (mode: 'train' | 'finetune') => void guarded(async () => {
      const status = await api.train(mode, Number(byId<HTMLInputElement>('train-minutes').value));
      this.show(status);
    });
    byId('train-finetune').addEventListener('click', () => start('finetune'));
    byId('train-scratch').addEventListener('click', () => start('train'));
    byId('train-cancel').addEventListener('click', () => void guarded(async () => this.show(await api.cancelTraining())));
  }

  show(status: TrainStatus): void {
    const running = status.state === 'running' || status.state === 'cancelling';
    byId<HTMLButtonElement>('train-finetune').disabled = running || !this.hasModel();
    byId<HTMLButtonElement>('train-scratch').disabled = running;
    byId('train-cancel').hidden = !running;
    byId<HTMLButtonElement>('train-cancel').disabled = status.state === 'cancelling';
    const progress = byId<HTMLProgressElement>('train-progress');
    const budget = (status.minutes ?? 0) * 60;
    progress.value = status.state === 'done' ? 1 : budget > 0 ? Math.min(1, (status.elapsedSeconds ?? 0) / budget) : 0;
    const last = status.epochs[status.epochs.length - 1];
    const parts: string[] = [];
    if (status.state === 'idle') parts.push('No training yet.');
    else {
      parts.push(`${status.state}${status.mode ? ` (${status.mode === 'finetune' ? 'fine-tune' : 'from scratch'})` : ''}`);
      if (status.step) parts.push(`step ${status.step}`);
      if (last) parts.push(`epoch ${last.epoch}`, `loss ${formatNumber(last.train.loss)}`);
      if (last?.val) parts.push(`val Dice ${formatNumber(last.val.dice)}`);
      if (running && status.etaSeconds !== undefined) parts.push(`ETA ${formatSeconds(status.etaSeconds)}`);
    }
    const text = byId('train-status');
    text.textContent = parts.join(' · ');
    text.dataset.state = status.state;
    if (status.message && !running) text.textContent += ` — ${status.message}`;
    byId('train-log').textContent = status.log.join('\n');
  }

  showComparison(comparison: Comparison | undefined): void {
    const box = byId('comparison');
    if (!comparison) return box.replaceChildren();
    if (comparison.note) return box.replaceChildren(h('p', { class: 'muted', text: comparison.note }));
    const head = h('tr', {}, ...['image', 'Dice before → after', 'cells before → after (mask)', 'before', 'after'].map((t) => h('th', { text: t })));
    const rows = comparison.images.map((r) => h('tr', {},
      h('td', { text: r.image }),
      h('td', { text: `${formatNumber(r.diceBefore) || '–'} → ${formatNumber(r.diceAfter)}` }),
      h('td', { text: `${r.cellsBefore ?? '–'} → ${r.cellsAfter} (${r.cellsTrue})` }),
      h('td', {}, r.figureBefore ? h('img', { src: urls.figure(r.figureBefore), alt: `${r.image} before` }) : ''),
      h('td', {}, r.figureAfter ? h('img', { src: urls.figure(r.figureAfter), alt: `${r.image} after` }) : '')));
    box.replaceChildren(
      h('h4', { text: `Validation Dice ${formatNumber(comparison.diceBefore) || '–'} → ${formatNumber(comparison.diceAfter)}` }),
      h('table', { id: 'comparison-table' }, h('thead', {}, head), h('tbody', {}, ...rows)),
    );
  }
}
