// Issue 13 §1: every message on port 25 gets one Authentication-Results header for our hostname (rspamd:
// SPF, DKIM, DMARC, ARC); a sender domain's DMARC policy decides: p=reject refused at SMTP time,
// p=quarantine into Junk. The outside domains and their records are the lab DNS's (lab/dns.ts labRecords).
import { loadLab, labUser, token } from "../lib/lab";
import { mailStoreFilesWith } from "../lib/machine";
import { findIn, waitForInbox } from "../lib/imap";
import { headerValues, signAsOutside, waitForIn } from "../lib/mailbox";
import { envelope, message, outsideDialog } from "../lib/smtp";

const lab = loadLab();
const bob = labUser(lab, "bob@example.test");
const GENUINE = "genuine.lab.test";
const STRICT = "strict.lab.test";
const QUARANTINED = "quarantined.lab.test";

async function sendOutside(from: string, text: string): Promise<{ code: number; text: string }> {
  const d = await outsideDialog(lab);
  try {
    const rcpt = await envelope(d, from, bob.address);
    if (rcpt.code !== 250) return rcpt;
    return await d.data(text);
  } finally {
    d.close();
  }
}

test("genuine outside mail (SPF, DKIM and DMARC pass) reaches INBOX with one verdict header for our name", async () => {
  const subject = token("genuine");
  const from = `news@${GENUINE}`;
  // A forged verdict claiming our name, and another server's own: the first goes, the second stays.
  const forged = `Authentication-Results: ${lab.hostname}; dkim=pass header.d=example.test; dmarc=pass\r\n` +
    "Authentication-Results: mx.elsewhere.example; spf=pass smtp.mailfrom=elsewhere.example\r\n";
  const signed = await signAsOutside(forged + message(from, bob.address, subject, "a genuine letter\r\n"), GENUINE);
  expect((await sendOutside(from, signed)).code).toBe(250);

  const source = await waitForInbox(lab, bob, subject);
  const results = headerValues(source, "Authentication-Results");
  const ours = results.filter((v) => v.startsWith(`${lab.hostname};`));
  expect(ours).toHaveLength(1);
  expect(ours[0]).toMatch(/\bdkim=pass header\.d=genuine\.lab\.test\b/);
  expect(ours[0]).toMatch(/\bspf=pass\b.*smtp\.mailfrom=news@genuine\.lab\.test/);
  expect(ours[0]).toMatch(/\bdmarc=pass \(policy=reject\) header\.from=genuine\.lab\.test/);
  expect(results).toContain("mx.elsewhere.example; spf=pass smtp.mailfrom=elsewhere.example");
  expect(results.some((v) => v.includes("header.d=example.test"))).toBe(false);
  // OpenDKIM's own header (it verifies for its policy script) is not delivered beside rspamd's.
  expect(results.some((v) => v.startsWith("opendkim.invalid"))).toBe(false);
  expect(headerValues(source, "X-Spam-Status")[0]).toMatch(/^No, score=-?\d/);
});

test("DMARC p=reject of a failing sender domain is refused at the end of DATA; nothing is stored", async () => {
  const subject = token("dmarc-reject");
  const r = await sendOutside(`ceo@${STRICT}`, message(`ceo@${STRICT}`, bob.address, subject, "pay this invoice\r\n"));
  expect(r.code).toBe(554);
  expect(r.text).toMatch(/^554 5\.7\.1 /);
  expect(await mailStoreFilesWith(lab, subject)).toEqual([]);
});

test("DMARC p=quarantine of a failing sender domain goes to Junk, not INBOX", async () => {
  const subject = token("dmarc-quarantine");
  const r = await sendOutside(`info@${QUARANTINED}`, message(`info@${QUARANTINED}`, bob.address, subject, "maybe\r\n"));
  expect(r.code).toBe(250);
  const source = await waitForIn(lab, bob, "Junk", subject);
  expect(headerValues(source, "Authentication-Results").find((v) => v.startsWith(`${lab.hostname};`)))
    .toMatch(/\bdmarc=fail reason="No valid SPF, No valid DKIM" header\.from=quarantined\.lab\.test \(policy=quarantine\)/);
  expect(await findIn(lab, bob, "INBOX", subject)).toBeUndefined();
});
