/** Results: the run-folder format, reading and writing it, metrics and series, the comparison and the sweep summary. */
export * from './format.js';
export * from './folder.js';
export * from './metrics.js';
export * from './comparison.js';
export * from './summary.js';
export * from './verdict.js';
export * from './junit.js';
export * from './roles.js';
export * from './seed.js';
export * from './pairs.js';
export * from './grading.js';
