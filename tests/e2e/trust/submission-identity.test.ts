// Issue 10 §3 and §5: on submission a user sends only as an address the login owns (envelope and From:),
// the DKIM signature follows the authenticated envelope, and what leaves carries nothing of the client.
import { join } from "node:path";
import { loadLab, labUser, token } from "../lib/lab";
import { run } from "../lib/run";
import { envelope, message, submissionDialog } from "../lib/smtp";
import { Spooled, waitForSpool } from "../lib/spool";

const lab = loadLab();
const alice = labUser(lab, "alice@example.test");
const bob = labUser(lab, "bob@example.test");
const carol = labUser(lab, "carol@example2.test");
const outside = "someone@outside.test";
const VERIFIER = join(__dirname, "..", "lib", "dkim_verify.py");

/** The header block of a spooled message, unfolded. */
function headers(m: Spooled): string {
  const text = m.eml.toString("latin1");
  return text.slice(0, text.indexOf("\r\n\r\n")).replace(/\r\n[ \t]+/g, " ");
}
const dkimDomains = (m: Spooled) => [...headers(m).matchAll(/^DKIM-Signature:.*?\bd=([^;\s]+)/gim)].map((x) => x[1]);

test("the empty envelope sender is refused on submission", async () => {
  const d = await submissionDialog(lab, alice);
  try {
    const r = await envelope(d, "", outside);
    expect(r.code).toBe(554);
    expect(r.text).toMatch(/5\.7\.1 .*The empty envelope sender is not accepted on submission/);
    // Control: her own address in the same session is accepted.
    expect((await d.command("RSET")).code).toBe(250);
    expect((await envelope(d, alice.address, outside)).code).toBe(250);
  } finally {
    d.close();
  }
});

test("an envelope sender the login does not own is refused, in the other domain too", async () => {
  const d = await submissionDialog(lab, carol);
  try {
    for (const sender of [bob.address, "ceo@example.test", "postmaster@example2.test", "someone@outside.test"]) {
      const r = await envelope(d, sender, outside);
      expect({ sender, code: r.code }).toEqual({ sender, code: 553 });
      await d.command("RSET");
    }
  } finally {
    d.close();
  }
});

describe("a From: header the login does not own", () => {
  test.each([
    ["in another hosted domain", "bob@example.test"],
    ["in the login's own domain", "other@example2.test"],
    ["with a display name that looks right", "\"carol@example2.test\" <bob@example.test>"],
  ])("%s is refused at the end of DATA, and nothing reaches the relay", async (_label, from) => {
    const subject = token("header-forgery");
    const d = await submissionDialog(lab, carol);
    try {
      expect((await envelope(d, carol.address, outside)).code).toBe(250);
      const text = message(carol.address, outside, subject).replace(`From: <${carol.address}>`, `From: ${from}`);
      const r = await d.data(text);
      expect(r.code).toBe(550);
      expect(r.text).toMatch(/5\.7\.1 .*The From: header must be an address of your login carol@example2\.test/);
    } finally {
      d.close();
    }
  });
});

describe("what leaves through the relay", () => {
  let sent: Spooled;
  const subject = token("outbound-privacy");
  beforeAll(async () => {
    const d = await submissionDialog(lab, carol);
    try {
      expect((await envelope(d, carol.address, outside)).code).toBe(250);
      const text = message(carol.address, outside, subject, "no trace of the client\r\n")
        .replace("MIME-Version: 1.0", "MIME-Version: 1.0\r\nX-Mailer: LeakyMail 1.0\r\nUser-Agent: LeakyAgent/2.0\r\nX-Originating-IP: [198.51.100.7]");
      expect((await d.data(text)).code).toBe(250);
    } finally {
      d.close();
    }
    sent = await waitForSpool(lab, subject);
  }, 120_000);

  test("is signed for the envelope sender's domain only, and an independent verifier accepts it", async () => {
    expect(dkimDomains(sent)).toEqual(["example2.test"]);
    const ok = await run("/usr/bin/python3", [VERIFIER, lab.dnsServer.address, String(lab.dnsServer.port)], { input: sent.eml, timeoutMs: 30_000 });
    expect(ok.stdout.trim()).toBe("pass");
    // Control: the verifier fails the same message with one header changed.
    const changed = Buffer.from(sent.eml.toString("latin1").replace(`Subject: ${subject}`, `Subject: ${subject}-changed`), "latin1");
    const bad = await run("/usr/bin/python3", [VERIFIER, lab.dnsServer.address, String(lab.dnsServer.port)], { input: changed, timeoutMs: 30_000 });
    expect(bad.stdout.trim()).toBe("fail");
  });

  test("carries no client address, EHLO name or client software", () => {
    const h = headers(sent);
    // The client connected from the host side of the lab network, with EHLO e2e.client.test.
    expect(h).not.toContain(lab.hostAddress);
    const received = h.split("\n").filter((l) => /^Received:/i.test(l));
    expect(received.join("\n")).not.toMatch(/e2e\.client\.test/);
    expect(h).not.toMatch(/^(X-Mailer|User-Agent|X-Originating-IP):/im);
    expect(h).not.toMatch(/ESMTPSA/);
    // Control: the headers the user wrote are still there, and the relay stand-in saw our server.
    expect(h).toContain(`Subject: ${subject}`);
    expect(sent.meta.authUser).toBe(lab.relay.username);
  });
});
