// Issue 6 §4 cases 1 and 2: submission on 587 (STARTTLS, then AUTH) and 465 (implicit TLS).
import { loadLab, labUser, token } from "./lib/lab";
import { waitForInbox } from "./lib/imap";
import { SmtpDialog, labTls, plaintextProbe, submission } from "./lib/smtp";

const lab = loadLab();
const alice = labUser(lab, "alice@example.test");
const bob = labUser(lab, "bob@example.test");

describe("587 submission (case 1)", () => {
  test("AUTH is offered only after STARTTLS", async () => {
    const d = await SmtpDialog.open(lab.ip, 587);
    try {
      expect(d.greeting.code).toBe(220);
      const before = await d.ehlo();
      expect(before.reply.code).toBe(250);
      expect(before.keywords).toContain("STARTTLS");
      expect(before.keywords).not.toContain("AUTH");
      await d.starttls(labTls(lab));
      const after = await d.ehlo();
      expect(after.keywords).toContain("AUTH");
      expect(after.keywords).not.toContain("STARTTLS");
    } finally {
      d.close();
    }
  });

  test("with the right password, a message to bob arrives in bob's IMAP INBOX", async () => {
    const subject = token("587");
    const info = await submission(lab, alice, 587).sendMail({
      from: alice.address, to: bob.address, subject, text: "case 1: submission on 587\n",
    });
    expect(info.accepted).toEqual([bob.address]);
    const source = await waitForInbox(lab, bob, subject);
    expect(source).toContain("case 1: submission on 587");
  });

  test("a wrong password gets 535", async () => {
    const d = await SmtpDialog.open(lab.ip, 587);
    try {
      await d.ehlo();
      await d.starttls(labTls(lab));
      await d.ehlo();
      const r = await d.authPlain(alice.address, `${alice.password}-wrong`);
      expect(r.code).toBe(535);
      // The same dialog then accepts the right password: 535 was about the password, not the session.
      expect((await d.authPlain(alice.address, alice.password)).code).toBe(235);
    } finally {
      d.close();
    }
  });
});

describe("465 implicit-TLS submission (case 2)", () => {
  test("nodemailer with secure: true delivers to bob", async () => {
    const subject = token("465");
    const info = await submission(lab, alice, 465).sendMail({
      from: alice.address, to: bob.address, subject, text: "case 2: submission on 465\n",
    });
    expect(info.accepted).toEqual([bob.address]);
    expect(await waitForInbox(lab, bob, subject)).toContain("case 2: submission on 465");
  });

  test("a plaintext SMTP client on 465 gets no SMTP dialog", async () => {
    const probe = await plaintextProbe(lab.ip, 465);
    // The port is open (TLS lives there), but it never greets or answers in clear text.
    expect(probe.connected).toBe(true);
    expect(probe.received).not.toMatch(/^220[ -]/m);
    expect(probe.received).not.toMatch(/^250[ -]/m);
  });
});
