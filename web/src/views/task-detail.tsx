/**
 * One task: its state, the live output tail with "jump to first error", and the attempt timeline
 * built from the task's own events (the stream replays them from the start, then stays live).
 * Output is the stored chunks first, then live ones, each (attempt, seq) once.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { isTerminal, type FleetEvent, type Task, type TaskLogChunk } from '../../../src/core/index.js';
import { clock, commandLine, duration } from '../format.js';
import { attemptsOf } from '../attempts.js';
import { retrySpec } from '../task-spec.js';
import { ActionButton, Badge, Confirmed, Empty, Section } from '../ui.js';
import type { ViewProps } from '../views.js';
import { STATE_TONE } from './tasks.js';

/** Keep the tail bounded: a chatty task must not grow the page without end. */
const MAX_CHUNKS = 2000;
const ERROR_RE = /\b(error|failed|fatal|exception|panic)\b/i;

export function TaskDetailView({ picture, client, live, id }: ViewProps & { id: string }) {
  const [own, setOwn] = useState<Task | null>(null);
  // The live picture keeps the recent tasks current; an older one is read here once per connection.
  const task = picture.tasks.find((t) => t.id === id) ?? (own?.id === id ? own : null);
  const [events, setEvents] = useState<FleetEvent[]>([]);
  const [chunks, setChunks] = useState<TaskLogChunk[]>([]);
  const [missing, setMissing] = useState<string | null>(null);
  const firstError = useRef<HTMLSpanElement>(null);
  const outputRef = useRef<HTMLPreElement>(null);

  useEffect(() => {
    const abort = new AbortController();
    // Stored and live chunks meet here in any order; each (attempt, seq) is shown once, in order.
    const byKey = new Map<string, TaskLogChunk>();
    const floor = new Map<number, number>(); // attempt → highest seq known contiguous from 0, kept when old chunks are dropped
    const contiguous = (attempt: number) => {
      let seq = floor.get(attempt) ?? -1;
      while (byKey.has(`${attempt}:${seq + 1}`)) seq++;
      return seq;
    };
    const add = (list: TaskLogChunk[]) => {
      let changed = false;
      for (const c of list) {
        const key = `${c.attempt}:${c.seq}`;
        if (!byKey.has(key) && c.seq > (floor.get(c.attempt) ?? -1)) {
          byKey.set(key, c);
          changed = true;
        }
      }
      if (!changed) return;
      let sorted = [...byKey.values()].sort((a, b) => a.attempt - b.attempt || a.seq - b.seq);
      if (sorted.length > MAX_CHUNKS) {
        for (const c of sorted.slice(0, sorted.length - MAX_CHUNKS)) {
          floor.set(c.attempt, Math.max(contiguous(c.attempt), floor.get(c.attempt) ?? -1));
          byKey.delete(`${c.attempt}:${c.seq}`);
        }
        sorted = sorted.slice(-MAX_CHUNKS);
      }
      setChunks(sorted);
    };
    // Stored output for every attempt so far; read again on each reconnect for what is missing.
    const backfill = async () => {
      try {
        const t = await client.getTask(id);
        setOwn(t);
        for (let attempt = 1; attempt <= Math.max(1, t.attempt); attempt++) {
          const after = contiguous(attempt);
          add(await client.taskLogs(id, { attempt, ...(after >= 0 ? { after } : {}) }));
        }
      } catch (err) {
        if (!abort.signal.aborted) setMissing(err instanceof Error ? err.message : String(err));
      }
    };
    setEvents([]);
    setChunks([]);
    void client
      .watchEvents(0, (e) => setEvents((old) => [...old, e]), {
        signal: abort.signal,
        task: id,
        types: ['task.'],
        onLog: (chunk) => add([chunk]),
        onConnected: () => void backfill(),
      })
      .catch(() => undefined);
    return () => abort.abort();
  }, [id, client]);

  useEffect(() => {
    const pre = outputRef.current;
    if (pre && pre.scrollHeight - pre.scrollTop - pre.clientHeight < 80) pre.scrollTop = pre.scrollHeight;
  }, [chunks.length]);

  const attempts = attemptsOf(events);
  const nodeName = (nid: string | null) => picture.nodes.find((n) => n.id === nid)?.name ?? nid ?? '—';
  const errorIndex = chunks.findIndex((c) => c.stream === 'stderr' || ERROR_RE.test(c.data));
  const refresh = () => void live.refresh();

  if (!task && missing) return <><h1>Task {id}</h1><Empty>This task is not known to the master ({missing}). <a href="#/tasks">Back to the tasks</a>.</Empty></>;
  return (
    <>
      <p><a href="#/tasks">← Tasks</a></p>
      <h1>Task <code>{id}</code></h1>
      {task ? (
        <div class="card">
          <p><code class="cmd">{commandLine(task.command)}</code></p>
          <p class="row wrap">
            <Badge tone={STATE_TONE[task.state]}>{task.state}</Badge>
            <span class="meta" data-testid="task-state">{task.state} · attempt {task.attempt} · on {nodeName(task.nodeId)}{task.exitCode !== null ? ` · exit ${task.exitCode}` : ''}{task.project ? ` · ${task.project}` : ''}</span>
          </p>
          {task.error && <p class="error">{task.error}</p>}
          <div class="row wrap">
            {!isTerminal(task.state) ? (
              <Confirmed label="Cancel task" title="Cancel this task?" confirmLabel="Cancel task" onConfirm={() => client.cancelTask(task.id, 'cancelled from the dashboard').then(refresh)}>
                <p>Its process is stopped on its node; the task ends as cancelled.</p>
              </Confirmed>
            ) : (
              <ActionButton label="Retry" name="Retry this task" run={async () => {
                const { task: next } = await client.submitTask(retrySpec(task));
                location.hash = `#/tasks/${next.id}`;
              }} />
            )}
          </div>
        </div>
      ) : <p class="loading" role="status">Reading the task…</p>}

      <Section title="Output" id="output">
        <div class="row wrap">
          <button type="button" class="btn plain" disabled={errorIndex < 0} onClick={() => {
            firstError.current?.scrollIntoView({ block: 'center' });
            firstError.current?.focus();
          }}>Jump to first error</button>
          <span class="meta">{chunks.length === 0 ? 'no output yet' : `${chunks.length} chunks${errorIndex < 0 ? ', no error seen' : ''}`}</span>
        </div>
        <pre class="output" ref={outputRef} tabIndex={0} role="log" aria-label="Task output" data-testid="task-output">
          {chunks.map((c, i) => (
            <span key={`${c.attempt}:${c.seq}`} class={`chunk ${c.stream}`} ref={i === errorIndex ? firstError : undefined} tabIndex={i === errorIndex ? -1 : undefined}>{c.data}</span>
          ))}
        </pre>
      </Section>

      <Section title="Attempts" id="attempts">
        {attempts.length === 0 ? <Empty>Not placed on a node yet.</Empty> : (
          <ol class="timeline" aria-label="Attempt timeline">
            {attempts.map((a) => (
              <li key={a.attempt}>
                <strong>Attempt {a.attempt}</strong> on {nodeName(a.nodeId)}: started {clock(a.startedAt ?? a.assignedAt)}
                {a.endedAt !== null ? `, ended ${clock(a.endedAt)} (${duration(a.endedAt - (a.startedAt ?? a.assignedAt ?? a.endedAt))})` : ', still going'}
                {a.ending && <> — <span class="ending">{a.ending}</span></>}
              </li>
            ))}
          </ol>
        )}
      </Section>
    </>
  );
}
