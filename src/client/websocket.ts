/**
 * The WebSocket the client uses, as the browser-compatible subset both `ws` (Node) and the
 * browser's WebSocket provide. Node sends the token in the Authorization header; a browser
 * cannot set headers, so its factory puts it in `?token=` (the server redacts it from logs).
 */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export type WebSocketFactory = (url: string, token: string) => WebSocketLike | Promise<WebSocketLike>;

/** Largest frame accepted from the master (a log chunk is far smaller). */
const MAX_SERVER_FRAME = 16 * 1024 * 1024;

/**
 * Node: the `ws` package, loaded on first use so REST-only callers never pay for it. With `ca`
 * (PEM), a `wss://` server must present a certificate that chains to exactly that CA.
 */
export function nodeWebSocketWith(options: { ca?: string } = {}): WebSocketFactory {
  return async (url, token) => {
    const { WebSocket } = await import('ws');
    return new WebSocket(url, {
      headers: { authorization: `Bearer ${token}` },
      maxPayload: MAX_SERVER_FRAME,
      ...(options.ca !== undefined ? { ca: options.ca } : {}),
    }) as unknown as WebSocketLike;
  };
}

/** Node with the system's trusted CAs. */
export const nodeWebSocket: WebSocketFactory = nodeWebSocketWith();

/**
 * Browser: the global WebSocket with the token in the query string; with no token ('') the
 * browser sends the dashboard's session cookie and its Origin, which is what the master checks.
 */
export const browserWebSocket: WebSocketFactory = (url, token) => {
  const Ctor = (globalThis as unknown as { WebSocket: new (url: string) => WebSocketLike }).WebSocket;
  const withToken = new URL(url);
  if (token !== '') withToken.searchParams.set('token', token);
  return new Ctor(withToken.toString());
};

/** `Unexpected server response: 401` (ws) → 401; null when the failure was not an HTTP answer. */
export function upgradeStatusOf(event: unknown): number | null {
  const message =
    event instanceof Error ? event.message : ((event as { message?: unknown; error?: { message?: unknown } } | null)?.message ??
      (event as { error?: { message?: unknown } } | null)?.error?.message);
  const match = typeof message === 'string' ? /Unexpected server response: (\d{3})/.exec(message) : null;
  return match ? Number(match[1]) : null;
}

export function frameText(data: unknown): string {
  if (typeof data === 'string') return data;
  if (data instanceof ArrayBuffer) return new TextDecoder().decode(data);
  if (ArrayBuffer.isView(data)) return new TextDecoder().decode(data as Uint8Array);
  if (Array.isArray(data)) return data.map(frameText).join('');
  return String(data);
}
