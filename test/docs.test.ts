import { it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { errorsMarkdown, readmeWithReference } from '../scripts/docs-content.ts';

it('docs/errors.md lists exactly the codes of the error registry (run `npm run docs` after adding one)', () => {
  assert.equal(fs.readFileSync('docs/errors.md', 'utf8'), errorsMarkdown());
});

it('the README CLI reference is generated from the cmdlet table (run `npm run docs`)', () => {
  const readme = fs.readFileSync('README.md', 'utf8');
  assert.equal(readme, readmeWithReference(readme));
});
