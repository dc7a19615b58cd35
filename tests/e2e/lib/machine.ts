// Commands on the lab machine, as on GCE: over SSH as the deploy user, with sudo, script on stdin.
import { Lab } from "./lab";
import { run, RunResult } from "./run";
import { waitFor } from "./wait";

export function onMachine(lab: Lab, script: string, timeoutMs = 120_000): Promise<RunResult> {
  return run("sh", ["-c", `${lab.ssh} sudo -n bash -s`], {
    input: `set -euo pipefail\n${script}\n`,
    timeoutMs,
  });
}

export async function onMachineOk(lab: Lab, script: string, timeoutMs = 120_000): Promise<string> {
  const r = await onMachine(lab, script, timeoutMs);
  if (r.code !== 0) throw new Error(`on the lab machine, exit ${r.code}:\n${script}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
  return r.stdout;
}

/** "250 2.0.0 Ok: queued as 4Xb7Kq1Q3Zz9" → "4Xb7Kq1Q3Zz9". */
export function queueId(response: string): string {
  const m = /queued as ([0-9A-Za-z]+)/.exec(response);
  if (!m) throw new Error(`no Postfix queue id in "${response}"`);
  return m[1];
}

/** Postfix's queue on the lab machine: queue id → the queue it is in (active, deferred, hold …). */
export async function postfixQueue(lab: Lab): Promise<Map<string, string>> {
  // postqueue -j prints one JSON object per queued message.
  const lines = (await onMachineOk(lab, "postqueue -j")).split("\n").filter((l) => l.trim().startsWith("{"));
  return new Map(lines.map((l) => JSON.parse(l) as { queue_id: string; queue_name: string }).map((m) => [m.queue_id, m.queue_name]));
}

/** Waits until Postfix's queue no longer holds the message: delivered, discarded or bounced, not deferred. */
export function waitUntilDequeued(lab: Lab, id: string, timeoutMs = 60_000): Promise<true> {
  return waitFor(`Postfix to finish with queue id ${id}`, async () => ((await postfixQueue(lab)).has(id) ? undefined : true),
    { timeoutMs, intervalMs: 1_000 });
}

/** Paths of the stored messages (Maildir cur/new/tmp files, not Dovecot's indexes) that contain `needle`. */
export async function mailStoreFilesWith(lab: Lab, needle: string): Promise<string[]> {
  // grep exits 1 when nothing matches: that is the expected answer here, not an error.
  const out = await onMachineOk(lab, `find /srv/mail/vmail -path '*/Maildir*' \\( -path '*/cur/*' -o -path '*/new/*' -o -path '*/tmp/*' \\) -type f ` +
    `-exec grep -lF -- ${shellQuote(needle)} {} + || true`);
  return out.split("\n").filter((l) => l.length > 0);
}

export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
