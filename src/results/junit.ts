/**
 * JUnit XML of a sweep's verdicts, for CI dashboards: one <testsuite> per run, one <testcase>
 * per check of that run (run, conditions, programs, total-order, mcast-delivery, acks). A failed
 * check is a <failure>, an invalid one (the run cannot be judged) an <error>; the message is the
 * check's reason. A run that could not be read back is one <testcase> "run" with an <error>.
 * The XML is written by junit-report-builder (the Jenkins/Surefire dialect every CI reads).
 */
import { writeFile } from 'node:fs/promises';
import junitModule, { type Builder } from 'junit-report-builder';
import type { SweepRun } from './format.js';

// A CommonJS package whose types declare `export default`: under Node's ESM the default import is
// already the builder, while TypeScript expects it one `.default` further in.
const junit = ((junitModule as unknown as { default?: Builder }).default ?? junitModule) as unknown as Builder;

export interface JunitInput {
  /** The experiment's name: the <testsuites> name and the class name prefix. */
  experiment: string;
  runs: readonly SweepRun[];
}

export function junitXml(input: JunitInput): string {
  const builder = junit.newBuilder().name(input.experiment);
  for (const run of input.runs) {
    const suite = builder.testSuite().name(`${input.experiment}/${run.dir}`);
    suite.property('condition', run.condition).property('repetition', String(run.repetition)).property('status', run.status);
    const className = `${input.experiment}.${run.dir}`;
    if (!run.verdict) {
      suite.testCase().className(className).name('run').error('the run could not be read back', 'invalid');
      continue;
    }
    for (const check of run.verdict.checks) {
      const tc = suite.testCase().className(className).name(check.name);
      if (check.verdict === 'fail') tc.failure(check.reason, 'fail');
      else if (check.verdict === 'invalid') tc.error(check.reason, 'invalid');
      else tc.standardOutput(check.reason);
    }
  }
  return builder.build();
}

export async function writeJunit(file: string, input: JunitInput): Promise<void> {
  await writeFile(file, junitXml(input));
}
