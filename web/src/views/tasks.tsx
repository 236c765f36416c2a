/** Tasks: the live list (filters by state, node and project) and a form to run a command on the fleet. */
import { useState } from 'preact/hooks';
import { TASK_STATES, type Task, type TaskState } from '../../../src/core/index.js';
import { ago, commandLine, errorText } from '../format.js';
import { Badge, Empty } from '../ui.js';
import type { ViewProps } from '../views.js';

export const STATE_TONE: Record<TaskState, 'ok' | 'warn' | 'bad' | 'info' | 'muted'> = {
  pending: 'muted', assigned: 'info', running: 'info', succeeded: 'ok', failed: 'bad', cancelled: 'warn',
};

function RunForm({ client, onSubmitted }: { client: ViewProps['client']; onSubmitted: (t: Task) => void }) {
  const [line, setLine] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const { task } = await client.submitTask({ command: ['sh', '-c', line] });
      setLine('');
      onSubmitted(task);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="run-form" onSubmit={submit}>
      <label for="run-line">Run a command on the fleet</label>
      <div class="row">
        <input id="run-line" name="command" placeholder="npm test" value={line} onInput={(e) => setLine((e.target as HTMLInputElement).value)} required />
        <button class="btn primary" type="submit" disabled={busy || line.trim() === ''}>{busy ? 'Submitting…' : 'Run'}</button>
      </div>
      {error && <p class="error" role="alert">{error}</p>}
    </form>
  );
}

export function TasksView({ picture, client, now }: ViewProps) {
  const [state, setState] = useState<'' | TaskState>('');
  const [node, setNode] = useState('');
  const [project, setProject] = useState('');
  const nodeName = (id: string | null) => picture.nodes.find((n) => n.id === id)?.name ?? id ?? '—';
  const projects = [...new Set(picture.tasks.map((t) => t.project).filter((p): p is string => p !== null)), ...picture.projects.map((p) => p.name)];
  const shown = picture.tasks.filter((t) => (!state || t.state === state) && (!node || t.nodeId === node) && (!project || t.project === project));
  return (
    <>
      <h1>Tasks</h1>
      <RunForm client={client} onSubmitted={(t) => (location.hash = `#/tasks/${t.id}`)} />
      <fieldset class="filters">
        <legend>Filter</legend>
        <label>State
          <select value={state} onChange={(e) => setState((e.target as HTMLSelectElement).value as TaskState | '')}>
            <option value="">any</option>
            {TASK_STATES.map((s) => <option key={s} value={s}>{s}</option>)}
          </select>
        </label>
        <label>Node
          <select value={node} onChange={(e) => setNode((e.target as HTMLSelectElement).value)}>
            <option value="">any</option>
            {picture.nodes.map((n) => <option key={n.id} value={n.id}>{n.name}</option>)}
          </select>
        </label>
        <label>Project
          <select value={project} onChange={(e) => setProject((e.target as HTMLSelectElement).value)}>
            <option value="">any</option>
            {[...new Set(projects)].map((p) => <option key={p} value={p}>{p}</option>)}
          </select>
        </label>
      </fieldset>
      {shown.length === 0 ? (
        <Empty>{picture.tasks.length === 0 ? 'No task yet: run one above, or with `bitacora run -- CMD`.' : 'No task matches these filters.'}</Empty>
      ) : (
        <ul class="cards" aria-label="Tasks">
          {shown.map((t) => (
            <li class="card task" key={t.id} data-task={t.id} data-state={t.state}>
              <a class="card-link" href={`#/tasks/${t.id}`}>
                <code class="cmd">{commandLine(t.command)}</code>
                <span class="row spread">
                  <Badge tone={STATE_TONE[t.state]}>{t.state}</Badge>
                  <span class="meta">{nodeName(t.nodeId)} · attempt {t.attempt}{t.project ? ` · ${t.project}` : ''} · {ago(t.finishedAt ?? t.startedAt ?? t.createdAt, now)}</span>
                </span>
              </a>
            </li>
          ))}
        </ul>
      )}
    </>
  );
}
