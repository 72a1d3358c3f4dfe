/**
 * Process faults from the command line: `acklab kill|stop|start|restart|pause|resume LAB NODE`.
 * Prints the node's state afterwards; a node that cannot take the action says why (exit 1). A
 * started or restarted node gets its conditions back in its new network namespace.
 */
import type { Command } from 'commander';
import { UsageError, parseDuration } from '../common/index.js';
import { NODE_ACTIONS, NODE_ACTION_HELP, type NodeAction, type NodeActionOptions } from '../lab/node-actions.js';
import { withLabController } from './lab-controller.js';
import { parseInput } from './input.js';
import { nodeOf, openLab } from './lab-target.js';

const PAST: Record<NodeAction, string> = { kill: 'killed', stop: 'stopped', start: 'started', restart: 'restarted', pause: 'paused', resume: 'resumed' };

function registerAction(program: Command, action: NodeAction): void {
  const cmd = program
    .command(action)
    .description(NODE_ACTION_HELP[action])
    .argument('<lab>', 'lab name')
    .argument('<node>', 'node name');
  if (action === 'kill') cmd.option('--signal <name>', 'the signal to send, e.g. SIGTERM, SIGINT (default SIGKILL)');
  if (action === 'stop' || action === 'restart') cmd.option('--grace <duration>', 'how long SIGTERM may take before SIGKILL (default 10s)');
  cmd.action(async (lab: string, node: string, opts: { signal?: string; grace?: string }) => {
    const options: NodeActionOptions = {};
    if (opts.signal !== undefined) {
      if (!/^(SIG)?[A-Z0-9]+$/.test(opts.signal)) throw new UsageError(`--signal must be a signal name like SIGTERM (got "${opts.signal}")`);
      options.signal = opts.signal.startsWith('SIG') ? opts.signal : `SIG${opts.signal}`;
    }
    if (opts.grace !== undefined) options.graceMs = parseInput(() => parseDuration(opts.grace!));
    const target = await openLab(lab);
    const n = nodeOf(target, node);
    const ref = { lab, node, containerId: n.containerId };
    const { runNodeAction } = await import('../lab/node-actions.js');
    const { started } = await runNodeAction(target.runtime.containers, ref, action, options);
    const info = await target.runtime.containers.inspect(n.containerId);
    // A new namespace: the node's conditions go to a new sidecar there, the others learn its address.
    if (started) await withLabController(lab, {}, (ctl) => ctl.nodeRestarted(node, { containerId: n.containerId, addresses: Object.values(info.addresses) }));
    const state = info.paused ? 'paused' : info.state === 'exited' ? `exited (${info.exitCode})` : info.state;
    process.stdout.write(`${PAST[action]} ${node} of lab "${lab}": now ${state}\n`);
  });
}

export function register(program: Command): void {
  for (const action of NODE_ACTIONS) registerAction(program, action);
}
