/**
 * FleetClient — the typed client of the master's REST + WebSocket API, used by the CLI and the
 * dashboard. One method per route; every failure is a BitacoraError carrying the server's code
 * (or BIT_ERR_UNAVAILABLE when nothing answers), so callers report remote errors uniformly.
 */
import { ValidationError, type FleetEvent, type FleetNode, type NewTaskSpec, type Task, type TaskLogChunk } from '../core/index.js';
import { errorFromResponse, unreachable } from './errors.js';
import {
  followTaskLogs, openStream, watchEvents, type FollowOptions, type StreamConnection, type StreamQuery, type WatchOptions,
} from './live.js';
import { LogbookClient } from './logbook.js';
import { SecurityClient } from './security.js';
import type {
  AgentConfig, CreatedJoinToken, EmergencyTier, FleetStatus, JoinInfo, ServerFrame, SubmitOutcome, TaskListQuery, TaskView, TokenRequest,
} from './types.js';
import { nodeWebSocket, type WebSocketFactory } from './websocket.js';

/**
 * Builds the REST and WebSocket transport that trusts exactly `caCertPem`. Platform-specific, so
 * injected: Node entries pass `nodeSecureTransport` (`./node-transport.js`).
 */
export type SecureTransport = (caCertPem: string) => { fetch: typeof fetch; webSocket: WebSocketFactory };

export interface FleetClientOptions {
  /** Base URL of the master's API, e.g. `http://127.0.0.1:7700`. */
  url: string;
  /**
   * Bearer token (an API token). '' sends none: the browser's dashboard session (cookie) is the
   * credential instead — see `browserSessionTransport` (./browser-transport.ts).
   */
  token: string;
  /** Default: the global fetch. */
  fetch?: typeof fetch;
  /** Default: the `ws` package with an Authorization header (Node). Browsers pass `browserWebSocket`. */
  webSocket?: WebSocketFactory;
  /** Per-request timeout. Default 30 s. */
  timeoutMs?: number;
  /**
   * The CA (PEM) an `https://` master's certificate must chain to — instead of the system's
   * CAs — e.g. the fleet CA. Needs `secureTransport`; an explicit `fetch`/`webSocket` wins.
   * Default: none (the platform's trust store).
   */
  caCertPem?: string;
  /** How to build the transport for `caCertPem` (Node: `nodeSecureTransport`). Required with `caCertPem`. */
  secureTransport?: SecureTransport;
}

interface RequestOptions {
  body?: unknown;
  query?: Record<string, string | number | undefined>;
  what: string;
  /** Return the body as text instead of JSON (metrics). */
  text?: boolean;
}

export class FleetClient {
  readonly url: string;
  readonly #token: string;
  readonly #fetch: typeof fetch;
  readonly #webSocket: WebSocketFactory;
  readonly #timeoutMs: number;
  /** Sessions, projects, topics, actions, sparks and approvals (the logbook routes). */
  readonly logbook: LogbookClient;
  /** Node revocation and the audit trail. */
  readonly security: SecurityClient;

  constructor(options: FleetClientOptions) {
    this.url = options.url.replace(/\/+$/, '');
    this.#token = options.token;
    let secure: ReturnType<SecureTransport> | null = null;
    if (options.caCertPem !== undefined) {
      if (!options.secureTransport && (!options.fetch || !options.webSocket)) {
        // Falling back to the default trust store would silently ignore the CA the caller asked for.
        throw new ValidationError('FleetClient: caCertPem needs a secureTransport (Node: nodeSecureTransport from src/client/node-transport)', [
          { path: 'secureTransport', message: 'required with caCertPem' },
        ]);
      }
      secure = options.secureTransport ? options.secureTransport(options.caCertPem) : null;
    }
    this.#fetch = options.fetch ?? secure?.fetch ?? ((...args) => fetch(...args));
    this.#webSocket = options.webSocket ?? secure?.webSocket ?? nodeWebSocket;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.logbook = new LogbookClient((method, path, request) => this.#request(method, path, request));
    this.security = new SecurityClient((method, path, request) => this.#request(method, path, request));
  }

  async #request<T>(method: string, path: string, options: RequestOptions): Promise<T> {
    const url = new URL(`${this.url}${path}`);
    for (const [key, value] of Object.entries(options.query ?? {})) if (value !== undefined) url.searchParams.set(key, String(value));
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.#token !== '') headers['authorization'] = `Bearer ${this.#token}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await this.#fetch(url, {
        method,
        headers,
        ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (err) {
      throw unreachable(this.url, err);
    }
    const text = await response.text();
    if (!response.ok) {
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // not JSON: errorFromResponse falls back on the status
      }
      throw errorFromResponse(response.status, body, `${method} ${path}`);
    }
    if (options.text) return text as T;
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }

  #id(id: string): string {
    return encodeURIComponent(id);
  }

  // ── fleet ──
  health(): Promise<{ ok: boolean }> {
    return this.#request('GET', '/healthz', { what: 'health check' });
  }
  joinInfo(): Promise<JoinInfo> {
    return this.#request('GET', '/v1/join-info', { what: 'join info' });
  }
  status(): Promise<FleetStatus> {
    return this.#request('GET', '/v1/status', { what: 'fleet status' });
  }
  updateConfig(patch: Partial<AgentConfig>): Promise<AgentConfig> {
    return this.#request('PATCH', '/v1/config', { body: patch, what: 'configuration update' });
  }
  shutdown(tier: EmergencyTier, reason?: string): Promise<{ tier: EmergencyTier; reason: string }> {
    return this.#request('POST', '/v1/shutdown', { body: { tier, ...(reason ? { reason } : {}) }, what: 'emergency shutdown' });
  }
  /** Lifts the dispatch freeze an emergency shutdown left behind. */
  resumeDispatch(): Promise<FleetStatus> {
    return this.#request('POST', '/v1/resume', { what: 'resume dispatch' });
  }
  metrics(): Promise<string> {
    return this.#request('GET', '/metrics', { what: 'metrics', text: true });
  }

  // ── nodes ──
  listNodes(): Promise<FleetNode[]> {
    return this.#request('GET', '/v1/nodes', { what: 'node list' });
  }
  getNode(idOrName: string): Promise<FleetNode> {
    return this.#request('GET', `/v1/nodes/${this.#id(idOrName)}`, { what: 'node lookup' });
  }
  drainNode(idOrName: string): Promise<FleetNode> {
    return this.#request('POST', `/v1/nodes/${this.#id(idOrName)}/drain`, { what: 'node drain' });
  }
  undrainNode(idOrName: string): Promise<FleetNode> {
    return this.#request('POST', `/v1/nodes/${this.#id(idOrName)}/undrain`, { what: 'node undrain' });
  }
  async removeNode(idOrName: string): Promise<void> {
    await this.#request('DELETE', `/v1/nodes/${this.#id(idOrName)}`, { what: 'node removal' });
  }
  setNodeRole(idOrName: string, role: 'worker' | 'hybrid'): Promise<FleetNode> {
    return this.#request('POST', `/v1/nodes/${this.#id(idOrName)}/role`, { body: { role }, what: 'role change' });
  }

  // ── tasks ──
  submitTask(spec: NewTaskSpec): Promise<SubmitOutcome> {
    return this.#request('POST', '/v1/tasks', { body: spec, what: 'task submission' });
  }
  submitTasks(specs: NewTaskSpec[]): Promise<SubmitOutcome[]> {
    return this.#request('POST', '/v1/tasks/batch', { body: specs, what: 'batch submission' });
  }
  listTasks(query: TaskListQuery = {}): Promise<TaskView[]> {
    return this.#request('GET', '/v1/tasks', {
      query: {
        state: query.states && query.states.length > 0 ? query.states.join(',') : undefined,
        node: query.node,
        project: query.project,
        limit: query.limit,
        order: query.order,
      },
      what: 'task list',
    });
  }
  getTask(id: string): Promise<TaskView> {
    return this.#request('GET', `/v1/tasks/${this.#id(id)}`, { what: 'task lookup' });
  }
  cancelTask(id: string, reason?: string): Promise<Task> {
    return this.#request('POST', `/v1/tasks/${this.#id(id)}/cancel`, { body: reason ? { reason } : {}, what: 'cancel' });
  }
  taskLogs(id: string, query: { attempt?: number; after?: number } = {}): Promise<TaskLogChunk[]> {
    return this.#request('GET', `/v1/tasks/${this.#id(id)}/logs`, { query: { attempt: query.attempt, after: query.after }, what: 'task logs' });
  }

  // ── tokens ──
  createToken(request: TokenRequest = {}): Promise<CreatedJoinToken> {
    return this.#request('POST', '/v1/tokens', { body: request, what: 'token creation' });
  }

  // ── live ──
  /** Opens one raw event stream; most callers want `watchEvents` or `followTaskLogs`. */
  openEventStream(query: StreamQuery, onFrame: (frame: ServerFrame) => void): StreamConnection {
    const url = new URL(`${this.url.replace(/^http/, 'ws')}/v1/events`);
    if (query.after !== undefined && query.after !== null) url.searchParams.set('after', String(query.after));
    if (query.task) url.searchParams.set('task', query.task);
    if (query.types && query.types.length > 0) url.searchParams.set('types', query.types.join(','));
    if (query.streams) url.searchParams.set('streams', query.streams.join(','));
    return openStream(this.#webSocket, url.toString(), this.#token, onFrame);
  }

  /** Events with seq > `afterSeq` (null: only new ones), resuming across reconnects, until `signal` aborts. */
  watchEvents(afterSeq: number | null, onEvent: (event: FleetEvent) => void, options: WatchOptions): Promise<void> {
    return watchEvents((q, f) => this.openEventStream(q, f), afterSeq, onEvent, options);
  }

  /** A task's output, stored then live, once each; resolves with the task when it has ended. */
  followTaskLogs(taskId: string, onChunk: (chunk: TaskLogChunk) => void, options: FollowOptions = {}): Promise<Task> {
    return followTaskLogs(
      { open: (q, f) => this.openEventStream(q, f), getTask: (id) => this.getTask(id), taskLogs: (id, q) => this.taskLogs(id, q) },
      taskId,
      onChunk,
      options,
    );
  }
}
