#!/usr/bin/env node
// Test launcher for fault injection: an agent through the real composition root
// (dist/bin/agent-main.js), like ../agent-process.mjs, but optionally dialling the master's
// gRPC endpoint through another address (a FaultProxy) instead of the one /v1/join-info
// advertises. Everything else — join, TLS with the pinned CA, reconnects — is the product's.
// argv[2]: JSON AgentStartOptions plus optional { backoff, dialVia: "host:port" }.
// Prints one JSON line when joined or refused; exits 0 when the agent closes, 2 when refused.
const options = JSON.parse(process.argv[2] ?? '{}');
const root = new URL('../../../dist/', import.meta.url);
const { startAgent } = await import(new URL('bin/agent-main.js', root).href);
const { connectToCoordinator } = await import(new URL('rpc/client/index.js', root).href);

const out = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);
const { backoff, dialVia, ...start } = options;

const extras = {};
if (backoff) extras.backoff = backoff;
if (dialVia) extras.connect = (connectOptions) => connectToCoordinator({ ...connectOptions, address: dialVia });

let handle;
try {
  handle = await startAgent(start, extras);
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
