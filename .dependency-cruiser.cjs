/**
 * Enforces the layering of DESIGN.md: core ← scheduler/engine ← coordinator/agent ← api/cli/web
 * (web/ = the dashboard, which may import only src/client and src/core).
 * Concrete implementations (store/sqlite, rpc, process runner) are wired only in src/bin.
 * `npm run lint:deps` fails on any violation.
 */
const notTests = '\\.test\\.ts$';
const layer = (name, allowed) => ({
  name: `${name}-layer`,
  comment: `src/${name} may only depend on: ${allowed.join(', ') || 'nothing inside src'}`,
  severity: 'error',
  from: { path: `^src/${name}/`, pathNot: notTests },
  to: {
    path: '^src/',
    pathNot: [`^src/${name}/`, ...allowed.map((a) => `^src/${a}`)],
  },
});

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', from: {}, to: { circular: true } },
    layer('core', []),
    layer('config', ['core/']),
    layer('scheduler', ['core/']),
    layer('store', ['core/']),
    layer('engine', ['core/', 'store/[^/]+\\.ts$']),
    layer('security', ['core/', 'store/[^/]+\\.ts$']),
    layer('rpc', ['core/']),
    layer('access', ['core/', 'store/[^/]+\\.ts$', 'security/']),
    layer('coordinator', ['core/', 'config/', 'scheduler/', 'engine/', 'store/[^/]+\\.ts$', 'security/', 'access/', 'rpc/server/', 'rpc/[^/]+\\.ts$']),
    layer('agent', ['core/', 'config/', 'engine/', 'security/', 'rpc/client/', 'rpc/[^/]+\\.ts$']),
    layer('api', ['core/', 'config/', 'coordinator/', 'access/', 'store/[^/]+\\.ts$', 'security/', 'engine/']),
    layer('client', ['core/']),
    // security/audit.ts is pure (node:crypto only): the CLI verifies a trail with just the public key.
    layer('cli', ['core/', 'config/', 'client/', 'engine/', 'store/[^/]+\\.ts$', 'security/audit\\.ts$']),
    {
      name: 'web-layer',
      comment: 'web/ (the dashboard) talks to the master only through src/client, and may use the types and pure rules of src/core',
      severity: 'error',
      from: { path: '^web/' },
      to: { path: '^src/', pathNot: ['^src/client/', '^src/core/'] },
    },
    {
      name: 'web-uses-the-browser-transport',
      comment: 'The dashboard runs in a browser: the Node-only transport (undici, ws with a CA) stays out of it',
      severity: 'error',
      from: { path: '^web/' },
      to: { path: '^src/client/node-transport\\.ts$' },
    },
    {
      name: 'generated-wire-types-stay-in-rpc',
      comment: 'Wire types never leak outside src/rpc.',
      severity: 'error',
      from: { pathNot: '^src/rpc/' },
      to: { path: '^src/rpc/gen/' },
    },
    {
      name: 'bin-is-the-composition-root',
      comment: 'Nothing imports the composition roots.',
      severity: 'error',
      from: { pathNot: '^src/bin/' },
      to: { path: '^src/bin/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '(^dist/|node_modules)' },
  },
};
