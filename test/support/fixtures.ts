import { newBridge, setBridge } from '../../src/app/bridges.ts';
import { registerServiceNumber } from '../../src/app/service-numbers.ts';
import { addUser, type NewUser } from '../../src/app/users.ts';
import { runInBatches, type ItemResult } from '../../src/app/bulk.ts';
import { enableUsers, type EnableOptions } from '../../src/app/enable-users.ts';
import type { TenantScope } from '../../src/app/context.ts';
import type { UsersTable } from '../../src/adapters/db/schema.ts';

/** A bridge with a default toll number, plus more numbers (`+1…` toll unless marked `tf:`). */
export async function bridgeWithNumbers(s: TenantScope, name: string, defaultToll: string, more: string[] = []): Promise<string> {
  const b = await newBridge(s, { name });
  await registerServiceNumber(s, { number: defaultToll, bridge: { name } });
  for (const n of more) {
    const tollFree = n.startsWith('tf:');
    await registerServiceNumber(s, { number: tollFree ? n.slice(3) : n, bridge: { name }, type: tollFree ? 'TollFree' : 'Toll' });
  }
  await setBridge(s, { name }, { defaultServiceNumber: defaultToll });
  return b.Identity;
}

/** Adds users `prefix0@contoso.com`…, display names `Prefix 0`… */
export async function addUsers(s: TenantScope, prefix: string, n: number, extra: Partial<NewUser> = {}): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const u = await addUser(s, { UserUri: `${prefix}${i}@contoso.com`, DisplayName: `${prefix[0]!.toUpperCase()}${prefix.slice(1)} ${i}`, ...extra });
    out.push(u.sip);
  }
  return out;
}

/** Enables users and returns each one's result (with the clear PIN when asked). */
export async function enable(s: TenantScope, identities: string[], opts: Partial<EnableOptions> = {}): Promise<ItemResult[]> {
  const results: ItemResult[] = [];
  await runInBatches(s, identities, enableUsers(s, { bridge: {}, returnPin: true, ...opts }), { onResult: (r) => results.push(r) });
  return results;
}

export async function userRow(s: TenantScope, sip: string): Promise<UsersTable> {
  return s.db.kysely.selectFrom('users').selectAll().where('tenant_id', '=', s.tenant.id).where('sip', '=', sip).executeTakeFirstOrThrow();
}

/** Runs one use-case over one identity the way the CLI does, returning its single result. */
export async function one(s: TenantScope, identity: string, handler: Parameters<typeof runInBatches>[2]): Promise<ItemResult> {
  const results: ItemResult[] = [];
  await runInBatches(s, [identity], handler, { onResult: (r) => results.push(r) });
  return results[0]!;
}
