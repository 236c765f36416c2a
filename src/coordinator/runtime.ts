/**
 * What every part of the coordinator runs with: the clock, the log and the resolved settings.
 * Passed in by the Coordinator facade (no module-level state).
 */
import type { Clock } from '../engine/ports.js';
import type { ResolvedSettings } from './options.js';

import type { Logger } from '../core/index.js';

export { silentLogger, type Logger } from '../core/index.js';

export interface Runtime {
  readonly clock: Clock;
  readonly log: Logger;
  readonly settings: ResolvedSettings;
}

/** Asks for a dispatch pass soon; coalesced, so call it freely (implemented by the Dispatcher). */
export interface DispatchTrigger {
  schedule(): void;
}
