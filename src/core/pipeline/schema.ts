/**
 * zod schemas of the pipeline file, strict (unknown fields are errors), with messages
 * written for the person editing the YAML. A step is dispatched on its one key among
 * `run` / `sparks` / `action`, so its errors speak about the kind the user meant.
 */
import { z } from 'zod';
import { parseDuration } from '../duration.js';
import { ACTION_TYPES } from '../model/action.js';
import { DISTRIBUTION_STRATEGIES } from '../model/session.js';
import { RISK_LEVELS } from '../model/topic.js';
import { capabilitySchema, slugSchema, textSchema, userNameSchema } from '../names.js';
import type { AtomicStep, CommandStep, PipelineSpark, PipelineStep, SparkGroupStep } from './model.js';

export const LIMITS = {
  topics: 200,
  stepsPerTopic: 200,
  sparksPerGroup: 1000,
  parallel: 256,
  commandChars: 16_384,
  envEntries: 128,
  participants: 64,
  maxTimeoutMs: 7 * 86_400_000,
} as const;

/** Fields allowed on each kind of object, for "unknown field" messages and suggestions. */
export const KEYS = {
  pipeline: ['version', 'project', 'session', 'strategy', 'topics'],
  project: ['name', 'description', 'workspace', 'env'],
  session: ['description', 'user'],
  topic: ['id', 'title', 'description', 'risk', 'dependsOn', 'steps'],
  run: ['run', 'name', 'timeout', 'env', 'needs', 'risk', 'type'],
  sparks: ['sparks', 'name', 'parallel', 'risk'],
  spark: ['run', 'name', 'timeout', 'env', 'needs'],
  actionStep: ['action'],
  action: ['name', 'type', 'validate', 'prepare', 'commit', 'rollback', 'timeout', 'participants', 'env', 'needs', 'risk'],
} as const;

const DURATION_MESSAGE = 'expected a duration like 30s';

const durationSchema = z.string({ error: DURATION_MESSAGE }).transform((text, ctx) => {
  const ms = parseDuration(text);
  if (ms === null || ms <= 0) {
    ctx.addIssue({ code: 'custom', message: DURATION_MESSAGE, input: text });
    return z.NEVER;
  }
  if (ms > LIMITS.maxTimeoutMs) {
    ctx.addIssue({ code: 'custom', message: 'must be at most 7d', input: text });
    return z.NEVER;
  }
  return ms;
});

const commandSchema = z
  .string({
    error: (iss) => {
      if (iss.input === undefined) return 'missing command';
      // `run: true` or `run: 42` is a YAML boolean/number, not the command the user meant.
      if (typeof iss.input === 'boolean' || typeof iss.input === 'number') {
        return `expected a command (a text line), got ${String(iss.input)}; quote it: "${String(iss.input)}"`;
      }
      return 'expected a command (a text line)';
    },
  })
  .max(LIMITS.commandChars, `must be at most ${LIMITS.commandChars} characters`)
  .refine((s) => s.trim() !== '', 'missing command: must not be empty')
  .refine((s) => !s.includes('\0'), 'must not contain NUL characters');

/** Variables: identifier names (BITACORA_* is reserved for the engine); scalar values. */
const envSchema = z
  .record(
    z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'environment names are identifiers (letters, digits, _)')
      .refine((n) => !n.startsWith('BITACORA_'), 'BITACORA_* variables are reserved for the engine'),
    z
      .union([z.string(), z.number(), z.boolean()], { error: 'expected a text, number or boolean value' })
      .transform((v) => String(v))
      .refine((v) => v.length <= 8192 && !v.includes('\0'), 'values are at most 8192 characters, without NUL'),
  )
  .refine((env) => Object.keys(env).length <= LIMITS.envEntries, `at most ${LIMITS.envEntries} variables`);

/** Labels shown in progress lines and the logbook: printable, no path or control tricks. */
const stepNameSchema = z
  .string()
  .min(1, 'must not be empty')
  .max(100, 'must be at most 100 characters')
  .regex(/^[A-Za-z0-9][A-Za-z0-9 ._:/-]*$/, 'names use letters, digits, space, ".", "_", ":", "/", "-" and start with a letter or digit')
  // "/" is allowed for labels like build/linux, but a ".." would read as a path escaping its parent.
  .refine((s) => !s.includes('..'), 'must not contain ".."');

const userSchema = userNameSchema;

const riskSchema = z.enum(RISK_LEVELS);
const needsSchema = z.array(capabilitySchema).max(32, 'at most 32 capabilities');

const runStepSchema = z
  .object({
    run: commandSchema,
    name: stepNameSchema.optional(),
    timeout: durationSchema.optional(),
    env: envSchema.optional(),
    needs: needsSchema.optional(),
    risk: riskSchema.optional(),
    type: z.enum(ACTION_TYPES).optional(),
  })
  .strict();

const sparkSchema = z
  .object({
    run: commandSchema,
    name: stepNameSchema.optional(),
    timeout: durationSchema.optional(),
    env: envSchema.optional(),
    needs: needsSchema.optional(),
  })
  .strict();

const sparkGroupSchema = z
  .object({
    sparks: z.array(sparkSchema).min(1, 'must list at least one spark').max(LIMITS.sparksPerGroup),
    name: stepNameSchema.optional(),
    parallel: z.number().int('must be a whole number').min(1).max(LIMITS.parallel).optional(),
    risk: riskSchema.optional(),
  })
  .strict();

const actionSchema = z
  .object({
    name: stepNameSchema,
    type: z.enum(ACTION_TYPES).optional(),
    validate: commandSchema.optional(),
    prepare: commandSchema,
    commit: commandSchema,
    rollback: commandSchema,
    timeout: durationSchema.optional(),
    participants: z.array(slugSchema).max(LIMITS.participants).optional(),
    env: envSchema.optional(),
    needs: needsSchema.optional(),
    risk: riskSchema.optional(),
  })
  .strict();

const actionStepSchema = z.object({ action: actionSchema }).strict();

const STEP_KEYS = ['run', 'sparks', 'action'] as const;

/** An issue whose path is still a list of keys, so it can be prefixed and located in the YAML. */
export interface RawIssue {
  path: PropertyKey[];
  message: string;
}

function toSpark(raw: z.output<typeof sparkSchema>, index: number): PipelineSpark {
  return {
    name: raw.name ?? `spark-${index + 1}`,
    run: raw.run,
    timeoutMs: raw.timeout ?? null,
    env: raw.env ?? {},
    needs: raw.needs ?? [],
  };
}

/** Parses one step; its issues carry paths relative to the step. */
export function parseStep(input: unknown, index: number, errorMap: z.core.$ZodErrorMap): { step?: PipelineStep; issues: RawIssue[] } {
  const isObject = typeof input === 'object' && input !== null && !Array.isArray(input);
  if (!isObject) {
    return { issues: [{ path: [], message: 'expected a step: an object with run, sparks or action' }] };
  }
  const present = STEP_KEYS.filter((k) => Object.hasOwn(input, k));
  if (present.length === 0) {
    return { issues: [{ path: [], message: 'missing command: a step needs run (a command), sparks (a parallel group) or action (an atomic action)' }] };
  }
  if (present.length > 1) {
    return { issues: [{ path: [], message: `a step has exactly one of run, sparks or action (found ${present.join(' and ')})` }] };
  }
  const fallbackName = `step-${index + 1}`;
  switch (present[0]) {
    case 'run': {
      const r = runStepSchema.safeParse(input, { error: errorMap });
      if (!r.success) return { issues: normalizeIssues(r.error.issues, () => KEYS.run) };
      const step: CommandStep = {
        kind: 'command', name: r.data.name ?? fallbackName, run: r.data.run, timeoutMs: r.data.timeout ?? null,
        env: r.data.env ?? {}, needs: r.data.needs ?? [], risk: r.data.risk ?? null, type: r.data.type ?? null,
      };
      return { step, issues: [] };
    }
    case 'sparks': {
      const r = sparkGroupSchema.safeParse(input, { error: errorMap });
      if (!r.success) return { issues: normalizeIssues(r.error.issues, (p) => (p.length === 0 ? KEYS.sparks : KEYS.spark)) };
      const step: SparkGroupStep = {
        kind: 'sparks', name: r.data.name ?? fallbackName, parallel: r.data.parallel ?? null,
        risk: r.data.risk ?? null, sparks: r.data.sparks.map(toSpark),
      };
      return { step, issues: [] };
    }
    default: {
      const r = actionStepSchema.safeParse(input, { error: errorMap });
      if (!r.success) return { issues: normalizeIssues(r.error.issues, (p) => (p.length === 0 ? KEYS.actionStep : KEYS.action)) };
      const a = r.data.action;
      const step: AtomicStep = {
        kind: 'action', name: a.name, type: a.type ?? 'other', risk: a.risk ?? null, validate: a.validate ?? null,
        prepare: a.prepare, commit: a.commit, rollback: a.rollback, timeoutMs: a.timeout ?? null,
        participants: a.participants ?? [], env: a.env ?? {}, needs: a.needs ?? [],
      };
      return { step, issues: [] };
    }
  }
}

export const projectSchema = z
  .object({
    name: slugSchema,
    description: textSchema(2000).optional(),
    workspace: slugSchema.optional(),
    env: envSchema.optional(),
  })
  .strict();

export const sessionSchema = z
  .object({ description: textSchema(2000).optional(), user: userSchema.optional() })
  .strict();

export const topicSchema = z
  .object({
    id: slugSchema,
    title: textSchema(200).min(1, 'must not be empty').optional(),
    description: textSchema(4000).optional(),
    risk: riskSchema.optional(),
    dependsOn: z.array(z.string()).max(LIMITS.topics).optional(),
    steps: z.array(z.unknown()).min(1, 'must list at least one step').max(LIMITS.stepsPerTopic),
  })
  .strict();

export const pipelineSchema = z
  .object({
    version: z.literal(1, { error: 'only version 1 exists' }).optional(),
    project: projectSchema,
    session: sessionSchema.optional(),
    strategy: z.enum(DISTRIBUTION_STRATEGIES).optional(),
    topics: z.array(z.unknown()).min(1, 'must list at least one topic').max(LIMITS.topics),
  })
  .strict();

/**
 * zod issues → ValidationIssues: one issue per unknown field, at the field's own path, with
 * the allowed fields (and a suggestion for a near miss). `keysAt` names the allowed keys of
 * the object at a path relative to the parsed value.
 */
export function normalizeIssues(
  issues: readonly z.core.$ZodIssue[],
  keysAt: (path: PropertyKey[]) => readonly string[],
): RawIssue[] {
  const out: RawIssue[] = [];
  for (const issue of issues) {
    if (issue.code === 'invalid_key') {
      // A record key failed its schema: report the key's own messages, at the key.
      const messages = issue.issues.map((inner) => inner.message);
      out.push({ path: [...issue.path], message: `invalid name: ${messages.join('; ')}` });
    } else if (issue.code === 'unrecognized_keys') {
      const allowed = keysAt(issue.path);
      for (const key of issue.keys) {
        const near = closest(key, allowed);
        const hint = near ? `did you mean '${near}'? ` : '';
        out.push({ path: [...issue.path, key], message: `unknown field (${hint}allowed: ${allowed.join(', ')})` });
      }
    } else {
      out.push({ path: [...issue.path], message: issue.message });
    }
  }
  return out;
}

/** Messages for the built-in checks, phrased for a YAML author. */
export const pipelineErrorMap: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return 'is required';
      return `expected ${article(issue.expected)}, got ${describe(issue.input)}`;
    case 'invalid_value':
      return `expected one of: ${issue.values.map(String).join(', ')}`;
    case 'too_small':
      if (issue.origin === 'array') return Number(issue.minimum) <= 1 ? 'must not be empty' : `must have at least ${issue.minimum} items`;
      if (issue.origin === 'string') return 'must not be empty';
      return `must be at least ${issue.minimum}`;
    case 'too_big':
      if (issue.origin === 'array') return `must have at most ${issue.maximum} items`;
      if (issue.origin === 'string') return `must be at most ${issue.maximum} characters`;
      return `must be at most ${issue.maximum}`;
    default:
      return undefined;
  }
};

function article(expected: string): string {
  if (expected === 'int') return 'a whole number';
  if (expected === 'object' || expected === 'record') return 'a mapping (key: value)';
  if (expected === 'array') return 'a list';
  if (expected === 'string') return 'a text';
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}

function describe(input: unknown): string {
  if (input === null) return 'null';
  if (Array.isArray(input)) return 'a list';
  if (typeof input === 'object') return 'a mapping';
  if (typeof input === 'string') return 'a text';
  if (typeof input === 'number') return `the number ${input}`;
  return `${typeof input} ${String(input)}`;
}

/** The allowed key nearest to a misspelt one (edit distance ≤ 2), for "did you mean". */
function closest(key: string, allowed: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = 3;
  for (const candidate of allowed) {
    const d = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}
