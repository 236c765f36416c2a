#!/usr/bin/env node
// Test launcher: runs a master through the real composition root (dist/bin/master.js) and
// exposes its FleetService over a JSON-lines control channel (stdin requests, stdout replies),
// so multi-process tests can submit work and inspect state without depending on the CLI.
// argv[2]: JSON { dataDir, http, grpc, localWorker?, settings?, durability? }
import { createInterface } from 'node:readline';

const options = JSON.parse(process.argv[2] ?? '{}');
const root = new URL('../../dist/', import.meta.url);
const { startMaster } = await import(new URL('bin/master.js', root).href);

const out = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);

let master;
try {
  master = await startMaster(
    { dataDir: options.dataDir, http: options.http, grpc: options.grpc, localWorker: Boolean(options.localWorker) },
    { settings: options.settings ?? {}, durability: options.durability ?? 'normal' },
  );
} catch (err) {
  out({ event: 'failed', code: err?.code ?? null, message: String(err?.message ?? err) });
  process.exit(2);
}
out({
  event: 'ready', pid: process.pid, httpUrl: master.httpUrl, grpcAddress: master.grpcAddress,
  caHash: master.caHash, adminToken: master.adminToken, joinCommand: master.joinCommand,
});

// Extra operations beyond FleetService, for assertions.
const extra = {
  events: (afterSeq = 0, limit = 100000) => master.backbone.events.read(afterSeq, limit),
  dispatchStats: () => master.coordinator.dispatchStats,
  close: async () => {
    await master.close();
    return true;
  },
};

createInterface({ input: process.stdin }).on('line', async (line) => {
  let req;
  try {
    req = JSON.parse(line);
  } catch {
    return;
  }
  try {
    const fn = extra[req.op] ?? master.fleet[req.op]?.bind(master.fleet);
    if (!fn) throw new Error(`unknown op ${req.op}`);
    const result = await fn(...(req.args ?? []));
    out({ id: req.id, ok: true, result: result ?? null });
  } catch (err) {
    out({ id: req.id, ok: false, error: { code: err?.code ?? null, message: String(err?.message ?? err) } });
  }
});

master.closed.then(() => {
  out({ event: 'closed' });
  setTimeout(() => process.exit(0), 50);
});
process.on('SIGTERM', () => void master.close());
