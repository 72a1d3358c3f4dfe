/** Experiments: the experiment file, the runner, run folders, metrics and the sweep summary. */
export * from './actions.js';
export * from './experiment-file.js';
export * from './run-format.js';
export * from './metrics.js';
export * from './run-folder.js';
export * from './summary.js';
export * from './rng.js';
export * from './progress.js';
export { runExperiment, planRuns, defaultSweepDir, type RunnerOptions, type SweepResult } from './runner.js';
export { FileValidationError } from './yaml-source.js';
