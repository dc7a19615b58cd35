// When each message became visible in its mailbox, read on the machine: Dovecot's LMTP writes a message
// into Maildir/tmp and then renames it into new/ (or a folder's new/, e.g. Junk by the sieve script),
// which sets the file's change time (ctime, nanoseconds). From that moment an IMAP client sees it. The lab
// machine is a container on the same kernel as the benchmark, so its clock is the benchmark's clock.
// Read before any IMAP client opens the mailbox: Dovecot moves new/ to cur/ on SELECT, a rename that
// moves ctime again.
import { Lab } from "../../tests/e2e/lib/lab";
import { onMachineOk, shellQuote } from "../../tests/e2e/lib/machine";
import { sleep } from "../../tests/e2e/lib/wait";

/** Every message of a run carries this prefix in its subject, so that cleanup finds them all. */
export const SUBJECT_PREFIX = "bench-";

export interface Delivered {
  index: number;
  ms: number;
  /** The Maildir folder ("" for INBOX, ".Junk" …). */
  folder: string;
}

export async function maildir(lab: Lab, address: string): Promise<string> {
  const home = (await onMachineOk(lab, `doveadm user -f home ${shellQuote(address)}`)).trim();
  if (!home.startsWith("/")) throw new Error(`doveadm gave no home for ${address}: "${home}"`);
  return `${home}/Maildir`;
}

const MESSAGE_FILES = `\\( -path '*/new/*' -o -path '*/cur/*' \\) -type f`;

export async function countMessageFiles(lab: Lab, dir: string): Promise<number> {
  const out = await onMachineOk(lab, `mkdir -p ${shellQuote(dir)} && cd ${shellQuote(dir)} && find . ${MESSAGE_FILES} | wc -l`);
  return Number(out.trim());
}

/**
 * Waits until `expected` more message files than `baseline` are in the Maildir, or until none has been
 * added for `stallMs` (then the missing ones are counted as lost). Polls every 2 s: the times come from
 * the files, so polling more often would only load the machine being measured.
 */
export async function waitForFiles(lab: Lab, dir: string, baseline: number, expected: number, stallMs = 60_000): Promise<number> {
  let seen = -1;
  let progressAt = Date.now();
  for (;;) {
    const n = (await countMessageFiles(lab, dir)) - baseline;
    if (n >= expected) return n;
    if (n > seen) {
      seen = n;
      progressAt = Date.now();
    } else if (Date.now() - progressAt > stallMs) {
      return n;
    }
    await sleep(2_000);
  }
}

/** `find -printf '%C@ %p\n'` lines and `grep -H 'Subject: <tag> '` lines → one delivery per matching file. */
export function parseDeliveries(ctimes: string, subjects: string, tag: string): Delivered[] {
  const ctimeOf = new Map<string, number>();
  for (const line of ctimes.split("\n").filter(Boolean)) {
    const space = line.indexOf(" ");
    ctimeOf.set(line.slice(space + 1), Number(line.slice(0, space)) * 1000);
  }
  const marker = `:Subject: ${tag} `;
  const out: Delivered[] = [];
  for (const line of subjects.split("\n").filter(Boolean)) {
    // Maildir names may contain ':' (":2,S"), the marker cannot: split at the marker.
    const at = line.indexOf(marker);
    if (at < 0) continue;
    const path = line.slice(0, at);
    const index = Number(line.slice(at + marker.length).trim());
    const ms = ctimeOf.get(path);
    if (!Number.isInteger(index) || ms === undefined) continue;
    const folder = /^\.\/(.*?)\/?(new|cur)\/[^/]+$/.exec(path)?.[1] ?? "";
    out.push({ index, ms, folder });
  }
  return out.sort((a, b) => a.index - b.index);
}

/** Every message of `tag` in the Maildir with the time it became visible. */
export async function deliveries(lab: Lab, dir: string, tag: string): Promise<Delivered[]> {
  const cd = `cd ${shellQuote(dir)}`;
  const [ctimes, subjects] = await Promise.all([
    onMachineOk(lab, `${cd} && find . ${MESSAGE_FILES} -printf '%C@ %p\\n'`),
    // grep exits 1 when nothing matches: an answer here, not an error.
    onMachineOk(lab, `${cd} && find . ${MESSAGE_FILES} -exec grep -m1 -H -F -- ${shellQuote(`Subject: ${tag} `)} {} + || true`),
  ]);
  return parseDeliveries(ctimes, subjects, tag);
}

/** Messages still in Postfix's queue (deferred or active): where a message that did not arrive waits. */
export async function queuedCount(lab: Lab): Promise<number> {
  const out = await onMachineOk(lab, "postqueue -j");
  return out.split("\n").filter((l) => l.trim().startsWith("{")).length;
}

/** Expunges every benchmark message from every folder of these mailboxes (doveadm, on the machine). */
export async function expungeBenchMail(lab: Lab, addresses: string[]): Promise<void> {
  const script = addresses
    .map((a) => `doveadm expunge -u ${shellQuote(a)} mailbox '*' subject ${shellQuote(SUBJECT_PREFIX)}`)
    .join("\n");
  await onMachineOk(lab, script);
}
