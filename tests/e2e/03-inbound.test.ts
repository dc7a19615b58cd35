// Issue 6 §4 case 4: port 25 as the Internet sees it, from the host side of the lab network (not the
// machine's loopback, which mynetworks trusts): delivery to hosted mail, STARTTLS without AUTH, no relaying.
import { loadLab, labUser, outsideSender, token } from "./lib/lab";
import { waitForInbox } from "./lib/imap";
import { SmtpDialog, labTls, message } from "./lib/smtp";

const lab = loadLab();
const bob = labUser(lab, "bob@example.test");
const outsider = outsideSender(lab);

function fromOutside(): Promise<SmtpDialog> {
  return SmtpDialog.open(lab.ip, 25, { localAddress: lab.hostAddress });
}

test("STARTTLS is offered and AUTH is not, before or after STARTTLS", async () => {
  const d = await fromOutside();
  try {
    expect(d.greeting.code).toBe(220);
    const before = await d.ehlo();
    expect(before.keywords).toContain("STARTTLS");
    expect(before.keywords).not.toContain("AUTH");
    await d.starttls(labTls(lab));
    const after = await d.ehlo();
    expect(after.reply.code).toBe(250);
    expect(after.keywords).not.toContain("AUTH");
  } finally {
    d.close();
  }
});

test("mail from outside to a hosted address is delivered", async () => {
  const subject = token("inbound");
  const d = await fromOutside();
  try {
    await d.ehlo();
    await d.starttls(labTls(lab));
    await d.ehlo();
    expect((await d.command(`MAIL FROM:<${outsider}>`)).text).toMatch(/^250/);
    expect((await d.command(`RCPT TO:<${bob.address}>`)).text).toMatch(/^250/);
    const r = await d.data(message(outsider, bob.address, subject, "case 4: inbound on 25\r\n"));
    expect(r.text).toMatch(/^250/);
  } finally {
    d.close();
  }
  expect(await waitForInbox(lab, bob, subject)).toContain("case 4: inbound on 25");
});

test.each([
  ["in clear text", false],
  ["after STARTTLS", true],
])("relaying to an outside domain without AUTH is rejected (%s)", async (_label, useTls) => {
  const d = await fromOutside();
  try {
    await d.ehlo();
    if (useTls) {
      await d.starttls(labTls(lab));
      await d.ehlo();
    }
    expect((await d.command(`MAIL FROM:<${outsider}>`)).code).toBe(250);
    const r = await d.command("RCPT TO:<someone@outside.invalid>");
    expect([454, 554]).toContain(r.code);
    expect(r.text).toMatch(/Relay access denied/i);
  } finally {
    d.close();
  }
});
