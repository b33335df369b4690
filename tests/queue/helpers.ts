/**
 * Fixtures of the queue tests (and bench/scale.ts): a real redis-server on a free loopback port in
 * a temp folder, `pyocyte worker` processes, and `pyocyte predict --queue` run in the background.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { hostname } from 'node:os';
import { REPO_ROOT, type CliResult } from '../cli/helpers.js';

/** Whether redis-server can be started here, and why not. */
export function redisAvailability(): { available: boolean; reason?: string } {
  const r = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (r.status === 0) return { available: true };
  return {
    available: false,
    reason:
      'redis-server is not installed and `npm test` could not install it (apt-get install redis-server needs root or password-less sudo)',
  };
}

/** A free TCP port on 127.0.0.1. */
async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

/** A redis-server of a test: no persistence, so a restart comes back empty (jobs lost with it). */
export class RedisServer {
  private process: ChildProcess | undefined;
  private constructor(
    readonly dir: string,
    readonly port: number,
  ) {}

  /** Starts a server on a free port with `dir` as its working folder. */
  static async start(dir: string): Promise<RedisServer> {
    const server = new RedisServer(dir, await freePort());
    await server.restart();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts the server (again) and waits until it accepts connections. */
  async restart(): Promise<void> {
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--save', '', '--appendonly', 'no'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.process = child;
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Ready to accept connections')) resolve();
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${output}`)));
    });
    child.removeAllListeners('exit');
  }

  /** Stops the server (SIGTERM) and waits for it to exit. */
  async stop(): Promise<void> {
    const child = this.process;
    this.process = undefined;
    if (!child || child.exitCode !== null) return;
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
}

/** A `pyocyte worker` child process. */
export class WorkerProcess {
  output = '';
  private constructor(readonly child: ChildProcess) {
    child.stdout!.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
  }

  /**
   * Starts `pyocyte worker --queue URL ...args`; by default `--threads 1 --lock-seconds 3` (short
   * locks: a dead worker's job is taken over quickly).
   */
  static start(url: string, args: readonly string[] = ['--threads', '1', '--lock-seconds', '3']): WorkerProcess {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'worker', '--queue', url, ...args], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      env: { ...process.env, PYOCYTE_DEBUG: '' },
    });
    return new WorkerProcess(child);
  }

  /** The worker's name in BullMQ (`processedBy` of its jobs). */
  get name(): string {
    return `${hostname()}:${this.child.pid}`;
  }

  /** Waits until the worker has said it is listening. */
  async ready(): Promise<void> {
    while (!/^worker .* on redis/m.test(this.output)) {
      if (this.child.exitCode !== null) throw new Error(`worker exited with ${this.child.exitCode}:\n${this.output}`);
      await sleep(100);
    }
  }

  /** Whether any process of the worker's group (the worker and its sandbox children) is alive. */
  groupAlive(): boolean {
    try {
      process.kill(-this.child.pid!, 0);
      return true;
    } catch {
      return false;
    }
  }

  /** `kill -9` of the worker process (its sandbox children are left to notice on their own). */
  kill9(): void {
    this.child.kill('SIGKILL');
  }

  /** Stops the worker and its children, whatever they are doing. */
  async stop(): Promise<void> {
    if (this.groupAlive()) process.kill(-this.child.pid!, 'SIGKILL');
    while (this.groupAlive()) await sleep(50);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Runs `pyocyte ...args` in the background (the test acts while it runs); resolves when it exits. */
export function runCliAsync(args: readonly string[]): { done: Promise<CliResult>; child: ChildProcess } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<CliResult>((resolve) => {
    child.once('exit', (code) => {
      const last = stdout.trim().split('\n').pop() ?? '';
      let lastJson: Record<string, unknown> | undefined;
      try {
        lastJson = JSON.parse(last) as Record<string, unknown>;
      } catch {
        lastJson = undefined;
      }
      resolve({ code, stdout, stderr, lastJson });
    });
  });
  return { done, child };
}
