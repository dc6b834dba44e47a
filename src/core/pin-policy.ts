import { AppError } from './errors.ts';

/** A PIN policy with the CsPinPolicy property names. */
export interface PinPolicy {
  Identity: string; // "Global", "site:Redmond" or "tag:Name"
  Description: string | null;
  MinPasswordLength: number;
  PINHistoryCount: number;
  PINLifetime: number;
  AllowCommonPatterns: boolean;
  MaximumLogonAttempts: number | null;
}

export const DEFAULT_PIN_POLICY: Readonly<Omit<PinPolicy, 'Identity'>> = Object.freeze({
  Description: null,
  MinPasswordLength: 5,
  PINHistoryCount: 0,
  PINLifetime: 0,
  AllowCommonPatterns: false,
  MaximumLogonAttempts: null,
});

/**
 * Canonical policy identity: `Global`, `site:X`, or `tag:X` (a bare name means a per-user tag,
 * as `Set-CsPinPolicy -Identity RedmondUsersPinPolicy` does in Microsoft's examples).
 */
export function policyIdentity(input: string | null | undefined): string {
  const s = String(input ?? '').trim();
  if (s === '' || s.toLowerCase() === 'global') return 'Global';
  const m = /^(site|tag):(.+)$/i.exec(s);
  const kind = m ? m[1]!.toLowerCase() : 'tag';
  const name = (m ? m[2]! : s).trim();
  if (!/^[A-Za-z0-9 _.\-]{1,64}$/.test(name)) {
    throw new AppError('PIN_POLICY_INVALID', `Identity "${s}" is not a valid policy name (letters, digits, space, _ . -).`, { field: 'Identity' });
  }
  return `${kind}:${name}`;
}

/** Validates a patch and returns the merged policy (PINLifetime > 0 needs PINHistoryCount > 0). */
export function applyPolicyPatch(current: PinPolicy, patch: Partial<PinPolicy>): PinPolicy {
  const next = { ...current };
  const intIn = (k: keyof PinPolicy, v: unknown, min: number, max: number): number => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      throw new AppError('PIN_POLICY_INVALID', `${k} must be a whole number from ${min} to ${max}.`, { field: k });
    }
    return v;
  };
  if (patch.MinPasswordLength !== undefined) next.MinPasswordLength = intIn('MinPasswordLength', patch.MinPasswordLength, 4, 24);
  if (patch.PINHistoryCount !== undefined) next.PINHistoryCount = intIn('PINHistoryCount', patch.PINHistoryCount, 0, 20);
  if (patch.PINLifetime !== undefined) next.PINLifetime = intIn('PINLifetime', patch.PINLifetime, 0, 999);
  if (patch.MaximumLogonAttempts !== undefined) {
    next.MaximumLogonAttempts = patch.MaximumLogonAttempts === null ? null : intIn('MaximumLogonAttempts', patch.MaximumLogonAttempts, 1, 999);
  }
  if (patch.AllowCommonPatterns !== undefined) {
    if (typeof patch.AllowCommonPatterns !== 'boolean') throw new AppError('PIN_POLICY_INVALID', 'AllowCommonPatterns must be $true or $false.', { field: 'AllowCommonPatterns' });
    next.AllowCommonPatterns = patch.AllowCommonPatterns;
  }
  if (patch.Description !== undefined) next.Description = patch.Description === null ? null : String(patch.Description).slice(0, 1024);
  if (next.PINLifetime > 0 && next.PINHistoryCount === 0) {
    throw new AppError('PIN_POLICY_INVALID', 'PINLifetime can be set only when PINHistoryCount is greater than 0.', { field: 'PINHistoryCount' });
  }
  return next;
}
