/**
 * acklab-agent — resident in each shaper sidecar (its main process), owning the node's network
 * conditions: `acklab-agent daemon`. It raises its own priority (the sidecar has CAP_SYS_NICE) so
 * timed switches land on time on a busy machine, probes the kernel, and serves the control socket.
 */
import os from 'node:os';
import { AgentCore } from './core.js';
import { realHost, startScheduler } from './host.js';
import { AGENT_SOCKET } from './protocol.js';
import { AgentServer } from './server.js';

export async function main(argv: string[]): Promise<void> {
  if (argv[0] !== 'daemon') {
    process.stderr.write('usage: acklab-agent daemon\n  runs in a shaper sidecar; acklab talks to it through its control socket\n');
    process.exitCode = 2;
    return;
  }
  try {
    os.setPriority(-20);
  } catch {
    // without CAP_SYS_NICE it keeps the default priority; switches are then only as punctual as the machine allows
  }
  let server: AgentServer | undefined;
  const core = new AgentCore(realHost, (e) => server?.broadcast(e));
  await core.init();
  if (core.hello().realtime) startScheduler();
  server = new AgentServer(core);
  await server.listen(AGENT_SOCKET);
  process.stdout.write(`acklab-agent: ready on ${AGENT_SOCKET} (backend ${core.backend()})\n`);
  const stop = () => {
    core.stop();
    server?.close();
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
