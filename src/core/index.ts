/** Public surface of the core: the model, its schemas, errors and pure helpers. */
export * from './errors.js';
export * from './ids.js';
export * from './names.js';
export * from './duration.js';
export * from './validate.js';
export * from './model/transitions.js';
export * from './model/session.js';
export * from './model/project.js';
export * from './model/topic.js';
export * from './model/action.js';
export * from './model/spark.js';
export * from './model/node.js';
export * from './model/task.js';
export * from './model/event.js';
export * from './model/fleet.js';
export * from './model/access.js';
export * from './pipeline/index.js';
