#!/usr/bin/env node
// A real agent (dist/bin/agent-main.js: ProcessRunner, workspaces, reconnect loop) for the
// failure-recovery benchmark, which kills it with SIGKILL or freezes it with SIGSTOP.
// argv[2]: JSON AgentStartOptions. Prints { event: 'joined' } or { event: 'failed' }.
import { emit, serve } from './proc.mjs';

const options = JSON.parse(process.argv[2] ?? '{}');
const root = new URL('../../dist/', import.meta.url);
const { startAgent } = await import(new URL('bin/agent-main.js', root).href);

let handle;
try {
  handle = await startAgent(options, { backoff: { initialMs: 100, maxMs: 1000 } });
} catch (err) {
  emit({ event: 'failed', message: String(err?.message ?? err) });
  process.exit(2);
}
emit({ event: 'joined', pid: process.pid, nodeId: handle.nodeId() });
serve({
  close: async () => {
    await handle.close();
    setTimeout(() => process.exit(0), 20);
    return true;
  },
});
process.on('SIGTERM', () => void handle.close().then(() => process.exit(0)));
