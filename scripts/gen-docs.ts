/**
 * Regenerates the generated documentation: docs/errors.md from the error registry and the CLI
 * reference section of README.md from the cmdlet table. `npm run docs`; a test checks both are current.
 */
import fs from 'node:fs';
import { errorsMarkdown, readmeWithReference } from './docs-content.ts';

fs.writeFileSync('docs/errors.md', errorsMarkdown());
fs.writeFileSync('README.md', readmeWithReference(fs.readFileSync('README.md', 'utf8')));
console.log('docs/errors.md and the README CLI reference are up to date.');
