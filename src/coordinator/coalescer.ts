/**
 * Coalescer — gathers the calls made in one synchronous run (one turn of the event loop)
 * into one batched call: a burst of 200 agent reports becomes one `tasks.recordReports`, one
 * store operation, one group commit. Each caller still gets its own item's answer, in order.
 */
export class Coalescer<I, O> {
  private items: I[] = [];
  private waiters: Array<{ resolve: (o: O) => void; reject: (e: unknown) => void }> = [];
  private scheduled = false;

  /** `run` answers one output per input, in order; a rejection rejects every caller of that batch. */
  constructor(private readonly run: (items: I[]) => Promise<O[]>) {}

  push(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.items.push(item);
      this.waiters.push({ resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        queueMicrotask(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const items = this.items;
    const waiters = this.waiters;
    this.items = [];
    this.waiters = [];
    this.run(items).then(
      (outputs) => waiters.forEach((w, i) => w.resolve(outputs[i]!)),
      (err: unknown) => waiters.forEach((w) => w.reject(err)),
    );
  }
}
