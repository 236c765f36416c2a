import { describe, expect, it } from 'vitest';
import type { FleetNode } from '../core/index.js';
import type { NodeRepository } from '../store/backbone.js';
import { Roster } from './roster.js';

function node(id: string): FleetNode {
  return {
    id, name: id, role: 'worker', capabilities: [], specializations: [], capacity: 1,
    resources: { cpus: 1, memoryBytes: 0, load: 0 }, status: 'ready', runningTasks: 0,
    lastHeartbeatAt: null, joinedAt: 0, agentVersion: '0', address: null,
  };
}

/** Only what Roster's heartbeat path touches. */
function fakeRepo(nodes: FleetNode[], failWrites: () => boolean) {
  const writes: Array<{ id: string; at: number }> = [];
  const repo = {
    list: async () => nodes,
    recordHeartbeats: async (beats: Array<{ id: string; at: number }>) => {
      if (failWrites()) throw new Error('SQLITE_FULL');
      for (const { id, at } of beats) writes.push({ id, at });
      return beats.length;
    },
  } as unknown as NodeRepository;
  return { repo, writes };
}

describe('Roster heartbeats', () => {
  it('keeps heartbeats in memory and writes each node\'s latest one per flush', async () => {
    const { repo, writes } = fakeRepo([node('a'), node('b')], () => false);
    const roster = new Roster(repo);
    await roster.load();
    const resources = { cpus: 1, memoryBytes: 0, load: 0 };
    roster.heartbeat('a', { at: 1, resources, runningTasks: 0 });
    roster.heartbeat('a', { at: 2, resources, runningTasks: 1 });
    roster.heartbeat('b', { at: 3, resources, runningTasks: 0 });
    expect(roster.get('a')?.lastHeartbeatAt).toBe(2);
    expect(writes).toEqual([]);
    expect(await roster.flushHeartbeats()).toBe(2);
    expect(writes).toEqual([{ id: 'a', at: 2 }, { id: 'b', at: 3 }]);
    expect(await roster.flushHeartbeats()).toBe(0);
    expect(roster.heartbeat('unknown', { at: 4, resources, runningTasks: 0 })).toBe(false);
  });

  it('keeps every unwritten heartbeat for the next flush when the store fails', async () => {
    let failing = true;
    const { repo, writes } = fakeRepo([node('a')], () => failing);
    const roster = new Roster(repo);
    await roster.load();
    roster.heartbeat('a', { at: 5, resources: { cpus: 1, memoryBytes: 0, load: 0 }, runningTasks: 0 });
    await expect(roster.flushHeartbeats()).rejects.toThrow('SQLITE_FULL');
    failing = false;
    expect(await roster.flushHeartbeats()).toBe(1);
    expect(writes).toEqual([{ id: 'a', at: 5 }]);
  });
});
