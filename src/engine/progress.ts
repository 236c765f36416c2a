/**
 * Progress events the engine emits while it runs (for the CLI's live display, later the
 * dashboard). Observers are called synchronously and must not block; a throwing observer
 * is ignored, never allowed to break a run. `topic` is the pipeline's topic id (slug).
 */
import type { ActionPhase, ApprovalState, LogStream, RiskLevel } from '../core/index.js';
import type { StepKind } from '../core/pipeline/index.js';
import type { ProjectRunState, TopicRunState } from './states.js';

export type ProgressEvent =
  | { type: 'project.started'; at: number; project: string; workspace: string; topics: number }
  | { type: 'project.finished'; at: number; project: string; status: ProjectRunState; error: string | null; durationMs: number }
  | { type: 'topic.started'; at: number; project: string; topic: string; topicId: string; title: string; risk: RiskLevel }
  | { type: 'topic.finished'; at: number; project: string; topic: string; topicId: string; status: TopicRunState; durationMs: number }
  | {
      type: 'approval.needed'; at: number; project: string; topic: string; topicId: string; approvalId: string;
      /** What waits: "topic 'release'" or "step 'deploy' of topic 'release'". */
      subject: string; reason: string; expiresAt: number;
    }
  | { type: 'approval.decided'; at: number; project: string; topic: string; approvalId: string; state: ApprovalState; by: string | null }
  | { type: 'step.started'; at: number; project: string; topic: string; step: string; kind: StepKind }
  | {
      type: 'step.finished'; at: number; project: string; topic: string; step: string; kind: StepKind; ok: boolean;
      /** Human summary: "exit 0", "prepare ok, commit failed (exit 3), rolled back". */
      summary: string; durationMs: number; actionId: string | null;
    }
  | { type: 'spark.finished'; at: number; project: string; topic: string; step: string; spark: string; sparkId: string; ok: boolean; summary: string; durationMs: number }
  | { type: 'action.phase'; at: number; project: string; topic: string | null; step: string; actionId: string; phase: ActionPhase }
  | { type: 'output'; at: number; project: string; topic: string; step: string; spark: string | null; stream: LogStream; line: string }
  | { type: 'recovery'; at: number; actionId: string; from: ActionPhase; to: ActionPhase; summary: string };

export type ProgressType = ProgressEvent['type'];
export type ProgressListener = (event: ProgressEvent) => void;

/** Distributes-the-`Omit` so each variant keeps its own fields. */
export type ProgressInput = ProgressEvent extends infer E ? (E extends ProgressEvent ? Omit<E, 'at'> : never) : never;

/** Wraps a listener so that it stamps `at` and can never throw into the engine. */
export function progressEmitter(listener: ProgressListener | undefined, now: () => number): (event: ProgressInput) => void {
  if (!listener) return () => {};
  return (event) => {
    try {
      listener({ ...event, at: now() } as ProgressEvent);
    } catch {
      // Display problems must not change what runs.
    }
  };
}

/** Longest output line forwarded; longer lines are cut (the full output stays in the result). */
export const MAX_PROGRESS_LINE = 4096;

/** Splits streamed output into lines per stream; `flush` emits an unterminated last line. */
export class LineSplitter {
  private readonly partial: Record<LogStream, string> = { stdout: '', stderr: '', system: '' };

  constructor(private readonly onLine: (stream: LogStream, line: string) => void) {}

  push(stream: LogStream, data: string): void {
    const text = this.partial[stream] + data;
    const lines = text.split('\n');
    this.partial[stream] = lines.pop() ?? '';
    if (this.partial[stream].length > MAX_PROGRESS_LINE) {
      this.onLine(stream, this.partial[stream].slice(0, MAX_PROGRESS_LINE));
      this.partial[stream] = '';
    }
    for (const line of lines) this.onLine(stream, line.replace(/\r$/, '').slice(0, MAX_PROGRESS_LINE));
  }

  flush(): void {
    for (const stream of Object.keys(this.partial) as LogStream[]) {
      if (this.partial[stream] !== '') this.onLine(stream, this.partial[stream]);
      this.partial[stream] = '';
    }
  }
}
