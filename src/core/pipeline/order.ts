/** Topic dependency graph: stable topological order and cycle detection. Pure. */
import type { Pipeline, PipelineTopic } from './model.js';

/** Minimal shape the graph helpers need, so validation can use them on unvalidated input. */
export interface TopicNode {
  id: string;
  dependsOn: readonly string[];
}

/**
 * Execution order of a validated pipeline's topics: every topic after its dependencies;
 * among topics that are ready at the same time, file order wins (stable), so reading the
 * file top to bottom predicts the run.
 */
export function topicOrder(pipeline: Pick<Pipeline, 'topics'>): PipelineTopic[] {
  const order = stableTopologicalOrder(pipeline.topics);
  if (order === null) throw new Error('topicOrder: dependency cycle (parsePipeline rejects these)');
  return order;
}

/** Kahn's algorithm picking the first ready topic in input order; null on a cycle. */
export function stableTopologicalOrder<T extends TopicNode>(topics: readonly T[]): T[] | null {
  const ids = new Set(topics.map((t) => t.id));
  const done = new Set<string>();
  const remaining = [...topics];
  const out: T[] = [];
  while (remaining.length > 0) {
    // Unknown dependencies are reported by validation; they do not block ordering here.
    const index = remaining.findIndex((t) => t.dependsOn.every((d) => done.has(d) || !ids.has(d)));
    if (index < 0) return null;
    const [next] = remaining.splice(index, 1);
    out.push(next!);
    done.add(next!.id);
  }
  return out;
}

/**
 * One dependency cycle, as the ids along it with the first repeated at the end
 * (`['a', 'b', 'a']`), or null when the graph is acyclic. Unknown ids are ignored.
 */
export function findCycle(topics: readonly TopicNode[]): string[] | null {
  const deps = new Map(topics.map((t) => [t.id, t.dependsOn] as const));
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];

  const visit = (id: string): string[] | null => {
    state.set(id, 'visiting');
    stack.push(id);
    for (const dep of deps.get(id) ?? []) {
      if (!deps.has(dep)) continue;
      const s = state.get(dep);
      if (s === 'visiting') return [...stack.slice(stack.indexOf(dep)), dep];
      if (s === undefined) {
        const found = visit(dep);
        if (found) return found;
      }
    }
    stack.pop();
    state.set(id, 'done');
    return null;
  };

  for (const topic of topics) {
    if (state.has(topic.id)) continue;
    const found = visit(topic.id);
    if (found) return found;
  }
  return null;
}
