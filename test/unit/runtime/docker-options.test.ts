import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { dockerOptions } from '../../../src/runtime/index.js';

describe('dockerOptions: the engine addresses a topology may name', () => {
  it.each([
    ['unix:///run/ackme-1/a/docker.sock', { socketPath: '/run/ackme-1/a/docker.sock' }],
    ['tcp://10.0.0.2:2375', { host: '10.0.0.2', port: 2375, protocol: 'http' }],
    ['tcp://10.0.0.2', { host: '10.0.0.2', port: 2375, protocol: 'http' }],
    ['https://lab-b:2376', { host: 'lab-b', port: 2376, protocol: 'https' }],
    ['ssh://lab@10.0.0.3', { host: '10.0.0.3', port: 22, protocol: 'ssh', username: 'lab' }],
  ])('%s', (address, expected) => {
    expect(dockerOptions(address, {})).toEqual(expected);
  });

  it('https takes the client certificate from DOCKER_CERT_PATH; ssh the agent from SSH_AUTH_SOCK', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'acklab-certs-'));
    for (const f of ['ca', 'cert', 'key']) writeFileSync(path.join(dir, `${f}.pem`), `${f}-bytes`);
    const o = dockerOptions('https://lab-b:2376', { DOCKER_CERT_PATH: dir }) as { ca: Buffer; cert: Buffer; key: Buffer };
    expect([String(o.ca), String(o.cert), String(o.key)]).toEqual(['ca-bytes', 'cert-bytes', 'key-bytes']);
    expect(dockerOptions('ssh://lab@h', { SSH_AUTH_SOCK: '/tmp/agent.sock' })).toMatchObject({ sshOptions: { agent: '/tmp/agent.sock' } });
  });

  it('refuses other schemes and non-addresses, saying what to write', () => {
    expect(() => dockerOptions('ftp://x', {})).toThrow('scheme ftp: is not one of unix:, tcp:, https:, ssh:');
    expect(() => dockerOptions('lab-b', {})).toThrow('write unix:///path/docker.sock, tcp://host:2375 or ssh://user@host');
  });
});
