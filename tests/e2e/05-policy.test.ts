// Issue 6 §4 case 6: sender ownership, unknown recipients, the postmaster alias and the discarding no-reply.
import { loadLab, labUser, outsideSender, token } from "./lib/lab";
import { waitForInbox } from "./lib/imap";
import { mailStoreFilesWith, queueId, waitUntilDequeued } from "./lib/machine";
import { SmtpDialog, labTls, submission, submissionDialog } from "./lib/smtp";
import { spooledWith } from "./lib/spool";

const lab = loadLab();
const alice = labUser(lab, "alice@example.test");
const bob = labUser(lab, "bob@example.test");
const outsider = outsideSender(lab);

test("alice cannot send as bob (553 5.7.1), but can send as herself", async () => {
  const d = await submissionDialog(lab, alice);
  try {
    // Postfix may defer the sender check to RCPT (smtpd_delay_reject): the first refusal counts.
    const mail = await d.command(`MAIL FROM:<${bob.address}>`);
    const refusal = mail.code >= 400 ? mail : await d.command(`RCPT TO:<${bob.address}>`);
    expect(refusal.code).toBe(553);
    expect(refusal.text).toMatch(/5\.7\.1/);
    expect((await d.command("RSET")).code).toBe(250);
    expect((await d.command(`MAIL FROM:<${alice.address}>`)).code).toBe(250);
    expect((await d.command(`RCPT TO:<${bob.address}>`)).code).toBe(250);
  } finally {
    d.close();
  }
});

test("an unknown recipient is rejected at RCPT with 550 5.1.1", async () => {
  const d = await SmtpDialog.open(lab.ip, 25, { localAddress: lab.hostAddress });
  try {
    await d.ehlo();
    await d.starttls(labTls(lab));
    await d.ehlo();
    expect((await d.command(`MAIL FROM:<${outsider}>`)).code).toBe(250);
    const r = await d.command(`RCPT TO:<nobody-${token("x")}@example.test>`);
    expect(r.code).toBe(550);
    expect(r.text).toMatch(/5\.1\.1/);
    // Control: a hosted mailbox in the same transaction is accepted.
    expect((await d.command(`RCPT TO:<${bob.address}>`)).code).toBe(250);
  } finally {
    d.close();
  }
});

const postmasterSubject = token("postmaster");

test("postmaster@example.test reaches alice's INBOX", async () => {
  const subject = postmasterSubject;
  await submission(lab, bob, 587).sendMail({
    from: bob.address, to: "postmaster@example.test", subject, text: "case 6: to the postmaster\n",
  });
  expect(await waitForInbox(lab, alice, subject)).toContain("case 6: to the postmaster");
});

test("mail to no-reply@example.test is accepted, then lands in no mailbox and not at the relay", async () => {
  const subject = token("noreply");
  const info = await submission(lab, bob, 587).sendMail({
    from: bob.address, to: "no-reply@example.test", subject, text: "case 6: into the void\n",
  });
  expect(info.accepted).toEqual(["no-reply@example.test"]);
  // Absence means something only once Postfix is done with the message (not deferred, not still queued).
  await waitUntilDequeued(lab, queueId(info.response));
  expect(await mailStoreFilesWith(lab, subject)).toEqual([]);
  // Control: the same search does find the message delivered to the postmaster above.
  expect(await mailStoreFilesWith(lab, postmasterSubject)).not.toEqual([]);
  expect(spooledWith(lab, subject)).toEqual([]);
});
