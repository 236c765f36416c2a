/** Controls: emergency shutdown by tier (a reason and press-and-hold), resume, and the live agent configuration. */
import { useEffect, useState } from 'preact/hooks';
import { EMERGENCY_TIERS, type EmergencyTier } from '../../../src/core/index.js';
import { errorText } from '../format.js';
import { ActionButton, HoldButton, Section } from '../ui.js';
import type { ViewProps } from '../views.js';

const TIER_TEXT: Record<EmergencyTier, string> = {
  'stop-dispatch': 'Freeze: no new task is dispatched; running tasks go on.',
  'cancel-all': 'Freeze and cancel every unfinished task.',
  'shutdown-nodes': 'Freeze, cancel everything and stop every node and the master.',
};

function ConfigForm({ picture, client, live }: ViewProps) {
  const config = picture.status?.config;
  const [heartbeat, setHeartbeat] = useState('');
  const [lease, setLease] = useState('');
  const [message, setMessage] = useState<string | null>(null);
  useEffect(() => {
    if (config) {
      setHeartbeat(String(config.heartbeatIntervalMs));
      setLease(String(config.selfFenceAfterMs));
    }
  }, [config?.heartbeatIntervalMs, config?.selfFenceAfterMs]);
  const save = async (e: Event) => {
    e.preventDefault();
    setMessage(null);
    try {
      await client.updateConfig({ heartbeatIntervalMs: Number(heartbeat), selfFenceAfterMs: Number(lease) });
      setMessage('Saved: the agents use it from their next heartbeat.');
      void live.refresh();
    } catch (err) {
      setMessage(`Not saved: ${errorText(err)}`);
    }
  };
  return (
    <form class="stack" onSubmit={save}>
      <label for="cfg-heartbeat">Heartbeat interval (ms)</label>
      <input id="cfg-heartbeat" type="number" min={100} inputMode="numeric" value={heartbeat} onInput={(e) => setHeartbeat((e.target as HTMLInputElement).value)} />
      <label for="cfg-lease">Lease: an agent cut off this long stops its tasks (ms)</label>
      <input id="cfg-lease" type="number" min={1000} inputMode="numeric" value={lease} onInput={(e) => setLease((e.target as HTMLInputElement).value)} />
      <button class="btn primary" type="submit" disabled={!config}>Save configuration</button>
      {message && <p role="status">{message}</p>}
      <p class="meta">Per-node capacity is set when a node joins (<code>bitacora join --capacity N</code>); the API cannot change it yet.</p>
    </form>
  );
}

export function ControlsView(props: ViewProps) {
  const { picture, client, live } = props;
  const [tier, setTier] = useState<EmergencyTier>('stop-dispatch');
  const [reason, setReason] = useState('');
  const frozen = picture.status !== null && !picture.status.acceptingWork;
  return (
    <>
      <h1>Controls</h1>
      <Section title="Emergency shutdown" id="emergency">
        {frozen && (
          <div class="alert bad" role="alert" data-testid="freeze">
            <p><strong>Dispatch is frozen.</strong> No task is placed until you resume.</p>
            <ActionButton label="Resume dispatch" variant="primary" run={() => client.resumeDispatch()} onDone={() => void live.refresh()} />
          </div>
        )}
        <fieldset class="tiers">
          <legend>Tier</legend>
          {EMERGENCY_TIERS.map((t) => (
            <label key={t} class="radio">
              <input type="radio" name="tier" value={t} checked={tier === t} onChange={() => setTier(t)} />
              <span><strong>{t}</strong> — {TIER_TEXT[t]}</span>
            </label>
          ))}
        </fieldset>
        <label for="shutdown-reason">Reason (recorded in the audit trail)</label>
        <input id="shutdown-reason" value={reason} onInput={(e) => setReason((e.target as HTMLInputElement).value)} placeholder="runaway deploy" />
        <HoldButton label={`Hold to ${tier === 'stop-dispatch' ? 'freeze the fleet' : tier === 'cancel-all' ? 'freeze and cancel all' : 'shut the fleet down'}`}
          disabled={reason.trim() === ''} run={() => client.shutdown(tier, reason.trim())} onDone={() => void live.refresh()} />
        {reason.trim() === '' && <p class="hint">Give a reason first.</p>}
      </Section>
      <Section title="Live configuration" id="config"><ConfigForm {...props} /></Section>
      <Section title="Coordinators" id="coordinators">
        <p class="meta">Leader, standbys, epoch and last failover appear here once several coordinators share PostgreSQL (the PostgreSQL issue).</p>
      </Section>
    </>
  );
}
