#!/usr/bin/env node
// Simulated agents: many per process, each a real gRPC bidi stream over TLS to the
// coordinator (its own channel, so its own TCP + TLS connection), speaking the real protocol
// of src/rpc/messages.ts: hello with a join token → welcome, heartbeats, and for every
// assigned task an immediate start, then its result after `delayMs` (0 = at once). Protocol 2
// batches like the real agent: an executeTasks frame in, one `reports` frame per turn of the
// event loop out (the agent's own ReportBatcher); a protocol-1 build gets executeTask →
// taskStarted + taskFinished, one frame each, so before/after runs use the same harness.
// Joining follows the agent: with node certificates (when the build has
// agent/node-identity.js), a join hello carries the token and a CSR, the welcome brings the
// certificate and ends that stream, and the agent reconnects with mutual TLS; an older build
// (or a master without certificates) gives a `bnc_` credential on the first stream instead.
// No process is spawned: these measure the coordinator, not process start-up.
// Probe agents add a claim for a task that does not exist to every heartbeat; the
// coordinator answers such a claim with voidTasks at once, so the round trip is the
// heartbeat handling latency as an agent sees it.
// argv[2]: JSON { address, caCertPem, agents: [{ name, token }], capacity, delayMs,
//                 heartbeatMs, probe, connectConcurrency }
import { totalmem } from 'node:os';
import { emit, now, serve, sleep } from './proc.mjs';

const options = JSON.parse(process.argv[2] ?? '{}');
const root = new URL('../../dist/', import.meta.url);
const { connectToCoordinator } = await import(new URL('rpc/client/index.js', root).href);
const { PROTOCOL_VERSION } = await import(new URL('rpc/messages.js', root).href);
const batched = PROTOCOL_VERSION >= 2;
const { ReportBatcher } = batched ? await import(new URL('agent/report-batcher.js', root).href) : { ReportBatcher: null };
const identity = await import(new URL('agent/node-identity.js', root).href).catch(() => null);
const newKeyAndCsr = typeof identity?.newKeyAndCsr === 'function' ? identity.newKeyAndCsr : null;

const resources = { cpus: 2, memoryBytes: totalmem(), load: 0 };
let delayMs = options.delayMs ?? 0;
const heartbeatMs = options.heartbeatMs ?? 1000;
/** taskId → receipt time of the assignment, while a latency run logs. */
let receipts = null;
const counters = { executed: 0, finished: 0, errors: 0, closedAfterWelcome: 0, probeLost: 0, enrolled: 0 };
let probeRtts = [];

class SimAgent {
  constructor(spec) {
    this.spec = spec;
    this.link = null;
    this.nodeId = null;
    this.running = new Map();
    this.timer = null;
    this.probeSent = new Map();
    this.probeSeq = 0;
    /** Protocol 2: one `reports` frame per turn, on the working stream. */
    this.reports = ReportBatcher ? new ReportBatcher({ send: (m) => this.link?.send(m) ?? false }) : null;
  }

  /** Joins (enrolling first when the master issues certificates); resolves at the working welcome. */
  async connect() {
    const pending = newKeyAndCsr ? await newKeyAndCsr(this.spec.name) : null;
    const first = await this.stream({ joinToken: this.spec.token, ...(pending ? { csrPem: pending.csrPem } : {}) }, null);
    if (first.certificatePem === undefined) return; // legacy credential: this stream is the working one
    // Enrolled: the master ends the join stream; reconnect with mutual TLS.
    counters.enrolled++;
    this.tls = { clientKeyPem: pending.keyPem, clientCertPem: first.certificatePem };
    await this.stream({}, this.tls);
  }

  /** One stream: hello → welcome. Resolves with the welcome; a working stream then carries traffic. */
  stream(credentials, tls) {
    return new Promise((resolve, reject) => {
      const link = connectToCoordinator({ address: options.address, caCertPem: options.caCertPem, ...(tls ?? {}), keepalive: { timeMs: 30_000, timeoutMs: 10_000 } });
      let welcome = null;
      let working = false;
      link.start({
        onMessage: (m) => {
          if (m.type === 'welcome' && welcome === null) {
            welcome = m;
            if (m.certificatePem === undefined) {
              working = true;
              this.link = link;
              this.nodeId = m.nodeId;
              this.armHeartbeat(m.config.heartbeatIntervalMs ?? heartbeatMs);
              resolve(m);
            } else {
              resolve(m); // enrolled: this stream's work is done (the master ends it too)
              link.close('enrolled');
            }
            return;
          }
          if (working) this.handle(m);
          else if (m.type === 'error') process.stderr.write(`${this.spec.name}: ${m.code}: ${m.message}\n`);
        },
        onInvalid: (e) => process.stderr.write(`invalid frame: ${e.message}\n`),
        onClose: (reason) => {
          if (working) {
            clearInterval(this.timer);
            counters.closedAfterWelcome++;
          } else if (welcome) {
            resolve(welcome); // the enrollment stream, ended by the master as it should be
          } else {
            reject(new Error(`closed before welcome: ${reason}`));
          }
        },
      });
      link.send({
        type: 'hello',
        protocolVersion: PROTOCOL_VERSION,
        ...credentials,
        node: { name: this.spec.name, role: 'worker', capabilities: [], specializations: [], capacity: options.capacity ?? 1, resources, agentVersion: 'bench-sim' },
        running: [],
      });
    });
  }

  handle(m) {
    switch (m.type) {
      case 'executeTasks': {
        const t = now();
        for (const task of m.tasks) this.execute(task, t);
        return;
      }
      case 'executeTask': // protocol 1
        this.execute(m.task, now());
        return;
      case 'voidTasks':
        for (const ref of m.tasks) {
          const sent = this.probeSent.get(ref.taskId);
          if (sent !== undefined) {
            probeRtts.push(now() - sent);
            this.probeSent.delete(ref.taskId);
          } else {
            this.running.delete(ref.taskId);
          }
        }
        return;
      case 'cancelTask':
        if (this.running.delete(m.taskId)) this.report('finished', { taskId: m.taskId, attempt: m.attempt, result: { exitCode: null, error: 'cancelled', durationMs: 0 } });
        return;
      case 'error':
        counters.errors++;
        process.stderr.write(`coordinator error to ${this.spec.name}: ${m.code}: ${m.message}\n`);
        return;
      default:
        return; // result acks, updateConfiguration, setRole, emergencyShutdown: nothing to do here
    }
  }

  execute(task, receivedAt) {
    const { taskId, attempt } = task;
    if (receipts) receipts[taskId] = receivedAt;
    counters.executed++;
    const ref = { taskId, attempt };
    this.running.set(taskId, ref);
    this.report('started', { taskId, attempt, at: Date.now() });
    if (delayMs <= 0) this.finish(ref, 0);
    else setTimeout(() => this.finish(ref, delayMs), delayMs);
  }

  /** A start or a result: into this turn's `reports` frame (protocol 2), or a frame of its own (protocol 1). */
  report(kind, report) {
    if (this.reports) this.reports[kind](report);
    else this.link.send({ type: kind === 'started' ? 'taskStarted' : 'taskFinished', ...report });
  }

  finish(ref, durationMs) {
    if (!this.running.delete(ref.taskId)) return;
    counters.finished++;
    this.report('finished', { taskId: ref.taskId, attempt: ref.attempt, result: { exitCode: 0, error: null, durationMs } });
  }

  armHeartbeat(intervalMs) {
    // Spread the fleet's heartbeats over the interval, as independent agents would be.
    const start = () => {
      this.beat();
      this.timer = setInterval(() => this.beat(), intervalMs);
    };
    this.timer = setTimeout(start, Math.random() * intervalMs);
  }

  beat() {
    const running = [...this.running.values()];
    if (options.probe) {
      if (this.probeSent.size > 0) {
        counters.probeLost += this.probeSent.size;
        this.probeSent.clear();
      }
      const taskId = `probe_${this.spec.name}_${this.probeSeq++}`;
      running.push({ taskId, attempt: 1 });
      this.probeSent.set(taskId, now());
    }
    this.link.send({ type: 'heartbeat', at: Date.now(), resources, running });
  }

  close() {
    clearInterval(this.timer);
    clearTimeout(this.timer);
    this.link?.close('benchmark over');
  }
}

const agents = options.agents.map((spec) => new SimAgent(spec));
const started = now();
let failed = 0;
let next = 0;
let stopConnecting = false;
const working = () => agents.filter((a) => a.link !== null && a.nodeId !== null).length;
const workers = Array.from({ length: Math.min(options.connectConcurrency ?? 16, agents.length) }, async () => {
  while (next < agents.length && !stopConnecting) {
    const agent = agents[next++];
    try {
      await agent.connect();
    } catch (err) {
      failed++;
      if (failed <= 5) process.stderr.write(`${agent.spec.name}: ${err.message}\n`);
      await sleep(10);
    }
  }
});
void Promise.all(workers).then(() => {
  const connected = working();
  emit({ event: 'ready', connected, failed, notAttempted: agents.length - next, enrolledWithCertificates: counters.enrolled, ms: Math.round(now() - started) });
});

serve({
  startLog: () => {
    receipts = {};
    return true;
  },
  dumpLog: () => {
    const out = receipts ?? {};
    receipts = null;
    return out;
  },
  setDelay: (ms) => {
    delayMs = ms;
    return true;
  },
  counters: () => ({ ...counters, working: working(), failed, attempted: next }),
  /** Starts no further connections (those in flight finish); 'ready' follows. */
  stopConnecting: () => {
    stopConnecting = true;
    return true;
  },
  probeReset: () => {
    probeRtts = [];
    return true;
  },
  probeDump: () => {
    const out = probeRtts;
    probeRtts = [];
    return out;
  },
  close: async () => {
    for (const a of agents) a.close();
    await sleep(50);
    setTimeout(() => process.exit(0), 20);
    return true;
  },
});
process.on('SIGTERM', () => process.exit(0));
