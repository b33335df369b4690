/**
 * An error the user can act on: bad input, a missing file, an unknown option. The CLI prints
 * its message as one line (no stack trace) and exits non-zero. Messages name the file and the
 * problem, and where possible say what to do, e.g.
 * `masks/017.png is 300×298 but images/017.bmp is 300×300`.
 */
export class PyocyteError extends Error {
  /** The file the problem is about, when there is one. */
  readonly file?: string;
  constructor(message: string, options: { file?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PyocyteError';
    this.file = options.file;
  }
}

/** Throws a {@link PyocyteError}. Handy in expressions: `x ?? fail('...')`. */
export function fail(message: string, options?: { file?: string; cause?: unknown }): never {
  throw new PyocyteError(message, options);
}

/** Several problems found at once (e.g. every unpaired file in a dataset), reported together. */
export class PyocyteErrors extends PyocyteError {
  readonly problems: readonly string[];
  constructor(summary: string, problems: readonly string[]) {
    super(`${summary}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'PyocyteErrors';
    this.problems = problems;
  }
}
