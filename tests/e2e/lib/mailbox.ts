// Messages in any folder over IMAP (Junk above all), and signing as an outside domain of the lab DNS.
import { join } from "node:path";
import { LAB_DIR, Lab, LabUser } from "./lab";
import { findIn, withImap } from "./imap";
import { runOk } from "./run";
import { waitFor } from "./wait";

export function waitForIn(lab: Lab, user: LabUser, folder: string, subject: string, timeoutMs = 60_000): Promise<string> {
  return waitFor(`"${subject}" in ${user.address}'s ${folder}`, () => findIn(lab, user, folder, subject), {
    timeoutMs,
    intervalMs: 1_000,
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
