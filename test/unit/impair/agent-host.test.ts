import { describe, expect, it } from 'vitest';
import { createHost, type Scheduler } from '../../../src/impair/agent/host.js';

/** A scheduler that records the requests it was sent and answers `ok` (or refuses them all). */
function recordingScheduler(answer = true): { sched: () => Scheduler; lines: string[] } {
  const lines: string[] = [];
  return { lines, sched: () => ({ request: async (line) => (lines.push(line), answer) }) };
}

describe('the agent host', () => {
  it('going real-time raises the processes it started that still run; back to the default lowers the agent only', async () => {
    const { sched, lines } = recordingScheduler();
    const host = createHost(sched);
    const running = host.run(['sleep', '5']);
    const done = await host.run(['true']);
    expect(done.exitCode).toBe(0);
    expect(await host.setPriority(10)).toBe(true);
    expect(lines[0]).toBe(`fifo 10 ${process.pid}`);
    // the sleep still runs and is raised; `true` has exited and is not asked for
    expect(lines.slice(1)).toHaveLength(1);
    expect(lines[1]).toMatch(/^fifo 10 \d+$/);
    expect(lines[1]).not.toBe(`fifo 10 ${process.pid}`);
    expect(await host.setPriority(null)).toBe(true);
    expect(lines.slice(2)).toEqual([`other ${process.pid}`]);
    // a child that has exited is forgotten
    const pid = Number(lines[1]!.split(' ')[2]);
    process.kill(pid, 'SIGKILL');
    await running;
    lines.length = 0;
    await host.setPriority(10);
    expect(lines).toEqual([`fifo 10 ${process.pid}`]);
  });

  it('refused for the agent, no child is raised', async () => {
    const { sched, lines } = recordingScheduler(false);
    const host = createHost(sched);
    const running = host.run(['sleep', '0.3']);
    expect(await host.setPriority(10)).toBe(false);
    expect(lines).toEqual([`fifo 10 ${process.pid}`]);
    expect((await running).exitCode).toBe(0);
  });
});
