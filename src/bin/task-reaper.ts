#!/usr/bin/env node
/**
 * The task reaper: a tiny detached process an agent starts beside itself. Tasks run in their
 * own process groups (and may double-fork and setsid), so a SIGKILLed agent leaves them running;
 * a restarted agent sweeps them (owner marker), but an agent that never comes back would leave
 * them forever. The reaper holds a pipe from the agent; when the pipe closes — the agent exited,
 * however it died — it kills every process carrying the agent's incarnation marker, then exits.
 *
 * argv: <marker name> <marker value>. Nothing else: it must be cheap and unable to fail loudly.
 */
import { reapLeftovers } from '../agent/runner/process-runner.js';

const [name, value] = process.argv.slice(2);
if (!name || !value) process.exit(2);

let swept = false;
const sweep = async (): Promise<void> => {
  if (swept) return;
  swept = true;
  try {
    await reapLeftovers({ name, value });
  } finally {
    process.exit(0);
  }
};
process.stdin.on('end', () => void sweep());
process.stdin.on('close', () => void sweep());
process.stdin.on('error', () => void sweep());
process.stdin.resume();
// SIGTERM/SIGINT to the reaper's group (e.g. a terminal's Ctrl-C) must not stop it before the sweep.
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => void sweep());
