/** Spark: an independent unit (L0) — a note or idea, or an executed command with its result. */
import { z } from 'zod';
import { tagSchema, textSchema } from '../names.js';

export const SPARK_TYPES = ['insight', 'idea', 'bug', 'solution', 'question', 'note'] as const;
export type SparkType = (typeof SPARK_TYPES)[number];

export const sparkResultSchema = z.object({
  exitCode: z.number().int().nullable(),
  durationMs: z.number().int().nonnegative(),
  /** Why it did not succeed: 'timeout', 'cancelled', 'spawn-failed: …', or null. */
  error: z.string().nullable(),
  outputTail: z.string(),
  outputBytes: z.number().int().nonnegative(),
  node: z.string().nullable(),
});
export type SparkResult = z.infer<typeof sparkResultSchema>;

export const sparkSchema = z.object({
  id: z.string(),
  type: z.enum(SPARK_TYPES),
  content: textSchema(8000),
  tags: z.array(tagSchema),
  sessionId: z.string().nullable(),
  topicId: z.string().nullable(),
  project: z.string().nullable(),
  relatedActions: z.array(z.string()),
  createdAt: z.number().int(),
  command: z.string().nullable(),
  result: sparkResultSchema.nullable(),
});
export type Spark = z.infer<typeof sparkSchema>;

export const newSparkSchema = z
  .object({
    type: z.enum(SPARK_TYPES).default('note'),
    content: textSchema(8000).min(1),
    tags: z.array(tagSchema).default([]),
    sessionId: z.string().nullable().default(null),
    topicId: z.string().nullable().default(null),
    project: z.string().nullable().default(null),
    relatedActions: z.array(z.string()).default([]),
    command: z.string().nullable().default(null),
    result: sparkResultSchema.nullable().default(null),
  })
  .strict();
export type NewSpark = z.input<typeof newSparkSchema>;
