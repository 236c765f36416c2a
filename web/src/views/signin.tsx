/** Sign-in: the one-time link `bitacora up` prints signs in by itself; a pasted login token works too. */
import { useEffect, useState } from 'preact/hooks';
import { errorText } from '../format.js';
import { signIn, type SignedIn } from '../session.js';

export function SignInView({ expired, error: linkError, onSignedIn }: { expired: boolean; error: string | null; onSignedIn: (u: SignedIn) => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(linkError);
  useEffect(() => setError(linkError), [linkError]);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onSignedIn(await signIn(token));
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="signin" id="main">
      <h1>Bitácora Fleet</h1>
      {expired && <p class="warn-note" role="status">Your dashboard session ended (signed out, expired, or the user was removed). Sign in again.</p>}
      <p>
        Open the one-time sign-in link that <code>bitacora up</code> printed, or make a new one on the master with{' '}
        <code>bitacora token create --user admin --login</code>.
      </p>
      <form onSubmit={submit} class="stack">
        <label for="login-token">Or paste a login token</label>
        <input id="login-token" name="token" type="password" autoComplete="off" value={token} onInput={(e) => setToken((e.target as HTMLInputElement).value)} required />
        <button class="btn primary" type="submit" disabled={busy || token.trim() === ''}>{busy ? 'Signing in…' : 'Sign in'}</button>
      </form>
      {error && <p class="error" role="alert">Sign-in failed: {error}. A link works once and for 15 minutes: make a new one.</p>}
    </main>
  );
}
