import type { CmdletDef } from '../cmdlet.ts';
import { tenantSettingsCmdlets } from './tenant-settings.ts';
import { bridgeCmdlets } from './bridges.ts';
import { dialInUserCmdlets } from './dialin-users.ts';
import { pinCmdlets } from './pins.ts';
import { acpCmdlets } from './acp.ts';
import { welcomeCmdlets } from './welcome.ts';
import { lyncCmdlets } from './lync.ts';
import { csUserCmdlets } from './cs-users.ts';

/** The table every cmdlet is defined in: the CLI, `dialin help` and the README reference read it. */
export const CMDLETS: readonly CmdletDef[] = [...tenantSettingsCmdlets, ...bridgeCmdlets, ...dialInUserCmdlets, ...pinCmdlets, ...acpCmdlets, ...welcomeCmdlets, ...lyncCmdlets, ...csUserCmdlets];

export function findCmdlet(name: string): CmdletDef | undefined {
  const lc = name.toLowerCase();
  return CMDLETS.find((c) => c.name.toLowerCase() === lc || c.aliases?.some((a) => a.toLowerCase() === lc));
}
