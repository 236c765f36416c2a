/** Public surface of config: options schemas → compiled, frozen configurations, and the parsers they use. */
export * from './host-port.js';
export * from './data-dir.js';
export * from './compile.js';
export * from './master.js';
export * from './agent.js';
export { processContext } from './environment.js';
export { durationMs, sizeBytes, integer, flag, capabilityList, hostPort } from './values.js';
export * from './file.js';
