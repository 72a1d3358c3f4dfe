/**
 * Progress of a sweep: on a TTY a live block (log-update) with each running run's phase and the
 * time left; otherwise (pipes, CI=true) one plain line per event, so logs stay readable.
 */
import { createLogUpdate } from 'log-update';

export interface RunLabel {
  dir: string;
  index: number;
}

export interface ProgressSink {
  runStarted(run: RunLabel): void;
  runPhase(run: RunLabel, phase: string): void;
  runFinished(run: RunLabel, status: string, elapsedMs: number): void;
  log(line: string): void;
  close(): void;
}

export interface ProgressOptions {
  total: number;
  parallel: number;
  /** Expected length of one run (duration + setup), for the time-left estimate. */
  expectedRunMs: number;
  stream?: NodeJS.WriteStream;
  clock?: () => number;
}

/** "42s", "2m05s": whole seconds, for humans watching a sweep. */
export function secs(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  return total < 60 ? `${total}s` : `${Math.floor(total / 60)}m${String(total % 60).padStart(2, '0')}s`;
}

export function wantsLiveProgress(stream: NodeJS.WriteStream = process.stderr): boolean {
  return Boolean(stream.isTTY) && !process.env.CI;
}

export function createProgress(options: ProgressOptions): ProgressSink {
  return wantsLiveProgress(options.stream) ? new LiveProgress(options) : new LineProgress(options);
}

/** One line per event, prefixed with the sweep's elapsed time. */
export class LineProgress implements ProgressSink {
  private readonly start: number;
  private done = 0;
  constructor(private readonly options: ProgressOptions & { write?: (line: string) => void }) {
    this.start = (options.clock ?? Date.now)();
  }
  private write(line: string): void {
    const t = secs((this.options.clock ?? Date.now)() - this.start).padStart(5);
    (this.options.write ?? ((l: string) => (this.options.stream ?? process.stderr).write(`${l}\n`)))(`[${t}] ${line}`);
  }
  runStarted(run: RunLabel): void {
    this.write(`run ${run.index + 1}/${this.options.total} ${run.dir}: started`);
  }
  runPhase(run: RunLabel, phase: string): void {
    this.write(`run ${run.index + 1}/${this.options.total} ${run.dir}: ${phase}`);
  }
  runFinished(run: RunLabel, status: string, elapsedMs: number): void {
    this.done++;
    this.write(`run ${run.index + 1}/${this.options.total} ${run.dir}: ${status} in ${secs(elapsedMs)} (${this.done}/${this.options.total} done)`);
  }
  log(line: string): void {
    this.write(line);
  }
  close(): void {}
}

/** A redrawn block: one line per running run and a header with what is left. */
class LiveProgress implements ProgressSink {
  private readonly running = new Map<string, { run: RunLabel; phase: string; since: number }>();
  private readonly finished: string[] = [];
  private readonly start: number;
  private readonly timer: NodeJS.Timeout;
  private readonly update: ReturnType<typeof createLogUpdate>;

  constructor(private readonly options: ProgressOptions) {
    this.start = this.now();
    this.update = createLogUpdate(options.stream ?? process.stderr);
    this.timer = setInterval(() => this.render(), 250);
    this.timer.unref();
  }
  private now(): number {
    return (this.options.clock ?? Date.now)();
  }
  runStarted(run: RunLabel): void {
    this.running.set(run.dir, { run, phase: 'starting', since: this.now() });
    this.render();
  }
  runPhase(run: RunLabel, phase: string): void {
    const r = this.running.get(run.dir);
    if (r) r.phase = phase;
    this.render();
  }
  runFinished(run: RunLabel, status: string, elapsedMs: number): void {
    this.running.delete(run.dir);
    this.finished.push(`${status === 'ok' ? '✓' : '✗'} ${run.dir} ${status} (${secs(elapsedMs)})`);
    this.render();
  }
  log(line: string): void {
    this.update.clear();
    (this.options.stream ?? process.stderr).write(`${line}\n`);
    this.render();
  }
  private render(): void {
    const now = this.now();
    const pending = this.options.total - this.finished.length - this.running.size;
    const runningLeft = Math.max(0, ...[...this.running.values()].map((r) => this.options.expectedRunMs - (now - r.since)));
    const eta = runningLeft + Math.ceil(pending / Math.max(1, this.options.parallel)) * this.options.expectedRunMs;
    const lines = [
      `acklab run: ${this.finished.length}/${this.options.total} done, ${this.running.size} running, ` +
        `elapsed ${secs(now - this.start)}, about ${secs(eta)} left`,
      ...[...this.running.values()].map((r) => `  ▶ ${r.run.dir.padEnd(28)} ${secs(now - r.since).padStart(5)}  ${r.phase}`),
      ...this.finished.slice(-6).map((l) => `  ${l}`),
    ];
    this.update(lines.join('\n'));
  }
  close(): void {
    clearInterval(this.timer);
    this.render();
    this.update.done();
  }
}
