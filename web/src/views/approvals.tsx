/** Approvals: pending high-risk topics; approve, or reject with a reason. */
import { useState } from 'preact/hooks';
import type { Approval } from '../../../src/core/index.js';
import { ago } from '../format.js';
import { ActionButton, Confirm, Empty } from '../ui.js';
import type { ViewProps } from '../views.js';

function ApprovalCard({ approval, props }: { approval: Approval; props: ViewProps }) {
  const { client, live, picture, now } = props;
  const [rejecting, setRejecting] = useState(false);
  const [reason, setReason] = useState('');
  const topic = picture.topics.find((t) => t.id === approval.topicId);
  const refresh = () => void live.refresh();
  return (
    <li class="card" data-approval={approval.id}>
      <h2 class="card-title">{topic ? topic.title : approval.topicId}</h2>
      <p class="meta">{approval.project} · risk {topic?.risk ?? 'high'} · requested {ago(approval.requestedAt, now)} · expires in {Math.max(0, Math.round((approval.expiresAt - now) / 60_000))} min</p>
      <p>{approval.reason}</p>
      {topic?.description && <p class="meta">{topic.description}</p>}
      <div class="row wrap">
        <ActionButton label="Approve" name={`Approve ${topic?.title ?? approval.id}`} variant="primary" run={() => client.logbook.decideApproval(approval.id, 'approve')} onDone={refresh} />
        <button type="button" class="btn danger" onClick={() => setRejecting(true)}>Reject…</button>
      </div>
      {rejecting && (
        <Confirm title="Reject this run?" confirmLabel="Reject" onClose={() => setRejecting(false)}
          onConfirm={() => client.logbook.decideApproval(approval.id, 'reject', reason.trim() || undefined).then(refresh)}>
          <label for={`reason-${approval.id}`}>Reason (recorded in the logbook)</label>
          <textarea id={`reason-${approval.id}`} rows={3} value={reason} onInput={(e) => setReason((e.target as HTMLTextAreaElement).value)} />
        </Confirm>
      )}
    </li>
  );
}

export function ApprovalsView(props: ViewProps) {
  const { approvals } = props.picture;
  return (
    <>
      <h1>Approvals</h1>
      <p class="meta">
        High-risk topics wait here for a person. The plan that will run and its hash arrive with pipeline runs on the fleet (the four-levels
        issue); today an approval shows its topic and reason.
      </p>
      {approvals.length === 0 ? <Empty>Nothing waits for your approval.</Empty> : (
        <ul class="cards" aria-label="Pending approvals">{approvals.map((a) => <ApprovalCard key={a.id} approval={a} props={props} />)}</ul>
      )}
    </>
  );
}
