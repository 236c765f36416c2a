/** A task's attempt timeline from its own events (pure): each attempt's node, start, end, and why it ended or moved. */
import type { FleetEvent } from '../../src/core/index.js';

export interface Attempt {
  attempt: number;
  nodeId: string | null;
  assignedAt: number | null;
  startedAt: number | null;
  endedAt: number | null;
  ending: string | null;
}

export function attemptsOf(events: FleetEvent[]): Attempt[] {
  const out = new Map<number, Attempt>();
  const at = (n: number) => out.get(n) ?? (out.set(n, { attempt: n, nodeId: null, assignedAt: null, startedAt: null, endedAt: null, ending: null }), out.get(n)!);
  let current = 0;
  for (const e of events) {
    const n = typeof e.data['attempt'] === 'number' ? (e.data['attempt'] as number) : current;
    if (e.type === 'task.assigned') {
      current = n;
      Object.assign(at(n), { nodeId: (e.data['nodeId'] as string | undefined) ?? null, assignedAt: e.at });
    } else if (e.type === 'task.running') at(n).startedAt = e.at;
    else if (e.type === 'task.finished') Object.assign(at(n), { endedAt: e.at, ending: String(e.data['reason'] ?? e.data['state'] ?? 'finished') });
    else if (e.type === 'task.requeued') Object.assign(at(n), { endedAt: e.at, ending: `moved: ${String(e.data['reason'] ?? 'requeued')}` });
    else if (e.type === 'task.cancelled') Object.assign(at(n), { endedAt: e.at, ending: `cancelled${e.data['reason'] ? `: ${String(e.data['reason'])}` : ''}` });
    else if (e.type === 'task.fenced') {
      const a = at(n);
      a.ending = a.ending ?? `fenced: a stale ${String(e.data['what'] ?? 'message')} was refused`;
    }
  }
  return [...out.values()].filter((a) => a.attempt > 0).sort((a, b) => a.attempt - b.attempt);
}

