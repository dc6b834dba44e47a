import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { simpleParser } from 'mailparser';
import { DIALECTS, testEnv, type TestEnv } from '../support/dialects.ts';
import { addUsers, bridgeWithNumbers, enable, one } from '../support/fixtures.ts';
import { swapDefaultNumber } from '../../src/app/default-number.ts';
import { setDialInUsers } from '../../src/app/set-dialin-user.ts';
import { readSettings } from '../../src/app/tenant-settings.ts';
import { buildJob } from '../../src/worker/mail-job.ts';
import { composeMail } from '../../src/worker/compose.ts';
import type { OutboxTable } from '../../src/adapters/db/schema.ts';
import type { MailPayload } from '../../src/app/mail-queue.ts';

/** Renders a queued row as the worker would (real template engine, real MIME) and parses it back. */
async function delivered(t: TestEnv, row: OutboxTable) {
  const settings = await readSettings(t.ctx.db.kysely, row.tenant_id);
  const job = buildJob(row, { settings, overrides: [], dkim: [], localNumbers: { byBridge: new Map(), default: null } }, { defaultFrom: t.ctx.defaultFrom, settingsUrl: t.ctx.settingsUrl, keys: t.ctx.keys, bounceDomain: null }, Date.now());
  return simpleParser(Buffer.from((await composeMail(job)).raw));
}

for (const dialect of DIALECTS) {
  describe(`information changed: what changed, one mail per user (${dialect})`, () => {
    let t: TestEnv;
    const users = Array.from({ length: 18 }, (_, i) => `m${i}@contoso.com`);
    before(async () => {
      t = await testEnv(dialect);
      await bridgeWithNumbers(t.scope, 'Conference Bridge', '+14255550100', ['+14255550101', 'tf:+18005550100', 'tf:+18005550101']);
      await addUsers(t.scope, 'm', 18);
      await enable(t.scope, users, { tollFreeServiceNumber: '+18005550100' });
      await addUsers(t.scope, 'c', 1);
      await enable(t.scope, ['c0@contoso.com']);
    });
    after(() => t.cleanup());
    const infoRows = (status: string) => t.ctx.db.kysely.selectFrom('outbox').selectAll().where('kind', '=', 'info_changed').where('status', '=', status).execute();

    it('moving both default numbers of 18 users queues 18 mails, each naming both moves old → new', async () => {
      assert.equal((await swapDefaultNumber(t.scope, { bridge: { name: 'Conference Bridge' }, fromNumber: '+14255550100', toNumber: '+14255550101', numberType: 'Toll' })).MovedUsers, 19);
      assert.equal((await swapDefaultNumber(t.scope, { bridge: { name: 'Conference Bridge' }, fromNumber: '+18005550100', toNumber: '+18005550101', numberType: 'TollFree' })).MovedUsers, 18);
      const queued = await infoRows('queued');
      assert.equal(queued.length, 19, '18 users with both moves and c0 with one');
      assert.equal((await infoRows('superseded')).length, 18, 'the first mail of each of the 18 superseded');
      const mine = queued.filter((r) => JSON.parse(r.payload).data.sipAddress !== 'sip:c0@contoso.com');
      for (const r of mine) {
        assert.deepEqual((JSON.parse(r.payload) as MailPayload).data.changes, [
          { field: 'tollNumber', old: '+14255550100', new: '+14255550101' },
          { field: 'tollFreeNumber', old: '+18005550100', new: '+18005550101' },
        ]);
      }
      const mail = await delivered(t, mine[0]!);
      for (const body of [mail.text!, mail.html as string]) {
        assert.ok(body.includes('+1 425-555-0100 → ') || /\+1 425-555-0100<\/span> → \+1 425-555-0101/.test(body), 'the toll move, old → new');
        assert.ok(body.includes('+1 800-555-0100') && body.includes('+1 800-555-0101'), 'the toll-free move');
      }
      assert.match(mail.text!, /Dial-in number: \+1 425-555-0100 → \+1 425-555-0101\n  Toll-free number: \+1 800-555-0100 → \+1 800-555-0101/);
    });

    it('a conference ID reset then a number change before delivery: one mail with both, the oldest old values', async () => {
      const before = (await t.ctx.db.kysely.selectFrom('users').select('conference_id').where('sip', '=', 'sip:c0@contoso.com').executeTakeFirstOrThrow()).conference_id!;
      await one(t.scope, 'c0@contoso.com', setDialInUsers(t.scope, { resetConferenceId: true }));
      await one(t.scope, 'c0@contoso.com', setDialInUsers(t.scope, { serviceNumber: '+14255550100' }));
      const after = (await t.ctx.db.kysely.selectFrom('users').select('conference_id').where('sip', '=', 'sip:c0@contoso.com').executeTakeFirstOrThrow()).conference_id!;
      const queued = (await infoRows('queued')).filter((r) => JSON.parse(r.payload).data.sipAddress === 'sip:c0@contoso.com');
      assert.equal(queued.length, 1, 'one mail for the three changes of c0');
      const mail = await delivered(t, queued[0]!);
      const group = (id: string) => `${id.replace(/(\d{3})(?=\d)/g, '$1 ')}#`;
      assert.ok(mail.text!.includes(`Conference ID: ${group(before)} → ${group(after)}`), mail.text!);
      // The toll number went 0100 → 0101 (the bulk move, still unsent) → 0100: back where it was, so not named.
      assert.ok(!/Dial-in number: .* → /.test(mail.text!), 'a number moved back is not a change');
      assert.equal(mail.subject, 'Your dial-in conferencing details have changed');
    });
  });
}
