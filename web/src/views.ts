/** The dashboard's views (ids are the hash routes) and the props every view gets. */
import type { FleetClient } from '../../src/client/index.js';
import type { FleetPicture, LiveFleet } from './live.js';

export interface ViewProps {
  picture: FleetPicture;
  client: FleetClient;
  live: LiveFleet;
  /** The ticking clock (ms) relative times are shown against. */
  now: number;
}

export const VIEWS = [
  { id: 'now', label: 'Now', primary: true },
  { id: 'fleet', label: 'Fleet', primary: true },
  { id: 'tasks', label: 'Tasks', primary: true },
  { id: 'approvals', label: 'Approvals', primary: true },
  { id: 'projects', label: 'Projects', primary: false },
  { id: 'logbook', label: 'Logbook', primary: false },
  { id: 'audit', label: 'Audit', primary: false },
  { id: 'controls', label: 'Controls', primary: false },
] as const;
