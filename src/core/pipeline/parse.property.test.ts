/** Property tests: parsePipeline never crashes; invalid mutations always yield PipelineError with issues. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { PipelineError } from '../errors.js';
import { parseDuration } from '../duration.js';
import { parsePipeline, topicOrder } from './index.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function base(): { [key: string]: Json } {
  return {
    project: { name: 'shop', description: 'd', env: { A: '1' } },
    topics: [
      { id: 't1', title: 'one', risk: 'low', steps: [{ run: 'echo a', name: 'a', timeout: '5s', env: { X: 'y' }, needs: ['linux'] }] },
      { id: 't2', risk: 'medium', dependsOn: ['t1'], steps: [{ sparks: [{ run: 'echo s', name: 's1' }, { run: 'echo t' }], parallel: 2 }] },
      {
        id: 't3', risk: 'high', dependsOn: ['t2'],
        steps: [{ action: { name: 'deploy', validate: 'true', prepare: 'p', commit: 'c', rollback: 'r', timeout: '1m', participants: ['n1'] } }],
      },
    ],
  };
}

/** Every path to a value inside the document, with the value found there. */
function paths(value: Json, at: (string | number)[] = []): { path: (string | number)[]; value: Json }[] {
  const out = at.length > 0 ? [{ path: at, value }] : [];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...paths(v, [...at, i])));
  else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) out.push(...paths(v, [...at, k]));
  return out;
}

function parentOf(doc: Json, path: (string | number)[]): Json {
  let node = doc;
  for (const key of path.slice(0, -1)) node = (node as Record<string, Json>)[key as string] as Json;
  return node;
}

/** Required fields: deleting one always makes the file invalid (step and spark names are optional). */
const REQUIRED = new Set(['project', 'topics', 'id', 'steps', 'run', 'prepare', 'commit', 'rollback', 'sparks', 'action']);
const isRequired = (path: (string | number)[]): boolean =>
  REQUIRED.has(String(path.at(-1))) || (path.at(-1) === 'name' && ['project', 'action'].includes(String(path.at(-2))));

/** Values planted by the wrong-kind mutation. */
const WRONG = new WeakSet<object>();

type Mutation = (doc: { [key: string]: Json }, pick: number, text: string) => void;

const mutations: Mutation[] = [
  // An unknown field on any mapping.
  (doc, pick, text) => {
    const maps = [{ path: [] as (string | number)[], value: doc as Json }, ...paths(doc)].filter(
      (p) => p.value !== null && typeof p.value === 'object' && !Array.isArray(p.value) && p.path.at(-1) !== 'env',
    );
    const target = maps[pick % maps.length]!.value as Record<string, Json>;
    target[`zz_${text.replace(/[^a-z]/gi, '')}`] = 1;
  },
  // A value of the wrong kind anywhere: objects where scalars or lists belong, and vice versa.
  // A value put here by an earlier mutation is never picked again: turning `{ bad: true }` back
  // into a number could restore a valid `parallel: 17`.
  (doc, pick) => {
    const all = paths(doc).filter((p) => !(p.value !== null && typeof p.value === 'object' && WRONG.has(p.value)) && p.path.at(-1) !== 'bad');
    const { path, value } = all[pick % all.length]!;
    const marker = { bad: true };
    WRONG.add(marker);
    const wrong: Json = value !== null && typeof value === 'object' && !Array.isArray(value) ? 17 : Array.isArray(value) ? 5 : marker;
    (parentOf(doc, path) as Record<string, Json>)[path.at(-1) as string] = wrong;
  },
  // Drop a required field.
  (doc, pick) => {
    const required = paths(doc).filter((p) => isRequired(p.path));
    const { path } = required[pick % required.length]!;
    const parent = parentOf(doc, path) as Record<string, Json>;
    if (Array.isArray(parent)) parent.length = 0;
    else delete parent[path.at(-1) as string];
  },
  // A dependency cycle.
  (doc) => {
    ((doc.topics as Json[])[0] as Record<string, Json>).dependsOn = ['t3'];
  },
  // A duplicate topic id.
  (doc, pick) => {
    ((doc.topics as Json[])[1 + (pick % 2)] as Record<string, Json>).id = 't1';
  },
  // A bad duration.
  (doc, _pick, text) => {
    const step = ((doc.topics as Json[])[0] as Record<string, Json[]>).steps![0] as Record<string, Json>;
    step.timeout = parseDuration(text) === null ? text : 'forever';
  },
  // An unsafe name.
  (doc, pick) => {
    const names = ['../etc', 'A B', '', 'x/y', '-lead'];
    (doc.project as Record<string, Json>).name = names[pick % names.length]!;
  },
];

describe('parsePipeline (properties)', () => {
  it('accepts the unmutated base document', () => {
    const p = parsePipeline(stringify(base()));
    expect(topicOrder(p).map((t) => t.id)).toEqual(['t1', 't2', 't3']);
  });

  it('rejects random invalid mutations with a PipelineError listing issues, never crashing', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(mutations.length - 1), fc.nat(), fc.string({ maxLength: 12 })), { minLength: 1, maxLength: 4 }),
        (steps) => {
          const doc = base();
          for (const [which, pick, text] of steps) {
            try {
              mutations[which]!(doc, pick, text);
            } catch {
              // An earlier mutation broke the structure this one targets; the doc is invalid already.
            }
          }
          let caught: unknown;
          try {
            parsePipeline(stringify(doc));
          } catch (err) {
            caught = err;
          }
          expect(caught).toBeInstanceOf(PipelineError);
          const issues = (caught as PipelineError).issues;
          expect(issues.length).toBeGreaterThan(0);
          for (const issue of issues) expect(issue.message).not.toBe('');
        },
      ),
      { numRuns: 400 },
    );
  });

  it('never throws anything but PipelineError on arbitrary text or YAML values', () => {
    const arbitraryDoc = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.jsonValue({ maxDepth: 4 }).map((v) => stringify(v)),
      fc.jsonValue({ maxDepth: 3 }).map((v) => stringify({ project: { name: 'p' }, topics: [{ id: 'a', steps: [v] }] })),
    );
    fc.assert(
      fc.property(arbitraryDoc, (text) => {
        try {
          parsePipeline(text);
        } catch (err) {
          expect(err).toBeInstanceOf(PipelineError);
          expect((err as PipelineError).issues.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 400 },
    );
  });
});
