/**
 * The validated pipeline model: what `parsePipeline` returns and the engine executes.
 * Defaults are filled in (names, risk, env), durations are milliseconds, commands are shell
 * lines run as `sh -c <run>`. The YAML shape is documented in `examples/README.md`.
 */
import type { ActionType } from '../model/action.js';
import type { DistributionStrategy } from '../model/session.js';
import type { RiskLevel } from '../model/topic.js';

export const PIPELINE_VERSION = 1;

/** Fields every executable unit may declare. */
export interface StepCommon {
  /** Unique inside its topic (steps) or its group (sparks); defaults `step-<n>` / `spark-<n>`. */
  name: string;
  /** null: the engine's default timeout applies. */
  timeoutMs: number | null;
  /** Task variables, added to the clean environment of the command. */
  env: Record<string, string>;
  /** Required capabilities (hard constraints for placement). */
  needs: string[];
}

export interface PipelineSpark extends StepCommon {
  run: string;
}

/** A plain command, logged as an Action record when it runs. */
export interface CommandStep extends StepCommon {
  kind: 'command';
  run: string;
  /** A step riskier than its topic gets its own gate; null: the topic's risk covers it. */
  risk: RiskLevel | null;
  /** Action type for the logbook; null: inferred from the step's context. */
  type: ActionType | null;
}

/** A group of independent sparks run in parallel (L0). */
export interface SparkGroupStep {
  kind: 'sparks';
  name: string;
  /** Max sparks of this group at once; null: only the engine's global bound applies. */
  parallel: number | null;
  risk: RiskLevel | null;
  sparks: PipelineSpark[];
}

/** An atomic action (L3): validate, then prepare → commit, or roll back on any failure. */
export interface AtomicStep extends StepCommon {
  kind: 'action';
  type: ActionType;
  risk: RiskLevel | null;
  /** Checks the state the action depends on; failing it prepares nothing. */
  validate: string | null;
  prepare: string;
  commit: string;
  rollback: string;
  /** Nodes that must all commit or all roll back (the fleet's two-phase commit). */
  participants: string[];
}

export type PipelineStep = CommandStep | SparkGroupStep | AtomicStep;
export type StepKind = PipelineStep['kind'];

export interface PipelineTopic {
  /** Slug, unique in the pipeline; referenced by `dependsOn`. */
  id: string;
  title: string;
  description: string;
  risk: RiskLevel;
  dependsOn: string[];
  steps: PipelineStep[];
}

export interface PipelineProject {
  name: string;
  description: string;
  /** Workspace directory slug; defaults to the project name. */
  workspace: string;
  /** Variables every command of the project receives (a step's own env wins). */
  env: Record<string, string>;
}

export interface PipelineSession {
  description: string;
  user: string | null;
}

export interface Pipeline {
  version: typeof PIPELINE_VERSION;
  /** Where the text came from (file name), for messages. */
  source: string;
  project: PipelineProject;
  session: PipelineSession | null;
  strategy: DistributionStrategy | null;
  /** In file order; execution order is `topicOrder(pipeline)`. */
  topics: PipelineTopic[];
}
