#!/usr/bin/env node
// BullMQ side, workers: `workers` Worker instances in this one process (as our simulated
// agents share a process), each with its own Redis connections and `concurrency` slots,
// whose processor records when it was called and returns at once (or after `delayMs`).
// argv[2]: JSON { port, queue, workers, concurrency, delayMs }
import { Worker } from 'bullmq';
import { emit, now, serve, sleep } from './proc.mjs';

const options = JSON.parse(process.argv[2] ?? '{}');
const connection = { host: '127.0.0.1', port: options.port, maxRetriesPerRequest: null };
let receipts = null;
let processed = 0;
const delayMs = options.delayMs ?? 0;

const processor = async (job) => {
  if (receipts) receipts[job.id] = now();
  processed++;
  if (delayMs > 0) await sleep(delayMs);
  return null;
};

const workers = Array.from({ length: options.workers ?? 1 }, () => new Worker(options.queue, processor, { connection, concurrency: options.concurrency ?? 1 }));
await Promise.all(workers.map((w) => w.waitUntilReady()));
// Let every worker reach its blocking wait before the first job is added.
await sleep(200);
emit({ event: 'ready', pid: process.pid });

serve({
  startLog: () => {
    receipts = {};
    return true;
  },
  dumpLog: () => {
    const out = receipts ?? {};
    receipts = null;
    return out;
  },
  counters: () => ({ processed }),
  close: async () => {
    await Promise.all(workers.map((w) => w.close()));
    setTimeout(() => process.exit(0), 20);
    return true;
  },
});
process.on('SIGTERM', () => process.exit(0));
