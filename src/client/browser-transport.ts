/**
 * Browser transport of FleetClient for the dashboard: the credential is the HttpOnly session
 * cookie set by `POST /v1/login`, so no bearer is sent; every state-changing request carries
 * the session's CSRF token as `X-CSRF-Token`, which the master requires of cookie requests.
 */
import { errorFromResponse, unreachable } from './errors.js';
import { browserWebSocket, type WebSocketFactory } from './websocket.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface BrowserSessionTransport {
  fetch: typeof fetch;
  webSocket: WebSocketFactory;
}

/**
 * `csrfToken()` is read on each request, so a new login (a new token) applies at once. Use with
 * `new FleetClient({ url: location.origin, token: '', ...browserSessionTransport(get) })`.
 */
export function browserSessionTransport(csrfToken: () => string | null): BrowserSessionTransport {
  const fetchWithSession: typeof fetch = (input, init = {}) => {
    const headers = new Headers(init.headers);
    headers.delete('authorization');
    const method = (init.method ?? 'GET').toUpperCase();
    const csrf = csrfToken();
    if (!SAFE_METHODS.has(method) && csrf) headers.set('x-csrf-token', csrf);
    return globalThis.fetch(input, { ...init, headers, credentials: 'same-origin' });
  };
  return { fetch: fetchWithSession, webSocket: browserWebSocket };
}

/** `POST /v1/login`: exchanges a one-time login token for the session cookie; answers the CSRF token. */
export async function loginWithToken(baseUrl: string, token: string): Promise<{ user: string; role: string; csrfToken: string }> {
  let response: Response;
  try {
    response = await globalThis.fetch(`${baseUrl.replace(/\/+$/, '')}/v1/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ token }),
      credentials: 'same-origin',
    });
  } catch (err) {
    throw unreachable(baseUrl, err);
  }
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: the status decides
  }
  if (!response.ok) throw errorFromResponse(response.status, body, 'login');
  return body as { user: string; role: string; csrfToken: string };
}
