// Issue 13 §6: users' own sieve scripts over ManageSieve (4190): STARTTLS before any login, scripts on the
// data disk beside the mailbox, each user sees only their own; the global Junk rule runs first.
import { loadLab, labUser, outsideSender, token } from "../lib/lab";
import { onMachineOk } from "../lib/machine";
import { findIn } from "../lib/imap";
import { waitForIn } from "../lib/mailbox";
import { activateScript, ManageSieve, managesieveSession } from "../lib/managesieve";
import { envelope, labTls, message, outsideDialog } from "../lib/smtp";
import { waitForSpool } from "../lib/spool";

const lab = loadLab();
const carol = labUser(lab, "carol@example2.test");
const bob = labUser(lab, "bob@example.test");
const outsider = outsideSender(lab);
const run = token("sieve");
const SCRIPT = "e2e-filing";
const FOLDER = "Projects";
const fileToken = `${run}-file`;
const awayToken = `${run}-away`;
const script = [
  'require ["fileinto", "mailbox", "vacation"];',
  `if header :contains "subject" "${fileToken}" {`,
  `  fileinto :create "${FOLDER}";`,
  "  stop;",
  "}",
  `if header :contains "subject" "${awayToken}" {`,
  `  vacation :days 1 "Carol is away (${run}).";`,
  "}",
  "",
].join("\n");

async function sendOutside(to: string, text: string): Promise<void> {
  const d = await outsideDialog(lab);
  try {
    expect((await envelope(d, outsider, to)).code).toBe(250);
    expect((await d.data(text)).code).toBe(250);
  } finally {
    d.close();
  }
}

beforeAll(() => activateScript(lab, carol, SCRIPT, script));

describe("login only over TLS", () => {
  test("before STARTTLS no SASL mechanism is offered and AUTHENTICATE with the right password is refused", async () => {
    const c = await ManageSieve.open(lab);
    try {
      expect(c.capabilities.has("STARTTLS")).toBe(true);
      expect(c.capabilities.get("SASL") ?? "").toBe("");
      const r = await c.authenticate(carol.address, carol.password);
      expect(r.status).toBe("NO");
      expect(r.line).toMatch(/^NO \(ENCRYPT-NEEDED\)/);
    } finally {
      c.close();
    }
  });

  test("control: after STARTTLS (TLS 1.2+) PLAIN is offered and the same login works", async () => {
    const c = await ManageSieve.open(lab);
    try {
      await c.starttls(labTls(lab));
      expect(["TLSv1.2", "TLSv1.3"]).toContain(c.tlsProtocol);
      expect(c.capabilities.get("SASL")?.split(" ")).toContain("PLAIN");
      expect((await c.authenticate(carol.address, carol.password)).status).toBe("OK");
      expect(await c.listScripts()).toContainEqual({ name: SCRIPT, active: true });
    } finally {
      c.close();
    }
  });
});

describe("a user's script files their mail", () => {
  test("the script lives on the data disk, in the user's home beside the mailbox", async () => {
    const out = await onMachineOk(lab, "cd /srv/mail/vmail/example2.test/carol && ls sieve/*.sieve && readlink .dovecot.sieve && findmnt -n -o TARGET -T sieve");
    expect(out.split("\n")).toEqual([`sieve/${SCRIPT}.sieve`, `sieve/${SCRIPT}.sieve`, "/srv/mail", ""]);
  });

  test("mail from outside that matches is filed into the script's folder", async () => {
    const subject = `${fileToken} quarterly plan`;
    await sendOutside(carol.address, message(outsider, carol.address, subject));
    await waitForIn(lab, carol, FOLDER, subject);
    expect(await findIn(lab, carol, "INBOX", subject)).toBeUndefined();
  });

  test("control: mail that does not match stays in INBOX", async () => {
    const subject = `${run}-other lunch on friday`;
    await sendOutside(carol.address, message(outsider, carol.address, subject));
    await waitForIn(lab, carol, "INBOX", subject);
    expect(await findIn(lab, carol, FOLDER, subject)).toBeUndefined();
  });

  test("the global Junk rule runs first: spam that matches the user's rule still lands in Junk", async () => {
    // As in filtering/spam.test.ts: no Date, Message-ID or To and an all-capitals subject score between 6 and
    // 15. The user's rule still matches it (:contains ignores case).
    const subject = `URGENT WINNER CLAIM YOUR PRIZE ${fileToken.toUpperCase()}`;
    const text = [`From: ${outsider}`, `Subject: ${subject}`, "", "Dear friend, you have won. Click http://192.0.2.7/claim now!", ""].join("\r\n");
    await sendOutside(carol.address, text);
    await waitForIn(lab, carol, "Junk", subject);
    expect(await findIn(lab, carol, FOLDER, subject)).toBeUndefined();
  });

  test("a vacation rule answers the outside sender through the relay, marked auto-replied", async () => {
    const subject = `${awayToken} are you there`;
    await sendOutside(carol.address, message(outsider, carol.address, subject));
    const reply = await waitForSpool(lab, `Carol is away (${run})`);
    expect(reply.meta.to).toEqual([outsider]);
    expect(reply.eml.toString()).toMatch(/^Auto-Submitted: auto-replied/im);
  });
});

describe("each user sees only their own scripts", () => {
  test("another user lists, reads and activates none of carol's scripts", async () => {
    const c = await managesieveSession(lab, bob);
    try {
      expect((await c.listScripts()).map((s) => s.name)).not.toContain(SCRIPT);
      const get = await c.getScript(SCRIPT);
      expect(get.status).toBe("NO");
      expect(get.line).toMatch(/NONEXISTENT/);
      expect((await c.setActive(SCRIPT)).status).toBe("NO");
    } finally {
      c.close();
    }
  });

  test("logging in with one's own password but asking to act as carol (SASL authzid) is refused", async () => {
    const c = await ManageSieve.open(lab);
    try {
      await c.starttls(labTls(lab));
      expect((await c.authenticate(bob.address, bob.password, carol.address)).status).toBe("NO");
    } finally {
      c.close();
    }
  });

  test("control: carol reads her own script back, byte for byte", async () => {
    const c = await managesieveSession(lab, carol);
    try {
      const get = await c.getScript(SCRIPT);
      expect(get.status).toBe("OK");
      expect(get.data.join("\r\n")).toBe(script.replace(/\n/g, "\r\n"));
    } finally {
      c.close();
    }
  });
});
