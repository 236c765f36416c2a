// Process plumbing shared by the benchmark driver and its children: a cross-process clock,
// free loopback ports, temp dirs, JSON-lines control channels (parent and child side), and
// /proc sampling of CPU time and resident memory.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/**
 * Wall-clock milliseconds with sub-millisecond resolution, comparable across processes on
 * one machine (timeOrigin is taken from the realtime clock when the process starts).
 */
export const now = () => performance.timeOrigin + performance.now();

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
export const tick = () => new Promise((resolve) => setImmediate(resolve));

/** Shared with the demo and tests (built): never hands out the same port twice in one process. */
export { freePort } from '../../dist/cli/free-port.js';

const tempDirs = [];
export function tempDir(prefix = 'bitacora-bench-') {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}
export function removeTempDirs() {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** A child process speaking JSON lines: requests on stdin, replies and events on stdout. */
export class Child {
  static live = new Set();

  constructor(script, arg, { name = script, env = {}, nodeArgs = [] } = {}) {
    this.name = name;
    this.child = spawn(process.execPath, [...nodeArgs, script, JSON.stringify(arg ?? {})], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, BITACORA_QUIET: '1', ...env },
    });
    Child.live.add(this);
    this.events = [];
    this.stderr = '';
    this.nextId = 1;
    this.pending = new Map();
    this.waiters = [];
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code, signal) => {
        Child.live.delete(this);
        const err = new Error(`${this.name} exited (${code ?? signal}); stderr:\n${this.stderr.slice(-4000)}`);
        for (const { reject } of this.pending.values()) reject(err);
        for (const w of this.waiters) w.reject(err);
        this.pending.clear();
        this.waiters = [];
        resolve({ code, signal });
      }),
    );
    createInterface({ input: this.child.stdout }).on('line', (text) => {
      let line;
      try {
        line = JSON.parse(text);
      } catch {
        return;
      }
      if (line.id !== undefined && this.pending.has(line.id)) {
        const { resolve, reject } = this.pending.get(line.id);
        this.pending.delete(line.id);
        if (line.ok) resolve(line.result);
        else reject(new Error(`${this.name}: ${line.error}`));
        return;
      }
      if (line.event) {
        this.events.push(line);
        this.waiters = this.waiters.filter((w) => (w.match(line) ? (w.resolve(line), false) : true));
      }
    });
    this.child.stderr.setEncoding('utf8').on('data', (d) => {
      this.stderr = (this.stderr + d).slice(-20_000);
      if (process.env.BENCH_VERBOSE) process.stderr.write(`[${this.name}] ${d}`);
    });
  }

  get pid() {
    return this.child.pid;
  }

  get alive() {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  call(op, ...args) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (!this.alive) return reject(new Error(`${this.name} is not running; stderr:\n${this.stderr.slice(-4000)}`));
      this.pending.set(id, { resolve, reject });
      this.child.stdin.write(`${JSON.stringify({ id, op, args })}\n`);
    });
  }

  waitEvent(name, timeoutMs = 120_000) {
    const match = (l) => l.event === name || l.event === 'failed';
    const found = this.events.find(match);
    const check = (l) => {
      if (l.event === 'failed') throw new Error(`${this.name} failed: ${l.message}\n${this.stderr.slice(-4000)}`);
      return l;
    };
    if (found) return Promise.resolve(found).then(check);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name}: no '${name}' within ${timeoutMs} ms; stderr:\n${this.stderr.slice(-4000)}`)), timeoutMs);
      this.waiters.push({ match, resolve: (l) => (clearTimeout(timer), resolve(l)), reject: (e) => (clearTimeout(timer), reject(e)) });
    }).then(check);
  }

  signal(sig) {
    if (this.alive) this.child.kill(sig);
  }

  /** Asks the child to close, then kills it if it lingers. */
  async stop(timeoutMs = 10_000) {
    if (!this.alive) return;
    try {
      process.kill(this.pid, 'SIGCONT');
    } catch {
      /* gone */
    }
    const closed = this.call('close').catch(() => {});
    const timer = setTimeout(() => this.signal('SIGKILL'), timeoutMs);
    await Promise.race([closed, this.exited]);
    this.child.stdin.end();
    await Promise.race([this.exited, new Promise((r) => setTimeout(r, 2000))]);
    this.signal('SIGKILL');
    await this.exited;
    clearTimeout(timer);
  }

  static killAll() {
    for (const c of Child.live) {
      try {
        process.kill(c.pid, 'SIGCONT');
      } catch {
        /* gone */
      }
      c.signal('SIGKILL');
    }
  }
}

/** Child side of the control channel: `serve({ op: async (...args) => result })`. */
export function serve(ops) {
  createInterface({ input: process.stdin }).on('line', async (text) => {
    let req;
    try {
      req = JSON.parse(text);
    } catch {
      return;
    }
    try {
      const fn = ops[req.op];
      if (!fn) throw new Error(`unknown op ${req.op}`);
      const result = await fn(...(req.args ?? []));
      emit({ id: req.id, ok: true, result: result ?? null });
    } catch (err) {
      emit({ id: req.id, ok: false, error: String(err?.stack ?? err) });
    }
  });
}

export function emit(obj) {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

let clockTicks = null;
function ticksPerSecond() {
  if (clockTicks === null) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** CPU seconds (user + system) and resident memory of a process, from /proc. Null when gone. */
export function procSample(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After the command: state(0) ppid(1) … utime(11) stime(12).
    const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / ticksPerSecond();
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    return { at: now(), cpuSeconds, rssBytes: rssKb * 1024 };
  } catch {
    return null;
  }
}

/** Share of one core a process used between two samples (1.0 = one full core). */
export function cpuShare(a, b) {
  return (b.cpuSeconds - a.cpuSeconds) / ((b.at - a.at) / 1000);
}
