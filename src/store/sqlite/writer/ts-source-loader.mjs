// Module hooks for the writer thread when it runs from the .ts sources (vitest): Node 20 cannot
// run TypeScript and a worker thread is outside vitest's transform. ThreadWriter registers this
// with `--import` for its worker only; the build (dist/) never uses it.
// Transpiles with rolldown's oxc transform (vitest's own, native and fast); falls back to
// TypeScript's transpileModule (slower) should that not be installed.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const transpile = await (async () => {
  try {
    const { transformSync } = await import('rolldown/utils');
    return (path, source) => {
      const result = transformSync(path, source, { lang: 'ts', sourcemap: false });
      if (result.errors.length > 0) throw new Error(`${path}: ${result.errors.map((e) => e.message).join('; ')}`);
      return result.code;
    };
  } catch {
    const ts = (await import('typescript')).default;
    return (path, source) =>
      ts.transpileModule(source, { fileName: path, compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
  }
})();

/** `./x.js` imported from a .ts source means `./x.ts` (NodeNext style), when only the .ts exists. */
export async function resolve(specifier, context, next) {
  if (context.parentURL?.endsWith('.ts') && specifier.startsWith('.') && specifier.endsWith('.js')) {
    const candidate = new URL(`${specifier.slice(0, -3)}.ts`, context.parentURL);
    if (!existsSync(fileURLToPath(new URL(specifier, context.parentURL))) && existsSync(fileURLToPath(candidate))) {
      return { url: candidate.href, format: 'module', shortCircuit: true };
    }
  }
  return next(specifier, context);
}

export async function load(url, context, next) {
  if (!url.startsWith('file:') || !url.endsWith('.ts')) return next(url, context);
  const path = fileURLToPath(url);
  return { format: 'module', source: transpile(path, readFileSync(path, 'utf8')), shortCircuit: true };
}
