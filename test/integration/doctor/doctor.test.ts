/** `acklab doctor` against the real engine: facts, images for the current sources, and a real kernel probe that leaves nothing behind. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, expect, inject, it } from 'vitest';
import { labelFilter } from '../../../src/common/index.js';
import { runDoctor } from '../../../src/doctor/index.js';
import { dockerRuntime } from '../../../src/runtime/index.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const images = inject('images');

describe('doctor', () => {
  it('reports the engine, the built images and the probed kernel features, and says the lab can run', async () => {
    const report = await runDoctor();
    expect(report.engine?.apiVersion).toMatch(/^\d+\.\d+$/);
    expect(report.engine?.storageDriver).not.toBe('unknown');
    expect(report.images?.map((p) => [p.role, p.tag, p.present])).toEqual([
      ['node', images.node, true],
      ['shaper', images.shaper, true],
    ]);
    // Real probe results: every feature answered, and the backend was read from iptables -V.
    expect(Object.keys(report.kernel?.raw ?? {}).sort()).toEqual(['htb', 'iptables', 'netem', 'nfqueue', 'tbf']);
    expect(['nf_tables', 'legacy']).toContain(report.kernel?.iptablesBackend);
    // The lab needs netem, or NFQUEUE for the userspace helper.
    expect(report.kernel?.netem || report.kernel?.nfqueue).toBe(true);
    expect(report.ok, JSON.stringify(report.checks.filter((c) => c.status === 'fail'))).toBe(true);
  });

  it('removes its probe container', async () => {
    const mine = async () =>
      (await dockerRuntime().containers.list(labelFilter({ role: 'probe' }))).filter((c) => c.image.startsWith('acklab/shaper')).length;
    const before = await mine();
    await runDoctor();
    expect(await mine()).toBeLessThanOrEqual(before);
  });

  it('the CLI exits 1 with the fix when no engine answers, and --json is machine-readable', async () => {
    const run = await execa('node', [path.join(ROOT, 'bin/acklab.js'), 'doctor', '--json'], {
      reject: false,
      env: { DOCKER_HOST: 'unix:///nonexistent/acklab-test.sock' },
    });
    expect(run.exitCode).toBe(1);
    const report = JSON.parse(run.stdout) as { ok: boolean; checks: Array<{ name: string; status: string; fix?: string }> };
    expect(report.ok).toBe(false);
    expect(report.checks[0]).toMatchObject({ name: 'engine', status: 'fail', fix: expect.stringContaining('ensure-engine.sh') });
  });
});
