/** Projects: each project's pinned nodes, its topics and their progress, and the current step. */
import { Badge, Empty } from '../ui.js';
import type { ViewProps } from '../views.js';

export function ProjectsView({ picture }: ViewProps) {
  const { projects, topics, tasks, nodes } = picture;
  const nodeName = (id: string) => nodes.find((n) => n.id === id || n.name === id)?.name ?? id;
  return (
    <>
      <h1>Projects</h1>
      <p class="meta">Migrating a project to another node (with its workspace) arrives with the migration issue.</p>
      {projects.length === 0 ? <Empty>No project yet. Create one with <code>bitacora project create NAME</code>.</Empty> : (
        <ul class="cards grid" aria-label="Projects">
          {projects.map((p) => {
            const own = topics.filter((t) => t.project === p.name);
            const done = own.filter((t) => t.status === 'completed').length;
            const current = own.find((t) => t.status === 'in-progress');
            const active = tasks.filter((t) => t.project === p.name && (t.state === 'running' || t.state === 'assigned')).length;
            return (
              <li class="card" key={p.name} data-project={p.name}>
                <div class="row spread"><h2 class="card-title">{p.name}</h2><Badge tone={p.status === 'active' ? 'ok' : 'muted'}>{p.status}</Badge></div>
                {p.description && <p>{p.description}</p>}
                <p class="meta">Nodes: {p.pinnedNodes.length ? p.pinnedNodes.map(nodeName).join(', ') : 'any capable node'} · {active} tasks running</p>
                <label for={`progress-${p.name}`}>Topics: {done} of {own.length} completed</label>
                <progress id={`progress-${p.name}`} max={Math.max(1, own.length)} value={done} />
                <p>Current step: {current ? <strong>{current.title}</strong> : 'none in progress'}</p>
                {own.length > 0 && (
                  <ul class="topics">
                    {own.map((t) => <li key={t.id}><Badge tone={t.status === 'completed' ? 'ok' : t.status === 'in-progress' ? 'info' : 'muted'}>{t.status}</Badge> {t.title} <span class="meta">risk {t.risk}</span></li>)}
                  </ul>
                )}
              </li>
            );
          })}
        </ul>
      )}
    </>
  );
}
