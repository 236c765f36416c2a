/** What a heartbeat reports about the machine: cpus, memory, 1-minute load. */
import { cpus, loadavg, totalmem } from 'node:os';
import type { NodeResources } from '../core/index.js';

export function machineResources(): NodeResources {
  return { cpus: cpus().length, memoryBytes: totalmem(), load: Math.max(0, loadavg()[0] ?? 0) };
}
