/**
 * TopicRepository on SQLite: serial lines of work inside a project. Whether a topic may start
 * (one in progress per project, dependencies completed) is the pure rule of core
 * (`nextTopicStatus`); this adapter reads the project's topics, asks it, and stores the
 * answer. A partial unique index backs the rule in the file itself.
 */
import { z } from 'zod';
import {
  newId, newTopicSchema, nextTopicStatus, NotFoundError, parseOrThrow, TOPIC_STATUSES, topicSchema, ValidationError,
  type NewTopic, type RiskLevel, type Topic, type TopicStatus,
} from '../../core/index.js';
import type { TopicRepository } from '../logbook.js';
import { fromJson, timestamp, toJson, whereOf } from './codec.js';
import type { SqliteDb } from './db.js';
import { recordEvent } from './events.js';
import { requireProject } from './projects.js';
import type { Synchronous } from './synchronous.js';

const updateSchema = topicSchema.pick({ description: true, priority: true, risk: true, estimatedHours: true, actualHours: true }).partial().strict();
const listSchema = z.object({ project: z.string().optional(), status: z.enum(TOPIC_STATUSES).optional() }).strict();

interface TopicRow {
  id: string;
  project: string;
  title: string;
  description: string;
  status: TopicStatus;
  priority: number;
  risk: RiskLevel;
  estimated_hours: number | null;
  actual_hours: number | null;
  depends_on: string;
  created_at: number;
  updated_at: number;
}

const COLUMNS = 'id, project, title, description, status, priority, risk, estimated_hours, actual_hours, depends_on, created_at, updated_at';

function toTopic(row: TopicRow): Topic {
  return {
    id: row.id, project: row.project, title: row.title, description: row.description, status: row.status, priority: row.priority,
    risk: row.risk, estimatedHours: row.estimated_hours, actualHours: row.actual_hours, dependsOn: fromJson(row.depends_on),
    createdAt: row.created_at, updatedAt: row.updated_at,
  };
}

export function findTopic(db: SqliteDb, id: string): Topic | null {
  const row = db.stmt(`SELECT ${COLUMNS} FROM topics WHERE id = ?`).get(id) as TopicRow | undefined;
  return row ? toTopic(row) : null;
}

export function requireTopic(db: SqliteDb, id: string): Topic {
  const topic = findTopic(db, id);
  if (!topic) throw new NotFoundError('topic', id);
  return topic;
}

export class SqliteTopicRepository implements Synchronous<TopicRepository> {
  constructor(private readonly db: SqliteDb) {}

  create(input: NewTopic, now: number): Topic {
    const t = parseOrThrow(newTopicSchema, input, 'topic');
    timestamp(now);
    return this.db.write('topic', () => {
      requireProject(this.db, t.project);
      t.dependsOn.forEach((depId, i) => {
        const dep = requireTopic(this.db, depId);
        if (dep.project !== t.project) {
          const message = `topic ${depId} belongs to project '${dep.project}', not '${t.project}'`;
          throw new ValidationError(`invalid topic:\ndependsOn[${i}]: ${message}`, [{ path: `dependsOn[${i}]`, message }]);
        }
      });
      const topic: Topic = {
        id: newId('top'), project: t.project, title: t.title, description: t.description, status: 'planning', priority: t.priority,
        risk: t.risk, estimatedHours: t.estimatedHours, actualHours: null, dependsOn: [...new Set(t.dependsOn)], createdAt: now, updatedAt: now,
      };
      this.db.stmt(`INSERT INTO topics (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(
        topic.id, topic.project, topic.title, topic.description, topic.status, topic.priority, topic.risk, topic.estimatedHours,
        topic.actualHours, toJson(topic.dependsOn), now, now,
      );
      recordEvent(this.db, 'topic.created', topic.id, { project: topic.project, title: topic.title, risk: topic.risk }, now);
      return topic;
    });
  }

  get(id: string): Topic | null {
    return this.db.read(() => findTopic(this.db, id));
  }

  /** Oldest first. */
  list(filter: { project?: string; status?: TopicStatus } = {}): Topic[] {
    const f = parseOrThrow(listSchema, filter, 'topic filter');
    const clauses: string[] = [];
    const params: unknown[] = [];
    if (f.project !== undefined) {
      clauses.push('project = ?');
      params.push(f.project);
    }
    if (f.status !== undefined) {
      clauses.push('status = ?');
      params.push(f.status);
    }
    const sql = `SELECT ${COLUMNS} FROM topics ${whereOf(clauses)} ORDER BY created_at, rowid`;
    return this.db.read(() => (this.db.stmt(sql).all(...params) as TopicRow[]).map(toTopic));
  }

  /** Idempotent for the topic already in progress. */
  activate(id: string, now: number): Topic {
    return this.setStatus(id, 'in-progress', now);
  }

  /** Setting the current status again is a no-op returning the topic. */
  setStatus(id: string, status: TopicStatus, now: number): Topic {
    parseOrThrow(topicSchema.shape.status, status, 'topic status');
    timestamp(now);
    return this.db.write(`topic ${id}`, () => {
      const topic = requireTopic(this.db, id);
      const change = nextTopicStatus(topic, status, this.topicsOf(topic.project), now);
      if (!change) return topic;
      this.db.stmt('UPDATE topics SET status = ?, updated_at = ? WHERE id = ?').run(change.next.status, change.next.updatedAt, id);
      recordEvent(this.db, change.event.type, id, change.event.data, now);
      return change.next;
    });
  }

  update(id: string, patch: Partial<Pick<Topic, 'description' | 'priority' | 'risk' | 'estimatedHours' | 'actualHours'>>, now: number): Topic {
    const p = parseOrThrow(updateSchema, patch, 'topic update');
    timestamp(now);
    return this.db.write(`topic ${id}`, () => {
      const next: Topic = { ...requireTopic(this.db, id), ...p, updatedAt: now };
      this.db.stmt('UPDATE topics SET description = ?, priority = ?, risk = ?, estimated_hours = ?, actual_hours = ?, updated_at = ? WHERE id = ?').run(
        next.description, next.priority, next.risk, next.estimatedHours, next.actualHours, now, id,
      );
      recordEvent(this.db, 'topic.updated', id, { project: next.project, fields: Object.keys(p).sort() }, now);
      return next;
    });
  }

  /** Every topic of `project`, as the start rule needs them. */
  private topicsOf(project: string): Topic[] {
    return (this.db.stmt(`SELECT ${COLUMNS} FROM topics WHERE project = ? ORDER BY created_at, rowid`).all(project) as TopicRow[]).map(toTopic);
  }
}
