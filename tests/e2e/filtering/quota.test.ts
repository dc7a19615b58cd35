// Issue 13 §5: a per-user quota enforced by Dovecot, refused at RCPT by its quota-status policy service
// (the sender learns it at once, no bounce), with a warning to the user near the limit. The lab gives
// dave@example2.test a quota of 1 MB of his own (lab/stack.yaml); bob keeps the default.
import { loadLab, labUser, outsideSender, token } from "../lib/lab";
import { waitForInbox } from "../lib/imap";
import { emptyMailbox } from "../lib/mailbox";
import { message, outsideDialog, SmtpDialog } from "../lib/smtp";

const lab = loadLab();
const dave = labUser(lab, "dave@example2.test");
const bob = labUser(lab, "bob@example.test");
const outsider = outsideSender(lab);
const MB = 1024 * 1024;

/** MAIL with a declared SIZE, then RCPT: the reply to RCPT. */
async function rcptWithSize(d: SmtpDialog, to: string, size: number) {
  expect((await d.command(`MAIL FROM:<${outsider}> SIZE=${size}`)).code).toBe(250);
  const r = await d.command(`RCPT TO:<${to}>`);
  await d.command("RSET");
  return r;
}

beforeAll(async () => {
  await emptyMailbox(lab, dave);
});

test("a message that would exceed the recipient's quota is refused at RCPT with 552 5.2.2; control: the default quota takes it", async () => {
  const d = await outsideDialog(lab);
  try {
    const over = await rcptWithSize(d, dave.address, 2 * MB);
    expect(over.code).toBe(552);
    expect(over.text).toMatch(/^552 5\.2\.2 .*quota is exceeded/);
    expect((await rcptWithSize(d, bob.address, 2 * MB)).code).toBe(250);
    expect((await rcptWithSize(d, dave.address, 10_000)).code).toBe(250);
  } finally {
    d.close();
  }
});

test("near the limit the user is warned, and the next message that does not fit is refused at RCPT", async () => {
  const subject = token("quota-fill");
  // About 92% of 1 MB: accepted, and it crosses the 80% and 90% warning levels.
  const line = "x".repeat(998);
  const body = Array.from({ length: Math.floor((0.92 * MB) / 1000) }, () => line).join("\r\n") + "\r\n";
  const d = await outsideDialog(lab);
  try {
    expect((await d.command(`MAIL FROM:<${outsider}>`)).code).toBe(250);
    expect((await d.command(`RCPT TO:<${dave.address}>`)).code).toBe(250);
    expect((await d.data(message(outsider, dave.address, subject, body))).code).toBe(250);
  } finally {
    d.close();
  }
  await waitForInbox(lab, dave, subject);
  const warning = await waitForInbox(lab, dave, "Your mailbox is 90% full");
  expect(warning).toContain(`Your mailbox ${dave.address} on ${lab.hostname} is 90% full`);

  const again = await outsideDialog(lab);
  try {
    const r = await rcptWithSize(again, dave.address, 200_000);
    expect(r.code).toBe(552);
    expect(r.text).toMatch(/^552 5\.2\.2 .*Mailbox is full/);
  } finally {
    again.close();
  }
});
