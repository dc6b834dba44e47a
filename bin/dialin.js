#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx (no build step to forget).
import { register } from 'tsx/esm/api';

// `dialin … | head` closes our stdout early: that is the reader's choice, not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}

register();
const { main } = await import('../src/adapters/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
