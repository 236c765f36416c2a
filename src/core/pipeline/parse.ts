/**
 * parsePipeline: YAML text in, validated Pipeline out — or a PipelineError listing EVERY
 * problem with its path and line (`topics[2].steps[0].timeout: expected a duration like 30s
 * (line 14)`). Pure: no file system; the caller reads the file.
 */
import { LineCounter, parseDocument, type Document } from 'yaml';
import { PipelineError, type ValidationIssue } from '../errors.js';
import { formatPath } from '../validate.js';
import { PIPELINE_VERSION, type Pipeline, type PipelineStep, type PipelineTopic } from './model.js';
import { findCycle } from './order.js';
import {
  KEYS, normalizeIssues, parseStep, pipelineErrorMap, pipelineSchema, topicSchema, type RawIssue,
} from './schema.js';

/** Largest pipeline text accepted (1 MiB); a pipeline is a short file written by a person. */
export const MAX_PIPELINE_CHARS = 1024 * 1024;

type Mapping = Record<string, unknown>;

function isMapping(value: unknown): value is Mapping {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function parsePipeline(text: string, sourceName = 'pipeline'): Pipeline {
  if (text.length > MAX_PIPELINE_CHARS) {
    fail(sourceName, [{ path: '', message: `the file is too large (more than ${MAX_PIPELINE_CHARS} characters)` }]);
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    fail(sourceName, doc.errors.map((err) => {
      const pos = err.linePos?.[0];
      const reason = err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
      return { path: '', message: pos ? `YAML syntax error at line ${pos.line}, column ${pos.col}: ${reason}` : `YAML syntax error: ${reason}` };
    }));
  }
  let data: unknown;
  try {
    // The alias bound defeats "billion laughs" expansion.
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    fail(sourceName, [{ path: '', message: `YAML error: ${(err as Error).message}` }]);
  }
  if (data === null || data === undefined) {
    fail(sourceName, [{ path: '', message: 'the file is empty: expected a mapping with project and topics' }]);
  }
  if (!isMapping(data)) {
    fail(sourceName, [{ path: '', message: 'expected a mapping with project and topics at the top level' }]);
  }

  const issues = validate(data);
  if (issues.length > 0) fail(sourceName, mergeByPath(issues).map((issue) => locate(issue, doc, lineCounter)));
  return build(data, sourceName);
}

/** Every problem of the document; empty when it is valid. */
function validate(data: Mapping): RawIssue[] {
  const issues: RawIssue[] = [];
  const top = pipelineSchema.safeParse(data, { error: pipelineErrorMap });
  if (!top.success) {
    issues.push(...normalizeIssues(top.error.issues, (p) => (p[0] === 'project' ? KEYS.project : p[0] === 'session' ? KEYS.session : KEYS.pipeline)));
  }
  const topics = Array.isArray(data.topics) ? data.topics : [];
  topics.forEach((topic, i) => {
    const base = ['topics', i];
    if (!isMapping(topic)) {
      issues.push({ path: base, message: 'expected a topic: a mapping with id, title, risk and steps' });
      return;
    }
    const parsed = topicSchema.safeParse(topic, { error: pipelineErrorMap });
    if (!parsed.success) issues.push(...prefix(base, normalizeIssues(parsed.error.issues, () => KEYS.topic)));
    if (Array.isArray(topic.steps)) {
      topic.steps.forEach((step, j) => {
        const result = parseStep(step, j, pipelineErrorMap);
        issues.push(...prefix([...base, 'steps', j], result.issues));
      });
    }
  });
  issues.push(...crossCheck(topics));
  return issues;
}

/** Checks across topics and steps: duplicate ids and names, unknown dependencies, cycles. */
function crossCheck(rawTopics: unknown[]): RawIssue[] {
  const issues: RawIssue[] = [];
  const nodes: { id: string; dependsOn: string[]; index: number }[] = [];
  const firstIndex = new Map<string, number>();
  rawTopics.forEach((topic, i) => {
    if (!isMapping(topic) || typeof topic.id !== 'string') return;
    const deps = Array.isArray(topic.dependsOn) ? topic.dependsOn.filter((d): d is string => typeof d === 'string') : [];
    const seen = firstIndex.get(topic.id);
    if (seen !== undefined) issues.push({ path: ['topics', i, 'id'], message: `duplicate topic id '${topic.id}' (also topics[${seen}])` });
    else firstIndex.set(topic.id, i);
    nodes.push({ id: topic.id, dependsOn: deps, index: i });
    checkStepNames(topic, i, issues);
  });
  for (const node of nodes) {
    const raw = (rawTopics[node.index] as Mapping).dependsOn as unknown[] | undefined;
    (Array.isArray(raw) ? raw : []).forEach((dep, k) => {
      if (typeof dep !== 'string') return;
      const path = ['topics', node.index, 'dependsOn', k];
      if (dep === node.id) issues.push({ path, message: `topic '${dep}' cannot depend on itself` });
      else if (!firstIndex.has(dep)) {
        const known = [...firstIndex.keys()].filter((id) => id !== node.id);
        issues.push({ path, message: `unknown topic '${dep}'${known.length > 0 ? ` (known: ${known.join(', ')})` : ''}` });
      }
    });
  }
  const unique = nodes.filter((n) => firstIndex.get(n.id) === n.index);
  const cycle = findCycle(unique.map((n) => ({ id: n.id, dependsOn: n.dependsOn.filter((d) => d !== n.id) })));
  if (cycle) {
    const at = firstIndex.get(cycle[0]!)!;
    issues.push({ path: ['topics', at, 'dependsOn'], message: `dependency cycle: ${cycle.join(' → ')}` });
  }
  return issues;
}

/** Step names identify steps in progress lines and the logbook, so they are unique per topic. */
function checkStepNames(topic: Mapping, i: number, issues: RawIssue[]): void {
  if (!Array.isArray(topic.steps)) return;
  const seen = new Map<string, number>();
  topic.steps.forEach((step, j) => {
    if (!isMapping(step)) return;
    const name = isMapping(step.action) ? step.action.name : (step.name ?? `step-${j + 1}`);
    if (typeof name === 'string') {
      const first = seen.get(name);
      const path = isMapping(step.action) ? ['topics', i, 'steps', j, 'action', 'name'] : ['topics', i, 'steps', j, 'name'];
      if (first !== undefined) issues.push({ path, message: `duplicate step name '${name}' (also steps[${first}])` });
      else seen.set(name, j);
    }
    if (Array.isArray(step.sparks)) {
      const sparkNames = new Map<string, number>();
      step.sparks.forEach((spark, k) => {
        const sparkName = isMapping(spark) ? (spark.name ?? `spark-${k + 1}`) : null;
        if (typeof sparkName !== 'string') return;
        const first = sparkNames.get(sparkName);
        if (first !== undefined) {
          issues.push({ path: ['topics', i, 'steps', j, 'sparks', k, 'name'], message: `duplicate spark name '${sparkName}' (also sparks[${first}])` });
        } else sparkNames.set(sparkName, k);
      });
    }
  });
}

/** The valid document as the model, with defaults filled in. Only called without issues. */
function build(data: Mapping, source: string): Pipeline {
  const top = pipelineSchema.parse(data);
  const topics: PipelineTopic[] = (top.topics as Mapping[]).map((raw) => {
    const t = topicSchema.parse(raw);
    const steps = t.steps.map((s, j) => parseStep(s, j, pipelineErrorMap).step as PipelineStep);
    return { id: t.id, title: t.title ?? t.id, description: t.description ?? '', risk: t.risk ?? 'low', dependsOn: t.dependsOn ?? [], steps };
  });
  return {
    version: PIPELINE_VERSION,
    source,
    project: {
      name: top.project.name,
      description: top.project.description ?? '',
      workspace: top.project.workspace ?? top.project.name,
      env: top.project.env ?? {},
    },
    session: top.session ? { description: top.session.description ?? '', user: top.session.user ?? null } : null,
    strategy: top.strategy ?? null,
    topics,
  };
}

/** One issue per path: a slug breaking two rules reads as one line with both reasons. */
function mergeByPath(issues: RawIssue[]): RawIssue[] {
  const byPath = new Map<string, RawIssue>();
  for (const issue of issues) {
    const key = formatPath(issue.path);
    const seen = byPath.get(key);
    if (!seen) byPath.set(key, { path: issue.path, message: issue.message });
    else if (!seen.message.includes(issue.message)) seen.message = `${seen.message}; ${issue.message}`;
  }
  return [...byPath.values()];
}

function prefix(base: PropertyKey[], issues: RawIssue[]): RawIssue[] {
  return issues.map((issue) => ({ path: [...base, ...issue.path], message: issue.message }));
}

/** Adds the line of the nearest YAML node that exists on the issue's path. */
function locate(issue: RawIssue, doc: Document, lineCounter: LineCounter): ValidationIssue {
  const path = formatPath(issue.path);
  const keys = issue.path.filter((k): k is string | number => typeof k !== 'symbol');
  for (let n = keys.length; n > 0; n--) {
    const node = doc.getIn(keys.slice(0, n), true) as { range?: [number, number, number] } | undefined;
    if (node && typeof node === 'object' && node.range) {
      const { line } = lineCounter.linePos(node.range[0]);
      return { path, message: `${issue.message} (line ${line})` };
    }
  }
  return { path, message: issue.message };
}

function fail(source: string, issues: ValidationIssue[]): never {
  const lines = issues.map((i) => (i.path ? `  ${i.path}: ${i.message}` : `  ${i.message}`));
  const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
  throw new PipelineError(`${source}: ${count}\n${lines.join('\n')}`, issues, { details: { source } });
}
