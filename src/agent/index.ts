/** Public surface of the agent runtime. */
export { Agent, type AgentLifecycle, type AgentLogger, type AgentOptions } from './agent.js';
export { AgentRefusedError, MasterUnreachableError } from './errors.js';
export { loadAgentState, loadNodeSettings, saveNodeSettings, stateFilePath, NODE_SETTINGS_FILE, type AgentState, type NodeSettings } from './state-file.js';
export { machineCapabilities, FINGERPRINT_TOOLS } from './machine-fingerprint.js';
export { AUDIT_CHECKPOINT_FILE } from './audit-checkpoint.js';
export { DEFAULT_WORKSPACE } from './executor.js';
export { enrollNode, type EnrolledNode } from './enroll.js';
export { advertisedCapabilities, decideServe, SERVE_EVERYTHING, type AssignmentFacts, type ServeDecision, type ServePolicy } from './serve-policy.js';
