/**
 * Identifiers: a short type prefix plus a time-ordered random part, so ids sort by creation
 * and say what they name (`tsk_…`, `nod_…`). Randomness only; no I/O.
 */
import { randomBytes } from 'node:crypto';

export type IdPrefix = 'ses' | 'prj' | 'top' | 'act' | 'spk' | 'nod' | 'tsk' | 'tok' | 'apv' | 'run' | 'usr';

let lastMs = 0;
let counter = 0;

/** `prefix_` + 10 chars of base36 time + 4 chars of counter + 8 random hex chars. */
export function newId(prefix: IdPrefix): string {
  const now = Date.now();
  if (now === lastMs) counter++;
  else {
    lastMs = now;
    counter = 0;
  }
  const time = now.toString(36).padStart(10, '0');
  const seq = counter.toString(36).padStart(4, '0');
  return `${prefix}_${time}${seq}${randomBytes(4).toString('hex')}`;
}
