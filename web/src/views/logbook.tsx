/** Logbook: the timeline of sessions, actions and sparks, newest first; a spark is captured in two taps (open, save). */
import { useRef, useState } from 'preact/hooks';
import { clock, errorText } from '../format.js';
import { useLoad } from '../hooks.js';
import { Badge, Empty, ErrorNote, Loading } from '../ui.js';
import type { ViewProps } from '../views.js';

interface Entry {
  at: number;
  kind: 'session' | 'action' | 'spark';
  title: string;
  detail: string;
  id: string;
}

function SparkCapture({ client, onSaved }: { client: ViewProps['client']; onSaved: () => void }) {
  const [open, setOpen] = useState(false);
  const [text, setText] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const input = useRef<HTMLTextAreaElement>(null);
  const save = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    try {
      const current = await client.logbook.currentSession();
      await client.logbook.addSpark({ content: text.trim(), ...(current ? { sessionId: current.id, project: current.project } : {}) });
      setText('');
      setOpen(false);
      setError(null);
      onSaved();
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  if (!open) {
    return <button type="button" class="btn primary fab" onClick={() => (setOpen(true), setTimeout(() => input.current?.focus(), 0))}>+ Spark</button>;
  }
  return (
    <form class="card spark-form" onSubmit={save}>
      <label for="spark-text">New spark (an idea, a bug, a note)</label>
      <textarea id="spark-text" ref={input} rows={3} value={text} onInput={(e) => setText((e.target as HTMLTextAreaElement).value)} required />
      <div class="row end">
        <button type="button" class="btn plain" onClick={() => setOpen(false)}>Cancel</button>
        <button type="submit" class="btn primary" disabled={busy || text.trim() === ''}>{busy ? 'Saving…' : 'Save spark'}</button>
      </div>
      {error && <p class="error" role="alert">{error}</p>}
    </form>
  );
}

export function LogbookView({ picture, client }: ViewProps) {
  const [saved, setSaved] = useState(0);
  const [entries, error, loading] = useLoad(async (): Promise<Entry[]> => {
    const [sessions, actions, sparks] = await Promise.all([
      client.logbook.listSessions({ limit: 50 }), client.logbook.listActions({ limit: 100 }), client.logbook.listSparks({ limit: 100 }),
    ]);
    return [
      ...sessions.map((s) => ({ at: s.startedAt, kind: 'session' as const, id: s.id, title: `Session ${s.status}${s.project ? ` on ${s.project}` : ''}`, detail: s.description || `by ${s.user}` })),
      ...actions.map((a) => ({ at: a.startedAt, kind: 'action' as const, id: a.id, title: `${a.type}: ${a.description}`, detail: `${a.phase}${a.project ? ` · ${a.project}` : ''}` })),
      ...sparks.map((s) => ({ at: s.createdAt, kind: 'spark' as const, id: s.id, title: s.content, detail: `${s.type}${s.project ? ` · ${s.project}` : ''}` })),
    ].sort((a, b) => b.at - a.at);
  }, [picture.logbookVersion, saved, client]);
  return (
    <>
      <h1>Logbook</h1>
      <SparkCapture client={client} onSaved={() => setSaved((n) => n + 1)} />
      {error && <ErrorNote error={error} what="the logbook" />}
      {loading && !entries ? <Loading what="the logbook" /> : entries && entries.length === 0 ? (
        <Empty>The logbook is empty. Capture a spark, or start a session with <code>bitacora session start</code>.</Empty>
      ) : (
        <ol class="timeline" aria-label="Logbook timeline">
          {(entries ?? []).map((e) => (
            <li key={`${e.kind}:${e.id}`} data-kind={e.kind}>
              <Badge tone={e.kind === 'spark' ? 'info' : e.kind === 'session' ? 'ok' : 'muted'}>{e.kind}</Badge> <span class="entry-title">{e.title}</span>
              <span class="meta"> · {clock(e.at)} · {e.detail}</span>
            </li>
          ))}
        </ol>
      )}
    </>
  );
}
