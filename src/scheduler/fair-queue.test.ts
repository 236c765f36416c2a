import { describe, expect, it } from 'vitest';
import { FairQueue } from './fair-queue.js';
import { task } from './test-support.js';

function drain(queue: FairQueue, placed: (id: string) => boolean = () => true): string[] {
  const order: string[] = [];
  for (let next = queue.peek(); next !== undefined; next = queue.peek()) {
    order.push(next.id);
    queue.advance(placed(next.id));
  }
  return order;
}

describe('FairQueue', () => {
  it('serves the project with the fewest active tasks first, FIFO inside each project', () => {
    const pending = [task({ id: 'a1', project: 'a' }), task({ id: 'a2', project: 'a' }), task({ id: 'b1', project: 'b' }), task({ id: 'n1' })];
    expect(drain(new FairQueue(pending, { a: 0, b: 2, '': 1 }))).toEqual(['a1', 'a2', 'n1', 'b1']);
  });

  it('breaks ties by submission order of the head task', () => {
    const pending = [task({ id: 'b1', project: 'b' }), task({ id: 'a1', project: 'a' }), task({ id: 'b2', project: 'b' }), task({ id: 'a2', project: 'a' })];
    expect(drain(new FairQueue(pending, {}))).toEqual(['b1', 'a1', 'b2', 'a2']);
  });

  it('keeps a project in front while its tasks cannot be placed', () => {
    const pending = [task({ id: 'a1', project: 'a' }), task({ id: 'a2', project: 'a' }), task({ id: 'b1', project: 'b' })];
    expect(drain(new FairQueue(pending, {}), (id) => id !== 'a1')).toEqual(['a1', 'a2', 'b1']);
  });
});
