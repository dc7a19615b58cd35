// rspamd's Bayes learning on the lab machine: what it has learned (in redis), and a message it can learn from.
import type { ImapFlow } from "imapflow";
import { Lab, LabUser, outsideSender, token } from "./lab";
import { onMachineOk } from "./machine";
import { waitForInbox, withImap } from "./imap";
import { envelope, message, outsideDialog } from "./smtp";

export interface Learned { spam: number; ham: number }

/**
 * rspamd's learned counts, as redis holds them: the Bayes backend counts learns in the hash RS (learns_spam,
 * learns_ham), written before the learn answers. `rspamc stat` shows the same numbers
 * ("learned: N") but from a copy its workers refresh every few seconds, so it lags a move.
 */
export async function learned(lab: Lab): Promise<Learned> {
  const out = await onMachineOk(lab, "redis-cli --no-raw HGET RS learns_spam; redis-cli --no-raw HGET RS learns_ham");
  const [spam, ham] = out.trim().split("\n").map((l) => (l.trim() === "(nil)" ? 0 : Number(/^\(integer\) (\d+)$|^"(\d+)"$/.exec(l.trim())?.slice(1).find(Boolean))));
  if (!Number.isInteger(spam) || !Number.isInteger(ham)) throw new Error(`unexpected redis answers:\n${out}`);
  return { spam, ham };
}

/** A message with enough words of its own for Bayes (min_tokens 11), delivered from outside to `to`'s INBOX; its subject. */
export async function deliverLearnable(lab: Lab, to: LabUser, label: string): Promise<string> {
  const subject = token(label);
  const from = outsideSender(lab);
  const words = Array.from({ length: 40 }, (_, i) => `${subject.replace(/[^a-z0-9]/g, "")}w${i}`).join(" ");
  const d = await outsideDialog(lab);
  try {
    const accepted = await envelope(d, from, to.address);
    if (accepted.code !== 250) throw new Error(`RCPT ${to.address}: ${accepted.code} ${accepted.text}`);
    const sent = await d.data(message(from, to.address, subject, `Notes from the meeting: ${words}.\r\n`));
    if (sent.code !== 250) throw new Error(`DATA for ${subject}: ${sent.code} ${sent.text}`);
  } finally {
    d.close();
  }
  await waitForInbox(lab, to, subject);
  return subject;
}

/** Moves `user`'s one message whose subject holds `subject` from one folder to another (IMAP MOVE), creating the target. */
export async function moveMessage(lab: Lab, user: LabUser, subject: string, from: string, to: string): Promise<void> {
  await withImap(lab, user, async (c: ImapFlow) => {
    if (!(await c.list()).some((m) => m.path === to)) await c.mailboxCreate(to);
    const lock = await c.getMailboxLock(from);
    try {
      const uids = (await c.search({ subject }, { uid: true })) || [];
      if (uids.length !== 1) throw new Error(`${uids.length} messages with "${subject}" in ${user.address}'s ${from}, not 1`);
      if (!(await c.messageMove(String(uids[0]), to, { uid: true }))) throw new Error(`MOVE of "${subject}" to ${to} failed`);
    } finally {
      lock.release();
    }
  });
}
