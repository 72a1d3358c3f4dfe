import { describe, expect, it } from 'vitest';
import { createLabels, labelFilter, LABELS } from '../../../src/common/labels.js';

describe('createLabels', () => {
  it('marks every resource as managed and records its role and owners', () => {
    expect(createLabels({ role: 'node', lab: 'mcast3', runId: 'r1', node: 'p1' })).toEqual({
      [LABELS.managed]: 'true',
      [LABELS.role]: 'node',
      [LABELS.lab]: 'mcast3',
      [LABELS.runId]: 'r1',
      [LABELS.node]: 'p1',
    });
  });

  it('leaves out owners that were not given', () => {
    expect(Object.keys(createLabels({ role: 'network' }))).toEqual([LABELS.managed, LABELS.role]);
  });

  it('builds a filter that selects what createLabels labelled', () => {
    const labels = createLabels({ role: 'node', lab: 'l', runId: 'r' });
    const filter = labelFilter({ lab: 'l', runId: 'r' });
    for (const term of filter) {
      const [key, value] = term.split('=');
      expect(labels[key!]).toBe(value);
    }
  });
});
