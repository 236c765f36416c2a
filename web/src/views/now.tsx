/** Now, the home screen: what needs the user, each with its one-tap action; when nothing does, it says so with the fleet's pulse. */
import { ago, commandLine } from '../format.js';
import { retrySpec } from '../task-spec.js';
import { ActionButton, Confirmed, Section } from '../ui.js';
import type { ViewProps } from '../views.js';

/** A task pending this long is shown as stuck (waiting for a capable node). */
const STUCK_PENDING_MS = 60_000;
const HOUR = 3_600_000;

export function NowView({ picture, client, live, now }: ViewProps) {
  const { status, nodes, tasks, approvals, notices } = picture;
  const frozen = status !== null && !status.acceptingWork;
  const down = nodes.filter((n) => n.status === 'down');
  const draining = nodes.filter((n) => n.status === 'draining');
  const failed = tasks.filter((t) => t.state === 'failed' && (t.finishedAt ?? 0) > now - HOUR);
  const stuck = tasks.filter((t) => t.state === 'pending' && now - t.createdAt > STUCK_PENDING_MS);
  const moved = tasks.filter((t) => t.infraFailures > 0 && (t.finishedAt === null || t.finishedAt > now - HOUR));
  const fenced = notices.filter((e) => e.type === 'task.fenced' && e.at > now - HOUR);
  const nodeName = (id: string | null) => nodes.find((n) => n.id === id)?.name ?? id ?? '—';
  const refresh = () => void live.refresh();
  const needs = frozen || approvals.length + down.length + draining.length + failed.length + stuck.length + moved.length + fenced.length > 0;

  const running = status?.tasks.running ?? 0;
  const queued = (status?.tasks.pending ?? 0) + (status?.tasks.assigned ?? 0);
  const doneLastHour = tasks.filter((t) => t.state === 'succeeded' && (t.finishedAt ?? 0) > now - HOUR).length;

  return (
    <>
      <h1>Now</h1>
      <section class="pulse" aria-label="Fleet pulse">
        <div><strong data-testid="pulse-running">{running}</strong> running</div>
        <div><strong data-testid="pulse-queued">{queued}</strong> queued</div>
        <div><strong data-testid="pulse-done">{doneLastHour}</strong> done in the last hour</div>
        <div><strong>{status ? `${status.nodes.ready}/${status.nodes.total}` : '—'}</strong> nodes ready</div>
      </section>

      {picture.status === null && picture.connection === 'connecting' && <p class="loading" role="status">Reading the fleet…</p>}
      {!needs && status !== null && (
        <p class="all-well" role="status">All is well: nothing needs you. {nodes.length === 0 ? 'No node has joined yet: run the join command `bitacora up` printed on another machine.' : ''}</p>
      )}

      {frozen && (
        <div class="alert bad" role="alert" data-testid="freeze">
          <p><strong>Emergency freeze in force:</strong> no task is dispatched.</p>
          <ActionButton label="Resume dispatch" variant="primary" run={() => client.resumeDispatch()} onDone={refresh} />
        </div>
      )}

      {approvals.length > 0 && (
        <Section title={`Approvals waiting (${approvals.length})`} id="now-approvals">
          <ul class="cards">
            {approvals.map((a) => (
              <li class="card" key={a.id}>
                <p><strong>{a.project}</strong>: {a.reason}</p>
                <p class="meta">requested {ago(a.requestedAt, now)} · expires {ago(a.expiresAt, now).replace(' ago', '')}</p>
                <div class="row">
                  <ActionButton label="Approve" name={`Approve ${a.project}: ${a.reason}`} variant="primary" run={() => client.logbook.decideApproval(a.id, 'approve')} onDone={refresh} />
                  <a class="btn plain" href="#/approvals">Review</a>
                </div>
              </li>
            ))}
          </ul>
        </Section>
      )}

      {(down.length > 0 || draining.length > 0) && (
        <Section title="Nodes needing attention" id="now-nodes">
          <ul class="cards">
            {down.map((n) => (
              <li class="card" key={n.id} data-node={n.name}>
                <p><strong>{n.name}</strong> is <span class="badge bad">down</span> · last heartbeat {ago(n.lastHeartbeatAt, now)}</p>
                <p class="meta">Its unfinished tasks move to other capable nodes. If it will not come back, remove it.</p>
                <Confirmed label="Remove" name={`Remove ${n.name}`} title={`Remove ${n.name} from the fleet?`} confirmLabel="Remove" onConfirm={() => client.removeNode(n.id)}>
                  <p>It can join again later with a new join token.</p>
                </Confirmed>
              </li>
            ))}
            {draining.map((n) => (
              <li class="card" key={n.id}>
                <p><strong>{n.name}</strong> is <span class="badge warn">draining</span> · {n.runningTasks} running</p>
                <ActionButton label="Undrain" name={`Undrain ${n.name}`} run={() => client.undrainNode(n.id)} onDone={refresh} />
              </li>
            ))}
          </ul>
        </Section>
      )}

      {(failed.length > 0 || stuck.length > 0) && (
        <Section title="Failed or stuck tasks" id="now-tasks">
          <ul class="cards">
            {failed.slice(0, 10).map((t) => (
              <li class="card" key={t.id}>
                <p><a href={`#/tasks/${t.id}`}><code>{commandLine(t.command)}</code></a> <span class="badge bad">failed</span></p>
                <p class="meta">{t.error ?? `exit ${t.exitCode ?? '?'}`} · on {nodeName(t.nodeId)} · {ago(t.finishedAt, now)}</p>
                <ActionButton label="Retry" name={`Retry ${commandLine(t.command)}`} run={() => client.submitTask(retrySpec(t))} onDone={refresh} />
              </li>
            ))}
            {stuck.slice(0, 10).map((t) => (
              <li class="card" key={t.id}>
                <p><a href={`#/tasks/${t.id}`}><code>{commandLine(t.command)}</code></a> <span class="badge warn">waiting</span></p>
                <p class="meta">pending since {ago(t.createdAt, now)}: no ready node can take it{t.needs.length ? ` (needs ${t.needs.join(', ')})` : ''}{frozen ? ', dispatch is frozen' : ''}</p>
                <ActionButton label="Cancel" name={`Cancel ${commandLine(t.command)}`} run={() => client.cancelTask(t.id, 'cancelled from the dashboard')} onDone={refresh} />
              </li>
            ))}
          </ul>
        </Section>
      )}

      {(moved.length > 0 || fenced.length > 0) && (
        <Section title="Moved or fenced attempts" id="now-moved">
          <ul class="cards">
            {moved.slice(0, 10).map((t) => (
              <li class="card" key={t.id}>
                <p><a href={`#/tasks/${t.id}`}><code>{commandLine(t.command)}</code></a> moved {t.infraFailures}× (attempt {t.attempt}, now {t.state} on {nodeName(t.nodeId)})</p>
                <a class="btn plain" href={`#/tasks/${t.id}`}>See its attempts</a>
              </li>
            ))}
            {fenced.slice(0, 10).map((e) => (
              <li class="card" key={e.seq}>
                <p>A stale result of attempt {String(e.data['attempt'] ?? '?')} of <a href={`#/tasks/${e.subject ?? ''}`}>{e.subject}</a> was refused ({String(e.data['what'] ?? 'fenced')}) · {ago(e.at, now)}</p>
              </li>
            ))}
          </ul>
        </Section>
      )}
    </>
  );
}
