export * from './units.js';
export * from './labels.js';
export * from './errors.js';
export * from './logger.js';
export * from './rng.js';
