/** Guarded state transitions shared by every state machine of the model. Pure. */
import { InvalidTransitionError } from '../errors.js';

export type TransitionTable<S extends string> = Readonly<Record<S, readonly S[]>>;

export function canTransition<S extends string>(table: TransitionTable<S>, from: S, to: S): boolean {
  return table[from].includes(to);
}

/** Throws InvalidTransitionError when `from → to` is not in the table. */
export function assertTransition<S extends string>(entity: string, table: TransitionTable<S>, from: S, to: S): void {
  if (!canTransition(table, from, to)) throw new InvalidTransitionError(entity, from, to);
}
