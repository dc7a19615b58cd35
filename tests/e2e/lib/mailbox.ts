// Messages in any folder over IMAP (Junk above all), and signing as an outside domain of the lab DNS.
import { join } from "node:path";
import { LAB_DIR, Lab, LabUser } from "./lab";
import { withImap } from "./imap";
import { runOk } from "./run";
import { waitFor } from "./wait";

/** The raw source of the message in `folder` whose subject contains `subject`, or undefined. */
export async function findIn(lab: Lab, user: LabUser, folder: string, subject: string): Promise<string | undefined> {
  return withImap(lab, user, async (c) => {
    // A folder that was never created (Junk before its first message) holds nothing.
    const list = await c.list();
    if (!list.some((m) => m.path === folder)) return undefined;
    const lock = await c.getMailboxLock(folder);
    try {
      const uids = await c.search({ subject }, { uid: true });
      if (!uids || uids.length === 0) return undefined;
      const msg = await c.fetchOne(String(uids[uids.length - 1]), { source: true }, { uid: true });
      return msg && msg.source ? msg.source.toString() : undefined;
    } finally {
      lock.release();
    }
  });
}

export function waitForIn(lab: Lab, user: LabUser, folder: string, subject: string, timeoutMs = 60_000): Promise<string> {
  return waitFor(`"${subject}" in ${user.address}'s ${folder}`, () => findIn(lab, user, folder, subject), {
    timeoutMs,
    intervalMs: 2_000,
  });
}

/** Deletes every message of a user's INBOX and Junk (a test that fills a mailbox starts from empty). */
export async function emptyMailbox(lab: Lab, user: LabUser): Promise<void> {
  await withImap(lab, user, async (c) => {
    const paths = (await c.list()).map((m) => m.path);
    for (const folder of ["INBOX", "Junk"].filter((f) => paths.includes(f))) {
      const lock = await c.getMailboxLock(folder);
      try {
        await c.messageDelete("1:*");
      } finally {
        lock.release();
      }
    }
  });
}

/** The message signed with the lab's outside domain key (lab/dns.ts publishes its record), by python3-dkim. */
export async function signAsOutside(message: string, domain: string, selector = "s1"): Promise<string> {
  const key = join(LAB_DIR, "outside", "dkim.pem");
  const r = await runOk("/usr/bin/dkimsign", [selector, domain, key], { input: message });
  // The signature's own lines come with bare LF; SMTP wants CRLF everywhere (the body keeps its bytes).
  return r.stdout.replace(/\r?\n/g, "\r\n");
}

/** The header's unfolded values, in order. */
export function headerValues(source: string, name: string): string[] {
  const head = source.split(/\r?\n\r?\n/)[0].replace(/\r?\n[ \t]+/g, " ");
  const prefix = `${name.toLowerCase()}:`;
  return head.split(/\r?\n/).filter((l) => l.toLowerCase().startsWith(prefix)).map((l) => l.slice(prefix.length).trim());
}
