// The console's build: static files in dist/console, which the registry serves at /. No dev server is needed to
// use it; `npx vite apps/console` serves it for work on the console, against a registry proxied on :8080.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: '/',
  // React's automatic JSX runtime, compiled by Vite's own transform: no plugin is needed for a production build.
  oxc: { jsx: { runtime: 'automatic' } },
  build: {
    outDir: fileURLToPath(new URL('../../dist/console', import.meta.url)),
    emptyOutDir: true,
    sourcemap: true,
    rollupOptions: {
      // React Query marks its modules "use client" for server-rendering frameworks; a browser bundle has no use for it.
      onwarn(warning, warn) {
        if (warning.code !== 'MODULE_LEVEL_DIRECTIVE') warn(warning);
      },
    },
  },
  server: { proxy: { '/v1': 'http://localhost:8080' } },
  logLevel: 'warn',
});
