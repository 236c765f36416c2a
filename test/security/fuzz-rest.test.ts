/**
 * Hostile input at the REST API of a real master (startMaster, in process): arbitrary method ×
 * real route (with arbitrary params and query) × arbitrary body (JSON-ish values, wrong types,
 * huge strings, deep nesting, invalid UTF-8, wrong content types, oversized) × with or without
 * the admin token. Every refusal is a 4xx JSON error with a stable BIT_ERR_* code (never a 5xx,
 * never a hang), a refused request changes nothing the fleet stores (only denial records may be
 * appended), the master stays up, and a valid request afterwards still succeeds.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFuzzMaster, type FuzzMaster } from './fuzz-master.js';
import { FUZZ_TIMEOUT_MS, liveParams } from './fuzz-support.js';

/** Every route of src/api (served under /v1 and /api/v1), `:x` = a path parameter. */
const ROUTES: ReadonlyArray<readonly [string, string]> = [
  ['DELETE', '/nodes/:id'], ['DELETE', '/users/:name'], ['GET', '/acl'], ['GET', '/actions'], ['GET', '/actions/:id'],
  ['GET', '/approvals'], ['GET', '/approvals/:id'], ['GET', '/audit'], ['GET', '/audit/verify'], ['GET', '/join-info'],
  ['GET', '/nodes'], ['GET', '/nodes/:id'], ['GET', '/projects'], ['GET', '/projects/:name'], ['GET', '/sessions'],
  ['GET', '/sessions/:id'], ['GET', '/sparks'], ['GET', '/sparks/:id'], ['GET', '/status'], ['GET', '/tasks'],
  ['GET', '/tasks/:id'], ['GET', '/tasks/:id/logs'], ['GET', '/tokens'], ['GET', '/topics'], ['GET', '/topics/:id'],
  ['GET', '/users'], ['GET', '/whoami'], ['PATCH', '/config'], ['PATCH', '/projects/:name'], ['POST', '/actions'],
  ['POST', '/api-tokens'], ['POST', '/approvals/:id/approve'], ['POST', '/approvals/:id/reject'], ['POST', '/login'],
  ['POST', '/login-tokens'], ['POST', '/logout'], ['POST', '/nodes/:id/drain'], ['POST', '/nodes/:id/revoke'],
  ['POST', '/nodes/:id/role'], ['POST', '/nodes/:id/undrain'], ['POST', '/projects'], ['POST', '/resume'],
  ['POST', '/sessions'], ['POST', '/sessions/:id/pause'], ['POST', '/sessions/:id/resume'], ['POST', '/sessions/:id/end'],
  ['POST', '/shutdown'], ['POST', '/sparks'], ['POST', '/tasks'], ['POST', '/tasks/:id/cancel'], ['POST', '/tasks/batch'],
  ['POST', '/tokens'], ['POST', '/tokens/:id/revoke'], ['POST', '/topics'], ['POST', '/topics/:id/activate'],
  ['POST', '/topics/:id/status'], ['PUT', '/acl'], ['GET', '/events'],
];
const ROOT_ROUTES = ['/healthz', '/metrics', '/', '/nope', '/v1', '/v2/tasks', '/api', '/v1/', '//v1/tasks'];
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'PROPFIND', 'FOO'];
const QUERY_KEYS = ['limit', 'state', 'node', 'project', 'order', 'attempt', 'after', 'status', 'type', 'session', 'topic', 'token', 'types', 'streams', 'task'];

/** Fields the routes know, for bodies of the right shape with the wrong kinds of values. */
const FIELDS = ['command', 'kind', 'project', 'env', 'timeoutMs', 'idempotencyKey', 'needs', 'name', 'description', 'role', 'ttl', 'tier', 'reason',
  'heartbeatIntervalMs', 'selfFenceAfterMs', 'status', 'pinnedNodes', 'user', 'note', 'title', 'risk', 'dependsOn', 'sessionId', 'topicId', 'type',
  'content', 'tags', 'strategy', 'repository', 'password', 'rules', 'subjects', '__proto__', 'constructor'];

interface Req {
  method: string;
  path: string;
  auth: 'admin' | 'none' | 'wrong';
  contentType: string | null;
  body: Buffer | null;
}

const realIds: string[] = [];

const segment = fc.oneof(
  fc.string({ maxLength: 30 }).map(encodeURIComponent),
  fc.constantFrom('%', '%00', '%zz', '..%2F..%2Fetc%2Fpasswd', '%2e%2e', 'current', '0', '-1', 'null', '%E0%A4%A', '%C0%AF', 'a'.repeat(5000), '__proto__', 'constructor'),
  fc.constant(null).map(() => realIds[0] ?? 'x'), // a real id (the seeded task), resolved at run time
  fc.nat().map((n) => encodeURIComponent(realIds[n % Math.max(1, realIds.length)] ?? 'x')),
);

const query = fc.array(
  fc.tuple(fc.oneof(fc.constantFrom(...QUERY_KEYS), fc.string({ maxLength: 8 })), fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('-1', '1e309', '99999999999', 'NaN', 'asc', 'desc', '0x10', ''), fc.integer().map(String))),
  { maxLength: 4 },
).map((pairs) => (pairs.length === 0 ? '' : `?${pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&')}`));

const path = fc.oneof(
  { arbitrary: fc.tuple(fc.constantFrom(...ROUTES), fc.constantFrom('/v1', '/api/v1'), fc.array(segment, { minLength: 3, maxLength: 3 }), query).map(([[m, route], prefix, segs, q]) => {
    let i = 0;
    return { method: m, path: `${prefix}${route.replace(/:[a-z]+/g, () => segs[i++] ?? 'x')}${q}` };
  }), weight: 9 },
  { arbitrary: fc.tuple(fc.constantFrom(...ROOT_ROUTES), query).map(([p, q]) => ({ method: 'GET', path: `${p}${q}` })), weight: 1 },
);

const jsonText = (v: unknown) => Buffer.from(JSON.stringify(v) ?? 'null');
const body = fc.oneof(
  { arbitrary: fc.constant(null), weight: 2 },
  { arbitrary: fc.jsonValue({ maxDepth: 4 }).map(jsonText), weight: 4 },
  { arbitrary: fc.dictionary(fc.constantFrom(...FIELDS), fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.anything({ maxDepth: 1 }), { maxLength: 3 }), fc.object({ maxDepth: 2 })), { maxKeys: 5 }).map(jsonText), weight: 4 },
  { arbitrary: fc.dictionary(fc.constantFrom(...FIELDS), fc.string({ maxLength: 40, unit: 'binary' }), { maxKeys: 4 }).map(jsonText), weight: 2 },
  { arbitrary: fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)), weight: 2 },
  { arbitrary: fc.constantFrom(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]), Buffer.from('{"command":["\ud800"]}'), Buffer.from('{"a":1,}'), Buffer.from('{"__proto__":{"admin":true},"command":["true"]}'), Buffer.from('')), weight: 2 },
  { arbitrary: fc.integer({ min: 1_000, max: 100_000 }).map((n) => Buffer.from(`${'['.repeat(n)}${']'.repeat(n)}`)), weight: 1 },
  { arbitrary: fc.integer({ min: 1_000, max: 20_000 }).map((n) => Buffer.from(`${'{"a":'.repeat(n)}1${'}'.repeat(n)}`)), weight: 1 },
  { arbitrary: fc.integer({ min: 1_000, max: 20_000 }).map((n) => Buffer.from(`{"command":${'['.repeat(n)}"x"${']'.repeat(n)}}`)), weight: 1 },
  { arbitrary: fc.constantFrom(200 * 1024, 300 * 1024, 1_100_000).map((n) => jsonText({ command: ['echo', 'z'.repeat(n)] })), weight: 1 },
);
const contentType = fc.constantFrom(
  'application/json', 'application/json', 'application/json; charset=utf-8', 'application/json; charset=latin1', 'text/plain',
  'application/octet-stream', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=xyz', 'application/xml', 'application/', '*/*',
  'application/json, text/plain', null,
);

const request: fc.Arbitrary<Req> = fc
  .tuple(path, fc.oneof({ arbitrary: fc.constant(null), weight: 3 }, { arbitrary: fc.constantFrom(...METHODS), weight: 1 }), fc.constantFrom('admin' as const, 'admin' as const, 'none' as const, 'wrong' as const), contentType, body)
  .map(([p, method, auth, ct, b]) => ({ method: method ?? p.method, path: p.path, auth, contentType: b === null ? (ct === 'application/json' ? ct : null) : ct, body: b }));

describe('REST API of a real master under hostile requests', () => {
  let fm: FuzzMaster;
  const accepted: string[] = [];

  beforeAll(async () => {
    fm = await startFuzzMaster('fuzz-rest');
    const created = await fm.api('POST', '/v1/tasks', { command: ['true'] });
    expect(created.status).toBe(201);
    realIds.push((created.body as { task: { id: string } }).task.id);
    const project = await fm.api('POST', '/v1/projects', { name: 'fuzz-p' });
    expect(project.status).toBe(201);
    realIds.push('fuzz-p');
  }, 60_000);

  afterAll(async () => {
    await fm?.close();
  });

  /** What a refused request must not change: the fleet's and the logbook's contents, and the event log but for denial records. */
  async function state(): Promise<string> {
    const b = fm.master.backbone;
    const events = (await b.events.read(0, 1_000_000)).filter((e) => !DENIAL_EVENTS.test(e.type)).map((e) => [e.seq, e.type]);
    return JSON.stringify({
      tasks: (await fm.master.fleet.listTasks()).map((t) => [t.id, t.state, t.attempt]),
      nodes: fm.master.fleet.listNodes().map((n) => [n.id, n.status, n.role]),
      status: (await fm.master.fleet.status()).acceptingWork,
      sessions: (await b.sessions.list()).map((s) => [s.id, s.status]),
      projects: (await b.projects.list()).map((p) => [p.name, p.status, p.description]),
      topics: (await b.topics.list()).map((t) => [t.id, t.status]),
      approvals: (await b.approvals.list()).map((a) => [a.id, a.state]),
      actions: (await b.actions.list()).length,
      sparks: (await b.sparks.list()).length,
      kv: (await b.kv.get('auth/admin'))?.value,
      events,
    });
  }

  async function send(req: Req): Promise<{ status: number; headers: Headers; text: string }> {
    const headers: Record<string, string> = {};
    if (req.auth === 'admin') headers['authorization'] = `Bearer ${fm.token}`;
    if (req.auth === 'wrong') headers['authorization'] = 'Bearer bat_not-the-token';
    if (req.contentType) headers['content-type'] = req.contentType;
    const res = await fetch(`${fm.url}${req.path}`, {
      method: req.method,
      headers,
      ...(req.body !== null && req.method !== 'GET' && req.method !== 'HEAD' ? { body: req.body } : {}),
      signal: AbortSignal.timeout(30_000),
    });
    return { status: res.status, headers: res.headers, text: await res.text() };
  }

  it('answers every hostile request with a 4xx BIT_ERR_* JSON error (or a success), and refusals change nothing', async () => {
    let baseline = await state();
    await fc.assert(
      fc.asyncProperty(request, async (req) => {
        let res;
        try {
          res = await send(req);
        } catch (err) {
          throw new Error(`${req.method} ${req.path.slice(0, 200)}: no answer (${(err as Error).message})`, { cause: err });
        }
        const what = `${req.method} ${req.path.slice(0, 200)} auth=${req.auth} ct=${req.contentType} body=${req.body?.subarray(0, 120).toString('latin1')}… → ${res.status} ${res.text.slice(0, 300)}`;
        expect(fm.stoppedEarly(), what).toBe(false);
        const problems = contractProblems(req, res);
        const changed = res.status >= 400 && (await state()) !== baseline;
        if (changed) problems.push('a refused request changed the stored state');
        if (res.status < 400) {
          // Accepted: legitimately may have changed state (a real route with an acceptable body).
          accepted.push(`${req.method} ${req.path.split('?')[0]} → ${res.status}`);
        }
        if (changed || res.status < 400) baseline = await state();
        const unknown = problems.filter((p) => !knownGap(req, res, p));
        for (const p of problems.filter((q) => !unknown.includes(q))) gapsSeen.add(`${knownGap(req, res, p)}`);
        if (process.env['BITACORA_FUZZ_COLLECT']) {
          if (unknown.length > 0) console.error(`${unknown.join('; ')} :: ${what}`);
          return;
        }
        expect(unknown, what).toEqual([]);
      }),
      liveParams(400),
    );
    if (process.env['BITACORA_FUZZ_COLLECT']) console.error(`accepted:\n  ${[...new Set(accepted)].join('\n  ')}`);
    if (gapsSeen.size > 0) console.warn(`known API gaps hit (see the issue 4 report):\n  ${[...gapsSeen].join('\n  ')}`);
    expect(accepted.every((a) => !/^POST (\/api)?\/v1\/shutdown/.test(a)), accepted.join('\n')).toBe(true);
  }, FUZZ_TIMEOUT_MS);

  // Gaps the fuzzer found (issue 4), fixed in src/api: fastify's router and Node's HTTP parser
  // refused these with their own bodies, outside the BIT_ERR_* envelope.
  it.each([
    ['GAP-1 unknown method', { method: 'FOO', path: '/v1/status' }],
    ['GAP-2 malformed %-escape', { method: 'GET', path: '/v1/tasks/%zz' }],
    ['GAP-3 over-long path parameter', { method: 'GET', path: `/v1/tasks/${'a'.repeat(101)}` }],
  ])('%s is answered with a BIT_ERR_* JSON error', async (_name, r) => {
    const res = await send({ ...r, auth: 'admin', contentType: null, body: null });
    expect(contractProblems({ ...r, auth: 'admin', contentType: null, body: null }, res)).toEqual([]);
  });

  it('still serves valid requests afterwards', async () => {
    const health = await fetch(`${fm.url}/healthz`);
    expect(health.status).toBe(200);
    const created = await fm.api('POST', '/v1/tasks', { command: ['echo', 'after-fuzz'] });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = (created.body as { task: { id: string } }).task.id;
    const got = await fm.api('GET', `/v1/tasks/${id}`);
    expect(got.status).toBe(200);
    expect((got.body as { id: string }).id).toBe(id);
    const status = await fm.api('GET', '/v1/status');
    expect(status.status).toBe(200);
    expect(fm.stoppedEarly()).toBe(false);
  });
});

/** What the answer to `req` does wrong against the boundary contract (empty: nothing). */
function contractProblems(req: Req, res: { status: number; headers: Headers; text: string }): string[] {
  const problems: string[] = [];
  if (res.status >= 500) problems.push(`status ${res.status} (5xx)`);
  if (res.status < 400 || req.method === 'HEAD') return problems;
  if (!/^application\/json/.test(res.headers.get('content-type') ?? '')) problems.push(`content-type ${res.headers.get('content-type')}`);
  const parsed = jsonOrNull(res.text) as { error?: { code?: unknown; message?: unknown } } | null;
  if (parsed === null) problems.push('body is not JSON');
  if (parsed && !/^BIT_ERR_[A-Z_]+$/.test(String(parsed.error?.code))) problems.push('no BIT_ERR_* code');
  if (parsed && typeof parsed.error?.message !== 'string') problems.push('no error message');
  // Refused before routing (so before authentication): a request Node's parser or the router cannot read.
  const unreadable = res.status === 400 && /"message":"(malformed HTTP request|malformed URL|a path parameter is too long)/.test(res.text);
  if (req.auth !== 'admin' && !isPublic(req) && !unreadable && ![401, 404, 405, 413, 415].includes(res.status) && res.status < 500) {
    problems.push(`unauthenticated request answered ${res.status}`);
  }
  return problems;
}

function jsonOrNull(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

const gapsSeen = new Set<string>();

/**
 * Known gaps of src/api (not this suite's files), reported with issue 4: the suite tolerates
 * them so it guards everything else, and names them when hit. Delete an entry once fixed.
 */
function knownGap(_req: Req, _res: { status: number; text: string }, _problem: string): string | null {
  return null;
}

/** Events that record an attempt or a refusal rather than a change (the audit trail, refused tokens). */
const DENIAL_EVENTS = /^(audit$|audit\.|auth\.|token\.refused|access\.denied|protocol\.violation)/;

function isPublic(req: Req): boolean {
  const p = req.path.split('?')[0]!;
  return /^\/(api\/)?v1\/join-info$/.test(p) || p === '/healthz' || p === '/' || p === '/v1/login' || p === '/api/v1/login' || !/^\/(api\/)?v1\//.test(p);
}
