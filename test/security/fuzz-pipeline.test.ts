/**
 * Hostile input at the pipeline parser (src/core/pipeline): whatever text or structure a user
 * (or an attacker with write access to a repository) puts in a pipeline file, parsePipeline
 * either returns a validated Pipeline or throws a PipelineError (BIT_ERR_PIPELINE_INVALID)
 * whose issues name where the problem is — never any other exception. Names that could
 * escape a directory or smuggle control characters into logs and terminals are always refused.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ErrorCode, PipelineError } from '../../src/core/index.js';
import { MAX_PIPELINE_CHARS, parsePipeline, type Pipeline } from '../../src/core/pipeline/index.js';
import { FUZZ_TIMEOUT_MS, fuzzParams } from './fuzz-support.js';

type Doc = Record<string, unknown>;

/** parsePipeline's outcome, asserting the only allowed failure is a PipelineError with located issues. */
function outcome(text: string): { ok: true; pipeline: Pipeline } | { ok: false; error: PipelineError } {
  try {
    return { ok: true, pipeline: parsePipeline(text, 'fuzz.yaml') };
  } catch (err) {
    if (!(err instanceof PipelineError)) {
      throw new Error(`parsePipeline threw ${(err as Error)?.name ?? typeof err} instead of a PipelineError: ${String(err)}`, { cause: err });
    }
    expect(err.code).toBe(ErrorCode.PipelineInvalid);
    expect(err.issues.length).toBeGreaterThan(0);
    for (const issue of err.issues) {
      expect(typeof issue.path).toBe('string');
      expect(issue.message.length).toBeGreaterThan(0);
    }
    expect(err.message).toContain('fuzz.yaml');
    return { ok: false, error: err };
  }
}

// ───────────── arbitraries ─────────────

const slug = fc.stringMatching(/^[a-z][a-z0-9-]{0,10}[a-z0-9]$/);
const stepName = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9 _:-]{0,20}$/);
const command = fc.stringMatching(/^[a-z][a-z0-9 ._/-]{0,40}$/);
const duration = fc.tuple(fc.integer({ min: 1, max: 168 }), fc.constantFrom('ms', 's', 'm', 'h')).map(([n, u]) => `${n}${u}`);
const envName = fc.stringMatching(/^[A-Z][A-Z0-9_]{0,8}$/).filter((n) => !n.startsWith('BITACORA_'));
const env = fc.dictionary(envName, fc.oneof(fc.string({ maxLength: 20 }).filter((s) => !s.includes('\0')), fc.integer(), fc.boolean()), { maxKeys: 4 });
const capability = fc.stringMatching(/^[a-z][a-z0-9_-]{0,8}$/);

const runStep = fc.record(
  { run: command, name: stepName, timeout: duration, env, needs: fc.array(capability, { maxLength: 3 }), risk: fc.constantFrom('low', 'medium', 'high') },
  { requiredKeys: ['run'] },
);
const sparkStep = fc.record(
  {
    sparks: fc.uniqueArray(fc.record({ run: command, name: stepName, timeout: duration }, { requiredKeys: ['run', 'name'] }), {
      minLength: 1, maxLength: 4, selector: (s) => s.name,
    }),
    name: stepName,
    parallel: fc.integer({ min: 1, max: 256 }),
  },
  { requiredKeys: ['sparks'] },
);
const actionStep = fc.record({
  action: fc.record(
    { name: stepName, prepare: command, commit: command, rollback: command, validate: command, timeout: duration, participants: fc.array(slug, { maxLength: 3 }) },
    { requiredKeys: ['name', 'prepare', 'commit', 'rollback'] },
  ),
});
const step = fc.oneof(runStep, sparkStep, actionStep);

/** Steps with unique names (explicit or the `step-N` default), as the parser requires. */
const steps = fc.array(step, { minLength: 1, maxLength: 4 }).map((list) => {
  const seen = new Set<string>();
  return list.filter((s, j) => {
    const raw = 'action' in s ? s.action.name : (s as { name?: string }).name ?? `step-${j + 1}`;
    if (seen.has(raw)) return false;
    seen.add(raw);
    return true;
  });
}).filter((list) => list.length > 0).map((list) =>
  // Re-number default names after filtering so `step-N` stays unique against explicit names.
  list.map((s, j) => ('action' in s || (s as { name?: string }).name ? s : { ...s, name: `auto-${j}` })),
);

/** Valid pipelines: unique topic ids, dependencies only on earlier topics (no cycles). */
const validPipeline: fc.Arbitrary<Doc> = fc
  .record({
    project: fc.record({ name: slug, description: fc.string({ maxLength: 40 }).filter((s) => !/[\u0000-\u0008\u000b-\u001f\u007f]/.test(s)), env }, { requiredKeys: ['name'] }),
    strategy: fc.constantFrom('MasterSlave', 'PeerToPeer', 'Hierarchical', 'Dynamic'),
    topics: fc.uniqueArray(fc.record({ id: slug, risk: fc.constantFrom('low', 'medium', 'high'), steps, deps: fc.array(fc.nat(), { maxLength: 3 }) }), {
      minLength: 1, maxLength: 5, selector: (t) => t.id,
    }),
  }, { requiredKeys: ['project', 'topics'] })
  .map((doc) => ({
    ...doc,
    topics: doc.topics.map(({ deps, ...t }, i) => ({
      ...t,
      ...(i > 0 && deps.length > 0 ? { dependsOn: [...new Set(deps.map((d) => doc.topics[d % i]!.id))] } : {}),
    })),
  }));

/** What an attacker puts in a name: traversal, separators, control characters, NUL, escapes. */
const hostileFragment = fc.oneof(
  fc.constantFrom('..', '../', '/..', '..\\', '/../../etc/passwd', '\0', '\n', '\r', '\t', '\u001b[31m', '\u007f', '\u0008', '\u2028'),
  fc.integer({ min: 0, max: 0x1f }).map((c) => String.fromCharCode(c)),
);
const hostileName = fc
  .tuple(fc.stringMatching(/^[a-z0-9]{0,6}$/), hostileFragment, fc.stringMatching(/^[a-z0-9]{0,6}$/))
  .map(([a, bad, b]) => `${a}${bad}${b}`);

/** Where a name lives in a pipeline, and the issue path the parser must name when it is refused. */
type NameSlot = { path: string; put(doc: Doc, name: string): void };
const topic0 = (doc: Doc) => (doc.topics as Doc[])[0]!;
const NAME_SLOTS: NameSlot[] = [
  { path: 'project.name', put: (d, n) => ((d.project as Doc).name = n) },
  { path: 'project.workspace', put: (d, n) => ((d.project as Doc).workspace = n) },
  { path: 'session.user', put: (d, n) => (d.session = { user: n }) },
  { path: 'topics[0].id', put: (d, n) => (topic0(d).id = n) },
  { path: 'topics[0].steps[0].name', put: (d, n) => (topic0(d).steps = [{ run: 'true', name: n }]) },
  { path: 'topics[0].steps[0].sparks[0].name', put: (d, n) => (topic0(d).steps = [{ sparks: [{ run: 'true', name: n }] }]) },
  {
    path: 'topics[0].steps[0].action.name',
    put: (d, n) => (topic0(d).steps = [{ action: { name: n, prepare: 'p', commit: 'c', rollback: 'r' } }]),
  },
  {
    path: 'topics[0].steps[0].action.participants[0]',
    put: (d, n) => (topic0(d).steps = [{ action: { name: 'a', prepare: 'p', commit: 'c', rollback: 'r', participants: [n] } }]),
  },
  { path: 'project.env', put: (d, n) => ((d.project as Doc).env = { [n]: 'x' }) },
];

/** Deep nesting, huge strings and other shapes that stress a parser rather than the schema. */
const nasty = fc.oneof(
  fc.integer({ min: 50, max: 3000 }).map((n) => `${'['.repeat(n)}${']'.repeat(n)}`),
  fc.integer({ min: 50, max: 3000 }).map((n) => `${'a: '.repeat(1)}${'{x: '.repeat(n)}1${'}'.repeat(n)}`),
  fc.integer({ min: 10, max: 400 }).map((n) => Array.from({ length: n }, (_, i) => `${' '.repeat(i)}- `).join('\n')),
  fc.constant(`a: &a [${'x,'.repeat(50)}]\n${Array.from({ length: 12 }, (_, i) => `l${i}: &l${i} [${Array.from({ length: 10 }, () => (i === 0 ? '*a' : `*l${i - 1}`)).join(',')}]`).join('\n')}\n`),
  fc.constant('x'.repeat(MAX_PIPELINE_CHARS + 1)),
  fc.constant(`project: {name: p}\ntopics: [{id: a, steps: [{run: "${'y'.repeat(20_000)}"}]}]`),
  fc.constant('project: {name: p}\nproject: {name: q}\ntopics: []'),
  fc.constant('!!binary aGVsbG8=\n'),
  fc.constant('--- !!js/function "function(){}"\n'),
  fc.constant('project: !!set {a, b}\ntopics: !!omap [a: 1]'),
  fc.constant('%YAML 9.9\n---\na: 1'),
  fc.constant('\uFEFF\u0000\u0001project: {name: p}'),
  fc.constant('__proto__: {polluted: true}\nconstructor: {prototype: {x: 1}}\nproject: {name: p}\ntopics: [{id: a, steps: [{run: x}]}]'),
  fc.constant('project: {name: p, __proto__: {name: q}}\ntopics: [{id: a, steps: [{run: x}]}]'),
  fc.constant('? [a, b]\n: c\n? {x: 1}\n: d'),
  fc.constant('project: {name: 1e400}\ntopics: [{id: .nan, steps: [{run: .inf}]}]'),
);

/** A few lines of arbitrary text glued to pipeline-ish keys, so the parser gets past YAML often. */
const yamlish = fc
  .array(
    fc.tuple(
      fc.constantFrom('project', 'name', 'topics', 'steps', 'run', 'sparks', 'action', 'id', 'dependsOn', '- ', '  ', '    ', 'env', 'timeout', 'version'),
      fc.constantFrom(': ', ':', ' - ', ': [', ': {', ': |', ': &x ', ': *x', ': !!str ', ''),
      fc.string({ unit: 'binary', maxLength: 20 }),
    ).map(([k, sep, v]) => `${k}${sep}${v}`),
    { maxLength: 12 },
  )
  .map((lines) => lines.join('\n'));

// ───────────── properties ─────────────

describe('pipeline parser under hostile input', () => {
  it('answers arbitrary text with a pipeline or a PipelineError naming a path, never another exception', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 400 }), fc.string({ unit: 'grapheme', maxLength: 200 }), yamlish), (text) => {
        outcome(text);
      }),
      fuzzParams(1500),
    );
  }, FUZZ_TIMEOUT_MS);

  it('answers arbitrary structured values (as YAML and as JSON text) the same way', () => {
    const value = fc.oneof(
      fc.jsonValue({ maxDepth: 6 }),
      fc.anything({ maxDepth: 4, withNullPrototype: true, withBigInt: false, withMap: false, withSet: false, withTypedArray: false }),
    );
    // Values spliced into a valid skeleton reach the schema, not just the YAML layer.
    const placed = fc.tuple(fc.constantFrom('top', 'project', 'topic', 'step', 'steps', 'env', 'dependsOn', 'session'), value).map(([where, v]) => {
      const doc: Doc = { project: { name: 'p' }, topics: [{ id: 'a', steps: [{ run: 'true' }] }] };
      if (where === 'top') return v;
      if (where === 'project') doc.project = v;
      if (where === 'topic') (doc.topics as unknown[])[0] = v;
      if (where === 'step') topic0(doc).steps = [v];
      if (where === 'steps') topic0(doc).steps = v;
      if (where === 'env') (doc.project as Doc).env = v;
      if (where === 'dependsOn') topic0(doc).dependsOn = v;
      if (where === 'session') doc.session = v;
      return doc;
    });
    fc.assert(
      fc.property(placed, fc.boolean(), (doc, asJson) => {
        let text: unknown;
        try {
          text = asJson ? JSON.stringify(doc) : stringify(doc);
        } catch {
          return; // not serialisable (cycles, symbols): not something a file can contain
        }
        if (typeof text === 'string') outcome(text); // undefined and functions have no text form
      }),
      fuzzParams(1000),
    );
  }, FUZZ_TIMEOUT_MS);

  it('survives parser-stressing documents: deep nesting, alias bombs, huge strings, tags, prototype keys', () => {
    fc.assert(
      fc.property(nasty, (text) => {
        const result = outcome(text);
        if (result.ok) {
          // A pipeline that parsed must not carry prototype pollution.
          expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
          expect(Object.getPrototypeOf(result.pipeline)).toBe(Object.prototype);
        }
      }),
      fuzzParams(60),
    );
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(({} as Record<string, unknown>)['x']).toBeUndefined();
  }, FUZZ_TIMEOUT_MS);

  it('always refuses names with path traversal or control characters, naming the field', () => {
    fc.assert(
      fc.property(fc.constantFrom(...NAME_SLOTS), hostileName, validPipeline, (slot, name, doc) => {
        const copy = structuredClone(doc);
        slot.put(copy, name);
        const result = outcome(stringify(copy));
        expect(result.ok, `accepted ${JSON.stringify(name)} at ${slot.path}`).toBe(false);
        if (!result.ok) {
          const paths = result.error.issues.map((i) => i.path);
          expect(paths.some((p) => p === slot.path || p.startsWith(`${slot.path}.`)), `issues ${JSON.stringify(result.error.issues)}`).toBe(true);
        }
      }),
      fuzzParams(800),
    );
  }, FUZZ_TIMEOUT_MS);

  it('parses every valid generated pipeline, keeping what was written', () => {
    fc.assert(
      fc.property(validPipeline, fc.boolean(), (doc, asJson) => {
        const result = outcome(asJson ? JSON.stringify(doc) : stringify(doc));
        if (!result.ok) throw new Error(`refused a valid pipeline: ${result.error.message}`);
        const p = result.pipeline;
        expect(p.project.name).toBe((doc.project as Doc).name);
        expect(p.topics.map((t) => t.id)).toEqual((doc.topics as Doc[]).map((t) => t.id));
        expect(p.topics.map((t) => t.steps.length)).toEqual((doc.topics as Doc[]).map((t) => (t.steps as unknown[]).length));
      }),
      fuzzParams(500),
    );
  }, FUZZ_TIMEOUT_MS);
});
