/** The one impure corner of config: reads what compilation needs from the running process. */
import { availableParallelism, hostname } from 'node:os';
import type { AgentContext } from './agent.js';

export function processContext(): AgentContext {
  return { env: process.env, cwd: process.cwd(), hostname: hostname(), cpus: availableParallelism() };
}
