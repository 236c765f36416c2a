/**
 * The local engine as `bitacora pipeline run --local` composes it on a logbook. Shared with the
 * crash-test fixture (test/helpers/faults/atomic-engine.mjs) so that fault 5 exercises this
 * very wiring: the logbook's owner marker on every command, and the start-up order
 * kill leftovers → recover in-doubt actions.
 */
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { ThreadManager, type OwnerMarker, type RecoveredAction, type ThreadManagerOptions } from '../../engine/index.js';

/** Name of the marker every command of a local engine carries (value: see `logbookOwner`). */
export const LOGBOOK_OWNER_VAR = 'BITACORA_LOGBOOK_ID';

/**
 * The owner marker of one logbook: 16 hex of the sha256 of its absolute location (the data
 * directory for the CLI, the database file for the fixture — one name per logbook).
 */
export function logbookOwner(location: string): OwnerMarker {
  return { name: LOGBOOK_OWNER_VAR, value: createHash('sha256').update(resolve(location)).digest('hex').slice(0, 16) };
}

/** A ThreadManager whose commands carry the marker of the logbook at `location`. */
export function newLocalEngine(location: string, options: Omit<ThreadManagerOptions, 'owner'>): ThreadManager {
  return new ThreadManager({ ...options, owner: logbookOwner(location) });
}

export interface StartupRecovery {
  /** Processes of a crashed earlier engine on this logbook that were still running, now killed. */
  killed: number;
  recovered: RecoveredAction[];
}

/**
 * What a lone engine does on start, before new work touches the workspaces: kill what a
 * crashed predecessor left running (its prepare, commit or rollback commands outlive it in
 * their own process groups), then resolve the actions it left in doubt. In this order, so an
 * orphaned prepare cannot stage its change after the rollback (RELIABILITY.md, B2). Only
 * when no other engine works on the logbook: its commands carry the same marker.
 */
export async function recoverOnStart(manager: ThreadManager): Promise<StartupRecovery> {
  const killed = await manager.killLeftovers();
  const recovered = await manager.recoverInDoubtActions();
  return { killed, recovered };
}
