import { describe, expect, it } from 'vitest';
import { ActiveIndex } from './active-index.js';

const task = (id: string, nodeId: string) => ({ id, attempt: 1, nodeId, project: null });

describe('ActiveIndex', () => {
  it('counts a slot whose result is being recorded as free, until the entry leaves or its recording fails', () => {
    const index = new ActiveIndex();
    index.add(task('a', 'n1'), 'k');
    index.add(task('b', 'n1'), 'k');
    index.add(task('c', 'n2'), 'k');
    expect(index.busyOn('n1')).toBe(2);
    index.markFinishing(index.get('a')!, Promise.resolve(true));
    index.markFinishing(index.get('a')!, Promise.resolve(true)); // marked once, counted once
    expect([index.countOn('n1'), index.busyOn('n1')]).toEqual([2, 1]);
    index.markFinishing(index.get('b')!, Promise.resolve(false));
    index.clearFinishing(index.get('b')!);
    expect(index.busyOn('n1')).toBe(1);
    index.remove('a');
    expect([index.countOn('n1'), index.busyOn('n1'), index.busyOn('n2')]).toEqual([1, 1, 1]);
    index.remove('b');
    expect(index.busyOn('n1')).toBe(0);
  });
});
