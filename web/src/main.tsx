/** Entry of the dashboard: signs in from a one-time link when the page was opened with one, then starts the live view. */
import { render } from 'preact';
import { App } from './app.js';
import { LiveFleet } from './live.js';
import { client, signIn, takeLinkToken } from './session.js';
import './styles.css';

const live = new LiveFleet(client);
const root = document.getElementById('app')!;

async function boot(): Promise<void> {
  const token = takeLinkToken();
  let signInError: string | null = null;
  if (token !== null) {
    try {
      await signIn(token);
    } catch (err) {
      // The sign-in view explains; a used or expired link is the usual reason.
      signInError = err instanceof Error ? err.message : String(err);
    }
  }
  render(<App client={client} live={live} signInError={signInError} />, root);
}

void boot();

// The shell (not the data) is cached so the dashboard opens, with its last known state, when the master is unreachable.
if ('serviceWorker' in navigator && window.isSecureContext) {
  void navigator.serviceWorker.register('/sw.js').catch(() => undefined);
}
