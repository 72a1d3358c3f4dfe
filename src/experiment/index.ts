/** Experiments: the experiment file, the run topology, the runner and its progress display. */
export * from './experiment-file.js';
export * from './progress.js';
export { networkPlayer, type NetworkPlayer } from './player.js';
export { experimentTopology } from './topology.js';
export { runExperiment, planRuns, defaultSweepDir, STOP_GRACE_MS, type RunnerOptions, type SweepResult } from './runner.js';
export { FileValidationError } from './yaml-source.js';
