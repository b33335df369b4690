/**
 * Long jobs of `pyocyte serve` and their live progress: predicting the whole gallery, and training
 * in a child process (`train-child.ts`) with cancel = abort (the run saves its checkpoint), then
 * kill. Progress goes to every open page as server-sent events.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServerResponse } from 'node:http';
import type { TrainOptions } from '../../train/options.js';
import type { EpochEntry, TrainStatus } from './api-types.js';
import { HttpError } from './security.js';
import type { ChildMessage } from './train-child.js';
import type { Predictions } from './predictions.js';
import type { Workspace } from './workspace.js';

/** Server-sent events to every open page. */
export class EventHub {
  private clients = new Set<ServerResponse>();

  /** Starts an event stream on a raw response; it ends when the page goes away. */
  add(response: ServerResponse): void {
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    response.write(': pyocyte\n\n');
    this.clients.add(response);
    response.on('close', () => this.clients.delete(response));
  }

  emit(type: string, data: unknown): void {
    const text = `event: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const client of this.clients) client.write(text);
  }

  close(): void {
    for (const client of this.clients) client.end();
    this.clients.clear();
  }
}

/** Predicts every gallery image in turn, posting `predict-progress` events; cancel stops between images. */
export class PredictAllJob {
  running = false;
  private cancelled = false;

  constructor(
    private readonly workspace: Workspace,
    private readonly predictions: Predictions,
    private readonly events: EventHub,
  ) {}

  start(): { total: number } {
    if (this.running) throw new HttpError(409, 'the gallery is already being predicted');
    const ids = [...this.workspace.images.keys()];
    this.running = true;
    this.cancelled = false;
    void (async () => {
      const failed: string[] = [];
      for (const [k, id] of ids.entries()) {
        if (this.cancelled) break;
        try {
          const result = await this.predictions.predict(id);
          this.events.emit('predict-progress', { done: k + 1, total: ids.length, image: id, cells: result.total, counts: result.counts });
        } catch (error) {
          failed.push(`${id}: ${(error as Error).message}`);
          this.events.emit('predict-progress', { done: k + 1, total: ids.length, image: id, error: (error as Error).message });
        }
      }
      this.running = false;
      this.events.emit('predict-done', { cancelled: this.cancelled, failed });
    })();
    return { total: ids.length };
  }

  cancel(): void {
    this.cancelled = true;
  }
}

const KILL_AFTER_MS = 15_000;

/** The training module to fork: compiled JavaScript beside this file, else its TypeScript source (run through tsx). */
function childModule(): { path: string; execArgv: string[] } {
  const js = fileURLToPath(new URL('./train-child.js', import.meta.url));
  if (existsSync(js)) return { path: js, execArgv: [] };
  return { path: fileURLToPath(new URL('./train-child.ts', import.meta.url)), execArgv: ['--import', 'tsx'] };
}

export class TrainingJob {
  status: TrainStatus = { state: 'idle', epochs: [], log: [] };
  private child?: ChildProcess;
  private startedAt = 0;
  /** The child has sent its result (done or error): its exit is expected. */
  private answered = false;

  constructor(
    private readonly workspace: Workspace,
    private readonly events: EventHub,
    /** Called with the new run folder when training ends with a model; resolves to figures for the page. */
    private readonly onModel: (runDir: string) => Promise<unknown>,
  ) {}

  get running(): boolean {
    return this.status.state === 'running' || this.status.state === 'cancelling';
  }

  /**
   * Starts training for `minutes` in a child process: from scratch, or fine-tuning the model in
   * use (its architecture and weights). The run goes to RUNS/<mode>-<date>.
   */
  async start(mode: 'train' | 'finetune', minutes: number): Promise<TrainStatus> {
    if (this.running) throw new HttpError(409, 'a training run is already going; cancel it first');
    if (!(minutes > 0 && minutes <= 24 * 60))
      throw new HttpError(400, `the time budget must be between 0 and 1440 minutes, got ${minutes}`);
    const { options } = this.workspace;
    const stamp = new Date().toISOString().replace(/[:.]/g, '-').replace('T', '_').slice(0, 19);
    const run = join(options.runs, `${mode}-${stamp}`);
    const trainOptions: TrainOptions = {
      ...options.train,
      data: options.data,
      out: run,
      minutes,
      epochs: undefined,
      engine: options.engine,
      threads: options.threads,
    };
    if (mode === 'finetune') {
      if (!this.workspace.slot.path) throw new HttpError(409, 'there is no model to fine-tune; train one first');
      Object.assign(trainOptions, await this.workspace.modelArchitecture(), { initialWeights: this.workspace.slot.path });
    }
    const { path, execArgv } = childModule();
    const child = fork(path, [], { execArgv, stdio: ['ignore', 'inherit', 'pipe', 'ipc'] });
    this.child = child;
    this.answered = false;
    this.startedAt = Date.now();
    this.status = { state: 'running', mode, run, minutes, step: 0, epochs: [], log: [], elapsedSeconds: 0, etaSeconds: minutes * 60 };
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
    child.on('message', (message: ChildMessage) => void this.onMessage(message));
    child.on('exit', (code, signal) => {
      this.child = undefined;
      if (!this.running || this.answered) return;
      const cancelled = this.status.state === 'cancelling';
      const reason = signal ? `was stopped by ${signal}` : `exited with code ${code}`;
      this.finish(
        cancelled ? 'cancelled' : 'failed',
        cancelled ? 'training cancelled' : `the training process ${reason}: ${lastLine(stderr)}`,
      );
    });
    child.send({ type: 'start', options: trainOptions });
    this.emit();
    return this.status;
  }

  /** Asks the run to stop after its current step (it saves a resumable checkpoint), then kills it. */
  cancel(): TrainStatus {
    const child = this.child;
    if (!child || this.status.state !== 'running') throw new HttpError(409, 'no training run is going');
    this.status.state = 'cancelling';
    child.send({ type: 'abort' });
    setTimeout(() => {
      if (this.child === child) child.kill('SIGKILL');
    }, KILL_AFTER_MS).unref();
    this.emit();
    return this.status;
  }

  /** Kills a running child at once (the server is closing). */
  kill(): void {
    this.child?.kill('SIGKILL');
  }

  private async onMessage(message: ChildMessage): Promise<void> {
    const s = this.status;
    const elapsed = (Date.now() - this.startedAt) / 1000;
    s.elapsedSeconds = elapsed;
    s.etaSeconds = Math.max(0, (s.minutes ?? 0) * 60 - elapsed);
    if (message.type === 'step') s.step = message.step;
    else if (message.type === 'epoch') s.epochs.push(message.entry as unknown as EpochEntry);
    else if (message.type === 'log') s.log = [...s.log, message.line].slice(-50);
    else if (message.type === 'error') {
      this.answered = true;
      return this.finish('failed', message.message);
    } else if (message.type === 'done') {
      this.answered = true;
      s.result = message.result;
      if (message.result.interrupted)
        return this.finish(
          'cancelled',
          `training cancelled after ${message.result.steps} steps; resume with pyocyte train --resume ${message.result.runDir}`,
        );
      s.log = [...s.log, 'loading the new model and comparing it on the validation images'];
      this.emit();
      try {
        const figures = await this.onModel(message.result.runDir);
        this.events.emit('train-compare', figures);
        return this.finish('done', `model trained: ${message.result.runDir}`);
      } catch (error) {
        return this.finish('failed', (error as Error).message);
      }
    }
    this.emit();
  }

  private finish(state: TrainStatus['state'], message: string): void {
    if (!this.running) return;
    Object.assign(this.status, { state, message, etaSeconds: 0 });
    this.emit();
  }

  private emit(): void {
    this.events.emit('train', this.status);
  }
}

function lastLine(text: string): string {
  return (
    text
      .trim()
      .split('\n')
      .filter((l) => l.trim().length > 0)
      .pop() ?? 'no message'
  );
}
