// Build of the dashboard (`npm run build:web`): Preact + Vite into dist/web, which the master serves at `/`.
import { fileURLToPath } from 'node:url';
import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  root: here('.'),
  base: '/',
  plugins: [preact()],
  resolve: {
    alias: {
      // src/core's id generator imports node:crypto; the dashboard never makes ids, so a stub stands in.
      'node:crypto': here('src/shims/node-crypto.ts'),
    },
  },
  build: {
    outDir: here('../dist/web'),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    // One small bundle: the master serves it from memory.
    chunkSizeWarningLimit: 400,
  },
  logLevel: 'warn',
});
