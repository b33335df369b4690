/**
 * A progress display for long jobs (training, prediction over a folder). On a terminal it
 * redraws one line: `train ▕██████▍    ▏ 42% epoch 3/40 loss 0.213 ETA 3m12s`. When stderr is
 * a log file or CI console it prints a plain line at most every `intervalMs`, so a 10-hour run
 * leaves a readable log instead of megabytes of carriage returns.
 *
 * The bar is cli-progress's: its GenericBar keeps the value, total and start and renders through
 * our formatter onto a terminal adapter. Its SingleBar is not used, because it redraws from its own
 * wall-clock timer. Measured by replaying tests/util/progress.test.ts's scenarios under node:test's
 * mock timers: 100 updates 10 ms apart at 10 fps give 11 redraws where the contract is 10, and the
 * non-TTY line at 10 s reads `9%` (value 36, the state at the timer's tick) where the update said
 * 10 % (value 40); its timer is also ref'd, so a job that throws before `done()` never exits. Redraws are therefore throttled here on
 * the injected clock, and the ETA is the smoothed {@link RateEstimator} (cli-progress's ETA is a
 * plain average over the last ten updates, and reads `Date.now` itself).
 */
import cliProgress from 'cli-progress';

/** Where progress goes; `process.stderr` in practice, a collecting fake in tests. */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** Options of {@link createProgress}. */
export interface ProgressOptions {
  /** The number of steps when complete. */
  total: number;
  /** Steps already done when the display starts (a resumed run), so they don't inflate the rate. Default 0. */
  initialDone?: number;
  /** Printed first on every line, e.g. 'train'. Default ''. */
  label?: string;
  /** Default `process.stderr`. */
  stream?: ProgressStream;
  /** Redraw one line in place (true) or print plain lines (false). Default `stream.isTTY`. */
  tty?: boolean;
  /** Minimum time between plain lines when not a TTY. Default 10 000 ms. */
  intervalMs?: number;
  /** Minimum time between redraws on a TTY. Default 100 ms. */
  redrawMs?: number;
  /** Width to truncate TTY lines to when the stream does not know its columns. Default 80. */
  columns?: number;
  /** Clock in milliseconds; injectable for tests. Default `Date.now`. */
  now?: () => number;
}

/** A running progress display. */
export interface Progress {
  /** Reports `done` of `total` steps and the fields to show, e.g. `{ epoch: '3/40', loss: 0.213 }`. */
  update(done: number, fields?: Record<string, string | number>): void;
  /** Changes the number of steps when complete (a re-planned run). */
  setTotal(total: number): void;
  /** Prints a line (e.g. an epoch summary) above the bar without breaking it. */
  log(line: string): void;
  /** Draws the final state, ends the bar line and prints `finalLine` when given. */
  done(finalLine?: string): void;
}

const PARTIAL_BLOCKS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];

/** A bar of exactly `width` cells filled to `fraction` (0..1) with eighth-block precision. */
export function formatBar(fraction: number, width: number): string {
  const clamped = Number.isFinite(fraction) ? Math.min(1, Math.max(0, fraction)) : 0;
  const eighths = Math.floor(clamped * width * 8 + 1e-9);
  const full = Math.floor(eighths / 8);
  const partial = full < width ? PARTIAL_BLOCKS[eighths % 8] : '';
  return ('█'.repeat(full) + partial).padEnd(width, ' ');
}

/** A short duration: '45s', '3m12s', '1h02m', '2d03h'; '?' when unknown. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  const two = (n: number): string => String(n).padStart(2, '0');
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${two(s % 60)}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${two(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86400)}d${two(Math.floor((s % 86400) / 3600))}h`;
}

/** A field value: integers as they are, other numbers to 3 significant digits. */
export function formatFieldValue(value: string | number): string {
  if (typeof value === 'string') return value;
  if (Number.isInteger(value)) return String(value);
  if (!Number.isFinite(value)) return String(value);
  const magnitude = Math.abs(value);
  return magnitude !== 0 && (magnitude < 1e-3 || magnitude >= 1e5) ? value.toExponential(2) : String(Number(value.toPrecision(3)));
}

/** 'epoch 3/40 loss 0.213' from `{ epoch: '3/40', loss: 0.2131 }`. */
export function formatFields(fields: Record<string, string | number>): string {
  return Object.entries(fields)
    .map(([key, value]) => `${key} ${formatFieldValue(value)}`)
    .join(' ');
}

/**
 * Estimates steps per second from (time, done) samples: an exponential moving average of the
 * rate over windows of at least `windowSeconds`, so one slow validation pass or a fast cached
 * epoch moves the ETA gradually instead of making it jump.
 */
export class RateEstimator {
  private rate: number | undefined;
  private windowStart: { seconds: number; done: number } | undefined;
  private first: { seconds: number; done: number } | undefined;

  constructor(
    private readonly smoothing = 0.3,
    private readonly windowSeconds = 2,
  ) {}

  /** Adds a sample: `done` steps completed at time `seconds`. */
  add(seconds: number, done: number): void {
    if (this.first === undefined || this.windowStart === undefined) {
      this.first = this.windowStart = { seconds, done };
      return;
    }
    const elapsed = seconds - this.windowStart.seconds;
    if (elapsed < this.windowSeconds) return;
    const instant = (done - this.windowStart.done) / elapsed;
    this.rate = this.rate === undefined ? instant : this.rate + this.smoothing * (instant - this.rate);
    this.windowStart = { seconds, done };
  }

  /** Steps per second, or undefined before any time has passed. */
  stepsPerSecond(seconds: number, done: number): number | undefined {
    if (this.rate !== undefined) return this.rate;
    if (this.first === undefined || seconds <= this.first.seconds) return undefined;
    return (done - this.first.done) / (seconds - this.first.seconds);
  }
}

/** Cuts a line to `columns` characters (code points), so the terminal never wraps it. */
function truncate(line: string, columns: number): string {
  const chars = [...line];
  return chars.length <= columns ? line : `${chars.slice(0, Math.max(0, columns - 1)).join('')}…`;
}

// cli-progress exports only SingleBar, whose base GenericBar (state and rendering, no timer) its typings declare.
const GenericBar = Object.getPrototypeOf(cliProgress.SingleBar) as typeof cliProgress.GenericBar;

/**
 * The terminal interface cli-progress renders through (cursor to column 0, write, clear to the
 * right), over a {@link ProgressStream}: each redraw is one write, `\r…\x1b[K` on a TTY and a
 * whole line otherwise, so no other output can land inside a half-drawn bar.
 */
class LineTerminal {
  private pending = '';
  constructor(
    private readonly stream: ProgressStream,
    private readonly tty: boolean,
    private readonly columns: number,
  ) {}
  isTTY(): boolean {
    return this.tty;
  }
  getWidth(): number {
    return this.stream.columns ?? this.columns;
  }
  cursorTo(): void {
    this.pending = this.tty ? '\r' : '';
  }
  write(text: string): void {
    this.pending += this.tty ? truncate(text, this.getWidth()) : text;
  }
  clearRight(): void {
    this.stream.write(`${this.pending}${this.tty ? '\x1b[K' : '\n'}`);
    this.pending = '';
  }
}

/** Starts a progress display; see {@link ProgressOptions}. */
export function createProgress(options: ProgressOptions): Progress {
  const {
    initialDone = 0,
    label = '',
    stream = process.stderr,
    tty = stream.isTTY === true,
    intervalMs = 10_000,
    redrawMs = 100,
    columns = 80,
    now = Date.now,
  } = options;
  const startMs = now();
  const rate = new RateEstimator();
  rate.add(startMs / 1000, initialDone);
  let fields: Record<string, string | number> = {};
  let final = false;
  let lastWriteMs = -Infinity;
  let barVisible = false;
  let finished = false;

  const format = (_options: unknown, params: cliProgress.Params): string => {
    const nowMs = now();
    const parts = [label];
    if (tty) parts.push(`▕${formatBar(params.progress, 20)}▏`);
    parts.push(`${Math.floor(params.progress * 100)}%`, formatFields(fields));
    if (final || params.value >= params.total) {
      parts.push(`in ${formatDuration((nowMs - startMs) / 1000)}`);
    } else {
      const stepsPerSecond = rate.stepsPerSecond(nowMs / 1000, params.value);
      parts.push(`ETA ${stepsPerSecond ? formatDuration((params.total - params.value) / stepsPerSecond) : '?'}`);
    }
    return parts.filter((p) => p !== '').join(' ');
  };
  const terminal = new LineTerminal(stream, tty, columns);
  // GenericBar takes options already completed by SingleBar's constructor: these are all it reads.
  const barOptions = {
    format,
    terminal,
    forceRedraw: true,
    emptyOnZero: true,
    barsize: 20,
    barCompleteChar: '█',
    barIncompleteChar: ' ',
    etaBufferLength: 10,
  };
  const bar = new GenericBar(barOptions as cliProgress.Options);
  bar.start(options.total, initialDone);

  const draw = (): void => {
    bar.render();
    barVisible = tty;
    lastWriteMs = now();
  };

  return {
    update(newDone, newFields) {
      if (finished) return;
      const done = Math.min(Math.max(0, newDone), bar.getTotal());
      if (newFields !== undefined) fields = newFields;
      bar.update(done);
      rate.add(now() / 1000, done);
      if (now() - lastWriteMs >= (tty ? redrawMs : intervalMs)) draw();
    },
    setTotal(newTotal) {
      bar.setTotal(newTotal);
    },
    log(line) {
      if (tty && barVisible) {
        stream.write(`\r\x1b[K${line}\n`);
        draw();
      } else {
        stream.write(`${line}\n`);
      }
    },
    done(finalLine) {
      if (finished) return;
      finished = true;
      final = true;
      draw();
      bar.stop();
      if (tty) stream.write('\n');
      if (finalLine !== undefined) stream.write(`${finalLine}\n`);
    },
  };
}
