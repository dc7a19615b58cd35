// Issue 13 §3: optional greylisting (mailserver:greylisting, off in the lab). With it on, suspicious mail (score
// 4 or more) from a sender seen for the first time is deferred with 451 and accepted when the sender retries
// after the window (greylistDelaySeconds, 10 s here); ordinary mail is never deferred; off, nothing is.
import { configCopy, deployLab, labConfigFile } from "../lib/deploy";
import { waitForInbox } from "../lib/imap";
import { loadLab, labUser, outsideSender, token } from "../lib/lab";
import { headerValues, waitForIn } from "../lib/mailbox";
import { envelope, message, outsideDialog, Reply } from "../lib/smtp";
import { waitFor } from "../lib/wait";

const DEPLOY_TIMEOUT = 30 * 60_000;
const lab = loadLab();
const configFile = labConfigFile(lab);
const bob = labUser(lab, "bob@example.test");
const outsider = outsideSender(lab);

/**
 * Scores about 8 on content alone (as in spam.test.ts): no Date, Message-ID or To, a shouting subject. The body
 * carries the token too: rspamd lets a body it has seen pass the window once through for a day.
 */
const suspicious = (subject: string) => [`From: ${outsider}`, `Subject: URGENT WINNER CLAIM YOUR PRIZE ${subject.toUpperCase()}`, "",
  `Dear friend, you have won. Click http://192.0.2.7/claim now! Ref ${subject}`, ""].join("\r\n");

/**
 * A sender rspamd has never seen: it remembers a triplet (sender, recipient, client network) and a body that
 * once waited out the window, and lets them through for a day.
 */
const newSender = (subject: string) => `${subject}@${outsider.split("@")[1]}`;

/** One delivery attempt from outside, as a sending server makes it; the reply that ended it. */
async function attempt(from: string, text: string): Promise<Reply> {
  const d = await outsideDialog(lab);
  try {
    const r = await envelope(d, from, bob.address);
    return r.code === 250 ? await d.data(text) : r;
  } finally {
    d.close();
  }
}

let restored = false;
beforeAll(async () => {
  // The Junk score above the message's, so that its action is greylist rather than add_header.
  await deployLab(configCopy(configFile, "greylisting", {
    "mailserver:greylisting": true, "mailserver:spamJunkScore": 12, "mailserver:greylistDelaySeconds": 10,
  }));
}, DEPLOY_TIMEOUT);

afterAll(async () => {
  if (!restored) await deployLab(configFile);
}, DEPLOY_TIMEOUT);

test("on: suspicious mail from a new sender gets 451 first, and the retry after the window is accepted", async () => {
  const subject = token("grey");
  const text = suspicious(subject);
  const from = newSender(subject);
  const first = await attempt(from, text);
  expect(first.code).toBe(451);
  expect(first.text).toMatch(/^451 4\.7\.1 Try again later/);
  // Retry as a server would, every few seconds, until the window has passed.
  const accepted = await waitFor("the retry to be accepted", async () => {
    const r = await attempt(from, text);
    if (r.code === 250) return r;
    expect(r.code).toBe(451);
    return undefined;
  }, { timeoutMs: 90_000, intervalMs: 3_000 });
  expect(accepted.code).toBe(250);
  const source = await waitForInbox(lab, bob, subject.toUpperCase());
  expect(headerValues(source, "X-Spam-Status")).toEqual([expect.stringMatching(/^No, score=([4-9]|1[01])\.\d\d$/)]);
}, 120_000);

test("control, on: an ordinary message from outside is accepted at the first attempt", async () => {
  const subject = token("grey-ham");
  expect((await attempt(newSender(subject), message(outsider, bob.address, subject, "an ordinary letter\r\n"))).code).toBe(250);
  await waitForInbox(lab, bob, subject);
});

test("control, off (the lab's own config): the same kind of suspicious mail is accepted at once (and filed into Junk)", async () => {
  await deployLab(configFile);
  restored = true;
  const subject = token("grey-off");
  expect((await attempt(newSender(subject), suspicious(subject))).code).toBe(250);
  await waitForIn(lab, bob, "Junk", subject.toUpperCase());
}, DEPLOY_TIMEOUT);
