import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';

// From the sources: ../static next to routes/. From the build (scripts/build.mjs): static/ beside the bundle.
const HERE = path.dirname(fileURLToPath(import.meta.url));
const DIR = fs.existsSync(path.join(HERE, 'static')) ? path.join(HERE, 'static') : path.join(HERE, '..', 'static');

const FILES: Record<string, string> = { 'style.css': 'text/css; charset=utf-8', 'app.js': 'text/javascript; charset=utf-8' };

/** The stylesheet and the small script of the pages, read once at start-up (no build step). */
export function staticRoutes(app: FastifyInstance): void {
  for (const [name, type] of Object.entries(FILES)) {
    const body = fs.readFileSync(path.join(DIR, name));
    app.get(`/static/${name}`, { schema: { hide: true } }, async (_req, reply) => reply.type(type).header('cache-control', 'public, max-age=3600').send(body));
  }
}
