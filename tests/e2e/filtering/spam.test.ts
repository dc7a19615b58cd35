// Issue 13 §2: a spam score on every inbound message; GTUBE (and anything at spamRejectScore) refused at
// SMTP time; a borderline score (spamJunkScore up to spamRejectScore) filed into Junk by the global sieve.
import { loadLab, labUser, outsideSender, token } from "../lib/lab";
import { mailStoreFilesWith } from "../lib/machine";
import { findIn, waitForInbox } from "../lib/imap";
import { headerValues, waitForIn } from "../lib/mailbox";
import { envelope, message, outsideDialog } from "../lib/smtp";

const lab = loadLab();
const bob = labUser(lab, "bob@example.test");
const outsider = outsideSender(lab);
const GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X";

async function sendOutside(text: string): Promise<{ code: number; text: string }> {
  const d = await outsideDialog(lab);
  try {
    expect((await envelope(d, outsider, bob.address)).code).toBe(250);
    return await d.data(text);
  } finally {
    d.close();
  }
}

test("GTUBE from outside is refused at the end of DATA and stored nowhere", async () => {
  const subject = token("gtube");
  const r = await sendOutside(message(outsider, bob.address, subject, `${GTUBE}\r\n`));
  expect(r.code).toBe(554);
  expect(r.text).toMatch(/^554 5\.7\.1 /);
  expect(await mailStoreFilesWith(lab, subject)).toEqual([]);
});

test("control: the same message without GTUBE reaches INBOX, scored", async () => {
  const subject = token("not-gtube");
  expect((await sendOutside(message(outsider, bob.address, subject, "an ordinary letter\r\n"))).code).toBe(250);
  const source = await waitForInbox(lab, bob, subject);
  expect(headerValues(source, "X-Spam-Status")).toEqual([expect.stringMatching(/^No, score=-?\d+\.\d\d$/)]);
});

test("a borderline spam (above spamJunkScore, below spamRejectScore) lands in Junk", async () => {
  const subject = token("borderline").toUpperCase();
  // No Date, Message-ID or To, and a shouting subject: rspamd scores about 8 (MISSING_MID, MISSING_TO,
  // MISSING_DATE, SUBJ_ALL_CAPS), between the lab's 6 and 15, on content alone (no network lists).
  const text = [`From: ${outsider}`, `Subject: URGENT WINNER CLAIM YOUR PRIZE ${subject}`, "",
    "Dear friend, you have won. Click http://192.0.2.7/claim now!", ""].join("\r\n");
  // A client's own verdict header is replaced, never believed.
  expect((await sendOutside(`X-Spam-Status: No, score=-10.00\r\n${text}`)).code).toBe(250);
  const source = await waitForIn(lab, bob, "Junk", subject);
  const [status] = headerValues(source, "X-Spam-Status");
  expect(headerValues(source, "X-Spam-Status")).toHaveLength(1);
  const score = Number(/^Yes, score=(-?\d+\.\d+)$/.exec(status)?.[1]);
  expect(score).toBeGreaterThanOrEqual(6);
  expect(score).toBeLessThan(15);
  expect(await findIn(lab, bob, "INBOX", subject)).toBeUndefined();
});
