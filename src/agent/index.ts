/** Public surface of the agent runtime. */
export { Agent, type AgentLifecycle, type AgentLogger, type AgentOptions } from './agent.js';
export { AgentRefusedError, MasterUnreachableError } from './errors.js';
export { loadAgentState, stateFilePath, type AgentState } from './state-file.js';
export { DEFAULT_WORKSPACE } from './executor.js';
export { enrollNode, type EnrolledNode } from './enroll.js';
export { advertisedCapabilities, decideServe, SERVE_EVERYTHING, type AssignmentFacts, type ServeDecision, type ServePolicy } from './serve-policy.js';
