import { AppError } from '../../../core/errors.ts';
import { lockPin, pinInfo, pinInfoOf, pinInfoPages, setClientPins, unlockPin } from '../../../app/pins.ts';
import { getPinPolicies, grantPinPolicy, newPinPolicy, removePinPolicy, setPinPolicy } from '../../../app/pin-policies.ts';
import { perUser } from '../../../app/bulk.ts';
import type { PinPolicy } from '../../../core/pin-policy.ts';
import { runGroup } from './run-group.ts';
import { IDENTITY } from './dialin-users.ts';
import { bool, CONFIRM_PARAM, FORCE_PARAM, ids, int, str, TENANT_PARAM, type CmdletDef, type CmdletIO, type ParamDef, type Params } from '../cmdlet.ts';

const POLICY_FIELDS: ParamDef[] = [
  { name: 'MinPasswordLength', type: 'int', help: 'Minimum PIN digits, 4 to 24 (default 5).' },
  { name: 'PINHistoryCount', type: 'int', help: 'Previous PINs a user cannot reuse on the settings page, 0 to 20.' },
  { name: 'PINLifetime', type: 'int', help: 'Days before a PIN expires, 0 (never) to 999; needs PINHistoryCount > 0.' },
  { name: 'AllowCommonPatterns', type: 'bool', help: 'Allow repeated/consecutive digits and the phone number or extension (default $false).' },
  { name: 'MaximumLogonAttempts', type: 'int', help: 'Failures before a 1-hour lockout, 1 to 999 ($null = automatic by PIN length).' },
  { name: 'Description', type: 'string', help: 'Free text.' },
];

function policyPatch(p: Params): Partial<PinPolicy> {
  const patch: Partial<PinPolicy> = {};
  for (const d of POLICY_FIELDS) {
    if (p[d.name] === undefined) continue;
    (patch as Record<string, unknown>)[d.name] = p[d.name] === null ? null : d.type === 'int' ? int(p, d.name) : d.type === 'bool' ? bool(p, d.name) : str(p, d.name);
  }
  return patch;
}

const POLICY_ID: ParamDef = { name: 'Identity', type: 'string', position: 0, help: 'Global, site:NAME or tag:NAME (a bare name means tag:NAME).' };
const IN_MEMORY: ParamDef = { name: 'InMemory', type: 'switch', help: 'Not supported.', unsupported: 'creates a PowerShell object in memory, which dialin cannot hand back; create the policy directly' };

/** `-Pin -`: the PIN from standard input, so it is not in `ps` or the shell history. */
async function pinFromStdin(io: CmdletIO): Promise<string> {
  const pin = await io.readSecret('PIN: ');
  if (!pin) throw new AppError('MISSING_ARGUMENT', '-Pin - reads the PIN from standard input, which gave none; type it at the prompt or pipe it in. Nothing changed.', { field: 'Pin' });
  return pin;
}

export const pinCmdlets: CmdletDef[] = [
  {
    name: 'Set-CsClientPin',
    synopsis: "Sets a user's PIN (chosen or generated) and prints it once. Sends no mail: this is the way to set a PIN without a message.",
    params: [IDENTITY, { name: 'Pin', type: 'string', position: 1, help: 'The PIN (digits; checked against the PIN policy). Omit to generate one. `-Pin -` reads it from standard input (typed without echo on a terminal), so it shows neither in `ps` nor in the shell history.' }, TENANT_PARAM, FORCE_PARAM, CONFIRM_PARAM],
    confirmImpact: true,
    examples: [
      { command: 'Set-CsClientPin -Identity "litwareinc\\kenmyer"', effect: 'Generates a PIN for Ken and prints it.' },
      { command: 'Set-CsClientPin -Identity "litwareinc\\kenmyer" -Pin 18723834', effect: 'Sets that PIN.' },
      { command: 'Set-CsClientPin -Identity "litwareinc\\kenmyer" -Pin -', effect: 'Asks for the PIN without echoing it (or reads it from a pipe), so it is not in ps or the shell history.' },
      { command: 'Set-CsClientPin -Identity @newhires.txt --report pins-report.csv', effect: 'Generates PINs for a group, prints them, writes a report (without PINs).' },
    ],
    async run(io, p) {
      const who = ids(p);
      const pin = str(p, 'Pin') === '-' ? await pinFromStdin(io) : str(p, 'Pin');
      if (who.group && pin) throw new AppError('CONFLICTING_PARAMETERS', '-Pin cannot be given with a list of users: each user gets their own PIN.', { field: 'Pin' });
      if (!(await io.confirm('Set PIN', who.label))) return { kind: 'none', note: 'Nothing changed.' };
      // Set-wise per batch: a pipeline over 100,000 users pays a few statements a batch, not a few a user.
      return runGroup(io, who, 'given a PIN', (trx, resolved) => setClientPins(trx, io.scope, resolved, pin ?? null), { keepOutputs: true });
    },
  },
  {
    name: 'Get-CsClientPinInfo',
    synopsis: "Shows whether a user's PIN is set, locked out, when it changed and when it expires (never the PIN).",
    params: [{ ...IDENTITY, mandatory: false, help: 'The users (default: every user of the tenant, read page by page).' }, TENANT_PARAM],
    examples: [
      { command: 'Get-CsClientPinInfo -Identity "litwareinc\\kenmyer"', effect: "Ken's PIN status." },
      { command: 'Get-CsClientPinInfo | Where-Object {$_.IsPinSet -eq $False} | Set-CsClientPin', effect: 'A PIN for every user who has none, streamed through batched transactions (re-run it to finish an interrupted run).' },
    ],
    async run(io, p) {
      if (p.Identity === undefined) return { kind: 'stream', objects: pinInfoPages(io.scope) as AsyncIterable<Record<string, unknown>> };
      const who = ids(p);
      // Many users (a pipeline, a file): a stream, read a batch at a time as the next stage asks.
      if (who.group) return { kind: 'stream', objects: pinInfoOf(io.scope, who.values) as AsyncIterable<Record<string, unknown>> };
      const out: Record<string, unknown>[] = [];
      const res = await runGroup({ ...io, onResult: (r) => r.output && out.push(r.output) }, who, 'shown', perUser(async (trx, u) => ({ outcome: 'unchanged', output: { ...(await pinInfo(trx, io.scope, u)) } })));
      return res.kind === 'group' ? { kind: 'objects', objects: out } : { ...res, note: undefined };
    },
  },
  {
    name: 'Lock-CsClientPin',
    synopsis: "Locks a user's PIN: the bridge refuses it until Unlock-CsClientPin.",
    params: [IDENTITY, TENANT_PARAM, FORCE_PARAM, CONFIRM_PARAM],
    confirmImpact: true,
    examples: [{ command: 'Lock-CsClientPin -Identity "kenmyer@litwareinc.com"', effect: "Ken's PIN stops working." }],
    async run(io, p) {
      const who = ids(p);
      if (!(await io.confirm('Lock PIN', who.label))) return { kind: 'none', note: 'Nothing changed.' };
      return runGroup(io, who, 'locked', perUser(async (trx, u) => {
        if (u.pin_locked === 1) return { outcome: 'unchanged', reason: 'PIN already locked' };
        await lockPin(trx, io.scope, u);
        return { outcome: 'done', output: { ...(await pinInfo(trx, io.scope, { ...u, pin_locked: 1 })) } };
      }));
    },
  },
  {
    name: 'Unlock-CsClientPin',
    synopsis: "Unlocks a user's PIN and clears the failure counters.",
    params: [IDENTITY, TENANT_PARAM, FORCE_PARAM, CONFIRM_PARAM],
    examples: [{ command: 'Unlock-CsClientPin -Identity "litwareinc\\kenmyer"', effect: "Ken's PIN works again." }],
    async run(io, p) {
      return runGroup(io, ids(p), 'unlocked', perUser(async (trx, u) => {
        await unlockPin(trx, io.scope, u);
        return { outcome: 'done', output: { ...(await pinInfo(trx, io.scope, { ...u, pin_locked: 0, pin_locked_until: null })) } };
      }));
    },
  },
  {
    name: 'Get-CsPinPolicy',
    synopsis: 'Lists PIN policies (the global one always exists).',
    params: [POLICY_ID, { name: 'Filter', type: 'string', help: 'Wildcard on the identity, e.g. "tag:*".' }, TENANT_PARAM],
    examples: [
      { command: 'Get-CsPinPolicy', effect: 'Every PIN policy.' },
      { command: 'Get-CsPinPolicy -Filter "tag:*"', effect: 'Only per-user policies.' },
    ],
    async run(io, p) {
      const rows = await getPinPolicies(io.scope, { identity: str(p, 'Identity'), filter: str(p, 'Filter') });
      return { kind: 'objects', objects: rows.map((r) => ({ ...r })), single: !!str(p, 'Identity') };
    },
  },
  {
    name: 'New-CsPinPolicy',
    synopsis: 'Creates a site or per-user PIN policy.',
    params: [{ ...POLICY_ID, mandatory: true }, ...POLICY_FIELDS, IN_MEMORY, TENANT_PARAM, FORCE_PARAM],
    examples: [{ command: 'New-CsPinPolicy -Identity "site:Redmond" -MinPasswordLength 10 -PINHistoryCount 10 -PINLifetime 30', effect: 'A stricter policy.' }],
    async run(io, p) {
      return { kind: 'objects', objects: [{ ...(await newPinPolicy(io.scope, str(p, 'Identity')!, policyPatch(p))) }], single: true };
    },
  },
  {
    name: 'Set-CsPinPolicy',
    synopsis: 'Changes a PIN policy (the global one without -Identity).',
    params: [POLICY_ID, ...POLICY_FIELDS, { name: 'Instance', type: 'list', help: 'Not supported.', unsupported: 'passes a PowerShell object; name the policy with -Identity and give the values' }, TENANT_PARAM, FORCE_PARAM, CONFIRM_PARAM],
    confirmImpact: true,
    examples: [{ command: 'Set-CsPinPolicy -Identity site:Redmond -MinPasswordLength 10', effect: 'PINs of at least 10 digits.' }],
    async run(io, p) {
      const patch = policyPatch(p);
      if (Object.keys(patch).length === 0) throw new AppError('MISSING_ARGUMENT', 'Give at least one policy value to change.');
      if (!(await io.confirm('Set PIN policy', str(p, 'Identity') ?? 'Global'))) return { kind: 'none', note: 'Nothing changed.' };
      return { kind: 'objects', objects: [{ ...(await setPinPolicy(io.scope, str(p, 'Identity'), patch)) }], single: true };
    },
  },
  {
    name: 'Remove-CsPinPolicy',
    synopsis: 'Removes a PIN policy (removing Global restores its defaults).',
    params: [{ ...POLICY_ID, mandatory: true }, TENANT_PARAM, FORCE_PARAM, CONFIRM_PARAM],
    confirmImpact: true,
    examples: [{ command: 'Remove-CsPinPolicy -Identity site:Redmond', effect: 'Deletes the policy.' }],
    async run(io, p) {
      if (!(await io.confirm('Remove PIN policy', str(p, 'Identity')!))) return { kind: 'none', note: 'Nothing changed.' };
      await removePinPolicy(io.scope, str(p, 'Identity')!);
      return { kind: 'none', note: `PIN policy ${str(p, 'Identity')} removed.` };
    },
  },
  {
    name: 'Grant-CsPinPolicy',
    synopsis: 'Assigns a per-user PIN policy to users ($null: back to the global policy).',
    params: [IDENTITY, { name: 'PolicyName', type: 'string', position: 1, help: 'The tag policy name, or $null.' }, { name: 'PassThru', type: 'switch', help: 'Print the users.' }, TENANT_PARAM],
    examples: [{ command: 'Grant-CsPinPolicy -Identity bob@contoso.com -PolicyName RedmondUsersPinPolicy', effect: "Bob's PIN follows that policy." }],
    async run(io, p) {
      if (p.PolicyName === undefined) throw new AppError('MISSING_ARGUMENT', 'Grant-CsPinPolicy needs -PolicyName (or $null to return to the global policy).', { field: 'PolicyName' });
      return runGroup(io, ids(p), 'granted the policy', perUser(async (trx, u) => {
        await grantPinPolicy(trx, io.scope, u, str(p, 'PolicyName'));
        return { outcome: 'done', output: { Identity: u.sip, PinPolicy: str(p, 'PolicyName') ?? 'Global' } };
      }));
    },
  },
];
