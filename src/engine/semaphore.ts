/** A counting semaphore with FIFO waiters and cancellable waits: the engine's concurrency bound. */
import { CancelledError } from './errors.js';

export class Semaphore {
  private available: number;
  private readonly waiters: Array<{ grant: () => void; reject: (err: Error) => void }> = [];

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`semaphore limit must be a positive integer, got ${limit}`);
    this.available = limit;
  }

  /** Permits currently held. */
  get inUse(): number {
    return this.limit - this.available;
  }

  /** Resolves with a release function once a permit is free; rejects with CancelledError on abort. */
  acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(new CancelledError('waiting for a slot'));
    if (this.available > 0) {
      this.available--;
      return Promise.resolve(this.releaser());
    }
    return new Promise((resolve, reject) => {
      const waiter = {
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve(this.releaser());
        },
        reject,
      };
      const onAbort = (): void => {
        const index = this.waiters.indexOf(waiter);
        if (index >= 0) this.waiters.splice(index, 1);
        reject(new CancelledError('waiting for a slot'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /** Runs `fn` holding a permit. */
  async use<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const release = await this.acquire(signal);
    try {
      return await fn();
    } finally {
      release();
    }
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return; // idempotent: a double release must not inflate the bound
      released = true;
      const next = this.waiters.shift();
      // Hand the permit straight to the next waiter, so `available` never overshoots.
      if (next) next.grant();
      else this.available++;
    };
  }
}
