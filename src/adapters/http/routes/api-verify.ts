import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { AppError } from '../../../core/errors.ts';
import { verifyLeaderPin } from '../../../app/pins.ts';
import { WindowLimiter } from '../rate-limit.ts';
import { Body, ERROR_RESPONSES } from '../schemas.ts';
import { scopeOfRequest, typed, type ApiDeps } from './api-deps.ts';

const VerifyAnswer = Type.Object({
  isLeader: Type.Boolean({ description: 'True when the caller is the meeting leader. An unknown conference ID, a wrong, expired or locked PIN all answer false, alike.' }),
  enableEntryExitNotifications: Type.Optional(Type.Boolean()),
  entryExitAnnouncementsType: Type.Optional(Type.String()),
  enableNameRecording: Type.Optional(Type.Boolean()),
  allowPstnOnlyMeetings: Type.Optional(Type.Boolean()),
});

/**
 * The bridge's PIN check. Two in-memory limits come first (per bridge token per second, per
 * conference ID per minute), so a flood is refused before any lookup or HMAC; then the core
 * check with its lockout. The answer never says why a PIN was refused or how many tries are left.
 */
export function verifyApi(app: FastifyInstance, deps: ApiDeps): void {
  const r = typed(app);
  const perToken = new WindowLimiter(deps.config.verifyLimits.perTokenPerSecond, 1000, deps.ctx.now);
  const perId = new WindowLimiter(deps.config.verifyLimits.perConferenceIdPerMinute, 60_000, deps.ctx.now);
  const tooMany = (seconds: number) => new AppError('RATE_LIMITED', `Too many PIN checks; try again in ${seconds} s.`, { details: { retryAfter: seconds } });

  r.post('/bridge/verify', {
    config: { access: 'bridge' },
    schema: {
      tags: ['Bridge'],
      summary: 'Does this conference ID + PIN authenticate the meeting leader?',
      body: Body({ conferenceId: Type.String({ maxLength: 32 }), pin: Type.String({ maxLength: 32 }) }),
      response: { 200: VerifyAnswer, ...ERROR_RESPONSES },
    },
  }, async (req, reply) => {
    const p = req.principal!;
    if (!perToken.take(p.id)) {
      deps.metrics.pinCheck('rate_limited');
      reply.header('retry-after', '1');
      throw tooMany(1);
    }
    if (!perId.take(`${p.tenant.id}/${req.body.conferenceId}`)) {
      deps.metrics.pinCheck('rate_limited');
      reply.header('retry-after', '60');
      throw tooMany(60);
    }
    const res = await verifyLeaderPin(scopeOfRequest(deps, req), req.body.conferenceId, req.body.pin, { onLockout: deps.metrics.pinLockout });
    deps.metrics.pinCheck(res.IsLeader ? 'leader' : 'refused');
    if (!res.IsLeader) return { isLeader: false };
    return {
      isLeader: true,
      enableEntryExitNotifications: res.EnableEntryExitNotifications,
      entryExitAnnouncementsType: res.EntryExitAnnouncementsType,
      enableNameRecording: res.EnableNameRecording,
      allowPstnOnlyMeetings: res.AllowPstnOnlyMeetings,
    };
  });
}
