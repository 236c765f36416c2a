/** Fleet: every node as a card (never a wide table) with its state and load, and drain / undrain / role / revoke behind a confirmation. */
import type { FleetNode } from '../../../src/core/index.js';
import { ago } from '../format.js';
import { ActionButton, Badge, Confirmed, Empty } from '../ui.js';
import { offerUndo } from '../undo.js';
import type { ViewProps } from '../views.js';

const TONE = { ready: 'ok', draining: 'warn', down: 'bad', joining: 'info', left: 'muted' } as const;

interface CardProps {
  node: FleetNode;
  client: ViewProps['client'];
  refresh: () => void;
  now: number;
  /** Stream open: a node without a status change is still heartbeating (heartbeats themselves are not events). */
  live: boolean;
  heartbeatMs: number | null;
}

function NodeCard({ node, client, refresh, now, live, heartbeatMs }: CardProps) {
  const beating = live && (node.status === 'ready' || node.status === 'draining');
  const load = node.capacity > 0 ? Math.min(100, Math.round((node.runningTasks / node.capacity) * 100)) : 0;
  const other = node.role === 'worker' ? 'hybrid' : 'worker';
  return (
    <li class={`card node ${node.status}`} data-node={node.name} data-status={node.status} aria-label={`${node.name}, ${node.role}, ${node.status}`}>
      <div class="row spread">
        <h2 class="card-title">{node.name}</h2>
        <Badge tone={TONE[node.status]}>{node.status}</Badge>
      </div>
      <p class="meta">{node.role} · agent {node.agentVersion}{node.address ? ` · ${node.address}` : ''}</p>
      <div class="meter-row">
        <label for={`load-${node.id}`}>Load: {node.runningTasks} of {node.capacity} slots</label>
        <meter id={`load-${node.id}`} min={0} max={100} low={70} high={90} optimum={0} value={load}>{load}%</meter>
      </div>
      <dl class="facts">
        <dt>Last heartbeat</dt><dd>{beating ? `on time${heartbeatMs ? ` (every ${heartbeatMs} ms)` : ''}` : ago(node.lastHeartbeatAt, now)}</dd>
        <dt>Tasks running</dt><dd>{node.runningTasks}</dd>
        <dt>CPU load</dt><dd>{node.resources.load.toFixed(2)} on {node.resources.cpus} CPUs</dd>
        <dt>Specializations</dt><dd>{node.specializations.length ? node.specializations.join(', ') : 'none'}</dd>
        <dt>Capabilities</dt><dd>{node.capabilities.length ? node.capabilities.join(', ') : 'none'}</dd>
      </dl>
      {node.role !== 'master' && node.status !== 'left' && (
        <div class="row wrap">
          {node.status === 'draining' ? (
            <ActionButton label="Undrain" name={`Undrain ${node.name}`} run={() => client.undrainNode(node.id)} onDone={refresh} />
          ) : (
            <Confirmed label="Drain" name={`Drain ${node.name}`} title={`Drain ${node.name}?`} confirmLabel="Drain" variant="primary" disabled={node.status === 'down'}
              onConfirm={async () => {
                await client.drainNode(node.id);
                refresh();
                offerUndo(`${node.name} is draining.`, () => client.undrainNode(node.id).then(refresh));
              }}>
              <p>It takes no new tasks; the ones running finish. Undrain brings it back.</p>
            </Confirmed>
          )}
          <Confirmed label={`Make ${other}`} name={`Make ${other}: ${node.name}`} title={`Make ${node.name} a ${other}?`} confirmLabel={`Make ${other}`} variant="primary"
            onConfirm={() => client.setNodeRole(node.id, other).then(refresh)}>
            <p>{other === 'hybrid' ? 'A hybrid runs tasks and can coordinate a group of workers.' : 'A worker only runs tasks.'}</p>
          </Confirmed>
          <Confirmed label="Revoke" name={`Revoke ${node.name}`} title={`Revoke ${node.name}?`} confirmLabel="Revoke for good" buttonVariant="danger"
            onConfirm={() => client.security.revokeNode(node.id, 'revoked from the dashboard').then(refresh)}>
            <p>Its certificate stops working at once and its tasks move elsewhere. It needs a new join token to come back. This cannot be undone.</p>
          </Confirmed>
        </div>
      )}
    </li>
  );
}

export function FleetView({ picture, client, live, now }: ViewProps) {
  const order = { down: 0, draining: 1, joining: 2, ready: 3, left: 4 } as const;
  const nodes = [...picture.nodes].sort((a, b) => order[a.status] - order[b.status] || a.name.localeCompare(b.name));
  return (
    <>
      <h1>Fleet</h1>
      {picture.status && (
        <p class="meta">
          {picture.status.nodes.ready} ready · {picture.status.nodes.draining} draining · {picture.status.nodes.down} down · heartbeat every{' '}
          {picture.status.config.heartbeatIntervalMs} ms
        </p>
      )}
      {nodes.length === 0 ? (
        picture.connection === 'connecting' ? <p class="loading" role="status">Reading the nodes…</p> :
          <Empty>No node has joined. On another machine run the <code>bitacora join …</code> command that <code>bitacora up</code> printed (more tokens: <code>bitacora token create</code>).</Empty>
      ) : (
        <ul class="cards grid" aria-label="Nodes">
          {nodes.map((n) => (
            <NodeCard key={n.id} node={n} client={client} refresh={() => void live.refresh()} now={now}
              live={picture.connection === 'live'} heartbeatMs={picture.status?.config.heartbeatIntervalMs ?? null} />
          ))}
        </ul>
      )}
    </>
  );
}
