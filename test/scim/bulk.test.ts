import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { DIALECTS, testEnv, type TestEnv } from '../support/dialects.ts';
import { addUsers, bridgeWithNumbers } from '../support/fixtures.ts';
import { appFor, tokenFor } from '../http/harness.ts';
import { configureScim } from '../../src/app/scim-licence.ts';
import { isAppError } from '../../src/core/errors.ts';
import { applyPatch, readPatch } from '../../src/core/scim/patch.ts';
import { patchableGroup, patchGroupMembers, readGroupDoc } from '../../src/core/scim/group.ts';
import { GROUP, PATCH_OP, scimClient, USER } from './support.ts';

/**
 * What an identity provider's bulk push does: many creates at once (on SQLite they share commits,
 * each in a savepoint of its own), and member PATCHes of large groups (applied as a set difference,
 * which must mean what scim-patch means).
 */
const SEED = 20261204;

describe('SCIM: group member PATCH as a set difference', () => {
  it('5,000 generated member PATCHes: what a plain list model says, and what scim-patch says whenever it accepts the PATCH', () => {
    const id = fc.constantFrom('u1', 'u2', 'u3', 'u4', 'U1', 'ghost');
    const member = fc.oneof({ weight: 9, arbitrary: id.map((value) => ({ value })) }, { weight: 1, arbitrary: fc.constantFrom({ value: '' }, { value: 7 }, { display: 'x' }, 'u1', null) });
    const op = fc.oneof(
      fc.record({ op: fc.constantFrom('add', 'Add', 'replace', 'Remove', 'remove'), path: fc.constant('members'), value: fc.oneof(fc.array(member, { maxLength: 4 }), member) }),
      fc.record({ op: fc.constantFrom('remove', 'Remove'), path: fc.constant('members') }),
      fc.record({ op: fc.constantFrom('remove', 'REMOVE'), path: id.map((v) => `members[value eq "${v}"]`) }),
    );
    const outcome = (fn: () => string[] | null): string => {
      try {
        return JSON.stringify(fn());
      } catch (e) {
        if (!isAppError(e)) throw e;
        return `error ${e.code}`;
      }
    };
    /** RFC 7644 §3.5.2 over a plain list: add appends what is not there, remove takes out exact values, replace sets. */
    const model = (start: string[], ops: { op: string; path?: string; value?: unknown }[]): string[] | null => {
      let list = [...start];
      for (const o of ops) {
        const filtered = /^members\[value eq "(.*)"\]$/.exec(o.path ?? '');
        if (filtered) list = list.filter((m) => m !== filtered[1]);
        else if (o.value === undefined) list = [];
        else {
          const values = (Array.isArray(o.value) ? o.value : [o.value]).map((m) => (m as { value: string }).value);
          if (o.op === 'add') for (const v of values) list.includes(v) || list.push(v);
          else if (o.op === 'remove') list = list.filter((m) => !values.includes(m));
          else list = [...new Set(values)];
        }
      }
      return readGroupDoc({ displayName: 'G', members: list.map((value) => ({ value })) }).members;
    };
    let direct = 0;
    let comparedWithLibrary = 0;
    fc.assert(
      fc.property(fc.array(id, { maxLength: 4 }), fc.array(op, { minLength: 1, maxLength: 4 }), (start, ops) => {
        const g = { displayName: 'G', externalId: null, members: [...new Set(start.map((s) => s.toLowerCase()))] };
        const patch = readPatch('Group', { schemas: [PATCH_OP], Operations: ops });
        const ours = outcome(() => patchGroupMembers(g, patch)?.members ?? null);
        const wellFormed = (ops as { value?: unknown }[]).every((o) => o.value === undefined || (Array.isArray(o.value) && o.value.every((m: unknown) => typeof m === 'object' && m !== null && typeof (m as { value?: unknown }).value === 'string')));
        if (ours === 'null') {
          assert.ok(!wellFormed, `a members-only PATCH takes the direct way: ${JSON.stringify(ops)}`);
          return; // not ours to apply: scim-patch does, as before
        }
        direct++;
        const expected = outcome(() => model(g.members, patch));
        if (wellFormed || !expected.startsWith('error')) assert.equal(ours, expected, JSON.stringify({ start, ops }));
        else assert.ok(ours.startsWith('error SCIM_INVALID_VALUE'), JSON.stringify({ start, ops, ours }));
        // scim-patch refuses some sequences (a filtered remove once the list is empty, a single
        // object after a remove-all); where it accepts a well-formed PATCH, it must agree.
        const library = outcome(() => readGroupDoc(applyPatch(patchableGroup(g), patch)).members);
        if (wellFormed && !library.startsWith('error')) {
          comparedWithLibrary++;
          assert.equal(ours, library, JSON.stringify({ start, ops }));
        }
      }),
      { seed: SEED, numRuns: 5_000 },
    );
    assert.ok(direct > 2_500, `most generated PATCHes take the direct way (${direct})`);
    assert.ok(comparedWithLibrary > 500, `compared with scim-patch often enough (${comparedWithLibrary})`);
  });
});

for (const dialect of DIALECTS) {
  describe(`SCIM: bulk pushes (${dialect})`, () => {
    let t: TestEnv;
    let app: FastifyInstance;
    let scim: ReturnType<typeof scimClient>;

    before(async () => {
      t = await testEnv(dialect);
      app = await appFor(t);
      await bridgeWithNumbers(t.scope, 'Conference Bridge', '+14255550100');
      await configureScim(t.scope, { licenceGroup: 'Dial-in users' });
      scim = scimClient(app, await tokenFor(t.scope, 'scim'));
    });
    after(async () => {
      await app.close();
      await t.cleanup();
    });

    const count = async (table: 'users' | 'audit' | 'outbox', where?: [string, string]) => {
      let q = t.ctx.db.kysely.selectFrom(table).select((eb) => eb.fn.countAll().as('n'));
      if (where) q = q.where(where[0] as never, '=', where[1] as never);
      return Number((await q.executeTakeFirstOrThrow()).n);
    };

    it('60 creates at once, 15 of them duplicates and 5 invalid: each refused one alone is undone, the 40 others are kept', async () => {
      const usersBefore = await count('users');
      const auditBefore = await count('audit');
      const bodies = Array.from({ length: 60 }, (_, i) => {
        if (i >= 55) return { schemas: [USER], userName: `not an address ${i}` };
        return { schemas: [USER], userName: `burst${i % 40}@contoso.com`, displayName: `Burst ${i}` };
      });
      const answers = await Promise.all(bodies.map((b) => scim('POST', '/Users', b)));
      const codes = answers.map((r) => r.statusCode);
      assert.equal(codes.filter((c) => c === 201).length, 40, codes.join(' '));
      assert.equal(codes.filter((c) => c === 409).length, 15, codes.join(' '));
      assert.equal(codes.filter((c) => c === 400).length, 5, codes.join(' '));
      assert.equal(await count('users'), usersBefore + 40, 'no row of a refused create');
      assert.equal(await count('audit'), auditBefore + 40, 'one audit row per kept create');
      for (const r of answers.filter((a) => a.statusCode === 201)) {
        const got = await scim('GET', `/Users/${r.json().id}`);
        assert.equal(got.statusCode, 200);
        assert.equal(got.json().userName, r.json().userName);
      }
    });

    it('a 1,200-member PATCH, then 300 more added and 400 removed in both forms: every member enabled with one welcome, the removed turned off', async () => {
      // 8 connections at a time, as an identity provider pushes (not 1,500 requests waiting on a pool of 10).
      const created: Awaited<ReturnType<typeof scim>>[] = [];
      let next = 0;
      await Promise.all(Array.from({ length: 8 }, async () => {
        for (let i = next++; i < 1_500; i = next++) created[i] = await scim('POST', '/Users', { schemas: [USER], userName: `member${i}@contoso.com`, displayName: `Member ${i}` });
      }));
      const ids = created.map((r) => {
        assert.equal(r.statusCode, 201, r.body);
        return r.json().id as string;
      });
      const g = (await scim('POST', '/Groups', { schemas: [GROUP], displayName: 'Dial-in users' })).json().id as string;
      const patch = (...ops: unknown[]) => scim('PATCH', `/Groups/${g}`, { schemas: [PATCH_OP], Operations: ops });
      assert.equal((await patch({ op: 'Add', path: 'members', value: ids.slice(0, 1_200).map((value) => ({ $ref: null, value })) })).statusCode, 204);
      assert.equal(await count('outbox', ['kind', 'welcome']), 1_200);
      // Already members again, and 300 new: only the new ones get a welcome.
      assert.equal((await patch({ op: 'Add', path: 'members', value: ids.slice(900).map((value) => ({ value })) })).statusCode, 204);
      assert.equal(await count('outbox', ['kind', 'welcome']), 1_500);
      const enabled = () => t.ctx.db.kysely.selectFrom('users').select('id').where('source', '=', 'scim').where('dialin_enabled', '=', 1).execute();
      assert.equal((await enabled()).length, 1_500);
      // An unknown member refuses the whole PATCH: nothing of it is applied.
      const refused = await patch({ op: 'Remove', path: 'members', value: ids.slice(0, 5).map((value) => ({ value })) }, { op: 'Add', path: 'members', value: [{ value: 'ghost' }] });
      assert.equal(refused.statusCode, 400, refused.body);
      assert.equal((await enabled()).length, 1_500);
      await configureScim(t.scope, { maxDisable: 1_000 });
      const removed = ids.slice(0, 400);
      assert.equal((await patch({ op: 'Remove', path: 'members', value: removed.slice(0, 399).map((value) => ({ value })) }, { op: 'remove', path: `members[value eq "${removed[399]}"]` })).statusCode, 204);
      assert.equal(await count('outbox', ['kind', 'turned_off']), 400);
      const left = new Set((await enabled()).map((r) => r.id));
      assert.equal(left.size, 1_100);
      assert.ok(removed.every((id) => !left.has(id)));
      const members = (await scim('GET', `/Groups/${g}`)).json().members.map((m: { value: string }) => m.value);
      assert.deepEqual(members, ids.slice(400).sort());
    });
  });
}

for (const dialect of DIALECTS) {
  describe(`SCIM: creates arriving together under --licence all-active (${dialect})`, () => {
    let t: TestEnv;
    let app: FastifyInstance;
    let scim: ReturnType<typeof scimClient>;

    before(async () => {
      t = await testEnv(dialect);
      app = await appFor(t);
      await bridgeWithNumbers(t.scope, 'Conference Bridge', '+14255550100');
      await configureScim(t.scope, { licence: 'all-active' });
      scim = scimClient(app, await tokenFor(t.scope, 'scim'));
    });
    after(async () => {
      await app.close();
      await t.cleanup();
    });

    it('40 creates at once (batched into multi-row inserts): 5 adopt CSV users, 10 are duplicates, 5 inactive; each kept active one enabled with one welcome', async () => {
      const csv = await addUsers(t.scope, 'adopted', 5);
      const csvIds = new Map((await t.ctx.db.kysely.selectFrom('users').select(['id', 'sip']).where('sip', 'in', csv).execute()).map((u) => [u.sip, u.id]));
      // 0–4: the CSV users; 5–24: new; 25–29: new and inactive; 30–39: the same userNames as 5–14 again.
      const name = (i: number) => (i < 5 ? `Adopted${i}@contoso.com` : `together${i < 30 ? i : i - 25}@contoso.com`);
      const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => scim('POST', '/Users', { schemas: [USER], userName: name(i), displayName: `Together ${i}`, active: !(i >= 25 && i < 30) })));
      const codes = answers.map((r) => r.statusCode);
      // Which of two creates of one userName wins is the order they were written in; one does.
      for (let i = 5; i < 15; i++) assert.deepEqual([codes[i], codes[i + 25]].sort(), [201, 409], `${name(i)}: ${codes.join(' ')}`);
      assert.equal(codes.filter((c) => c === 201).length, 30, codes.join(' '));
      for (let i = 0; i < 5; i++) assert.equal(answers[i]!.json().id, csvIds.get(`sip:adopted${i}@contoso.com`), 'adopted, not duplicated');
      const users = await t.ctx.db.kysely.selectFrom('users').selectAll().where('source', '=', 'scim').execute();
      assert.equal(users.length, 30);
      const enabled = users.filter((u) => u.dialin_enabled === 1);
      assert.equal(enabled.length, 25, 'every active one, none of the 5 inactive');
      assert.ok(enabled.every((u) => u.scim_active === 1 && u.conference_id !== null && u.pin_hash !== null));
      const welcomes = await t.ctx.db.kysely.selectFrom('outbox').select('user_id').where('kind', '=', 'welcome').execute();
      assert.deepEqual(welcomes.map((w) => w.user_id).sort(), enabled.map((u) => u.id).sort(), 'one welcome per enabled user');
      const added = await t.ctx.db.kysely.selectFrom('audit').select('target_user_id').where('action', '=', 'user.add').where('actor', 'like', 'api:%').execute();
      assert.equal(added.length, 25, 'one user.add per inserted user');
      assert.equal((await t.ctx.db.kysely.selectFrom('audit').select('id').where('action', '=', 'user.adopt').execute()).length, 5);
      // The answers are the rows as committed: an enabled one says so when read back.
      for (const r of answers.filter((a) => a.statusCode === 201)) {
        const got = await scim('GET', `/Users/${r.json().id}`);
        assert.equal(got.statusCode, 200);
        assert.equal(got.json().userName, r.json().userName);
        assert.equal(got.json().active, r.json().active);
      }
    });
  });
}
