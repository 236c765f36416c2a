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
  /** An answer is being recorded: the next question waits until its outcome is shown. */
  private answering = false;
  private readonly queue: PromptRequest[] = [];
  private closed = false;

  constructor(
    private readonly input: NodeJS.ReadableStream,
    private readonly out: NodeJS.WritableStream,
    private readonly display: ProgressDisplay,
    /** Records the answer; resolves with a line to show (e.g. why it could not be recorded). Never rejects. */
    private readonly decide: (approvalId: string, approve: boolean) => Promise<string>,
  ) {}

  ask(request: PromptRequest): void {
    if (this.closed) return;
    this.queue.push(request);
    if (!this.open && !this.answering) this.next();
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
      this.rl.on('line', (line) => {
        this.answer(line).catch((err: unknown) => {
          // decide() never rejects; should it, say so rather than leave the prompt hanging.
          this.display.note(`Could not record the answer: ${err instanceof Error ? err.message : String(err)}`);
          this.next();
        });
      });
    }
    this.display.suspend();
    this.out.write(`Approve ${request.subject} of ${request.project} now? [y/N] `);
  }

  private async answer(line: string): Promise<void> {
    const request = this.open;
    if (!request) return;
    this.open = null;
    const approve = /^\s*y(es)?\s*$/i.test(line);
    this.display.resume(1);
    this.answering = true;
    let said: string;
    try {
      said = await this.decide(request.approvalId, approve);
    } finally {
      this.answering = false;
    }
    if (this.closed) return;
    this.display.note(said);
    this.next();
  }
}
