/** SparkRepository on SQLite: notes, ideas and executed units with their result. */
import { z } from 'zod';
import {
  newId, newSparkSchema, parseOrThrow, SPARK_TYPES,
  type NewSpark, type Spark, type SparkResult, type SparkType,
} from '../../core/index.js';
import type { SparkRepository } from '../logbook.js';
import { fromJson, limitOf, timestamp, toJson, whereOf } from './codec.js';
import type { SqliteDb } from './db.js';
import { recordEvent } from './events.js';
import { requireSession } from './sessions.js';
import { requireTopic } from './topics.js';
import type { Synchronous } from './synchronous.js';

const listSchema = z
  .object({ sessionId: z.string().optional(), project: z.string().optional(), type: z.enum(SPARK_TYPES).optional(), limit: z.number().int().nonnegative().optional() })
  .strict();

interface SparkRow {
  id: string;
  type: SparkType;
  content: string;
  tags: string;
  session_id: string | null;
  topic_id: string | null;
  project: string | null;
  related_actions: string;
  created_at: number;
  command: string | null;
  result: string | null;
}

const COLUMNS = 'id, type, content, tags, session_id, topic_id, project, related_actions, created_at, command, result';

function toSpark(row: SparkRow): Spark {
  return {
    id: row.id, type: row.type, content: row.content, tags: fromJson(row.tags), sessionId: row.session_id, topicId: row.topic_id,
    project: row.project, relatedActions: fromJson(row.related_actions), createdAt: row.created_at, command: row.command,
    result: row.result === null ? null : fromJson<SparkResult>(row.result),
  };
}

export class SqliteSparkRepository implements Synchronous<SparkRepository> {
  constructor(private readonly db: SqliteDb) {}

  add(input: NewSpark, now: number): Spark {
    const s = parseOrThrow(newSparkSchema, input, 'spark');
    timestamp(now);
    return this.db.write('spark', () => {
      if (s.sessionId !== null) requireSession(this.db, s.sessionId);
      if (s.topicId !== null) requireTopic(this.db, s.topicId);
      const spark: Spark = { id: newId('spk'), ...s, createdAt: now };
      this.db.stmt(`INSERT INTO sparks (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(
        spark.id, spark.type, spark.content, toJson(spark.tags), spark.sessionId, spark.topicId, spark.project, toJson(spark.relatedActions),
        now, spark.command, spark.result === null ? null : toJson(spark.result),
      );
      recordEvent(this.db, 'spark.added', spark.id, {
        type: spark.type, sessionId: spark.sessionId, topicId: spark.topicId, project: spark.project, exitCode: spark.result?.exitCode ?? null,
      }, now);
      return spark;
    });
  }

  get(id: string): Spark | null {
    const row = this.db.read(() => this.db.stmt(`SELECT ${COLUMNS} FROM sparks WHERE id = ?`).get(id) as SparkRow | undefined);
    return row ? toSpark(row) : null;
  }

  /** Oldest first; with `limit`, the most recent `limit` sparks (still oldest first). */
  list(filter: { sessionId?: string; project?: string; type?: Spark['type']; limit?: number } = {}): Spark[] {
    const f = parseOrThrow(listSchema, filter, 'spark filter');
    const clauses: string[] = [];
    const params: unknown[] = [];
    for (const [column, value] of [['session_id', f.sessionId], ['project', f.project], ['type', f.type]] as const) {
      if (value === undefined) continue;
      clauses.push(`${column} = ?`);
      params.push(value);
    }
    params.push(limitOf(f.limit) ?? -1);
    const sql = `SELECT * FROM (SELECT ${COLUMNS}, rowid AS rid FROM sparks ${whereOf(clauses)} ORDER BY created_at DESC, rowid DESC LIMIT ?) ORDER BY created_at, rid`;
    return this.db.read(() => (this.db.stmt(sql).all(...params) as SparkRow[]).map(toSpark));
  }
}
