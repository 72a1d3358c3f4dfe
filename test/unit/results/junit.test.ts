import { XMLParser } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { junitXml, type SweepRun } from '../../../src/results/index.js';

const run = (dir: string, checks: [string, 'pass' | 'fail' | 'invalid', string][]): SweepRun => ({
  dir,
  condition: dir.replace(/-r\d+$/, ''),
  repetition: 1,
  status: 'ok',
  metrics: null,
  verdict: { verdict: checks.some((c) => c[1] === 'invalid') ? 'invalid' : checks.some((c) => c[1] === 'fail') ? 'fail' : 'pass', checks: checks.map(([name, verdict, reason]) => ({ name, verdict, reason })) },
});

const asArray = <T>(x: T | T[] | undefined): T[] => (x === undefined ? [] : Array.isArray(x) ? x : [x]);

describe('junitXml', () => {
  it('one testsuite per run, one testcase per check; a failed check is a <failure> with its reason, an invalid one an <error>', () => {
    const xml = junitXml({
      experiment: 'exp',
      runs: [
        run('baseline-r1', [['run', 'pass', 'ok'], ['total-order', 'pass', 'same 60 messages']]),
        run('cut-r1', [['run', 'pass', 'ok'], ['total-order', 'fail', 'p2 diverges at position 7: <4,1> vs <4,3>'], ['conditions', 'invalid', 'the helper died']]),
      ],
      });
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(xml) as {
      testsuites: { name: string; tests: string; failures: string; errors: string; testsuite: { name: string; testcase: { name: string; classname: string; failure?: { message: string }; error?: { message: string } }[] }[] };
    };
    expect(doc.testsuites).toMatchObject({ name: 'exp', tests: '5', failures: '1', errors: '1' });
    const suites = asArray(doc.testsuites.testsuite);
    expect(suites.map((s) => s.name)).toEqual(['exp/baseline-r1', 'exp/cut-r1']);
    const cut = asArray(suites[1]!.testcase);
    expect(cut.map((t) => [t.classname, t.name])).toEqual([['exp.cut-r1', 'run'], ['exp.cut-r1', 'total-order'], ['exp.cut-r1', 'conditions']]);
    expect(cut[1]!.failure?.message).toBe('p2 diverges at position 7: <4,1> vs <4,3>');
    expect(cut[2]!.error?.message).toBe('the helper died');
    expect(asArray(suites[0]!.testcase).every((t) => t.failure === undefined && t.error === undefined)).toBe(true);
  });

  it('a run that could not be read back is one errored test case', () => {
    const xml = junitXml({ experiment: 'e', runs: [{ dir: 'x-r1', condition: 'x', repetition: 1, status: 'failed', metrics: null }] });
    expect(xml).toMatch(/<testcase classname="e\.x-r1" name="run">\s*<error message="the run could not be read back" type="invalid"\/>/);
  });
});
