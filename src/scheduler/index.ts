/** Public surface of the scheduler: the placement contract, its implementation, learned durations. */
export * from './types.js';
export * from './placement.js';
export * from './estimates.js';
export { projectKeyOf } from './fair-queue.js';
