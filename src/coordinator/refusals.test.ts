import { describe, expect, it } from 'vitest';
import { task } from '../scheduler/test-support.js';
import { RefusalBook } from './refusals.js';

describe('RefusalBook', () => {
  it('lists the refusing nodes of the given tasks only, and nothing when none was refused', () => {
    const book = new RefusalBook();
    expect(book.forTasks([task({ id: 't1' })])).toBeUndefined();
    book.note('t1', 'a');
    book.note('t1', 'b');
    book.note('t2', 'a');
    expect(book.forTasks([task({ id: 't1' }), task({ id: 't3' })])).toEqual({ t1: ['a', 'b'] });
  });

  it('forgets a node (reconnected) and a task (finished)', () => {
    const book = new RefusalBook();
    book.note('t1', 'a');
    book.note('t2', 'a');
    book.note('t2', 'b');
    book.forgetNode('a');
    expect(book.forTasks([task({ id: 't1' }), task({ id: 't2' })])).toEqual({ t2: ['b'] });
    book.forgetTask('t2');
    expect(book.size).toBe(0);
  });

  it('stays bounded: the oldest task is dropped first', () => {
    const book = new RefusalBook(2);
    book.note('t1', 'a');
    book.note('t2', 'a');
    book.note('t3', 'a');
    expect(book.forTasks([task({ id: 't1' }), task({ id: 't2' }), task({ id: 't3' })])).toEqual({ t2: ['a'], t3: ['a'] });
  });
});
