/**
 * The interactive y/N prompt `pipeline run --local` offers on a terminal when a risky topic
 * waits. The answer is recorded through the ApprovalRepository like `bitacora approve`, so
 * the engine's waiter sees it; a decision made elsewhere first closes the prompt.
 */
import { createInterface, type Interface } from 'node:readline';
import type { ProgressDisplay } from './progress-display.js';

export interface PromptRequest {
  approvalId: string;
  subject: string;
  project: string;
}

export class ApprovalPrompt {
  private rl: Interface | null = null;
  private open: PromptRequest | null = null;
  private readonly queue: PromptRequest[] = [];
  private closed = false;

  constructor(
    private readonly input: NodeJS.ReadableStream,
    private readonly out: NodeJS.WritableStream,
    private readonly display: ProgressDisplay,
    /** Records the answer; returns a line to show (e.g. why it could not be recorded). */
    private readonly decide: (approvalId: string, approve: boolean) => string,
  ) {}

  ask(request: PromptRequest): void {
    if (this.closed) return;
    this.queue.push(request);
    if (!this.open) this.next();
  }

  /** The approval was decided by someone else (or automatically): stop asking about it. */
  settled(approvalId: string, text: string): void {
    const queued = this.queue.findIndex((r) => r.approvalId === approvalId);
    if (queued >= 0) this.queue.splice(queued, 1);
    if (this.open?.approvalId !== approvalId) return;
    this.open = null;
    // The cursor is after the unanswered question: end that line, then show what happened.
    this.out.write('\n');
    this.display.resume(1);
    this.display.note(text);
    this.next();
  }

  /** Stops reading the terminal so the process can exit. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.length = 0;
    if (this.open) {
      this.open = null;
      this.out.write('\n');
      this.display.resume(1);
    }
    this.rl?.close();
    this.rl = null;
    this.input.pause();
  }

  private next(): void {
    const request = this.queue.shift();
    if (!request || this.closed) return;
    this.open = request;
    if (!this.rl) {
      // terminal: false keeps the terminal in cooked mode: it echoes the answer and Ctrl-C
      // still interrupts the run.
      this.rl = createInterface({ input: this.input, terminal: false });
      this.rl.on('line', (line) => this.answer(line));
    }
    this.display.suspend();
    this.out.write(`Approve ${request.subject} of ${request.project} now? [y/N] `);
  }

  private answer(line: string): void {
    const request = this.open;
    if (!request) return;
    this.open = null;
    const approve = /^\s*y(es)?\s*$/i.test(line);
    this.display.resume(1);
    this.display.note(this.decide(request.approvalId, approve));
    this.next();
  }
}
