/** Project: a workspace and its work; the isolation boundary (L1). Identified by its slug. */
import { z } from 'zod';
import { slugSchema, textSchema } from '../names.js';
import type { TransitionTable } from './transitions.js';

export const PROJECT_STATUSES = ['planning', 'active', 'completed', 'on-hold', 'archived'] as const;
export type ProjectStatus = (typeof PROJECT_STATUSES)[number];

export const PROJECT_TRANSITIONS: TransitionTable<ProjectStatus> = {
  planning: ['active', 'on-hold', 'archived'],
  active: ['completed', 'on-hold', 'archived'],
  'on-hold': ['active', 'planning', 'archived'],
  completed: ['active', 'archived'],
  archived: [],
};

export const projectSchema = z.object({
  name: slugSchema,
  description: textSchema(2000),
  repository: textSchema(500).nullable(),
  status: z.enum(PROJECT_STATUSES),
  /** Workspace directory name, relative to the node's workspaces root; a slug, never a path. */
  workspace: slugSchema,
  /** Nodes the project's tasks prefer (ids). Empty: anywhere capable. */
  pinnedNodes: z.array(z.string()),
  createdAt: z.number().int(),
  updatedAt: z.number().int(),
});
export type Project = z.infer<typeof projectSchema>;

export const newProjectSchema = z
  .object({
    name: slugSchema,
    description: textSchema(2000).default(''),
    repository: textSchema(500).nullable().default(null),
    status: z.enum(PROJECT_STATUSES).default('planning'),
    workspace: slugSchema.optional(),
    pinnedNodes: z.array(z.string()).default([]),
  })
  .strict();
export type NewProject = z.input<typeof newProjectSchema>;
