import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HANDSHAKES_AT_ONCE, SshAgent, sshArgv, sshTarget } from '../../../src/runtime/index.js';

describe('sshArgv: the ssh client runs docker system dial-stdio on the engine machine', () => {
  it('never prompts, names user and port only when given, and ends its options before the host', () => {
    expect(sshArgv({ host: '10.0.0.3', port: 2222, user: 'lab' })).toEqual([
      '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=30', '-T', '-l', 'lab', '-p', '2222', '--', '10.0.0.3', 'docker', 'system', 'dial-stdio',
    ]);
    expect(sshArgv({ host: 'lab-b' })).toEqual(['-o', 'BatchMode=yes', '-o', 'ConnectTimeout=30', '-T', '--', 'lab-b', 'docker', 'system', 'dial-stdio']);
  });

  it('reads user, host and port from the address; an IPv6 host loses its brackets', () => {
    expect(sshTarget(new URL('ssh://lab@[fd00::3]:2200'))).toEqual({ host: 'fd00::3', port: 2200, user: 'lab' });
    expect(sshTarget(new URL('ssh://h'))).toEqual({ host: 'h' });
  });
});

/**
 * A stand-in for the ssh client: it logs its arguments and connects its stdin/stdout to the test's
 * HTTP server on a unix socket, as `ssh HOST docker system dial-stdio` connects them to an engine.
 */
function fakeSsh(dir: string, socket: string, behaviour = ''): { command: string; calls: () => string[][] } {
  const log = path.join(dir, `calls-${Math.random().toString(16).slice(2)}`);
  const command = path.join(dir, `ssh-${Math.random().toString(16).slice(2)}`);
  writeFileSync(log, '');
  writeFileSync(
    command,
    `#!${process.execPath}
const fs = require('node:fs');
fs.appendFileSync(${JSON.stringify(log)}, JSON.stringify(process.argv.slice(2)) + '\\n');
${behaviour}
const s = require('node:net').connect(${JSON.stringify(socket)});
process.stdin.pipe(s);
s.pipe(process.stdout);
s.on('close', () => process.exit(0));
`,
  );
  chmodSync(command, 0o755);
  return {
    command,
    calls: () => readFileSync(log, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as string[]),
  };
}

function get(agent: SshAgent, urlPath = '/_ping'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: 'lab-b', port: 22, path: urlPath, agent }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('SshAgent: engine API connections through the ssh client', () => {
  let dir: string;
  let socket: string;
  let server: http.Server;
  let handler: (req: http.IncomingMessage, res: http.ServerResponse) => void;

  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'acklab-ssh-'));
    socket = path.join(dir, 'engine.sock');
    handler = (req, res) => res.end(`OK ${req.url}`);
    server = http.createServer((req, res) => handler(req, res));
    await new Promise<void>((resolve) => server.listen(socket, resolve));
  });

  afterEach(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('carries requests, and reuses an idle connection instead of starting another ssh', async () => {
    const ssh = fakeSsh(dir, socket);
    const agent = new SshAgent({ host: 'lab-b', user: 'lab', port: 2222 }, { command: ssh.command });
    for (let i = 0; i < 5; i += 1) expect(await get(agent, `/v1.41/info?i=${i}`)).toEqual({ status: 200, body: `OK /v1.41/info?i=${i}` });
    expect(ssh.calls()).toEqual([sshArgv({ host: 'lab-b', user: 'lab', port: 2222 })]);
    // Reuse leaves no listener behind: the one idle connection has the agent's one error listener.
    const idle = Object.values(agent.freeSockets).flat();
    expect(idle.map((socket) => socket!.listenerCount('error'))).toEqual([1]);
    agent.destroy();
  });

  it(`has at most ${HANDSHAKES_AT_ONCE} connections waiting for the engine's first byte at a time`, async () => {
    const ssh = fakeSsh(dir, socket);
    // Requests are answered only once none has arrived for 700 ms, so every connection that could
    // be made is waiting when the most are counted.
    const pending: http.ServerResponse[] = [];
    let most = 0;
    let quiet: NodeJS.Timeout | undefined;
    handler = (_req, res) => {
      pending.push(res);
      most = Math.max(most, pending.length);
      clearTimeout(quiet);
      quiet = setTimeout(() => {
        for (const r of pending.splice(0)) r.end('late');
      }, 700);
    };
    const agent = new SshAgent({ host: 'lab-b' }, { command: ssh.command });
    const answers = await Promise.all(Array.from({ length: 2 * HANDSHAKES_AT_ONCE }, () => get(agent)));
    expect(answers.every((a) => a.body === 'late')).toBe(true);
    expect(most).toBe(HANDSHAKES_AT_ONCE);
    agent.destroy();
  });

  it('ends idle connections after idleMs; the next request starts a new ssh', async () => {
    const ssh = fakeSsh(dir, socket);
    const agent = new SshAgent({ host: 'lab-b' }, { command: ssh.command, idleMs: 100 });
    await get(agent);
    await new Promise((resolve) => setTimeout(resolve, 400));
    const open = await new Promise<number>((resolve) => server.getConnections((_err, count) => resolve(count)));
    expect(open).toBe(0);
    await get(agent);
    expect(ssh.calls()).toHaveLength(2);
    agent.destroy();
  });

  it("fails with ssh's own words when ssh refuses (here: a host key that does not match)", async () => {
    const ssh = fakeSsh(dir, socket, "process.stderr.write('Host key verification failed.\\n'); process.exit(255);");
    const agent = new SshAgent({ host: 'lab-b', user: 'lab' }, { command: ssh.command });
    await expect(get(agent)).rejects.toThrow('engine ssh://lab@lab-b: ssh ended (exit 255): Host key verification failed.');
    agent.destroy();
  });

  it('fails when the connection drops in the middle of a response', async () => {
    const ssh = fakeSsh(dir, socket);
    handler = (req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('partial');
      setTimeout(() => req.socket.destroy(), 50);
    };
    const agent = new SshAgent({ host: 'lab-b' }, { command: ssh.command });
    await expect(get(agent)).rejects.toThrow();
    agent.destroy();
  });

  it('says so when there is no ssh client', async () => {
    const agent = new SshAgent({ host: 'lab-b' }, { command: path.join(dir, 'no-such-ssh') });
    await expect(get(agent)).rejects.toThrow(/engine ssh:\/\/lab-b: ".*no-such-ssh" was not found on PATH/);
    agent.destroy();
  });
});
