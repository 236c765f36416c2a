/** TaskLogStore on SQLite: output chunks keyed by (task, attempt, seq); re-sent duplicates are ignored. */
import { z } from 'zod';
import { LOG_STREAMS, parseOrThrow, type TaskLogChunk } from '../../core/index.js';
import type { TaskLogStore } from '../task-logs.js';
import { limitOf, nonNegativeInt, whereOf } from './codec.js';
import type { SqliteDb } from './db.js';
import type { Synchronous } from './synchronous.js';

const chunkSchema = z
  .object({
    taskId: z.string().min(1),
    attempt: z.number().int().nonnegative(),
    seq: z.number().int().nonnegative(),
    stream: z.enum(LOG_STREAMS),
    data: z.string(),
    at: z.number().int().nonnegative(),
  })
  .strict();

interface ChunkRow {
  task_id: string;
  attempt: number;
  seq: number;
  stream: TaskLogChunk['stream'];
  data: string;
  at: number;
}

/**
 * Log chunks append no event: they are the hot path (every line of every task), and the
 * coordinator publishes them to the live feed itself.
 */
export class SqliteTaskLogStore implements Synchronous<TaskLogStore> {
  constructor(private readonly db: SqliteDb) {}

  append(chunks: TaskLogChunk[]): number {
    const valid = parseOrThrow(z.array(chunkSchema), chunks, 'log chunks');
    if (valid.length === 0) return 0;
    return this.db.write('task log', () => {
      const insert = this.db.stmt('INSERT OR IGNORE INTO task_logs (task_id, attempt, seq, stream, data, at) VALUES (?, ?, ?, ?, ?, ?)');
      let added = 0;
      for (const c of valid) added += insert.run(c.taskId, c.attempt, c.seq, c.stream, c.data, c.at).changes;
      return added;
    });
  }

  read(taskId: string, options: { attempt?: number; afterSeq?: number; limit?: number } = {}): TaskLogChunk[] {
    const clauses = ['task_id = ?'];
    const params: unknown[] = [taskId];
    if (options.attempt !== undefined) {
      clauses.push('attempt = ?');
      params.push(nonNegativeInt(options.attempt, 'attempt'));
    }
    if (options.afterSeq !== undefined) {
      clauses.push('seq > ?');
      params.push(nonNegativeInt(options.afterSeq, 'afterSeq'));
    }
    const limit = limitOf(options.limit);
    if (limit !== undefined) params.push(limit);
    const sql = `SELECT task_id, attempt, seq, stream, data, at FROM task_logs ${whereOf(clauses)} ORDER BY attempt, seq${limit === undefined ? '' : ' LIMIT ?'}`;
    return this.db.read(() =>
      (this.db.stmt(sql).all(...params) as ChunkRow[]).map((r) => ({ taskId: r.task_id, attempt: r.attempt, seq: r.seq, stream: r.stream, data: r.data, at: r.at })),
    );
  }
}
