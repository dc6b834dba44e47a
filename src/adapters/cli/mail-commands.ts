import fs from 'node:fs';
import type { Command } from 'commander';
import { AppError } from '../../core/errors.ts';
import { checkText, decodeUtf8 } from '../../core/text.ts';
import { toMailKind, toMailLanguage, toTemplatePart, TEMPLATE_VARIABLES } from '../../core/templates/variables.ts';
import { INVITATION_MARKER } from '../../core/templates/invitation.ts';
import { resolveTenant, scopeOf } from '../../app/tenants.ts';
import { getOutbox, listOutbox } from '../../app/outbox.ts';
import { deliveryStatus, purgeMail, resumeDeliveries, retryMail } from '../../app/mail-admin.ts';
import { getTemplate, listTemplates, previewTemplate, resetTemplate, setTemplate, testSendTemplate, type TemplateDraft } from '../../app/templates.ts';
import { render } from './format.ts';
import type { ContextHolder } from './main.ts';
import type { Terminal } from './execute.ts';

type Globals = { tenant?: string; json?: boolean };
type DraftOpts = { user?: string; subject?: string; htmlFile?: string; textFile?: string };

/** Reads a file named on the command line; `-` is standard input. */
function readText(file: string, field: string): string {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file === '-' ? 0 : file);
  } catch {
    throw new AppError('FILE_NOT_FOUND', `Cannot read ${file === '-' ? 'standard input' : file}.`, { field });
  }
  // A template is a multi-line source: tabs and line breaks are fine, other control or invisible characters are not.
  return checkText(decodeUtf8(bytes, field, file === '-' ? 'Standard input' : file), field, { multiline: true });
}

function draftOf(o: DraftOpts): TemplateDraft {
  return {
    ...(o.subject !== undefined ? { subject: o.subject } : {}),
    ...(o.htmlFile ? { html: readText(o.htmlFile, 'html-file') } : {}),
    ...(o.textFile ? { text: readText(o.textFile, 'text-file') } : {}),
  };
}

/** `dialin worker`, `dialin mail …` and `dialin template …`. */
export function registerMailCommands(program: Command, holder: ContextHolder, term: Terminal): void {
  const g = () => program.opts<Globals>();
  const scope = async () => {
    const ctx = await holder.get();
    return scopeOf(ctx, await resolveTenant(ctx, g().tenant ?? null));
  };
  const print = (objs: Record<string, unknown>[], single = false) => {
    if (objs.length || g().json) term.out(render(objs, [], !!g().json, single));
  };
  const table = (objs: Record<string, unknown>[]): void => {
    if (g().json) print(objs);
    else if (objs.length) term.out(render(objs, [{ kind: 'table', props: [] }], false, false));
  };

  program
    .command('worker')
    .description('Deliver queued mail and sync directory connections every --interval until stopped (SIGTERM or Ctrl-C finish the messages in flight, then exit 0)')
    .action(async () => {
      const ctx = await holder.get();
      // Loaded on use: the worker pulls in nodemailer and the compose threads, which other commands never need.
      const [{ pino }, { startDeliveryWorker }] = await Promise.all([import('pino'), import('../../worker/delivery-worker.ts')]);
      const log = pino({ level: holder.config.logLevel, base: { service: 'dialin-worker' } }, pino.destination({ dest: 2, sync: true }));
      const { deliverabilityWarnings } = await import('../../app/deliverability.ts');
      for (const w of await deliverabilityWarnings(ctx, holder.config)) log.warn({ check: w.check }, `${w.detail}: ${w.fix}`);
      const worker = await startDeliveryWorker({ ctx, config: holder.config, log });
      const { startDirectoryScheduler } = await import('../../main/directory-scheduler.ts');
      const directories = startDirectoryScheduler({ ctx, log: log.child({ component: 'directory' }) });
      const { startKeyKeeper } = await import('../../main/key-keeper.ts');
      const keyKeeper = startKeyKeeper({ ctx, role: 'worker', log: log.child({ component: 'keys' }), heartbeatMs: holder.config.keyHeartbeatMs, keySource: holder.config });
      await new Promise<void>((resolve) => {
        process.once('SIGTERM', () => resolve());
        process.once('SIGINT', () => resolve());
      });
      log.info({}, 'Stopping: no new messages are claimed; finishing those in flight.');
      await directories.stop();
      await keyKeeper.stop();
      await worker.stop();
    });

  const mail = program.command('mail').description('Delivery status of the mail dialin sends (never shows a PIN)');
  mail
    .command('list')
    .description('List messages, newest first: status, attempts, last reply, recipient')
    .option('--status <status>', 'queued, sending, sent, delayed, bounced, complained, failed, expired or superseded')
    .option('--kind <kind>', 'welcome, pin_changed, info_changed, turned_off, conference_info, sign_in_link or pin_changed_by_user')
    .option('--user <sip>', "only this user's messages")
    .option('--limit <n>', 'at most this many', '50')
    .action(async (o: { status?: string; kind?: string; user?: string; limit: string }) => {
      const rows = await listOutbox(await scope(), { status: o.status, kind: o.kind, user: o.user ? `sip:${o.user.replace(/^sip:/i, '').toLowerCase()}` : null, limit: count(o.limit, 'limit') });
      table(g().json ? rows.map((r) => ({ ...r })) : rows.map((r) => ({ Id: r.Id, Kind: r.Kind, Status: r.Status, Attempts: r.Attempts, Recipient: r.Recipient, CreatedAt: r.CreatedAt, LastReply: r.LastReply ?? r.LastError })));
    });
  mail
    .command('show')
    .description('Show one message: status, attempts, Message-ID, last error and reply')
    .argument('<id>')
    .action(async (id: string) => print([{ ...(await getOutbox(await scope(), id)) }], true));
  mail
    .command('status')
    .description('Messages by status, and whether deliveries are paused (and why)')
    .action(async () => {
      const st = await deliveryStatus(await scope());
      print([{ ...st, Counts: g().json ? st.Counts : Object.entries(st.Counts).map(([k, v]) => `${k}=${v}`).join(', ') }], true);
    });
  mail
    .command('retry')
    .description('Queue failed or expired messages again (not those that carried a PIN: reset the PIN instead)')
    .argument('[ids...]', 'message ids')
    .option('--failed', 'every failed message')
    .option('--expired', 'every expired message')
    .action(async (ids: string[], o: { failed?: boolean; expired?: boolean }) => {
      if (ids.length && (o.failed || o.expired)) throw new AppError('CONFLICTING_PARAMETERS', 'Give message ids or --failed/--expired, not both.', { field: 'Id' });
      if (o.failed && o.expired) throw new AppError('CONFLICTING_PARAMETERS', 'Give --failed or --expired, not both.', { field: 'Status' });
      const n = await retryMail(await scope(), { ids, status: o.failed ? 'failed' : o.expired ? 'expired' : undefined });
      term.err(`${n} message(s) queued again.`);
    });
  mail
    .command('resume')
    .description("End the tenant's pause now (after fixing the relay's login or TLS), instead of at the next try")
    .action(async () => term.err((await resumeDeliveries(await scope())) ? 'Deliveries resume.' : 'Deliveries were not paused.'));
  mail
    .command('purge')
    .description('Delete finished messages (sent, delayed, bounced, complained, failed, expired, superseded) older than a number of days')
    .requiredOption('--older-than <days>', 'age in days')
    .option('--status <list>', 'only these statuses, comma-separated')
    .action(async (o: { olderThan: string; status?: string }) => {
      const days = Number(o.olderThan);
      if (!Number.isFinite(days) || days < 0) throw new AppError('INVALID_ARGUMENT', '--older-than must be a number of days.', { field: 'older-than' });
      const n = await purgeMail(await scope(), { olderThanDays: days, statuses: o.status?.split(',').map((x) => x.trim()).filter(Boolean) });
      term.err(`${n} message(s) deleted.`);
    });

  const tpl = program
    .command('template')
    .description(`Mail templates (Liquid) per kind, language and part; placeholders: ${Object.keys(TEMPLATE_VARIABLES).join(', ')}. Kind invitation is the block users paste into meeting invitations (settings page and welcome mail; subject = its heading): a mail template shows it where it says ${INVITATION_MARKER}`);
  tpl
    .command('list')
    .description("Every kind, language and part, and whether the tenant has its own")
    .action(async () => table((await listTemplates(await scope())).map((r) => ({ ...r }))));
  tpl
    .command('get')
    .description('Print one part (the tenant\'s or the built-in one), ready to edit and set back')
    .arguments('<kind> <language> <part>')
    .action(async (kind: string, language: string, part: string) => {
      const r = await getTemplate(await scope(), toMailKind(kind), toMailLanguage(language), toTemplatePart(part));
      if (g().json) print([{ Kind: kind, Language: language, Part: part, ...r }], true);
      else term.out(r.Body);
    });
  tpl
    .command('set')
    .description('Replace one part with the tenant\'s own, after checking it (error with the line; nothing changes on error)')
    .arguments('<kind> <language> <part>')
    .requiredOption('--file <file>', 'the template, or - for standard input')
    .action(async (kind: string, language: string, part: string, o: { file: string }) => {
      await setTemplate(await scope(), toMailKind(kind), toMailLanguage(language), toTemplatePart(part), readText(o.file, 'file'));
      term.err(`The ${part} template of ${kind} (${language}) is saved.`);
    });
  tpl
    .command('reset')
    .description('Back to the built-in template: one part, or all parts of a kind and language')
    .arguments('<kind> <language> [part]')
    .action(async (kind: string, language: string, part?: string) => {
      const n = await resetTemplate(await scope(), toMailKind(kind), toMailLanguage(language), part ? toTemplatePart(part) : null);
      term.err(n ? `${n} part(s) back to the built-in template.` : 'The tenant had no template of its own there; nothing changed.');
    });
  const draftOptions = (c: Command) =>
    c
      .option('--user <identity>', "render with this user's data (the PIN stays a placeholder)")
      .option('--subject <template>', 'a draft subject')
      .option('--html-file <file>', 'a draft HTML template')
      .option('--text-file <file>', 'a draft text template');
  draftOptions(tpl.command('preview').description('Render a template (or a draft) with sample data or a user\'s').arguments('<kind> <language>'))
    .option('--part <part>', 'print only subject, html or text')
    .action(async (kind: string, language: string, o: DraftOpts & { part?: string }) => {
      const r = await previewTemplate(await scope(), { kind: toMailKind(kind), language: toMailLanguage(language), identity: o.user, draft: draftOf(o) });
      const part = o.part ? toTemplatePart(o.part) : null;
      if (g().json) print([{ ...r }], true);
      else if (part) term.out(part === 'subject' ? r.subject : part === 'html' ? r.html ?? '' : r.text);
      else term.out(`Subject: ${r.subject}\n\n${r.text}`);
    });
  draftOptions(tpl.command('test-send').description('Send a test mail of a template (or a draft) through the delivery worker').arguments('<kind> <language>'))
    .requiredOption('--to <address>', 'where to send it (your own address)')
    .action(async (kind: string, language: string, o: DraftOpts & { to: string }) => {
      const r = await testSendTemplate(await scope(), { kind: toMailKind(kind), language: toMailLanguage(language), identity: o.user, draft: draftOf(o), to: o.to });
      print([{ ...r }], true);
      term.err('Queued; the delivery worker sends it (see `dialin mail show <Id>`).');
    });
}

function count(v: string, name: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new AppError('INVALID_ARGUMENT', `--${name} must be a whole number.`, { field: name });
  return n;
}
