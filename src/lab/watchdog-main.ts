/**
 * The watchdog process (see watchdog.ts): waits for its parent's pipe to close, then removes the
 * runs the parent held and had not detached — again every second until five passes in a row find
 * nothing (a create the engine was still finishing when the parent died), at most 60 s.
 *
 *   node dist/lab/watchdog-main.js --holder HOST:PID:START:NS --parent PID [--engine ADDRESS]
 */
import { parseArgs } from 'node:util';
import { dockerRuntime } from '../runtime/index.js';
import { reapOrphans } from './reaper.js';

const BOUND_MS = 60_000;
const QUIET_PASSES = 5;

const { values } = parseArgs({ options: { holder: { type: 'string' }, parent: { type: 'string' }, engine: { type: 'string' } } });
const holder = values.holder;
if (!holder) {
  process.stderr.write('usage: watchdog-main --holder HOST:PID:START:NS --parent PID [--engine ADDRESS]\n');
  process.exit(2);
}
const log = (line: string) => process.stderr.write(`${new Date().toISOString()} acklab watchdog ${values.parent ?? '?'}: ${line}\n`);

async function reap(): Promise<void> {
  const runtime = dockerRuntime(values.engine);
  const deadline = Date.now() + BOUND_MS;
  let quiet = 0;
  while (quiet < QUIET_PASSES && Date.now() < deadline) {
    try {
      const reaped = await reapOrphans(runtime, { isDead: (h) => h === holder, log });
      quiet = reaped.length === 0 ? quiet + 1 : 0;
    } catch (err) {
      log(`pass failed: ${(err as Error).message}`);
      quiet = 0;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  process.exit(0);
}

let started = false;
const onParentGone = () => {
  if (started) return;
  started = true;
  void reap();
};
process.stdin.on('data', () => {});
process.stdin.on('end', onParentGone);
process.stdin.on('close', onParentGone);
process.stdin.on('error', onParentGone);
// A Ctrl-C at the terminal is the parent's business; the watchdog outlives it on purpose.
process.on('SIGINT', () => {});
process.on('SIGHUP', () => {});
