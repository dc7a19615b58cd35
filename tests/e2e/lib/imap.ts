// IMAP over implicit TLS (993) with imapflow: find a message by its subject token, with a bounded wait.
import { ImapFlow } from "imapflow";
import { Lab, LabUser, labCa } from "./lab";
import { waitFor } from "./wait";

export async function withImap<T>(lab: Lab, user: LabUser, fn: (c: ImapFlow) => Promise<T>): Promise<T> {
  const client = new ImapFlow({
    host: lab.ip,
    port: 993,
    secure: true,
    servername: lab.hostname,
    auth: { user: user.address, pass: user.password },
    tls: { ca: labCa(lab), rejectUnauthorized: true },
    logger: false,
    connectionTimeout: 15_000,
  });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.logout().catch(() => client.close());
  }
}

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

/** The raw source of the INBOX message whose subject contains `subject`, or undefined. */
export function findInInbox(lab: Lab, user: LabUser, subject: string): Promise<string | undefined> {
  return findIn(lab, user, "INBOX", subject);
}

export function waitForInbox(lab: Lab, user: LabUser, subject: string, timeoutMs = 60_000): Promise<string> {
  return waitFor(`"${subject}" in ${user.address}'s INBOX`, () => findInInbox(lab, user, subject), {
    timeoutMs,
    intervalMs: 1_000,
  });
}

/** How many INBOX messages have `subject` in their subject. */
export async function inboxCount(lab: Lab, user: LabUser, subject: string): Promise<number> {
  return (await inboxSubjects(lab, user, subject)).length;
}

/** The subjects of the INBOX messages that have `subject` in their subject, one entry per message. */
export async function inboxSubjects(lab: Lab, user: LabUser, subject: string): Promise<string[]> {
  return withImap(lab, user, async (c) => {
    const lock = await c.getMailboxLock("INBOX");
    try {
      const uids = await c.search({ subject }, { uid: true });
      if (!uids || uids.length === 0) return [];
      const found: string[] = [];
      for await (const msg of c.fetch(uids, { envelope: true }, { uid: true })) found.push(msg.envelope?.subject ?? "");
      return found;
    } finally {
      lock.release();
    }
  });
}
