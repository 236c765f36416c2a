#!/usr/bin/env node
// Summarizes a V8 .cpuprofile (from `node --cpu-prof`): the functions with the most self
// time, and the project files with the most inclusive time, so a missed target can name
// its hot spots. Usage: node bench/lib/profile-summary.mjs FILE.cpuprofile [top=25]
import { readFileSync } from 'node:fs';

export function summarizeProfile(file, top = 25) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // Sample counts → time: every sample stands for its time delta.
  const selfMs = new Map();
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    selfMs.set(id, (selfMs.get(id) ?? 0) + (deltas[i] ?? 0) / 1000);
  }
  const total = [...selfMs.values()].reduce((a, b) => a + b, 0);
  const label = (n) => {
    const f = n.callFrame;
    const url = f.url.replace(/^file:\/\//, '').replace(/^.*?\/(dist|node_modules)\//, '$1/');
    return `${f.functionName || '(anonymous)'} ${url ? `${url}:${f.lineNumber + 1}` : ''}`.trim();
  };
  const self = new Map();
  const inclusiveFile = new Map();
  const inclusiveFn = new Map();
  for (const [id, ms] of selfMs) {
    const node = byId.get(id);
    const key = label(node);
    self.set(key, (self.get(key) ?? 0) + ms);
    // Inclusive per project file: charge each file once per stack.
    const seen = new Set();
    const seenFn = new Set();
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const url = byId.get(cur).callFrame.url;
      if (/\/dist\//.test(url)) {
        const fnKey = label(byId.get(cur));
        if (!seenFn.has(fnKey)) {
          seenFn.add(fnKey);
          inclusiveFn.set(fnKey, (inclusiveFn.get(fnKey) ?? 0) + ms);
        }
      }
      const m = /\/dist\/(.+\.js)$/.exec(url);
      if (m && !seen.has(m[1])) {
        seen.add(m[1]);
        inclusiveFile.set(m[1], (inclusiveFile.get(m[1]) ?? 0) + ms);
      }
    }
  }
  const pct = (ms) => Math.round((ms / total) * 1000) / 10;
  const sorted = (map) => [...map.entries()].sort((a, b) => b[1] - a[1]).slice(0, top).map(([name, ms]) => ({ name, ms: Math.round(ms), pct: pct(ms) }));
  return { totalMs: Math.round(total), self: sorted(self), inclusiveByProjectFile: sorted(inclusiveFile), inclusiveByProjectFunction: sorted(inclusiveFn) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const s = summarizeProfile(process.argv[2], Number(process.argv[3] ?? 25));
  console.log(`total sampled: ${s.totalMs} ms\n\nself time:`);
  for (const r of s.self) console.log(`${String(r.pct).padStart(5)} %  ${String(r.ms).padStart(6)} ms  ${r.name}`);
  console.log('\ninclusive, by project file (dist/):');
  for (const r of s.inclusiveByProjectFile) console.log(`${String(r.pct).padStart(5)} %  ${String(r.ms).padStart(6)} ms  ${r.name}`);
  console.log('\ninclusive, by project function (dist/):');
  for (const r of s.inclusiveByProjectFunction) console.log(`${String(r.pct).padStart(5)} %  ${String(r.ms).padStart(6)} ms  ${r.name}`);
}
