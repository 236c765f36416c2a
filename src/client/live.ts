/**
 * Live data over `GET /v1/events`: a resumable event watch (reconnects with backoff and resumes
 * after the last seq it delivered) and a task-output follower that joins stored output (REST)
 * with live chunks (WebSocket) without gaps or duplicates, until the task ends.
 */
import { isTerminal, type BitacoraError, type FleetEvent, type Task, type TaskLogChunk } from '../core/index.js';
import { upgradeRefused } from './errors.js';
import type { ServerFrame, TaskView } from './types.js';
import { frameText, upgradeStatusOf, type WebSocketFactory } from './websocket.js';

export interface StreamQuery {
  after?: number | null;
  task?: string;
  types?: string[];
  streams?: ('events' | 'logs')[];
}

export interface StreamClosed {
  code: number;
  reason: string;
  /** Set when the master refused the upgrade (bad token, bad query): reconnecting will not help. */
  error: BitacoraError | null;
}

export interface StreamConnection {
  /** Resolves when the hello frame arrived (the subscription is live). */
  ready: Promise<boolean>;
  closed: Promise<StreamClosed>;
  close(): void;
}

/** The client sends a ping this often and gives up on a silent master after three intervals. */
const CLIENT_PING_MS = 15_000;

export function openStream(
  factory: WebSocketFactory,
  url: string,
  token: string,
  onFrame: (frame: ServerFrame) => void,
): StreamConnection {
  let resolveReady!: (ok: boolean) => void;
  let resolveClosed!: (closed: StreamClosed) => void;
  const ready = new Promise<boolean>((r) => (resolveReady = r));
  const closed = new Promise<StreamClosed>((r) => (resolveClosed = r));
  let socket: { close(code?: number, reason?: string): void } | null = null;
  let closeRequested = false;
  let upgradeError: BitacoraError | null = null;
  let lastFrameAt = Date.now();
  let pinger: ReturnType<typeof setInterval> | undefined;

  const finish = (result: StreamClosed) => {
    clearInterval(pinger);
    resolveReady(false);
    resolveClosed(result);
  };

  Promise.resolve()
    .then(() => factory(url, token))
    .then(
      (ws) => {
        socket = ws;
        if (closeRequested) ws.close(1000, 'client closed');
        ws.onerror = (event) => {
          const status = upgradeStatusOf(event);
          if (status !== null && status < 500) upgradeError = upgradeRefused(status, url);
        };
        ws.onclose = (event) => finish({ code: event.code, reason: event.reason, error: upgradeError });
        ws.onopen = () => {
          pinger = setInterval(() => {
            if (Date.now() - lastFrameAt > 3 * CLIENT_PING_MS) ws.close(4000, 'master silent');
            else ws.send(JSON.stringify({ op: 'ping' }));
          }, CLIENT_PING_MS);
          (pinger as { unref?: () => void }).unref?.();
        };
        ws.onmessage = (event) => {
          lastFrameAt = Date.now();
          let frame: ServerFrame;
          try {
            frame = JSON.parse(frameText(event.data)) as ServerFrame;
          } catch {
            return; // a frame we cannot read is skipped; the REST side repairs gaps
          }
          if (frame.kind === 'hello') resolveReady(true);
          onFrame(frame);
        };
      },
      (err: unknown) => finish({ code: 1006, reason: err instanceof Error ? err.message : String(err), error: null }),
    );

  return {
    ready,
    closed,
    close: () => {
      closeRequested = true;
      socket?.close(1000, 'client closed');
    },
  };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

export interface WatchOptions {
  signal: AbortSignal;
  /** Only events about this task (subject) — and its output when `onLog` is given. */
  task?: string;
  /** Event type prefixes, e.g. ['task.', 'node.status']. */
  types?: string[];
  /** Live task output too. */
  onLog?: (chunk: TaskLogChunk) => void;
  /**
   * Called on each (re)connection with the seq it resumes after and the master's latest seq
   * (null when it has none); a latest below `after` means the master's log is not the one
   * resumed from (e.g. a new data directory behind the same URL).
   */
  onConnected?: (after: number, latestSeq: number | null) => void;
  /** Called each time the stream closes and a reconnect is due (e.g. to mark shown data stale). */
  onDisconnected?: (closed: StreamClosed) => void;
}

export type OpenStream = (query: StreamQuery, onFrame: (frame: ServerFrame) => void) => StreamConnection;

/**
 * Delivers events with seq > `afterSeq` (null: only new ones) in order until `signal` aborts.
 * Reconnects with backoff (250 ms → 5 s) and resumes after the last delivered seq. Rejects when
 * the master refuses the stream (bad token or query) or when `onEvent` throws.
 */
export async function watchEvents(
  open: OpenStream,
  afterSeq: number | null,
  onEvent: (event: FleetEvent) => void,
  options: WatchOptions,
): Promise<void> {
  const { signal } = options;
  let last = afterSeq;
  let backoffMs = 250;
  while (!signal.aborted) {
    let failure: unknown = null;
    const conn = open(
      {
        after: last,
        ...(options.task ? { task: options.task } : {}),
        ...(options.types ? { types: options.types } : {}),
        streams: options.onLog ? ['events', 'logs'] : ['events'],
      },
      (frame) => {
        if (failure !== null) return;
        try {
          if (frame.kind === 'hello') {
            last = frame.after;
            backoffMs = 250;
            options.onConnected?.(frame.after, frame.latestSeq);
          } else if (frame.kind === 'event') {
            if (last !== null && frame.event.seq <= last) return;
            last = frame.event.seq;
            onEvent(frame.event);
          } else if (frame.kind === 'log') options.onLog?.(frame.chunk);
        } catch (err) {
          failure = err;
          conn.close();
        }
      },
    );
    const onAbort = () => conn.close();
    signal.addEventListener('abort', onAbort, { once: true });
    const closed = await conn.closed;
    signal.removeEventListener('abort', onAbort);
    if (failure !== null) throw failure;
    if (signal.aborted) return;
    if (closed.error) throw closed.error;
    options.onDisconnected?.(closed);
    await sleep(backoffMs, signal);
    backoffMs = Math.min(backoffMs * 2, 5000);
  }
}

export interface FollowDeps {
  open: OpenStream;
  getTask(id: string): Promise<TaskView>;
  taskLogs(id: string, query: { attempt?: number; after?: number }): Promise<TaskLogChunk[]>;
}

export interface FollowOptions {
  signal?: AbortSignal;
  /** Only this attempt's output. Default: every attempt, in order. */
  attempt?: number;
  /** How often the task's state is re-read (and gaps repaired). Default 500 ms. */
  pollMs?: number;
  /** Called when the task's state, attempt or waiting reason changes (e.g. to say it moved to another node, or why it waits). */
  onTask?: (task: TaskView) => void;
}

/**
 * Delivers a task's output — what is stored, then live — exactly once per (attempt, seq) and
 * in order, and resolves with the task once it is terminal and all its output was delivered.
 * On abort it resolves with the task as last seen. Works without the WebSocket (polling only).
 */
export async function followTaskLogs(
  deps: FollowDeps,
  taskId: string,
  onChunk: (chunk: TaskLogChunk) => void,
  options: FollowOptions = {},
): Promise<Task> {
  const signal = options.signal ?? new AbortController().signal;
  const pollMs = options.pollMs ?? 500;
  const delivered = new Map<number, number>(); // attempt → highest seq delivered
  // Superseded attempts read once after the supersession are complete: later output is fenced off.
  const settled = new Set<number>();
  const buffered: TaskLogChunk[] = [];
  let syncing = false;
  let wake: (() => void) | null = null;
  const poke = () => wake?.();

  const deliver = (chunk: TaskLogChunk): boolean => {
    if (options.attempt !== undefined && chunk.attempt !== options.attempt) return true;
    const last = delivered.get(chunk.attempt) ?? -1;
    if (chunk.seq <= last) return true;
    if (chunk.seq !== last + 1) return false; // a gap: the next sync fetches it
    delivered.set(chunk.attempt, chunk.seq);
    onChunk(chunk);
    return true;
  };
  const drainBuffer = () => {
    buffered.sort((a, b) => a.attempt - b.attempt || a.seq - b.seq);
    const kept = buffered.splice(0).filter((c) => !deliver(c));
    buffered.push(...kept);
    if (kept.length > 0) poke();
  };

  const conn = deps.open({ task: taskId, streams: ['events', 'logs'] }, (frame) => {
    if (frame.kind === 'log' && frame.chunk.taskId === taskId) {
      if (syncing || !deliver(frame.chunk)) buffered.push(frame.chunk);
    } else if (frame.kind === 'event' && frame.event.subject === taskId) poke();
  });
  const onAbort = () => {
    conn.close();
    poke();
  };
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    // Bounded wait: without the live stream the follower still works by polling.
    await Promise.race([conn.ready, new Promise((r) => setTimeout(r, 2000))]);
    let task = await deps.getTask(taskId);
    options.onTask?.(task);
    const sync = async (upTo: Task) => {
      syncing = true;
      try {
        const attempts = options.attempt !== undefined ? [options.attempt] : range(1, Math.max(upTo.attempt, 1));
        for (const attempt of attempts) {
          if (settled.has(attempt)) continue;
          const last = delivered.get(attempt);
          const chunks = await deps.taskLogs(taskId, { attempt, ...(last !== undefined ? { after: last } : {}) });
          for (const chunk of chunks) deliver(chunk);
          if (attempt < upTo.attempt) settled.add(attempt);
        }
      } finally {
        syncing = false;
      }
      drainBuffer();
    };
    while (!signal.aborted) {
      await sync(task);
      if (isTerminal(task.state)) {
        // Output is stored before the result; one more read after seeing the end catches the tail.
        await sync(task);
        return task;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pollMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = null;
      if (signal.aborted) break;
      const next = await deps.getTask(taskId);
      if (next.state !== task.state || next.attempt !== task.attempt || next.waitingReason !== task.waitingReason) options.onTask?.(next);
      task = next;
    }
    return task;
  } finally {
    signal.removeEventListener('abort', onAbort);
    conn.close();
  }
}

function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = from; i <= to; i++) out.push(i);
  return out;
}
