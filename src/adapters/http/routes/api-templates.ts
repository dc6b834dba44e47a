import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { AppError } from '../../../core/errors.ts';
import { toMailKind, toMailLanguage, toTemplatePart } from '../../../core/templates/variables.ts';
import { getTemplate, listTemplates, previewTemplate, resetTemplate, setTemplate, testSendTemplate } from '../../../app/templates.ts';
import { WindowLimiter } from '../rate-limit.ts';
import { Body, ERROR_RESPONSES, Nullable, Str } from '../schemas.ts';
import { scopeOfRequest, typed, type ApiDeps } from './api-deps.ts';

const tags = ['E-mail templates'];
const PartParams = Type.Object({ kind: Str(32), language: Str(8), part: Str(16) });
const Draft = Type.Optional(Body({ subject: Type.Optional(Str(64_000)), html: Type.Optional(Str(64_000)), text: Type.Optional(Str(64_000)) }));
const Rendered = Type.Object({ Kind: Type.String(), Language: Type.String(), subject: Type.String(), html: Nullable(Type.String()), text: Type.String() });

/** Test mails a caller may send per minute (they go through the real relay). */
const TEST_SENDS_PER_MINUTE = 5;

/** `dialin template list|get|set|reset|preview|test-send`: the tenant's mail templates. */
export function templatesApi(app: FastifyInstance, deps: ApiDeps): void {
  const r = typed(app);
  const testSends = new WindowLimiter(TEST_SENDS_PER_MINUTE, 60_000, deps.ctx.now);

  r.get('/templates', {
    config: { access: 'admin' },
    schema: {
      tags,
      summary: 'Every kind, language and part, and whether the tenant has its own',
      response: { 200: Type.Array(Type.Object({ Kind: Type.String(), Language: Type.String(), Part: Type.String(), Source: Type.String(), UpdatedAt: Nullable(Type.String()), UpdatedBy: Nullable(Type.String()) })), ...ERROR_RESPONSES },
    },
  }, async (req) => listTemplates(scopeOfRequest(deps, req)));

  r.get('/templates/:kind/:language/:part', {
    config: { access: 'admin' },
    schema: { tags, summary: "One part's Liquid source (the tenant's or the built-in one)", params: PartParams, response: { 200: Type.Object({ Source: Type.String(), Body: Type.String() }), ...ERROR_RESPONSES } },
  }, async (req) => getTemplate(scopeOfRequest(deps, req), toMailKind(req.params.kind), toMailLanguage(req.params.language), toTemplatePart(req.params.part)));

  r.put('/templates/:kind/:language/:part', {
    config: { access: 'admin', multiline: ['Body'] },
    schema: {
      tags,
      summary: 'Save the tenant’s own version of one part, after checking it (an error names the line; nothing changes on error)',
      params: PartParams,
      body: Body({ Body: Str(64_000) }),
      response: { 200: Type.Object({ Source: Type.String(), Body: Type.String() }), ...ERROR_RESPONSES },
    },
  }, async (req) => {
    const s = scopeOfRequest(deps, req);
    const [kind, language, part] = [toMailKind(req.params.kind), toMailLanguage(req.params.language), toTemplatePart(req.params.part)];
    await setTemplate(s, kind, language, part, req.body.Body);
    return getTemplate(s, kind, language, part);
  });

  r.delete('/templates/:kind/:language', {
    config: { access: 'admin' },
    schema: {
      tags,
      summary: 'Back to the built-in template: one part (Part=subject|html|text) or all parts of the kind and language',
      params: Type.Object({ kind: Str(32), language: Str(8) }),
      querystring: Type.Object({ Part: Type.Optional(Str(16)) }, { additionalProperties: false }),
      response: { 200: Type.Object({ Reset: Type.Integer() }), ...ERROR_RESPONSES },
    },
  }, async (req) => ({ Reset: await resetTemplate(scopeOfRequest(deps, req), toMailKind(req.params.kind), toMailLanguage(req.params.language), req.query.Part ? toTemplatePart(req.query.Part) : null) }));

  r.post('/templates/preview', {
    config: { access: 'admin', multiline: ['html', 'text'] },
    schema: {
      tags,
      summary: "Render a template, or a draft of it, with sample data or a user's (the PIN is always a placeholder)",
      body: Body({ Kind: Str(32), Language: Str(8), Identity: Type.Optional(Nullable(Str())), Draft }),
      response: { 200: Rendered, ...ERROR_RESPONSES },
    },
  }, async (req) => {
    const b = req.body;
    return previewTemplate(scopeOfRequest(deps, req), { kind: toMailKind(b.Kind, 'Kind'), language: toMailLanguage(b.Language, 'Language'), identity: b.Identity, draft: b.Draft });
  });

  r.post('/templates/test-send', {
    config: { access: 'admin', multiline: ['html', 'text'] },
    schema: {
      tags,
      summary: 'Send a test mail of a template or draft through the delivery worker: from a browser session always to your own address; with a token to To',
      body: Body({ Kind: Str(32), Language: Str(8), Identity: Type.Optional(Nullable(Str())), Draft, To: Type.Optional(Nullable(Str(320))) }),
      response: { 200: Type.Object({ Id: Type.String(), MessageId: Type.String(), Recipient: Type.String() }), ...ERROR_RESPONSES },
    },
  }, async (req) => {
    const p = req.principal!;
    const b = req.body;
    // A signed-in administrator can only send a test to themselves: the admin center is not a mailer.
    const to = p.email ?? b.To;
    if (p.email && b.To && b.To.trim().toLowerCase() !== p.email) throw new AppError('FORBIDDEN', 'A test mail from the admin center goes to your own address.', { field: 'To' });
    if (!to) throw new AppError('MISSING_ARGUMENT', 'To is required with an API token.', { field: 'To' });
    if (!testSends.take(p.id)) throw new AppError('RATE_LIMITED', `At most ${TEST_SENDS_PER_MINUTE} test mails a minute.`);
    return testSendTemplate(scopeOfRequest(deps, req), { kind: toMailKind(b.Kind, 'Kind'), language: toMailLanguage(b.Language, 'Language'), identity: b.Identity, draft: b.Draft, to });
  });
}
