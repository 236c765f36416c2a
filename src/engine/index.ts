/** Public surface of the local four-level engine (what the CLI, agent and coordinator use). */
export * from './ports.js';
export * from './errors.js';
export * from './states.js';
export * from './progress.js';
export { ThreadManager } from './thread-manager.js';
export type {
  ThreadManagerOptions, ProjectRunRequest, ProjectRunResult, PipelineRunResult, RunPipelinesOptions,
} from './thread-manager.js';
export type { TopicRunResult, StepRunResult, ProjectScope } from './topic-executor.js';
export { TopicExecutor } from './topic-executor.js';
export { SparkPool, type SparkOutcome, type SparkGroupOutcome } from './spark-pool.js';
export { AtomicAction, decodePlan, encodePlan, type AtomicOutcome, type AtomicPlan } from './atomic-action.js';
export { recoverInDoubtActions, type RecoveredAction } from './recovery.js';
export {
  ApprovalWaiter, RiskGate, needsApproval, DEFAULT_RISK_POLICY, type RiskPolicy, type GateResult, type ApprovalWaiterOptions,
} from './approval.js';
export { Semaphore } from './semaphore.js';
export type { EngineLogbook, EngineSettings, EngineDeps, StepContext } from './context.js';
