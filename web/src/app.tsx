/** The dashboard's shell: the connection banner (live / offline and stale), navigation (bottom bar on a phone, side bar on a desktop) and the current view. */
import { useEffect, useState } from 'preact/hooks';
import type { FleetClient } from '../../src/client/index.js';
import { ago, clock, errorText } from './format.js';
import { useNow, usePicture, useRoute } from './hooks.js';
import type { FleetPicture, LiveFleet } from './live.js';
import { currentUser, signIn, signOut, takeLinkToken, type SignedIn } from './session.js';
import { ApprovalsView } from './views/approvals.js';
import { AuditView } from './views/audit.js';
import { ControlsView } from './views/controls.js';
import { FleetView } from './views/fleet.js';
import { LogbookView } from './views/logbook.js';
import { MoreView } from './views/more.js';
import { NowView } from './views/now.js';
import { ProjectsView } from './views/projects.js';
import { SignInView } from './views/signin.js';
import { TaskDetailView } from './views/task-detail.js';
import { TasksView } from './views/tasks.js';
import { UndoToast } from './undo.js';
import { VIEWS, type ViewProps } from './views.js';

function ConnectionBanner({ picture, now }: { picture: FleetPicture; now: number }) {
  if (picture.connection === 'live') {
    return <p class="conn live" role="status" data-connection="live"><span class="dot" aria-hidden="true" />Live</p>;
  }
  if (picture.connection === 'connecting') {
    return <p class="conn connecting" role="status" data-connection="connecting">Connecting to the master…</p>;
  }
  return (
    <p class="conn offline" role="alert" data-connection="offline">
      <strong>Offline — stale data.</strong> The master cannot be reached; showing the last known state
      {picture.syncedAt !== null ? ` from ${clock(picture.syncedAt)} (${ago(picture.syncedAt, now)})` : ''}. Reconnecting by itself…
    </p>
  );
}

function Nav({ current, pending }: { current: string; pending: number }) {
  const more = !VIEWS.find((v) => v.id === current)?.primary && current !== 'now';
  const link = (id: string, label: string, cls = '') => (
    <a href={`#/${id}`} class={`nav-link ${cls}`} aria-current={current === id ? 'page' : undefined}>
      <span>{label}</span>
      {id === 'approvals' && pending > 0 && <span class="count" aria-label={`${pending} pending`}>{pending}</span>}
    </a>
  );
  return (
    <nav class="nav" aria-label="Views">
      {VIEWS.map((v) => link(v.id, v.label, v.primary ? 'primary' : 'secondary'))}
      <a href="#/more" class="nav-link more-link" aria-current={more || current === 'more' ? 'page' : undefined}>
        <span>More</span>
      </a>
    </nav>
  );
}

export function App({ client, live, signInError }: { client: FleetClient; live: LiveFleet; signInError: string | null }) {
  const [user, setUser] = useState<SignedIn | null>(currentUser);
  const [linkError, setLinkError] = useState(signInError);
  const signedIn = (u: SignedIn) => {
    setLinkError(null);
    setUser(u);
    live.stop();
    live.start();
  };
  // A sign-in link opened in a tab that already shows the dashboard changes only the fragment: no page load.
  useEffect(() => {
    const onHash = () => {
      const token = takeLinkToken();
      if (token !== null) signIn(token).then(signedIn, (err: unknown) => setLinkError(errorText(err)));
    };
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, [live]);
  const picture = usePicture(live);
  const route = useRoute();
  const now = useNow();
  useEffect(() => {
    if (user) live.start();
  }, [user, live]);
  useEffect(() => {
    const view = route[0] ?? 'now';
    const label = VIEWS.find((v) => v.id === view)?.label ?? (view === 'more' ? 'More' : 'Now');
    document.title = `${label} · Bitácora Fleet`;
  }, [route[0]]);

  if (!user || picture.connection === 'signed-out') {
    return (
      <SignInView expired={user !== null} error={linkError} onSignedIn={signedIn} />
    );
  }
  const view = route[0] ?? 'now';
  const props: ViewProps = { picture, client, live, now };
  // Data shown while not live is stale: the kept picture from before, or the last one before the master went away.
  const stale = picture.connection === 'offline' || (picture.connection === 'connecting' && picture.syncedAt !== null);
  let body;
  if (view === 'fleet') body = <FleetView {...props} />;
  else if (view === 'tasks' && route[1]) body = <TaskDetailView {...props} id={route[1]} />;
  else if (view === 'tasks') body = <TasksView {...props} />;
  else if (view === 'approvals') body = <ApprovalsView {...props} />;
  else if (view === 'projects') body = <ProjectsView {...props} />;
  else if (view === 'logbook') body = <LogbookView {...props} />;
  else if (view === 'audit') body = <AuditView {...props} />;
  else if (view === 'controls') body = <ControlsView {...props} />;
  else if (view === 'more') body = <MoreView />;
  else body = <NowView {...props} />;

  return (
    <div class={`shell ${stale ? 'is-stale' : ''}`}>
      <header class="top">
        <a class="brand" href="#/now">Bitácora Fleet</a>
        <ConnectionBanner picture={picture} now={now} />
        <button type="button" class="btn plain small" onClick={() => void signOut().finally(() => (live.forget(), setUser(null)))}>
          Sign out {user.user}
        </button>
      </header>
      <Nav current={view} pending={picture.approvals.length} />
      <main id="main" class="main" data-view={view} aria-busy={picture.connection === 'connecting'}>
        {body}
      </main>
      <UndoToast />
    </div>
  );
}
