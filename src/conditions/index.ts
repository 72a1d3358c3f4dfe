/** The one condition language: impairments, cuts and partitions — model, parser, describer. */
export * from './impairment.js';
export * from './partition.js';
export * from './actions.js';
export * from './nemesis.js';
