#!/usr/bin/env node
// BullMQ side, producer: the same workloads as master-child.mjs's `latency` and
// `throughput`, through a BullMQ Queue on the benchmark's redis-server. Jobs keep BullMQ's
// defaults (completed jobs are kept, like our task records; no removeOnComplete).
// argv[2]: JSON { port, queue }
import { Queue, QueueEvents } from 'bullmq';
import { emit, now, serve, sleep } from './proc.mjs';

const options = JSON.parse(process.argv[2] ?? '{}');
const connection = { host: '127.0.0.1', port: options.port, maxRetriesPerRequest: null };
const queue = new Queue(options.queue, { connection });
await queue.waitUntilReady();

const DATA = { command: ['noop'] };

serve({
  /** One job at a time on idle workers; waits for each to complete (QueueEvents) before the next. */
  latency: async ({ n, gapMs = 2 }) => {
    const events = new QueueEvents(options.queue, { connection });
    await events.waitUntilReady();
    const waiters = new Map();
    events.on('completed', ({ jobId }) => {
      const w = waiters.get(jobId);
      if (w) {
        waiters.delete(jobId);
        w(now());
      }
    });
    const samples = [];
    try {
      for (let i = 0; i < n; i++) {
        const t0 = now();
        const job = await queue.add('noop', DATA);
        const acked = now();
        const done = new Promise((resolve) => waiters.set(job.id, resolve));
        // Completion may have been seen before the waiter was set: check once.
        const finished = await Promise.race([done, (async () => {
          for (;;) {
            await sleep(200);
            if (await job.isCompleted()) return now();
          }
        })()]);
        samples.push({ id: job.id, t0, acked, finished });
        await sleep(gapMs);
      }
    } finally {
      await events.close();
    }
    return samples;
  },

  /**
   * Time-boxed like master-child.mjs: for `durationMs`, jobs are added one-by-one (each
   * `add` awaited — one durable acknowledgement per job, like our one-by-one) or with
   * `addBulk` batches of `batchSize`, keeping at most `maxOutstanding` unfinished; then all
   * are awaited. Completion is read from the completed set (ZCARD, polled every 2 ms while
   * waiting: negligible load next to the jobs themselves).
   */
  throughput: async ({ mode, durationMs, batchSize = 200, maxOutstanding = 400 }) => {
    const before = await queue.getCompletedCount();
    const completed = async () => (await queue.getCompletedCount()) - before;
    const t0 = now();
    let submitted = 0;
    let finishedSeen = 0;
    while (now() - t0 < durationMs) {
      if (mode === 'batch') {
        if (submitted - finishedSeen + batchSize > maxOutstanding) {
          finishedSeen = await completed();
          if (submitted - finishedSeen + batchSize > maxOutstanding) await sleep(2);
          continue;
        }
        await queue.addBulk(Array.from({ length: batchSize }, () => ({ name: 'noop', data: DATA })));
        submitted += batchSize;
      } else {
        await queue.add('noop', DATA);
        submitted++;
      }
    }
    const submittedAt = now();
    while ((await completed()) < submitted) await sleep(2);
    const finished = now();
    return { n: submitted, submitMs: submittedAt - t0, totalMs: finished - t0 };
  },

  close: async () => {
    await queue.close();
    setTimeout(() => process.exit(0), 20);
    return true;
  },
});

emit({ event: 'ready', pid: process.pid });
