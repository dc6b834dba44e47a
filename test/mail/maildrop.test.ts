import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { DIALECTS, testEnv, type TestEnv } from '../support/dialects.ts';
import { addUsers, bridgeWithNumbers, enable } from '../support/fixtures.ts';
import { startDeliveryWorker, type DeliveryWorker } from '../../src/worker/delivery-worker.ts';
import { captureLog, FAST_DELIVERY, until } from './support/mail-env.ts';
import { parseMail } from './support/mime.ts';

for (const dialect of DIALECTS) {
  describe(`no DIALIN_SMTP_URL: the local mail drop (${dialect})`, () => {
    let t: TestEnv;
    let worker: DeliveryWorker;
    const log = captureLog();
    before(async () => {
      t = await testEnv(dialect, FAST_DELIVERY);
      await bridgeWithNumbers(t.scope, 'Conference Bridge', '+14255550100');
      worker = await startDeliveryWorker({ ctx: t.ctx, config: t.config, log });
    });
    after(async () => {
      await worker.stop();
      await t.cleanup();
    });

    it('says so when it starts, and writes each mail as <Message-ID>.eml (mode 0600) with its envelope', async () => {
      const drop = path.join(t.dataDir, 'maildrop');
      assert.match(log.lines[0]!, new RegExp(`DIALIN_SMTP_URL is not set: mail goes to the local mail drop ${drop}`));
      const [r] = await enable(t.scope, await addUsers(t.scope, 'drop', 1, { Language: 'fr' }));
      const row = await t.ctx.db.kysely.selectFrom('outbox').selectAll().executeTakeFirstOrThrow();
      await until(async () => (await t.ctx.db.kysely.selectFrom('outbox').select('status').executeTakeFirstOrThrow()).status === 'sent', 'the mail in the drop');
      const file = path.join(drop, `${row.message_id.slice(1, -1)}.eml`);
      assert.equal(fs.statSync(file).mode & 0o777, 0o600);
      const raw = fs.readFileSync(file, 'utf8');
      assert.match(raw, /^X-Envelope-From: <noreply@dialin\.contoso\.com>\r\nX-Envelope-To: <drop0@contoso\.com>\r\n/);
      const mail = parseMail(raw);
      assert.ok(mail.text!.includes(r!.output!.LeaderPin as string));
      assert.equal(mail.header('content-language'), 'fr');
      const sent = await t.ctx.db.kysely.selectFrom('outbox').selectAll().executeTakeFirstOrThrow();
      assert.equal(sent.last_reply, `250 written to ${file}`);
      assert.equal(sent.pin_enc, null);
      assert.deepEqual(fs.readdirSync(drop), [path.basename(file)], 'no temporary file left');
    });
  });
}
