import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { FleetEvent, NewFleetEvent } from '../core/index.js';
import { checkCheckpoint, verifyAuditTrail, type AuditCheckpoint, type AuditTrust } from '../security/index.js';
import type { EventLog } from '../store/events.js';
import { AuditWriter } from '../access/audit-writer.js';
import { AuditCheckpointer } from './audit-checkpoints.js';
import type { AgentStream } from './agent-streams.js';

function memoryLog(): EventLog & { events: FleetEvent[] } {
  const store = (event: NewFleetEvent): FleetEvent => {
    const stored: FleetEvent = { seq: log.events.length + 1, at: event.at ?? 0, type: event.type, subject: event.subject, data: event.data };
    log.events.push(stored);
    return stored;
  };
  const log = {
    events: [] as FleetEvent[],
    append: async (event: NewFleetEvent) => store(event),
    appendMany: async (events: NewFleetEvent[]) => events.map(store),
    read: async (after: number, limit = 1000) => log.events.filter((e) => e.seq > after).slice(0, limit),
    latestSeq: async () => log.events.length,
    wait: async () => log.events.length,
    watch: () => () => {},
  };
  return log;
}

function setup() {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const lines: AuditCheckpoint[] = [];
  const trust: AuditTrust = {
    macKey: randomBytes(32), signingKey: privateKey, publicKey,
    checkpointFile: { path: '(memory)', append: (c) => void lines.push(c), read: () => [...lines], latest: () => lines[lines.length - 1] ?? null },
  };
  let now = 100_000;
  const log = memoryLog();
  const writer = new AuditWriter(log, () => now, trust);
  const sent: Array<{ node: string; message: unknown }> = [];
  const stream = (node: string, state: AgentStream['state'] = 'active') =>
    ({ state, connection: { send: (message: unknown) => (sent.push({ node, message }), true) } }) as unknown as AgentStream;
  const streams = new Map<string, AgentStream>([['n1', stream('n1')], ['n2', stream('n2', 'awaiting-hello')]]);
  const errors: string[] = [];
  const checkpointer = new AuditCheckpointer({
    writer, trust, streams: { all: () => streams.values() }, now: () => now, intervalMs: 5000, log: { info() {}, warn() {}, error: (m: string) => void errors.push(m) },
  });
  return { trust, lines, log, writer, sent, streams, stream, checkpointer, errors, advance: (ms: number) => (now += ms) };
}

const record = (action: string) => ({ actor: 'user:admin', action, target: null, outcome: 'allowed' as const });

describe('AuditCheckpointer', () => {
  it('signs the head only when it moved and the interval passed, and hands the newest once to each active stream', async () => {
    const t = setup();
    await t.checkpointer.start();
    await t.checkpointer.tick();
    expect(t.lines).toEqual([]); // an empty trail needs no checkpoint
    await t.writer.record(record('a'));
    await t.checkpointer.tick();
    expect(t.lines).toHaveLength(1);
    expect(checkCheckpoint(t.lines[0], t.trust.publicKey)).toBeNull();
    expect(t.sent.map((s) => s.node)).toEqual(['n1']); // not to a stream still awaiting its hello
    await t.writer.record(record('b'));
    t.advance(1000);
    await t.checkpointer.tick();
    expect(t.lines).toHaveLength(1); // within the interval
    expect(t.sent).toHaveLength(1); // nothing new to deliver
    t.advance(5000);
    await t.checkpointer.tick();
    expect(t.lines.map((c) => c.headIndex)).toEqual([1, 2]);
    t.streams.set('n3', t.stream('n3'));
    await t.checkpointer.tick();
    expect(t.sent.map((s) => [s.node, (s.message as { checkpoint: AuditCheckpoint }).checkpoint.headIndex])).toEqual([['n1', 1], ['n1', 2], ['n3', 2]]);
    await t.checkpointer.close();
    const entries = t.log.events.map((e) => ({ entry: e.data, seq: e.seq }));
    expect(verifyAuditTrail(entries, { macKey: t.trust.macKey, publicKey: t.trust.publicKey, checkpointLog: t.lines }).ok).toBe(true);
  });

  it('reads the head through the writer queue: entries still being appended are signed once they land, never before', async () => {
    const t = setup();
    await t.checkpointer.start();
    const pending = [t.writer.record(record('a')), t.writer.record(record('b')), t.writer.record(record('c'))];
    const checkpoint = await t.checkpointer.checkpoint(); // not awaited the records first
    await Promise.all(pending);
    expect(checkpoint?.headIndex).toBe(3);
    expect(t.log.events).toHaveLength(3);
    await t.checkpointer.close();
    expect(t.lines.map((c) => c.headIndex)).toEqual([3]);
  });

  it('closes with a last checkpoint, so a clean stop leaves no unprotected entries', async () => {
    const t = setup();
    await t.checkpointer.start();
    await t.writer.record(record('a'));
    await t.checkpointer.tick();
    await t.writer.record(record('b'));
    await t.checkpointer.close();
    expect(t.lines.map((c) => c.headIndex)).toEqual([1, 2]);
    await t.checkpointer.close(); // idempotent
    expect(t.lines).toHaveLength(2);
  });

  it('says at start when the trail no longer matches its checkpoints', async () => {
    const t = setup();
    await t.checkpointer.start();
    await t.writer.record(record('a'));
    await t.writer.record(record('b'));
    await t.checkpointer.close();
    t.log.events.pop(); // the newest entry removed behind the master's back
    const restarted = new AuditCheckpointer({ writer: new AuditWriter(t.log, () => 999_999, t.trust), trust: t.trust, streams: { all: () => new Map<string, AgentStream>().values() }, now: () => 999_999, log: { info() {}, warn() {}, error: (m: string) => void t.errors.push(m) } });
    await restarted.start();
    await restarted.close();
    expect(t.errors.join('\n')).toMatch(/audit trail is broken: the newest audit entries were removed/);
  });
});
