/** ProjectRepository on SQLite: projects by slug, unique workspaces, guarded status changes. */
import { z } from 'zod';
import {
  assertTransition, ConflictError, newProjectSchema, NotFoundError, parseOrThrow, PROJECT_STATUSES, PROJECT_TRANSITIONS, projectSchema,
  type NewProject, type Project, type ProjectStatus,
} from '../../core/index.js';
import type { ProjectRepository } from '../logbook.js';
import { fromJson, timestamp, toJson } from './codec.js';
import type { SqliteDb } from './db.js';
import { recordEvent } from './events.js';
import type { Synchronous } from './synchronous.js';

const updateSchema = projectSchema.pick({ description: true, repository: true, status: true, pinnedNodes: true }).partial().strict();
const listSchema = z.object({ status: z.enum(PROJECT_STATUSES).optional() }).strict();

interface ProjectRow {
  name: string;
  description: string;
  repository: string | null;
  status: ProjectStatus;
  workspace: string;
  pinned_nodes: string;
  created_at: number;
  updated_at: number;
}

const COLUMNS = 'name, description, repository, status, workspace, pinned_nodes, created_at, updated_at';

function toProject(row: ProjectRow): Project {
  return {
    name: row.name, description: row.description, repository: row.repository, status: row.status, workspace: row.workspace,
    pinnedNodes: fromJson(row.pinned_nodes), createdAt: row.created_at, updatedAt: row.updated_at,
  };
}

function findProject(db: SqliteDb, name: string): Project | null {
  const row = db.stmt(`SELECT ${COLUMNS} FROM projects WHERE name = ?`).get(name) as ProjectRow | undefined;
  return row ? toProject(row) : null;
}

/** The project, or NotFoundError; for repositories that reference projects. */
export function requireProject(db: SqliteDb, name: string): Project {
  const project = findProject(db, name);
  if (!project) throw new NotFoundError('project', name);
  return project;
}

export class SqliteProjectRepository implements Synchronous<ProjectRepository> {
  constructor(private readonly db: SqliteDb) {}

  create(input: NewProject, now: number): Project {
    const p = parseOrThrow(newProjectSchema, input, 'project');
    timestamp(now);
    const project: Project = {
      name: p.name, description: p.description, repository: p.repository, status: p.status, workspace: p.workspace ?? p.name,
      pinnedNodes: p.pinnedNodes, createdAt: now, updatedAt: now,
    };
    return this.db.write(`project '${p.name}'`, () => {
      if (findProject(this.db, project.name)) throw new ConflictError(`project '${project.name}' already exists`, { details: { project: project.name } });
      const owner = this.db.stmt('SELECT name FROM projects WHERE workspace = ?').get(project.workspace) as { name: string } | undefined;
      if (owner) {
        throw new ConflictError(`workspace '${project.workspace}' is already used by project '${owner.name}'`, {
          details: { workspace: project.workspace, project: owner.name },
        });
      }
      this.db.stmt(`INSERT INTO projects (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`).run(
        project.name, project.description, project.repository, project.status, project.workspace, toJson(project.pinnedNodes), now, now,
      );
      recordEvent(this.db, 'project.created', project.name, { status: project.status, workspace: project.workspace }, now);
      return project;
    });
  }

  get(name: string): Project | null {
    return this.db.read(() => findProject(this.db, name));
  }

  /** Oldest first. */
  list(filter: { status?: ProjectStatus } = {}): Project[] {
    const f = parseOrThrow(listSchema, filter, 'project filter');
    const sql = `SELECT ${COLUMNS} FROM projects ${f.status === undefined ? '' : 'WHERE status = ?'} ORDER BY created_at, name`;
    return this.db.read(() => (this.db.stmt(sql).all(...(f.status === undefined ? [] : [f.status])) as ProjectRow[]).map(toProject));
  }

  update(name: string, patch: Partial<Pick<Project, 'description' | 'repository' | 'status' | 'pinnedNodes'>>, now: number): Project {
    const p = parseOrThrow(updateSchema, patch, 'project update');
    timestamp(now);
    return this.db.write(`project '${name}'`, () => {
      const project = requireProject(this.db, name);
      if (p.status !== undefined && p.status !== project.status) assertTransition('project', PROJECT_TRANSITIONS, project.status, p.status);
      const next: Project = { ...project, ...p, updatedAt: now };
      this.db.stmt('UPDATE projects SET description = ?, repository = ?, status = ?, pinned_nodes = ?, updated_at = ? WHERE name = ?').run(
        next.description, next.repository, next.status, toJson(next.pinnedNodes), now, name,
      );
      const data: Record<string, unknown> = { fields: Object.keys(p).sort() };
      if (next.status !== project.status) Object.assign(data, { from: project.status, to: next.status });
      recordEvent(this.db, 'project.updated', name, data, now);
      return next;
    });
  }
}
