/**
 * Seeded soak: a steady stream of submissions while a random schedule of faults (the table
 * in test/helpers/faults/soak-faults.ts) hits the fleet; then everything is healed, the run
 * settles and the history checker judges it. Not part of `npm test` (see vitest.config.ts);
 * run with `npm run test:faults` or on its own:
 *
 *   BITACORA_SOAK_MS=120000 BITACORA_SOAK_SEED=42 npx vitest run --config vitest.faults.config.ts test/faults/soak.test.ts
 *
 * The seed is printed at the start; the same seed replays the same schedule (which fault,
 * when, against which node, for how long). Figures are printed at the end.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { checkHistory, formatReport } from '../helpers/faults/checker.js';
import { FaultFleet, FaultScope } from '../helpers/faults/fleet.js';
import { tagged } from '../helpers/faults/procs.js';
import { Rng, scheduleFor, SOAK_FAULTS, type SoakContext } from '../helpers/faults/soak-faults.js';

const DURATION_MS = Number(process.env['BITACORA_SOAK_MS'] ?? 300_000);
const SEED = process.env['BITACORA_SOAK_SEED'] !== undefined ? Number(process.env['BITACORA_SOAK_SEED']) : Math.floor(Math.random() * 2 ** 31);

const scope = new FaultScope();
afterAll(() => scope.dispose());

const print = (line: string) => process.stdout.write(`[soak] ${line}\n`);

describe('seeded soak', () => {
  it(`survives ${Math.round(DURATION_MS / 1000)} s of random faults (seed ${SEED})`, { timeout: DURATION_MS + 300_000 }, async () => {
    const schedule = scheduleFor(SEED, DURATION_MS);
    print(`seed ${SEED}, duration ${DURATION_MS} ms — replay with BITACORA_SOAK_SEED=${SEED} BITACORA_SOAK_MS=${DURATION_MS}`);
    print(`schedule (${schedule.length} faults): ${schedule.map((s) => `${(s.atMs / 1000).toFixed(1)}s ${s.fault}`).join('; ')}`);

    const fleet = await FaultFleet.start(scope, {
      workers: [{ name: 'w1', capacity: 3 }, { name: 'w2', capacity: 3, viaProxy: true }, { name: 'w3', capacity: 3, viaProxy: true }],
    });
    const started = Date.now();
    const ctx: SoakContext = { fleet, dir: scope.dir('bitacora-soak-'), log: (m) => print(`${((Date.now() - started) / 1000).toFixed(1)}s ${m}`), keyed: [] };

    // Load: small batches of short tasks, some under idempotency keys, until the schedule ends.
    const load = new Rng(SEED ^ 0x5eed);
    let loading = true;
    let batches = 0;
    const loader = (async () => {
      while (loading) {
        const specs = Array.from({ length: load.int(1, 5) }, () => {
          const keyed = load.next() < 0.3;
          const key = `soak-${SEED}-${batches}-${load.int(0, 1e9)}`;
          const spec = fleet.task(`sleep 0.${load.int(0, 8)}; echo ${batches}`, keyed ? { idempotencyKey: key } : {});
          if (keyed) ctx.keyed.push({ key, spec });
          return spec;
        });
        await fleet.recorder.submit(fleet.master, specs); // refused while the master is down: recorded, not acknowledged
        batches++;
        await new Promise((r) => setTimeout(r, load.int(150, 600)));
      }
    })();

    for (const step of schedule) {
      const wait = started + step.atMs - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const fault = SOAK_FAULTS.find((f) => f.name === step.fault)!;
      try {
        await fault.inject(ctx, new Rng(step.seed));
      } catch (err) {
        print(`fault '${step.fault}' failed to inject: ${(err as Error).message.split('\n')[0]}`);
        throw err;
      }
    }
    const remaining = started + DURATION_MS - Date.now();
    if (remaining > 0) await new Promise((r) => setTimeout(r, remaining));
    loading = false;
    await loader;

    // Settle: every acknowledged task must reach its one terminal result.
    await fleet.waitIdle(180_000);
    const history = await fleet.history();
    const report = checkHistory(history);
    print(formatReport(report));
    print(
      `figures: seed=${SEED} durationMs=${DURATION_MS} submissions=${report.figures.submissions} acknowledged=${report.figures.acknowledged} ` +
        `faultsInjected=${schedule.length} lost=${report.figures.lost} duplicates=${report.figures.duplicates} stale=${report.figures.staleAccepted} ` +
        `stuck=${report.figures.stuck} unfinished=${report.figures.unfinished} fenced=${report.figures.fenced} requeues=${report.figures.requeues} atomicActions=${report.figures.actions} leftoverProcesses=${tagged(fleet.tag).length}`,
    );
    expect(report.ok, formatReport(report)).toBe(true);
  });
});
