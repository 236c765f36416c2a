/** Pipeline files: the YAML a user writes for a project's work, parsed into a validated model. */
export * from './model.js';
export { parsePipeline, MAX_PIPELINE_CHARS } from './parse.js';
export { topicOrder, findCycle, stableTopologicalOrder, type TopicNode } from './order.js';
export { LIMITS as PIPELINE_LIMITS } from './schema.js';
