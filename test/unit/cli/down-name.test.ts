import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { labNameOf } from '../../../src/cli/down.js';

describe('down: which lab', () => {
  const dir = mkdtempSync(join(tmpdir(), 'acklab-test-lab-'));

  it('a name is a name; a file gives its name: field, even when the rest is invalid', () => {
    expect(labNameOf('mcast3')).toBe('mcast3');
    const f = join(dir, 'broken.yaml');
    writeFileSync(f, 'name: broken-lab\nnodes:\n  a: { kind: nope }\n');
    expect(labNameOf(f)).toBe('broken-lab');
  });

  it('a file without a name is a clear error', () => {
    const f = join(dir, 'noname.yaml');
    writeFileSync(f, 'nodes: {}\n');
    expect(() => labNameOf(f)).toThrow(`${f} has no "name:"; give the lab name instead`);
  });
});
