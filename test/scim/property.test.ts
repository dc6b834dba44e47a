import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { DIALECTS, testEnv, type TestEnv } from '../support/dialects.ts';
import { appFor, tokenFor } from '../http/harness.ts';
import { isAppError } from '../../src/core/errors.ts';
import { parseFilter } from '../../src/core/scim/filter.ts';
import { applyPatch, readPatch } from '../../src/core/scim/patch.ts';
import { cleanUserDoc, personOf } from '../../src/core/scim/user.ts';
import { readGroupDoc, patchableGroup } from '../../src/core/scim/group.ts';
import { ENTERPRISE, PATCH_OP, scimClient, USER } from './support.ts';

/**
 * Filters and PATCH paths are parsed input from the network. With a fixed seed: 50,000 generated
 * filters and 50,000 generated PATCH documents through the parsing and applying code never throw
 * anything but one of our SCIM errors; then 50,000 of each through the real app (HTTP inject, the
 * database) on each dialect never answer 500 and never change a user other than the one patched
 * (nor that one when refused).
 */
const SEED = 20261203;
/** Through the app, per dialect: as many as through the core (DIALIN_SCIM_PROPERTY_RUNS makes a quick run shorter). */
const RUNS = Number(process.env.DIALIN_SCIM_PROPERTY_RUNS ?? 50_000);
const ATTRS = ['userName', 'USERNAME', 'externalId', 'emails', 'emails.value', 'emails.type', 'displayName', 'active', 'name.givenName', 'name.familyName', 'title', 'id', 'meta.created', 'phoneNumbers.value', `${ENTERPRISE}:department`, `${ENTERPRISE}:manager.value`, 'members', 'members.value', 'nope', 'name.nope', 'a.b.c', '', 'emails[', 'urn:x:y'];
const OPS = ['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'lt', 'ge', 'le', 'pr', 'EQ', 'xx', ''];
const text = fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('bob@contoso.com', 'BOB', '"', '\\"', 'work', '', 'True', 'False', '\u0000', '\u202E'));
const literal = fc.oneof(text.map((s) => JSON.stringify(s)), fc.constantFrom('true', 'false', 'null', '42', '-1.5', '"unterminated', "'single'"), fc.integer().map(String));

const filterText: fc.Arbitrary<string> = fc.letrec<{ f: string }>((tie) => ({
  f: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.tuple(fc.constantFrom(...ATTRS), fc.constantFrom(...OPS), literal).map(([a, o, v]) => (o === 'pr' ? `${a} pr` : `${a} ${o} ${v}`)),
    fc.tuple(tie('f'), fc.constantFrom('and', 'or', 'AND', 'Or', 'xor'), tie('f')).map(([a, o, b]) => `${a} ${o} ${b}`),
    tie('f').map((x) => `not (${x})`),
    tie('f').map((x) => `(${x})`),
    fc.tuple(fc.constantFrom('emails', 'phoneNumbers', 'members', 'name', 'nope'), tie('f')).map(([a, x]) => `${a}[${x}]`),
    fc.string({ maxLength: 40 }),
  ),
})).f;

const pathText = fc.oneof(
  fc.constantFrom(...ATTRS),
  fc.tuple(fc.constantFrom('emails', 'phoneNumbers', 'members', 'addresses', 'nope'), filterText, fc.option(fc.constantFrom('value', 'type', 'primary', 'nope'), { nil: undefined })).map(([a, f, s]) => `${a}[${f}]${s ? `.${s}` : ''}`),
  fc.string({ maxLength: 30 }),
);
const value = fc.oneof(fc.jsonValue({ maxDepth: 3 }), text, fc.boolean(), fc.constantFrom('False', 'True'), fc.array(fc.record({ value: fc.oneof(text, fc.constantFrom('ghost')), type: fc.constantFrom('work', 'home') }), { maxLength: 3 }));
const operation = fc.record({ op: fc.constantFrom('add', 'Add', 'replace', 'Replace', 'REMOVE', 'remove', 'move', 42), path: fc.option(pathText, { nil: undefined }), value: fc.option(fc.oneof(value, fc.dictionary(fc.constantFrom(...ATTRS), value, { maxKeys: 3 })), { nil: undefined }) }, { requiredKeys: ['op'] });
const patchDoc = fc.oneof(
  { weight: 8, arbitrary: fc.record({ schemas: fc.constant([PATCH_OP]), Operations: fc.array(operation, { minLength: 0, maxLength: 4 }) }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
);

/** Only our own errors may come out of parsing and applying network input. */
function onlyScimErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    if (!isAppError(e)) throw e;
  }
}

const baseUser = { userName: 'prop@contoso.com', displayName: 'Prop', emails: [{ value: 'prop@contoso.com', type: 'work', primary: true }], active: true, [ENTERPRISE]: { department: 'R&D' } };

describe('SCIM: 50,000 generated filters and 50,000 PATCH documents (pure parsing and applying)', () => {
  it('filters: parse and evaluate, or a SCIM error', () => {
    const resource = { schemas: [USER], id: 'x', ...baseUser, meta: { created: '2026-01-01T00:00:00Z' } };
    fc.assert(
      fc.property(filterText, (f) => {
        onlyScimErrors(() => {
          const p = parseFilter('User', f);
          assert.equal(typeof p.test(resource), 'boolean');
        });
        onlyScimErrors(() => parseFilter('Group', f).test({ displayName: 'G', members: [{ value: 'u' }] }));
      }),
      { seed: SEED, numRuns: 50_000 },
    );
  });

  it('PATCH documents: read, apply, and the result checked, or a SCIM error', () => {
    fc.assert(
      fc.property(patchDoc, (body) => {
        onlyScimErrors(() => personOf(cleanUserDoc(applyPatch(cleanUserDoc(baseUser), readPatch('User', body)))));
        onlyScimErrors(() => readGroupDoc(applyPatch(patchableGroup({ displayName: 'G', externalId: null, members: ['u1'] }), readPatch('Group', body))));
      }),
      { seed: SEED, numRuns: 50_000 },
    );
  });
});

for (const dialect of DIALECTS) {
  describe(`SCIM: generated filters and PATCH documents through the app (${dialect})`, () => {
    let t: TestEnv;
    let app: FastifyInstance;
    let scim: ReturnType<typeof scimClient>;
    const ids: string[] = [];

    before(async () => {
      t = await testEnv(dialect);
      app = await appFor(t);
      scim = scimClient(app, await tokenFor(t.scope, 'scim'));
      for (const n of ['target', 'bystander1', 'bystander2']) ids.push((await scim('POST', '/Users', { schemas: [USER], userName: `${n}@contoso.com`, displayName: n })).json().id);
    });
    after(async () => {
      await app.close();
      await t.cleanup();
    });

    const others = () => t.ctx.db.kysely.selectFrom('users').selectAll().where('id', '!=', ids[0]!).orderBy('id').execute();

    it(`never a 500; a bystander never changes; the target changes only on 200 (${RUNS.toLocaleString('en-US')} filters and PATCH documents)`, { timeout: 1_800_000 }, async () => {
      const before = JSON.stringify(await others());
      const target = () => t.ctx.db.kysely.selectFrom('users').selectAll().where('id', '=', ids[0]!).executeTakeFirstOrThrow();
      let current = await target();
      await fc.assert(
        fc.asyncProperty(filterText, patchDoc, async (f, body) => {
          const l = await scim('GET', `/Users?filter=${encodeURIComponent(f)}`);
          assert.ok(l.statusCode === 200 || l.statusCode === 400, `filter ${f}: ${l.statusCode} ${l.body}`);
          const r = await scim('PATCH', `/Users/${ids[0]}`, body);
          assert.ok(r.statusCode < 500, `PATCH ${JSON.stringify(body)}: ${r.statusCode} ${r.body}`);
          const after = await target();
          if (r.statusCode !== 200) assert.deepEqual(after, current, `refused PATCH changed the user: ${JSON.stringify(body)}`);
          current = after;
        }),
        { seed: SEED, numRuns: RUNS },
      );
      assert.equal(JSON.stringify(await others()), before, 'no other user changed');
    });
  });
}
