/** Network conditions: model and validation, pure tc/iptables/helper builders, kernel read-back. */
export * from './model.js';
export * from './spec-comment.js';
export * from './tc.js';
export * from './iptables.js';
export * from './helper.js';
export * from './plan.js';
export * from './state.js';
export * from './probe.js';
export * from './controller.js';
export * from './lab-handle.js';
export * from './cli-support.js';
export * from './links.js';
export * from './probe-container.js';
