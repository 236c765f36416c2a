/**
 * ReportBatcher: everything the agent reports about its attempts in one turn of the event loop
 * (starts, output chunks, results, rejections) leaves as one `reports` frame, flushed on
 * `setImmediate` — after every I/O callback of the turn, so a burst of finishing processes
 * costs the master one frame and one store operation, not one per report. A frame is closed
 * early when it reaches its byte budget or MAX_BATCH_ITEMS, and when a report must be applied
 * after one of a later list already in it (the coordinator applies started, output, finished,
 * rejected in that order; a new frame keeps the per-task order).
 *
 * Not a buffer across disconnects: the Outbox holds what must be re-sent; `clear()` drops
 * whatever is pending when the stream goes.
 */
import type { TaskLogChunk } from '../core/index.js';
import {
  MAX_BATCH_ITEMS, MAX_MESSAGE_BYTES, type AgentMessage, type TaskFinishedReport, type TaskRejectedReport, type TaskReports,
  type TaskStartedReport,
} from '../rpc/messages.js';

/** Where the Outbox hands what it reports (the batcher, or a test's recorder). */
export interface ReportSink {
  started(report: TaskStartedReport): void;
  output(chunk: TaskLogChunk): void;
  finished(report: TaskFinishedReport): void;
}

export interface ReportBatcherOptions {
  /** Sends one `reports` message; false when not connected (the reports are dropped). */
  send(message: AgentMessage): boolean;
  /** Estimated encoded bytes at which a frame is sent at once. Default MAX_MESSAGE_BYTES / 4 (1 MiB). */
  maxFrameBytes?: number;
  /** Most reports per frame. Default MAX_BATCH_ITEMS. */
  maxItems?: number;
  /** Defers the flush to the end of the turn. Default setImmediate (unref'd). */
  schedule?: (flush: () => void) => void;
}

/** Position of each list in the order the coordinator applies them. */
const RANK = { started: 0, output: 1, finished: 2, rejected: 3 } as const;
type List = keyof typeof RANK;

/** Upper bound of an item's fixed protobuf overhead (tags, varints, doubles, sub-message lengths). */
const ITEM_OVERHEAD_BYTES = 48;

const deferToImmediate = (flush: () => void): void => void setImmediate(flush).unref();

export class ReportBatcher implements ReportSink {
  private frame: TaskReports = empty();
  private items = 0;
  private bytes = 0;
  /** The latest list each task has a report in, within the pending frame. */
  private readonly latest = new Map<string, number>();
  private scheduled = false;
  /** Bumped by flush/clear so a stale scheduled flush does nothing. */
  private generation = 0;
  private readonly maxBytes: number;
  private readonly maxItems: number;
  private readonly schedule: (flush: () => void) => void;

  constructor(private readonly options: ReportBatcherOptions) {
    this.maxBytes = options.maxFrameBytes ?? MAX_MESSAGE_BYTES / 4;
    this.maxItems = Math.min(options.maxItems ?? MAX_BATCH_ITEMS, MAX_BATCH_ITEMS);
    this.schedule = options.schedule ?? deferToImmediate;
  }

  /** Reports waiting for the end of the turn. */
  get pending(): number {
    return this.items;
  }

  started(report: TaskStartedReport): void {
    this.add('started', report.taskId, Buffer.byteLength(report.taskId), report);
  }

  output(chunk: TaskLogChunk): void {
    this.add('output', chunk.taskId, Buffer.byteLength(chunk.taskId) + Buffer.byteLength(chunk.data), chunk);
  }

  finished(report: TaskFinishedReport): void {
    this.add('finished', report.taskId, Buffer.byteLength(report.taskId) + (report.result.error === null ? 0 : Buffer.byteLength(report.result.error)), report);
  }

  rejected(report: TaskRejectedReport): void {
    this.add('rejected', report.taskId, Buffer.byteLength(report.taskId) + Buffer.byteLength(report.reason), report);
  }

  /** Sends what is pending now (before a `leaving`, in tests). */
  flush(): void {
    this.generation++;
    this.scheduled = false;
    if (this.items === 0) return;
    const frame = this.frame;
    this.reset();
    this.options.send({ type: 'reports', ...frame });
  }

  /** Drops what is pending (the stream is gone; the Outbox re-sends what it holds). */
  clear(): void {
    this.generation++;
    this.scheduled = false;
    this.reset();
  }

  private add<L extends List>(list: L, taskId: string, payloadBytes: number, item: TaskReports[L][number]): void {
    const rank = RANK[list];
    const size = payloadBytes + ITEM_OVERHEAD_BYTES;
    // Applied before a later-list report of the same task already pending: it needs a frame of its own.
    if ((this.latest.get(taskId) ?? -1) > rank || (this.items > 0 && this.bytes + size > this.maxBytes)) this.flush();
    (this.frame[list] as Array<TaskReports[L][number]>).push(item);
    this.items++;
    this.bytes += size;
    if ((this.latest.get(taskId) ?? -1) < rank) this.latest.set(taskId, rank);
    if (this.items >= this.maxItems || this.bytes >= this.maxBytes) {
      this.flush();
      return;
    }
    if (!this.scheduled) {
      this.scheduled = true;
      const generation = this.generation;
      this.schedule(() => {
        if (generation === this.generation) this.flush();
      });
    }
  }

  private reset(): void {
    this.frame = empty();
    this.items = 0;
    this.bytes = 0;
    this.latest.clear();
  }
}

function empty(): TaskReports {
  return { started: [], output: [], finished: [], rejected: [] };
}
