/** Audit: the most recent entries of the hash-chained trail and whether the chain verifies. */
import { clock } from '../format.js';
import { useLoad } from '../hooks.js';
import { Badge, Empty, ErrorNote, Loading } from '../ui.js';
import type { ViewProps } from '../views.js';

const RECENT = 50;

export function AuditView({ picture, client }: ViewProps) {
  const [data, error, loading] = useLoad(async () => {
    const verification = await client.security.verifyAudit();
    const entries = await client.security.auditLog({ afterIndex: Math.max(0, verification.checked - RECENT), limit: RECENT });
    return { verification, entries: [...entries].reverse() };
  }, [picture.auditVersion, client]);
  return (
    <>
      <h1>Audit</h1>
      {error && <ErrorNote error={error} what="the audit trail" />}
      {loading && !data ? <Loading what="the audit trail" /> : data && (
        <>
          <p class={`alert ${data.verification.ok ? 'ok' : 'bad'}`} role="status" data-testid="audit-verify">
            {data.verification.ok
              ? `Chain verified: ${data.verification.checked} entries, unbroken.`
              : `Chain broken at entry ${data.verification.break?.index ?? '?'}: ${data.verification.break?.message ?? 'unknown'}. Run \`bitacora audit verify\` on the master.`}
          </p>
          {data.entries.length === 0 ? <Empty>No audit entry yet.</Empty> : (
            <ol class="timeline" aria-label="Recent audit entries">
              {data.entries.map(({ entry }) => (
                <li key={entry.index}>
                  <Badge tone={entry.outcome === 'denied' || entry.outcome === 'failed' ? 'bad' : 'ok'}>{entry.outcome}</Badge>{' '}
                  <strong>{entry.actor}</strong> {entry.action}{entry.target ? ` ${entry.target}` : ''}
                  <span class="meta"> · {clock(entry.at)}{entry.reason ? ` · ${entry.reason}` : ''}</span>
                </li>
              ))}
            </ol>
          )}
        </>
      )}
    </>
  );
}
