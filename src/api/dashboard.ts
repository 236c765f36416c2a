/**
 * Serves the dashboard's built files (`npm run build` writes them to `dist/web`) on the API's
 * own port and origin, so the session cookie, the CSRF rule and the WebSocket's same-origin
 * check apply as they are. Files are read once at start and served from memory: one public
 * route per file, so every other path (API or not) keeps the API's 404 and auth behaviour.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join, relative, sep } from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { BitacoraError, ErrorCode } from '../core/index.js';
import { sendError } from './errors.js';

export interface DashboardOptions {
  /** The folder with `index.html` and the hashed `assets/`. */
  root: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};

/**
 * Everything the page loads comes from this origin (nothing from the internet at run time); the
 * WebSocket is same-origin too. No framing: the one-tap controls must not be clickjacked.
 */
const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; manifest-src 'self'; worker-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

interface StaticFile {
  body: Buffer;
  type: string;
  /** Vite's hashed assets never change under their name; the rest is revalidated. */
  immutable: boolean;
}

async function listFiles(root: string, dir = root): Promise<string[]> {
  const out: string[] = [];
  for (const name of await readdir(dir)) {
    const path = join(dir, name);
    if ((await stat(path)).isDirectory()) out.push(...(await listFiles(root, path)));
    else out.push(relative(root, path).split(sep).join('/'));
  }
  return out;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

function send(reply: FastifyReply, file: StaticFile): FastifyReply {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) reply.header(name, value);
  reply.header('content-type', file.type);
  reply.header('cache-control', file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
  return reply.send(file.body);
}

export async function dashboardRoutes(app: FastifyInstance, { root }: DashboardOptions): Promise<void> {
  if (!(await isFile(join(root, 'index.html')))) {
    // A checkout that was never built: a 404 in the API's envelope that says how to get the dashboard.
    app.get('/', { config: { public: true } }, async (_request, reply) =>
      sendError(reply, new BitacoraError(ErrorCode.NotFound, `the dashboard is not built (no ${join(root, 'index.html')}): run \`npm run build\``, {
        details: { entity: 'dashboard', id: '/' },
      })),
    );
    return;
  }
  const files = new Map<string, StaticFile>();
  for (const rel of await listFiles(root)) {
    files.set(rel, {
      body: await readFile(join(root, rel)),
      type: TYPES[extname(rel)] ?? 'application/octet-stream',
      immutable: rel.startsWith('assets/'),
    });
  }
  const index = files.get('index.html')!;
  app.get('/', { config: { public: true } }, async (_request, reply) => send(reply, index));
  for (const [rel, file] of files) {
    app.get(`/${rel}`, { config: { public: true } }, async (_request, reply) => send(reply, file));
  }
}
