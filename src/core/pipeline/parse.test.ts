/** parsePipeline and topicOrder: the model built from valid files, every problem of bad ones. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ErrorCode, PipelineError } from '../errors.js';
import { parsePipeline, topicOrder } from './index.js';

const demo = readFileSync(new URL('../../../examples/demo-pipeline.yaml', import.meta.url), 'utf8');

/** The issues of a file that must be rejected, as `path: message` lines. */
function problems(text: string): string[] {
  try {
    parsePipeline(text, 'test.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(PipelineError);
    expect((err as PipelineError).code).toBe(ErrorCode.PipelineInvalid);
    return (err as PipelineError).issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message));
  }
  throw new Error('expected the pipeline to be rejected');
}

const minimal = (topics: string): string => `project:\n  name: p\ntopics:\n${topics}`;

describe('parsePipeline', () => {
  it('parses the bundled demo pipeline with all four levels', () => {
    const p = parsePipeline(demo, 'demo-pipeline.yaml');
    expect(p.source).toBe('demo-pipeline.yaml');
    expect(p.project).toMatchObject({ name: 'demo-shop', workspace: 'demo-shop', env: { APP_NAME: 'demo-shop' } });
    expect(p.strategy).toBe('MasterSlave');
    expect(p.topics.map((t) => [t.id, t.risk])).toEqual([['setup', 'low'], ['build', 'low'], ['test', 'medium'], ['release', 'high']]);
    const kinds = p.topics.flatMap((t) => t.steps.map((s) => s.kind));
    expect(new Set(kinds)).toEqual(new Set(['command', 'sparks', 'action']));
    const shards = p.topics[2]!.steps[0]!;
    expect(shards).toMatchObject({ kind: 'sparks', name: 'shards', parallel: 3 });
    if (shards.kind === 'sparks') expect(shards.sparks[2]).toMatchObject({ name: 'smoke', env: { SHARD: '3' }, timeoutMs: 10_000 });
    expect(p.topics[3]!.steps[0]).toMatchObject({
      kind: 'action', name: 'deploy', type: 'deploy', validate: 'test -f dist/app.js', timeoutMs: 30_000, participants: [],
    });
  });

  it('fills defaults: names, title, risk, workspace, empty env', () => {
    const p = parsePipeline(minimal('  - id: only\n    steps:\n      - run: echo a\n      - sparks: [ { run: echo b } ]\n'));
    expect(p.session).toBeNull();
    expect(p.topics[0]).toMatchObject({ id: 'only', title: 'only', risk: 'low', dependsOn: [], description: '' });
    expect(p.topics[0]!.steps[0]).toEqual({
      kind: 'command', name: 'step-1', run: 'echo a', timeoutMs: null, env: {}, needs: [], risk: null, type: null,
    });
    expect(p.topics[0]!.steps[1]).toMatchObject({ kind: 'sparks', name: 'step-2', parallel: null, sparks: [{ name: 'spark-1', run: 'echo b' }] });
  });

  it('reports a bad duration with its path', () => {
    const text = minimal('  - id: a\n    steps: [ { run: x } ]\n  - id: b\n    steps: [ { run: x } ]\n  - id: c\n    steps:\n      - run: sleep 1\n        timeout: soon\n');
    expect(problems(text)).toEqual(['topics[2].steps[0].timeout: expected a duration like 30s (line 11)']);
  });

  it('reports every problem at once', () => {
    const text = [
      'project:', '  name: Bad Name', '  descripton: typo', 'topics:',
      '  - id: build', '    risk: extreme', '    dependsOn: [nope]', '    steps:',
      '      - name: lonely', '      - run: echo', '        tiemout: 3s',
      '      - action: { name: deploy, prepare: "", commit: c }',
    ].join('\n');
    const found = problems(text);
    expect(found).toEqual([
      expect.stringMatching(/^project\.name: must be a lowercase slug/),
      "project.descripton: unknown field (did you mean 'description'? allowed: name, description, workspace, env) (line 3)",
      'topics[0].risk: expected one of: low, medium, high (line 6)',
      expect.stringMatching(/^topics\[0\]\.steps\[0\]: missing command: a step needs run/),
      expect.stringMatching(/^topics\[0\]\.steps\[1\]\.tiemout: unknown field \(did you mean 'timeout'\?/),
      'topics[0].steps[2].action.prepare: missing command: must not be empty (line 12)',
      'topics[0].steps[2].action.rollback: missing command (line 12)',
      "topics[0].dependsOn[0]: unknown topic 'nope' (line 7)",
    ]);
  });

  it('names the cycle in topic dependencies', () => {
    const text = minimal([
      '  - id: a', '    dependsOn: [c]', '    steps: [ { run: x } ]',
      '  - id: b', '    dependsOn: [a]', '    steps: [ { run: x } ]',
      '  - id: c', '    dependsOn: [b]', '    steps: [ { run: x } ]',
    ].join('\n'));
    expect(problems(text)).toEqual(['topics[0].dependsOn: dependency cycle: a → c → b → a (line 5)']);
  });

  it('refuses self-dependencies, duplicate topic ids and duplicate step names', () => {
    const text = minimal([
      '  - id: a', '    dependsOn: [a]', '    steps: [ { run: x, name: same }, { run: y, name: same } ]',
      '  - id: a', '    steps: [ { sparks: [ { run: x, name: s }, { run: y, name: s } ] } ]',
    ].join('\n'));
    expect(problems(text)).toEqual([
      "topics[0].steps[1].name: duplicate step name 'same' (also steps[0]) (line 6)",
      "topics[1].id: duplicate topic id 'a' (also topics[0]) (line 7)",
      "topics[1].steps[0].sparks[1].name: duplicate spark name 's' (also sparks[0]) (line 8)",
      "topics[0].dependsOn[0]: topic 'a' cannot depend on itself (line 5)",
    ]);
  });

  it('refuses unsafe names and reserved variables', () => {
    const text = [
      'project:', '  name: ../etc', '  workspace: a/b', '  env: { BITACORA_RUN_ID: x, "bad-name": 1 }',
      'topics:', '  - id: "../up"', '    steps:', '      - run: x', '        name: "bad\\nname"',
      '      - action: { name: d, prepare: a, commit: b, rollback: c, participants: ["../node"] }',
    ].join('\n');
    const found = problems(text);
    expect(found.map((f) => f.split(':')[0])).toEqual([
      'project.name', 'project.workspace', 'project.env.BITACORA_RUN_ID', 'project.env.bad-name',
      'topics[0].id', 'topics[0].steps[0].name', 'topics[0].steps[1].action.participants[0]',
    ]);
    expect(found[2]).toContain('reserved');
  });

  it('explains steps with more than one kind and YAML scalars used as commands', () => {
    const found = problems(minimal('  - id: a\n    steps:\n      - { run: x, sparks: [] }\n      - run: true\n      - oops\n'));
    expect(found).toEqual([
      'topics[0].steps[0]: a step has exactly one of run, sparks or action (found run and sparks) (line 6)',
      'topics[0].steps[1].run: expected a command (a text line), got true; quote it: "true" (line 7)',
      'topics[0].steps[2]: expected a step: an object with run, sparks or action (line 8)',
    ]);
  });

  it('reports YAML syntax errors with line and column', () => {
    expect(problems('project:\n  name: x\ntopics: [1, 2\nfoo: 1\n')).toEqual([
      expect.stringMatching(/^YAML syntax error at line 4, column 1: /),
    ]);
    expect(problems('a: 1\na: 2\n')).toEqual(['YAML syntax error at line 2, column 1: Map keys must be unique']);
    expect(problems('x: *missing\n')[0]).toMatch(/^YAML error: /);
  });

  it('rejects empty files, non-mappings and oversized input', () => {
    expect(problems('')).toEqual(['the file is empty: expected a mapping with project and topics']);
    expect(problems('- a\n- b\n')).toEqual(['expected a mapping with project and topics at the top level']);
    expect(problems('project: { name: p }\ntopics: []\n')).toEqual(['topics: must list at least one topic (line 2)']);
    expect(problems(`# ${'x'.repeat(1024 * 1024)}`)[0]).toMatch(/too large/);
  });

  it('bounds alias expansion', () => {
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]', ...'bcdefgh'.split('').map((c, i) => `${c}: &${c} [${Array(10).fill(`*${'abcdefgh'[i]}`).join(', ')}]`)].join('\n');
    expect(problems(bomb)[0]).toMatch(/^YAML error: /);
  });

  it('the error message lists the problems for humans', () => {
    expect(() => parsePipeline(minimal('  - id: a\n    steps: []\n'), 'mine.yaml')).toThrow(
      /^mine\.yaml: 1 problem\n {2}topics\[0\]\.steps: must list at least one step \(line 5\)$/,
    );
  });
});

describe('parsePipeline: hostile names (regressions from test/security/fuzz-pipeline)', () => {
  it('refuses a session user with control characters (a NUL or an ANSI escape reached the logbook)', () => {
    for (const user of ['\\0', 'ali\\u001b[31mce', 'a\\nb', 'a\\u0085b']) {
      expect(problems(`session: { user: "${user}" }\n${minimal('  - id: a\n    steps: [ { run: x } ]\n')}`)).toEqual([
        'session.user: must not contain control characters (line 1)',
      ]);
    }
  });

  it('refuses a session user that looks like a path', () => {
    expect(problems(`session: { user: "../root" }\n${minimal('  - id: a\n    steps: [ { run: x } ]\n')}`)).toEqual([
      'session.user: must not contain "..", "/" or "\\" (line 1)',
    ]);
  });

  it('refuses step and spark names containing ".." (a/../../etc was accepted)', () => {
    expect(problems(minimal('  - id: a\n    steps:\n      - { run: x, name: "a/../../etc" }\n      - sparks: [ { run: y, name: "b.." } ]\n'))).toEqual([
      'topics[0].steps[0].name: must not contain ".." (line 6)',
      'topics[0].steps[1].sparks[0].name: must not contain ".." (line 7)',
    ]);
  });

  it('still accepts plain user names and slash-separated step labels', () => {
    const p = parsePipeline(`session: { user: "ana.garcia@example.com" }\n${minimal('  - id: a\n    steps: [ { run: x, name: "build/linux v1.2" } ]\n')}`);
    expect(p.session?.user).toBe('ana.garcia@example.com');
    expect(p.topics[0]!.steps[0]!.name).toBe('build/linux v1.2');
  });
});

describe('topicOrder', () => {
  it('puts dependencies first and keeps file order among ready topics', () => {
    const p = parsePipeline(minimal([
      '  - id: c', '    dependsOn: [b]', '    steps: [ { run: x } ]',
      '  - id: a', '    steps: [ { run: x } ]',
      '  - id: d', '    steps: [ { run: x } ]',
      '  - id: b', '    dependsOn: [a]', '    steps: [ { run: x } ]',
    ].join('\n')));
    expect(topicOrder(p).map((t) => t.id)).toEqual(['a', 'd', 'b', 'c']);
  });
});
