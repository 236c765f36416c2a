#!/usr/bin/env node
// Test launcher: runs an agent through the real composition root (dist/bin/agent-main.js).
// argv[2]: JSON AgentStartOptions plus optional { backoff }. Prints one JSON line when joined
// or refused; exits 0 when the agent closes normally, 2 when refused.
const options = JSON.parse(process.argv[2] ?? '{}');
const root = new URL('../../dist/', import.meta.url);
const { startAgent } = await import(new URL('bin/agent-main.js', root).href);

const out = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);
const { backoff, ...start } = options;

let handle;
try {
  handle = await startAgent(start, backoff ? { backoff } : {});
} catch (err) {
  out({ event: 'refused', code: err?.code ?? null, message: String(err?.message ?? err) });
  process.exit(2);
}
out({ event: 'joined', pid: process.pid, nodeId: handle.nodeId() });
process.on('SIGTERM', () => void handle.close());
handle.closed.then(
  () => {
    out({ event: 'closed' });
    process.exit(0);
  },
  (err) => {
    out({ event: 'refused', code: err?.code ?? null, message: String(err?.message ?? err) });
    process.exit(2);
  },
);
