/** The work of Set-CsPinSendCAWelcomeMail, loaded only when the cmdlet runs (it needs the mail stack). */
import { heloName } from '../../smtp/helo-name.ts';
import fs from 'node:fs';
import { AppError } from '../../../core/errors.ts';
import { checkText, decodeUtf8 } from '../../../core/text.ts';
import { runInBatches, throwIfSkipped, type ItemResult } from '../../../app/bulk.ts';
import { welcomeBatch, welcomeRequest, type WelcomeRequest } from '../../../app/welcome-mail.ts';
import { startRunDelivery, type RunDelivery, type RunMailOutcome } from '../../../worker/run-delivery.ts';
import { createSmtpRelay } from '../../smtp/smtp-relay.ts';
import { readCaFile } from '../../smtp/ca-file.ts';
import type { Relay } from '../../smtp/relay.ts';
import { checkRelay, passwordOf, relaySpecOf, runRelayOf } from './welcome-relay.ts';
import { bool, ids, list, str, TENANT_PARAM, type CmdletDef, type CmdletIO, type CmdletOutput, type Identities, type Params } from '../cmdlet.ts';

/** Results kept for the summary's list of problems (all of them go to --report). */
const KEPT = 200;
/** After Ctrl-C, how long messages already handed to the relay may take to finish. */
const STOP_GRACE_MS = 15_000;
const BATCH = 250;

/** What each outcome in the summary table means. */
const MEANING: Record<string, string> = {
  sent: 'the relay accepted the mail (in this or an earlier run)',
  'would send': 'would get a new PIN and a welcome mail',
  failed: 'new PIN, mail refused by the relay: run again to resend',
  retrying: 'new PIN; the mail waits for `dialin worker` to retry',
  queued: 'new PIN, mail not sent yet: run the same command again',
  unchanged: 'PIN kept: already set (add -Force), or listed twice',
  skipped: 'not found, not enabled, PIN locked or -Pin refused',
};

export async function welcome(io: CmdletIO, p: Params): Promise<CmdletOutput> {
  const who = ids(p, 'UserUri');
  if (who.group && p.Pin !== undefined) throw new AppError('CONFLICTING_PARAMETERS', '-Pin cannot be given with a list of users: each user gets their own PIN.', { field: 'Pin' });
  if (who.group && p.UserEmailAddress !== undefined) throw new AppError('CONFLICTING_PARAMETERS', "-UserEmailAddress cannot be given with a list of users: each mail goes to its user's address.", { field: 'UserEmailAddress' });
  const user = str(p, 'Credential');
  const spec = relaySpecOf(str(p, 'SmtpServer') ?? io.config.psEmailServer, { useSsl: bool(p, 'UseSsl') === true, user, ca: readCaFile(io.config.smtpCaFile) });
  let req = welcomeRequest(io.scope, {
    from: str(p, 'From')!,
    subject: str(p, 'Subject'),
    userEmailAddress: str(p, 'UserEmailAddress'),
    cc: list(p, 'Cc'),
    bcc: list(p, 'Bcc'),
    template: p.TemplatePath === undefined ? null : readTemplate(str(p, 'TemplatePath')!),
    plainText: bool(p, 'BodyAsPlainText') === true,
    pin: str(p, 'Pin'),
    force: bool(p, 'Force') === true,
    relay: runRelayOf(spec, user, null),
    source: who.file ? `@${who.file}` : who.label,
  });
  if (io.globals.dryRun) return dryRun(io, who, req);
  if (!who.group) {
    // One user: whatever would refuse them (not found, -Pin against the policy…) fails before the relay is tried.
    const plan = await planOne(io, who, req);
    if (plan.outcome !== 'done') return { kind: 'objects', objects: [], note: `${plan.user ?? plan.input}: ${plan.reason}; nothing changed.` };
  }
  const auth = user === null ? null : { user, pass: await passwordOf(io, user) };
  const tuning = { connections: io.config.delivery.concurrency, replyTimeoutMs: io.config.delivery.replyTimeoutMs, heloName: heloName(io.config.smtpHeloName) };
  await checkRelay({ ...spec, auth }, tuning);
  req = { ...req, relay: runRelayOf(spec, user, auth ? io.scope.keys.seal(auth.pass) : null) };
  const relay = createSmtpRelay({ ...spec, auth }, tuning);
  try {
    return await sendRun(io, who, req, relay);
  } finally {
    await relay.close();
  }
}

/** Writes PINs and mails batch by batch while sending them, and reports each user once their mail's outcome is known. */
async function sendRun(io: CmdletIO, who: Identities, req: WelcomeRequest, relay: Relay): Promise<CmdletOutput> {
  const tally = new Map<string, number>();
  const kept: ItemResult[] = [];
  const awaiting = new Map<string, ItemResult>();
  const finalize = (r: ItemResult) => {
    const status = r.status ?? r.outcome;
    tally.set(status, (tally.get(status) ?? 0) + 1);
    io.onResult(r);
    if (!who.group || (status !== 'sent' && kept.length < KEPT)) kept.push(r);
  };
  const onOutcome = (o: RunMailOutcome) => {
    const r = awaiting.get(o.id);
    if (!r) return;
    awaiting.delete(o.id);
    finalize({ ...r, ...outcomeOf(o) });
  };
  let interrupted = false;
  /** Users of the group were never started (Ctrl-C, or the relay refused us). */
  let cut = false;
  let refused: string | null = null;
  const delivery: RunDelivery = await startRunDelivery({
    ctx: io.scope,
    config: io.config,
    tenantId: io.scope.tenant.id,
    relay,
    composeThreads: who.group ? undefined : 0,
    backlog: BATCH,
    onOutcome,
    onRefused: (reason) => {
      if (refused === null && who.group) io.warn(`The relay refused to send (${reason}); no more users are started.`);
      refused ??= reason;
      delivery.stop();
    },
  });
  const onSigint = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    io.warn('Interrupted: no more users are started; the mails already handed to the relay finish. Press Ctrl-C again to quit at once.');
    delivery.stop();
  };
  process.on('SIGINT', onSigint);
  try {
    // The next users are read only when the relay keeps up: memory stays flat, and Ctrl-C leaves little in between.
    async function* paced(): AsyncGenerator<string> {
      for await (const id of who.values) {
        await delivery.ready();
        if (interrupted || refused !== null) return void (cut = true);
        yield id;
      }
    }
    await runInBatches(io.scope, paced(), welcomeBatch(io.scope, req, { dryRun: false, holdMs: io.config.delivery.leaseMs, resume: who.group }), {
      batchSize: BATCH,
      onResult: (r) => {
        const mailId = r.output?.MailId as string | undefined;
        if (r.outcome !== 'done' || !mailId) return finalize(r);
        awaiting.set(mailId, r);
        delivery.send([mailId]);
      },
    });
  } catch (e) {
    // The database failed under the run: what is in flight still gets its outcome recorded.
    delivery.stop();
    throw e;
  } finally {
    await delivery.finish(STOP_GRACE_MS);
    process.off('SIGINT', onSigint);
  }
  // Still in flight after the grace: the lease runs out and `dialin worker` sends it.
  for (const r of awaiting.values()) finalize({ ...r, status: 'retrying', reason: 'still being sent when the run stopped; dialin worker finishes it once its lease runs out' });
  return summarize(who, kept, tally, interrupted && (cut || tally.has('queued')), refused);
}

function outcomeOf(o: RunMailOutcome): Pick<ItemResult, 'status' | 'reason'> {
  switch (o.status) {
    case 'sent':
      return { status: 'sent', reason: o.reply };
    case 'failed':
      return { status: 'failed', reason: o.reply && !o.error.includes(o.reply) ? `${o.error}: ${o.reply}` : o.error };
    case 'retrying':
      return { status: 'retrying', reason: `${o.error}; dialin worker retries it` };
    case 'elsewhere':
      return { status: 'retrying', reason: 'another process (dialin worker) took the mail; see dialin mail list' };
    case 'left':
      return { status: 'queued', reason: 'interrupted before sending; run the same command again to send it' };
  }
}

function summarize(who: Identities, kept: ItemResult[], tally: Map<string, number>, interrupted: boolean, refused: string | null): CmdletOutput {
  const n = (s: string) => tally.get(s) ?? 0;
  const undelivered = n('failed') + n('retrying') + n('queued');
  const users = [...tally.values()].reduce((a, b) => a + b, 0);
  let failure: AppError | undefined;
  if (refused !== null && who.group) {
    failure = new AppError('SMTP_UNAVAILABLE', `The relay refused to send (${refused}); the run stopped after ${users} user(s). Fix the relay settings and run the same command again to finish.`, { field: 'SmtpServer' });
  } else if (interrupted) {
    failure = new AppError('RUN_INTERRUPTED', `Interrupted after ${users} user(s); run the same command again to finish what is left (users already done are not reset).`);
  } else if (undelivered) {
    failure = new AppError('MAIL_NOT_DELIVERED', `${undelivered} welcome mail(s) not delivered: ${n('failed')} refused by the relay, ${n('retrying')} left to dialin worker, ${n('queued')} not sent.${who.group ? ' See the list above or --report.' : ''}`);
  }
  if (!who.group) {
    const r = kept[0];
    if (!r) throw new AppError('USER_NOT_FOUND', `No user matches the identity "${who.label}".`, { field: 'UserUri' });
    throwIfSkipped(r);
    if (r.outcome === 'unchanged') return { kind: 'objects', objects: [], note: `${r.user ?? r.input}: ${r.reason}; nothing changed.`, failure };
    const o = r.output ?? {};
    return { kind: 'objects', objects: [{ Identity: o.Identity, EmailAddress: o.EmailAddress, Mail: r.status, Reply: r.reason ?? null }], single: true, failure };
  }
  const objects = Object.keys(MEANING).flatMap((s) => (n(s) ? [{ Outcome: s, Users: n(s), Meaning: MEANING[s] }] : []));
  const summary = { done: n('sent'), unchanged: n('unchanged'), skipped: n('skipped') + undelivered };
  return { kind: 'group', verb: 'sent a welcome mail', summary, tally: Object.fromEntries(objects.map((o) => [o.Outcome, o.Users])), results: kept, objects, failure };
}

/** --dry-run: the same decisions without writing anything or contacting the relay. */
async function dryRun(io: CmdletIO, who: Identities, req: WelcomeRequest): Promise<CmdletOutput> {
  const results: ItemResult[] = [];
  await runInBatches(io.scope, who.values, welcomeBatch(io.scope, req, { dryRun: true, holdMs: 0, resume: who.group }), {
    batchSize: BATCH,
    onResult: (r) => {
      io.onResult(r);
      results.push({ ...r, output: undefined });
    },
  });
  const objects = results.map((r) => ({ Identity: r.user ?? r.input, NewPinAndMail: r.status === 'would send', Reason: r.reason ?? null }));
  if (!who.group) {
    if (results[0]) throwIfSkipped(results[0]);
    return { kind: 'objects', objects, single: true, note: 'Dry run: nothing changed.' };
  }
  const tally: Record<string, number> = {};
  for (const r of results) tally[r.status ?? r.outcome] = (tally[r.status ?? r.outcome] ?? 0) + 1;
  return { kind: 'group', verb: 'would get a new PIN and a mail', summary: { done: tally['would send'] ?? 0, unchanged: 0, skipped: 0 }, tally, results: [], objects, note: 'Dry run: nothing changed.' };
}

/** The decision for a single user, made without writing anything. */
async function planOne(io: CmdletIO, who: Identities, req: WelcomeRequest): Promise<ItemResult> {
  const results: ItemResult[] = [];
  await runInBatches(io.scope, [who.label], welcomeBatch(io.scope, req, { dryRun: true, holdMs: 0, resume: false }), { onResult: (r) => results.push(r) });
  const r = results[0];
  if (!r) throw new AppError('USER_NOT_FOUND', `No user matches the identity "${who.label}".`, { field: 'UserUri' });
  throwIfSkipped(r);
  return r;
}

function readTemplate(file: string): string {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch {
    throw new AppError('FILE_NOT_FOUND', `-TemplatePath ${file} cannot be read. Nothing changed.`, { field: 'TemplatePath' });
  }
  // The BOM is dropped by the decoder; the rest must be a multi-line text without control or invisible characters.
  return checkText(decodeUtf8(bytes, 'TemplatePath', `-TemplatePath ${file}`), 'TemplatePath', { multiline: true });
}

