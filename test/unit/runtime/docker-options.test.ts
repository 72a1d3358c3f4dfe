import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SshAgent, dockerOptions } from '../../../src/runtime/index.js';

describe('dockerOptions: the engine addresses a topology may name', () => {
  it.each([
    ['unix:///run/ackme-1/a/docker.sock', { socketPath: '/run/ackme-1/a/docker.sock' }],
    ['tcp://10.0.0.2:2375', { host: '10.0.0.2', port: 2375, protocol: 'http' }],
    ['tcp://10.0.0.2', { host: '10.0.0.2', port: 2375, protocol: 'http' }],
    ['https://lab-b:2376', { host: 'lab-b', port: 2376, protocol: 'https' }],
  ])('%s', (address, expected) => {
    expect(dockerOptions(address, {})).toEqual(expected);
  });

  it('https takes the client certificate from DOCKER_CERT_PATH', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'acklab-certs-'));
    for (const f of ['ca', 'cert', 'key']) writeFileSync(path.join(dir, `${f}.pem`), `${f}-bytes`);
    const o = dockerOptions('https://lab-b:2376', { DOCKER_CERT_PATH: dir }) as { ca: Buffer; cert: Buffer; key: Buffer };
    expect([String(o.ca), String(o.cert), String(o.key)]).toEqual(['ca-bytes', 'cert-bytes', 'key-bytes']);
  });

  it('ssh is plain HTTP through an agent that runs the ssh client for the user, host and port named', () => {
    const o = dockerOptions('ssh://lab@10.0.0.3:2222', {}) as { protocol: string; agent: SshAgent };
    expect(o.protocol).toBe('http');
    expect(o.agent).toBeInstanceOf(SshAgent);
    expect(o.agent.target).toEqual({ host: '10.0.0.3', port: 2222, user: 'lab' });
    expect((dockerOptions('ssh://h', {}) as { agent: SshAgent }).agent.target).toEqual({ host: 'h' });
  });

  it('refuses other schemes and non-addresses, saying what to write', () => {
    expect(() => dockerOptions('ftp://x', {})).toThrow('scheme ftp: is not one of unix:, tcp:, https:, ssh:');
    expect(() => dockerOptions('lab-b', {})).toThrow('write unix:///path/docker.sock, tcp://host:2375 or ssh://user@host');
  });
});
