/**
 * The dashboard's sign-in: a one-time link (`/#login=…`) or a pasted token becomes the master's
 * session cookie (HttpOnly, so script never sees it) plus the CSRF token kept here. The FleetClient
 * built from it is the only way the dashboard talks to the master.
 */
import { browserSessionTransport, FleetClient, loginTokenFromHash, loginWithToken } from '../../src/client/index.js';

const CSRF_KEY = 'bitacora.csrf';
const USER_KEY = 'bitacora.user';

export interface SignedIn {
  user: string;
  role: string;
}

function storage(): Storage | null {
  try {
    return globalThis.localStorage;
  } catch {
    return null; // storage disabled: the session lasts as long as the page
  }
}

let csrf: string | null = storage()?.getItem(CSRF_KEY) ?? null;

export const client = new FleetClient({
  url: location.origin,
  token: '',
  ...browserSessionTransport(() => csrf),
});

export function currentUser(): SignedIn | null {
  const raw = storage()?.getItem(USER_KEY);
  if (!raw || !csrf) return null;
  try {
    return JSON.parse(raw) as SignedIn;
  } catch {
    return null;
  }
}

export async function signIn(token: string): Promise<SignedIn> {
  const answer = await loginWithToken(location.origin, token.trim());
  csrf = answer.csrfToken;
  const user = { user: answer.user, role: answer.role };
  storage()?.setItem(CSRF_KEY, csrf);
  storage()?.setItem(USER_KEY, JSON.stringify(user));
  return user;
}

/** Forgets the local half of the session (the cookie ends on the master with logout). */
export function forgetSession(): void {
  csrf = null;
  storage()?.removeItem(CSRF_KEY);
  storage()?.removeItem(USER_KEY);
}

export async function signOut(): Promise<void> {
  try {
    await client.security.logout();
  } finally {
    forgetSession();
  }
}

/**
 * A sign-in link's token, taken out of the address bar at once so it is neither bookmarked nor
 * shown to someone looking over the shoulder (it works only once anyway).
 */
export function takeLinkToken(): string | null {
  const token = loginTokenFromHash(location.hash);
  if (token !== null) history.replaceState(null, '', `${location.pathname}#/now`);
  return token;
}
