import { sql, type RawBuilder } from 'kysely';

/**
 * An outbox row's payload without the sealed SMTP password of a command's own relay
 * (Set-CsPinSendCAWelcomeMail -Credential): kept for retries only, wiped like the PIN once the
 * message is final (sent, failed, expired or superseded). Rows without one are left as they are.
 */
export function payloadWithoutRelayPassword(dialect: 'sqlite' | 'postgres'): RawBuilder<string> {
  return dialect === 'postgres'
    ? sql<string>`case when strpos(payload, '"passwordSealed"') > 0 then (payload::jsonb #- '{options,relay,passwordSealed}')::text else payload end`
    : sql<string>`case when instr(payload, '"passwordSealed"') > 0 then json_remove(payload, '$.options.relay.passwordSealed') else payload end`;
}
