// Issue 13 §7: a catch-all per domain (alias source @domain, lab/stack.yaml: @example2.test → alice). It takes
// only addresses that are neither a mailbox nor an alias, and its target may not send as them.
import { findInInbox, waitForInbox } from "../lib/imap";
import { loadLab, labUser, outsideSender, token } from "../lib/lab";
import { envelope, message, outsideDialog, submissionDialog } from "../lib/smtp";

const lab = loadLab();
const alice = labUser(lab, "alice@example.test");
const carol = labUser(lab, "carol@example2.test");
const outsider = outsideSender(lab);

async function sendOutside(to: string, subject: string): Promise<void> {
  const d = await outsideDialog(lab);
  try {
    expect((await envelope(d, outsider, to)).code).toBe(250);
    expect((await d.data(message(outsider, to, subject))).code).toBe(250);
  } finally {
    d.close();
  }
}

test("mail from outside to a made-up address of a domain with a catch-all reaches the catch-all's target", async () => {
  const subject = token("catch-all");
  await sendOutside(`nobody-${subject}@example2.test`, subject);
  const source = await waitForInbox(lab, alice, subject);
  expect(source).toContain(`To: <nobody-${subject}@example2.test>`);
});

test("control: a domain without a catch-all still refuses an unknown recipient at RCPT", async () => {
  const d = await outsideDialog(lab);
  try {
    expect((await d.command(`MAIL FROM:<${outsider}>`)).code).toBe(250);
    const r = await d.command(`RCPT TO:<nobody-${token("x")}@example.test>`);
    expect(r.code).toBe(550);
    expect(r.text).toMatch(/5\.1\.1/);
    expect((await d.command(`RCPT TO:<nobody-${token("y")}@example2.test>`)).code).toBe(250);
  } finally {
    d.close();
  }
});

test("a mailbox of the catch-all domain still gets its own mail, and the catch-all's target does not", async () => {
  const subject = token("catch-all-own");
  await sendOutside(carol.address, subject);
  await waitForInbox(lab, carol, subject);
  expect(await findInInbox(lab, alice, subject)).toBeUndefined();
});

test("the catch-all's target may not send as a made-up address of the domain; as its own it may", async () => {
  const d = await submissionDialog(lab, alice);
  try {
    const r = await envelope(d, `nobody-${token("z")}@example2.test`, outsider);
    expect(r.code).toBe(553);
    expect(r.text).toMatch(/not owned by user alice@example\.test/);
    await d.command("RSET");
    expect((await envelope(d, alice.address, outsider)).code).toBe(250);
  } finally {
    d.close();
  }
});
