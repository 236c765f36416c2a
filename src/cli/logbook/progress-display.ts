/**
 * Live progress of `pipeline run --local`. Three renderings of the engine's progress events:
 * TTY — a status block (project, topics, steps with spinners and elapsed times) redrawn in
 * place, with command output and notices scrolling above it; lines — one line per event,
 * for logs and pipes; json — one JSON object per event (NDJSON) for scripts.
 */
import { formatDuration, type Pipeline } from '../../core/index.js';
import type { ProgressEvent } from '../../engine/progress.js';
import { approveCommand } from './approve.js';
import { formatTime } from './shared.js';

export type DisplayMode = 'tty' | 'lines' | 'json';

type Out = NodeJS.WritableStream & { columns?: number };

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const REDRAW_MS = 100;

interface StepView {
  name: string;
  kind: string;
  sparks: number;
  sparksDone: number;
  state: 'pending' | 'running' | 'ok' | 'failed';
  startedAt: number | null;
  durationMs: number | null;
  detail: string;
}

interface TopicView {
  id: string;
  title: string;
  risk: string;
  state: string;
  startedAt: number | null;
  durationMs: number | null;
  steps: StepView[];
  waiting: { approvalId: string; subject: string } | null;
}

/** The one-line text of an event, as printed in `lines` mode (and above the TTY block). */
export function eventLine(e: ProgressEvent, autoApprove = false): string {
  const t = formatTime(e.at).slice(11);
  switch (e.type) {
    case 'project.started': return `${t} ${e.project} ▶ project started: ${e.topics} topics in ${e.workspace}`;
    case 'project.finished': return `${t} ${e.project} ${e.status === 'completed' ? '✓' : '✗'} project ${e.status} in ${formatDuration(e.durationMs)}${e.error ? `: ${e.error}` : ''}`;
    case 'topic.started': return `${t} ${e.project}/${e.topic} ▶ topic started: ${e.title} (risk ${e.risk})`;
    case 'topic.finished': return `${t} ${e.project}/${e.topic} ${e.status === 'completed' ? '✓' : '✗'} topic ${e.status} in ${formatDuration(e.durationMs)}`;
    case 'approval.needed':
      if (autoApprove) return `${t} ${e.project}/${e.topic} ⏸ approval ${e.approvalId} needed for ${e.subject}: approving it (--yes)`;
      return `${t} ${e.project}/${e.topic} ⏸ approval needed for ${e.subject}: ${e.reason}\n` +
        `    approve: ${approveCommand(e.approvalId)}\n    reject:  ${approveCommand(e.approvalId, true)}\n` +
        `    (expires ${formatTime(e.expiresAt)})`;
    case 'approval.decided': return `${t} ${e.project}/${e.topic} ${e.state === 'approved' ? '✓' : '✗'} approval ${e.approvalId} ${e.state}${e.by ? ` by ${e.by}` : ''}`;
    case 'step.started': return `${t} ${e.project}/${e.topic}/${e.step} ▶ ${e.kind} step started`;
    case 'step.finished': return `${t} ${e.project}/${e.topic}/${e.step} ${e.ok ? '✓' : '✗'} ${e.summary} (${formatDuration(e.durationMs)})`;
    case 'spark.finished': {
      const took = e.summary.includes(' in ') ? '' : ` (${formatDuration(e.durationMs)})`;
      return `${t} ${e.project}/${e.topic}/${e.step}/${e.spark} ${e.ok ? '✓' : '✗'} ${e.summary}${took}`;
    }
    case 'action.phase': return `${t} ${e.project}/${e.topic ?? '-'}/${e.step} · action ${e.actionId} ${e.phase}`;
    case 'output': return `${t} ${e.project}/${e.topic}/${e.step}${e.spark ? `/${e.spark}` : ''} │ ${e.line}`;
    case 'recovery': return `${t} recovery: action ${e.actionId} ${e.from} → ${e.to}: ${e.summary}`;
  }
}

export class ProgressDisplay {
  private readonly topics: TopicView[];
  private projectState = 'pending';
  private projectStartedAt: number | null = null;
  private projectDurationMs: number | null = null;
  private drawnLines = 0;
  private frame = 0;
  private timer: NodeJS.Timeout | null = null;
  private suspended = false;
  private stopped = false;
  /** Notices that arrived while a prompt was open; printed when it closes. */
  private readonly pending: string[] = [];

  constructor(
    private readonly out: Out,
    readonly mode: DisplayMode,
    private readonly pipeline: Pipeline,
    topicIds: string[],
    /** `--yes`: approvals are decided at once, so no approve command is offered. */
    private readonly autoApprove = false,
    private readonly now: () => number = Date.now,
  ) {
    // Seed every topic and step from the pipeline so the block shows what is still to come.
    this.topics = topicIds.map((id) => {
      const topic = pipeline.topics.find((t) => t.id === id)!;
      return {
        id, title: topic.title, risk: topic.risk, state: 'pending', startedAt: null, durationMs: null, waiting: null,
        steps: topic.steps.map((s) => ({
          name: s.name, kind: s.kind, sparks: s.kind === 'sparks' ? s.sparks.length : 0, sparksDone: 0,
          state: 'pending' as const, startedAt: null, durationMs: null, detail: '',
        })),
      };
    });
  }

  start(): void {
    if (this.mode !== 'tty') return;
    this.draw();
    this.timer = setInterval(() => this.tick(), REDRAW_MS);
    this.timer.unref();
  }

  /** Stops redrawing; the last block stays on screen. Idempotent. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.mode === 'tty') {
      this.suspended = false;
      this.print(null);
    }
    // From here on the block is history: nothing redraws over it.
    this.drawnLines = 0;
  }

  onEvent(e: ProgressEvent): void {
    if (this.mode === 'json') {
      // Scripts get the exact command with the id, as humans do.
      const extra = e.type === 'approval.needed' && !this.autoApprove
        ? { approveCommand: approveCommand(e.approvalId), rejectCommand: approveCommand(e.approvalId, true) }
        : {};
      this.out.write(`${JSON.stringify({ ...e, ...extra })}\n`);
      return;
    }
    this.apply(e);
    // A plain command's action walks validating → succeeded|failed, which step.finished
    // already says; phases are only news for atomic actions.
    if (e.type === 'action.phase' && e.topic !== null && this.step(e.topic, e.step)?.kind === 'command') return;
    if (this.mode === 'lines') {
      this.out.write(`${eventLine(e, this.autoApprove)}\n`);
      return;
    }
    // TTY: output and notable events scroll above the block; the block shows the rest.
    const notice = e.type === 'output' ? `  ${e.topic}/${e.step}${e.spark ? `/${e.spark}` : ''} │ ${e.line}`
      : e.type === 'approval.needed' || e.type === 'approval.decided' || e.type === 'recovery' ? eventLine(e, this.autoApprove)
      : e.type === 'step.finished' && !e.ok ? eventLine(e, this.autoApprove)
      : null;
    this.print(notice);
  }

  /** Writes text above the status block (TTY) or as plain lines. */
  note(text: string): void {
    if (this.mode === 'json') return;
    if (this.mode === 'lines') this.out.write(`${text}\n`);
    else this.print(text);
  }

  /**
   * Freezes the block so an interactive prompt can be written below it; `resume(extraLines)`
   * takes the prompt's lines into the block so the next redraw replaces them too.
   */
  suspend(): void {
    this.suspended = true;
  }

  resume(extraLines: number): void {
    this.drawnLines += extraLines;
    this.suspended = false;
    if (this.mode === 'tty') this.draw();
  }

  private tick(): void {
    this.frame = (this.frame + 1) % SPINNER.length;
    if (!this.suspended) this.draw();
  }

  private print(text: string | null): void {
    if (this.suspended) {
      // Never write into a line the user is typing; keep the text for after the prompt.
      if (text !== null) this.pending.push(text);
      return;
    }
    this.clear();
    for (const line of [...this.pending.splice(0), ...(text === null ? [] : [text])]) this.out.write(`${line}\n`);
    this.draw(false);
  }

  private clear(): void {
    if (this.drawnLines > 0) this.out.write(`\x1b[${this.drawnLines}A\r\x1b[J`);
    this.drawnLines = 0;
  }

  private draw(clearFirst = true): void {
    if (clearFirst) this.clear();
    const width = Math.max(20, (this.out.columns ?? 80) - 1);
    // Lines are cut to the terminal width: a wrapped line would break the cursor arithmetic.
    const lines = this.block().map((l) => (l.length > width ? `${l.slice(0, width - 1)}…` : l));
    this.out.write(`${lines.join('\n')}\n`);
    this.drawnLines = lines.length;
  }

  private icon(state: string): string {
    if (state === 'running' || state === 'gating') return SPINNER[this.frame]!;
    if (state === 'ok' || state === 'completed') return '✓';
    if (state === 'awaiting-approval') return '⏸';
    if (state === 'pending') return '·';
    if (state === 'skipped') return '-';
    return '✗';
  }

  private elapsed(startedAt: number | null, durationMs: number | null): string {
    if (durationMs !== null) return formatDuration(durationMs);
    if (startedAt !== null) return formatDuration(this.now() - startedAt);
    return '';
  }

  private block(): string[] {
    const p = this.pipeline.project;
    const lines = [`${this.icon(this.projectState)} ${p.name}  ${this.projectState}  ${this.elapsed(this.projectStartedAt, this.projectDurationMs)}`];
    const idWidth = Math.max(...this.topics.map((t) => t.id.length));
    for (const t of this.topics) {
      const state = t.state === 'pending' ? 'pending' : t.state;
      lines.push(`  ${this.icon(t.state)} ${t.id.padEnd(idWidth)}  ${state.padEnd(17)} ${this.elapsed(t.startedAt, t.durationMs).padStart(7)}  ${t.title}`);
      if (t.waiting && !this.autoApprove) lines.push(`      ⏸ waits for approval of ${t.waiting.subject}: ${approveCommand(t.waiting.approvalId)}`);
      // Steps only for the topic being worked on; finished topics collapse to one line.
      if (t.state !== 'running' && t.state !== 'awaiting-approval' && t.state !== 'gating') continue;
      for (const s of t.steps) {
        const sparks = s.sparks > 0 ? ` ${s.sparksDone}/${s.sparks} sparks` : '';
        const detail = s.detail ? `  ${s.detail}` : '';
        lines.push(`      ${this.icon(s.state)} ${s.name} (${s.kind})${sparks} ${this.elapsed(s.startedAt, s.durationMs)}${detail}`.trimEnd());
      }
    }
    return lines;
  }

  private step(topicId: string, name: string): StepView | undefined {
    return this.topics.find((t) => t.id === topicId)?.steps.find((s) => s.name === name);
  }

  /** Updates the model behind the TTY block. */
  private apply(e: ProgressEvent): void {
    switch (e.type) {
      case 'project.started': this.projectState = 'running'; this.projectStartedAt = e.at; break;
      case 'project.finished': this.projectState = e.status; this.projectDurationMs = e.durationMs; break;
      case 'topic.started': {
        const t = this.topics.find((x) => x.id === e.topic);
        if (t) { t.state = 'running'; t.startedAt ??= e.at; }
        break;
      }
      case 'topic.finished': {
        const t = this.topics.find((x) => x.id === e.topic);
        if (t) { t.state = e.status; t.durationMs = e.durationMs; t.waiting = null; }
        break;
      }
      case 'approval.needed': {
        const t = this.topics.find((x) => x.id === e.topic);
        if (t) {
          t.waiting = { approvalId: e.approvalId, subject: e.subject };
          t.state = 'awaiting-approval';
          t.startedAt ??= e.at;
        }
        break;
      }
      case 'approval.decided': {
        const t = this.topics.find((x) => x.id === e.topic);
        if (t) {
          t.waiting = null;
          if (t.state === 'awaiting-approval') t.state = e.state === 'approved' ? 'running' : e.state;
        }
        break;
      }
      case 'step.started': {
        const s = this.step(e.topic, e.step);
        if (s) { s.state = 'running'; s.startedAt = e.at; }
        break;
      }
      case 'step.finished': {
        const s = this.step(e.topic, e.step);
        if (s) { s.state = e.ok ? 'ok' : 'failed'; s.durationMs = e.durationMs; s.detail = e.summary; }
        break;
      }
      case 'spark.finished': {
        const s = this.step(e.topic, e.step);
        if (s) s.sparksDone++;
        break;
      }
      case 'action.phase': {
        const s = e.topic ? this.step(e.topic, e.step) : undefined;
        if (s) s.detail = e.phase;
        break;
      }
      case 'output':
      case 'recovery':
        break;
    }
  }
}
