/** Experiments: the experiment file, the run topology, the runner and its progress display. */
export * from './experiment-file.js';
export * from './progress.js';
export { networkPlayer, type NetworkPlayer } from './player.js';
export { experimentTopology } from './topology.js';
export {
  runExperiment,
  planRuns,
  prepareExperiment,
  checkSweepDir,
  claimDefaultSweepDir,
  defaultSweepDir,
  STOP_GRACE_MS,
  type RunnerOptions,
  type SweepResult,
  type PreparedExperiment,
  type PlannedRun,
} from './runner.js';
export { describeExperimentPlan } from './plan.js';
export { FileValidationError } from './yaml-source.js';
