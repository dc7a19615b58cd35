// A zone change: GCE cannot move a disk, and a disk made anew in the new zone would be empty. The data disk
// therefore keeps its zone (components/host.ts ignores a zone change) unless the change names a snapshot to make
// the new disk from; this says why a zone change without one cannot go ahead.
import type { MailStackConfig } from "./config";

/** The moving steps, in the operations docs. */
const HOW = "docs/operations.md, \"Moving to another zone\"";

/**
 * The refusal for a VM that would move to `config.gcp.zone` while its data disk stays in `diskZone`, or undefined
 * when they agree (no zone change, or a move that makes the new disk from dataDiskSnapshot).
 */
export function zoneMoveProblem(diskZone: string, config: Pick<MailStackConfig, "gcp" | "protectData" | "dataDiskSnapshot">): string | undefined {
  if (diskZone === config.gcp.zone) return undefined;
  const move = `gcp:zone ${config.gcp.zone}: the mail data disk is in ${diskZone}, and GCE cannot move a disk; a new disk in ` +
    `${config.gcp.zone} would be empty. A move makes the new disk from a snapshot of the old one: stop Postfix and Dovecot ` +
    "on the VM, snapshot the data disk, then set mailserver:dataDiskSnapshot to that snapshot together with the new zone";
  return config.protectData
    ? `${move}. This stack protects its data (mailserver:protectData): the new VM and disk replace protected resources, ` +
      `so set protectData to false and deploy that first, and set it back after the move (${HOW}).`
    : `${move} (${HOW}).`;
}
