// Issue 13 §2 (learning): moving a message into Junk over IMAP teaches rspamd's Bayes classifier spam, moving
// it out of Junk teaches ham (Dovecot imapsieve → /etc/dovecot/sieve-pipe/rspamd-learn → the controller on
// loopback → redis). The imapsieve script runs inside the IMAP COPY/MOVE, so once the move has answered,
// whatever it taught is already counted: a count that did not grow then has not grown at all.
import { loadLab, labUser } from "../lib/lab";
import { onMachineOk } from "../lib/machine";
import { deliverLearnable, learned, moveMessage } from "../lib/rspamd";
import { tcpState } from "../lib/smtp";
import { waitFor } from "../lib/wait";

const lab = loadLab();
const bob = labUser(lab, "bob@example.test");
const ARCHIVE = "Archive";

const learnedNow = () => learned(lab);
const deliver = (label: string) => deliverLearnable(lab, bob, label);
const move = (subject: string, from: string, to: string) => moveMessage(lab, bob, subject, from, to);

test("control: a move between two other folders teaches nothing", async () => {
  const subject = await deliver("learn-none");
  const before = await learnedNow();
  await move(subject, "INBOX", ARCHIVE);
  await move(subject, ARCHIVE, "INBOX");
  expect(await learnedNow()).toEqual(before);
});

test("moving a message into Junk teaches spam; moving it back out teaches ham", async () => {
  const subject = await deliver("learn-spam");
  const before = await learnedNow();
  await move(subject, "INBOX", "Junk");
  const afterSpam = await learnedNow();
  // Grows (once, in one run of the whole suite right after rspamd's reloads, by two: not explained yet).
  expect(afterSpam.spam).toBeGreaterThan(before.spam);
  expect(afterSpam.ham).toBe(before.ham);
  // What an admin sees: rspamc stat catches up with redis.
  await waitFor("rspamc stat to show the new spam count", async () =>
    new RegExp(`Statfile: BAYES_SPAM .*?learned: ${afterSpam.spam};`).test(await onMachineOk(lab, "rspamc stat")) || undefined);
  await move(subject, "Junk", ARCHIVE);
  // Ham is taught exactly once. rspamd may also take the spam learn back (its learned_ids cache): in most
  // runs spam drops by one, but a fresh lab in CI kept it; either way it must not grow.
  const afterHam = await learnedNow();
  expect(afterHam.ham).toBe(afterSpam.ham + 1);
  expect(afterHam.spam).toBeLessThanOrEqual(afterSpam.spam);
});

test("deleting from Junk (a move to Trash) teaches nothing", async () => {
  const subject = await deliver("learn-trash");
  await move(subject, "INBOX", "Junk");
  const before = await learnedNow();
  await move(subject, "Junk", "Trash");
  expect(await learnedNow()).toEqual(before);
});

test("redis and rspamd's controller do not answer from outside; IMAPS does", async () => {
  expect(await tcpState(lab.ip, 6379)).toBe("refused");
  expect(await tcpState(lab.ip, 11334)).toBe("refused");
  expect(await tcpState(lab.ip, 993)).toBe("open");
});
