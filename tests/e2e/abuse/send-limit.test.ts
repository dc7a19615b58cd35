// Issue 13 §4: a per-login sending limit on submission answers 4xx when exceeded, while another login still
// sends. erin@example.test has sendLimitPerHour 3 of her own (lab/stack.yaml); the lab's default is higher.
// Where the refusal comes depends on the release (components/core/release.ts, sendLimitStage): on Debian 12 at
// the RCPT that crosses the limit, on 13 at DATA, for the whole message (issue 24: policyd-rate-limit 1.2 at RCPT
// forgot a message's counted recipients when it refused one).
import { DEBIAN_RELEASES, isDebianRelease } from "../../../components/core/release";
import { labUser, loadLab } from "../lib/lab";
import { waitForInbox } from "../lib/imap";
import { forgetSendCounts, sendCount } from "../lib/ratelimit";
import { Reply, SmtpDialog, submission, submissionDialog } from "../lib/smtp";

const lab = loadLab();
const erin = labUser(lab, "erin@example.test");
const bob = labUser(lab, "bob@example.test");
const recipients = ["alice@example.test", "bob@example.test", "carol@example2.test", "team@example.test"];
if (!isDebianRelease(lab.release)) throw new Error(`the lab runs Debian ${lab.release}, which mailserver does not support`);
const AT_DATA = DEBIAN_RELEASES[lab.release].sendLimitStage === "DATA";
const HELD = /4\.7\.1 .*Sending limit of your login reached/;

/** One message: MAIL, each RCPT, then DATA if `data` and any recipient was accepted (else RSET). */
async function message(d: SmtpDialog, from: string, to: string[], data: boolean): Promise<{ rcpt: Reply[]; data?: Reply }> {
  expect((await d.command(`MAIL FROM:<${from}>`)).code).toBe(250);
  const rcpt: Reply[] = [];
  for (const r of to) rcpt.push(await d.command(`RCPT TO:<${r}>`));
  const sent = data && rcpt.some((r) => r.code === 250)
    ? await d.data(`From: <${from}>\r\nTo: <${to[0]}>\r\nSubject: send-limit ${Date.now()}\r\n\r\nsend-limit test\r\n`)
    : undefined;
  await d.command("RSET");
  return { rcpt, data: sent };
}
const codes = (m: { rcpt: Reply[]; data?: Reply }) => ({ rcpt: m.rcpt.map((r) => r.code), data: m.data?.code });

// policyd-rate-limit counts per login over a sliding hour: each test starts, and the run leaves, erin at zero.
beforeEach(() => forgetSendCounts(lab, erin.address));
afterAll(() => forgetSendCounts(lab, erin.address));

test("the recipients within the limit are accepted, across connections; then 450 4.7.1 (at RCPT on 12, at DATA on 13)", async () => {
  const first = await submissionDialog(lab, erin);
  try {
    // Debian 12 counts each accepted RCPT; 13 counts a message at DATA, so it must be sent.
    expect(codes(await message(first, erin.address, recipients.slice(0, 2), AT_DATA)))
      .toEqual(AT_DATA ? { rcpt: [250, 250], data: 250 } : { rcpt: [250, 250], data: undefined });
  } finally {
    first.close();
  }
  const second = await submissionDialog(lab, erin);
  try {
    const over = await message(second, erin.address, recipients.slice(2, 4), AT_DATA);
    if (AT_DATA) {
      // 2 + 2 > 3: the message is refused whole; one more recipient still fits, then none.
      expect(codes(over)).toEqual({ rcpt: [250, 250], data: 450 });
      expect(over.data?.text).toMatch(HELD);
      expect(codes(await message(second, erin.address, [recipients[2]], true))).toEqual({ rcpt: [250], data: 250 });
      const next = await message(second, erin.address, [recipients[0]], true);
      expect(codes(next)).toEqual({ rcpt: [250], data: 450 });
      expect(next.data?.text).toMatch(HELD);
    } else {
      expect(codes(over)).toEqual({ rcpt: [250, 450], data: undefined });
      expect(over.rcpt[1].text).toMatch(HELD);
      // A new message is held back too: the limit is the login's, not the transaction's.
      expect(codes(await message(second, erin.address, [recipients[0]], false))).toEqual({ rcpt: [450], data: undefined });
    }
  } finally {
    second.close();
  }
});

// Issue 24: on Debian 13 at RCPT, policyd-rate-limit 1.2 deleted a transaction's counts when it refused one of its
// recipients, so the ones accepted before left uncounted, as often as the sender liked (tests/daemons/send-limit.test.ts).
test("a message to more recipients than the limit leaves, if at all, counted: repeating it sends nothing more", async () => {
  const d = await submissionDialog(lab, erin);
  let sent = 0;
  try {
    for (let i = 0; i < 3; i++) {
      const m = await message(d, erin.address, recipients, true);
      if (m.data?.code === 250) sent += m.rcpt.filter((r) => r.code === 250).length;
      const expected = AT_DATA ? { rcpt: [250, 250, 250, 250], data: 450 }
        : i === 0 ? { rcpt: [250, 250, 250, 450], data: 250 } : { rcpt: [450, 450, 450, 450], data: undefined };
      expect({ i, ...codes(m) }).toEqual({ i, ...expected });
    }
  } finally {
    d.close();
  }
  expect(sent).toBe(AT_DATA ? 0 : 3);
  expect(await sendCount(lab, erin.address)).toBe(sent);
});

// Issue 21 §3: the status round trip (a message to the mailbox itself) must not fail after a burst.
test("once the limit is used up, a message to her own mailbox is still accepted and arrives; to anyone else 450 (control)", async () => {
  const d = await submissionDialog(lab, erin);
  try {
    expect(codes(await message(d, erin.address, recipients.slice(0, 3), true))).toEqual({ rcpt: [250, 250, 250], data: 250 });
  } finally {
    d.close();
  }
  const transport = submission(lab, erin, 587);
  const token = `own-mailbox-${Date.now().toString(36)}`;
  await transport.sendMail({ from: erin.address, to: erin.address, subject: token, text: "the status round trip's shape" });
  await waitForInbox(lab, erin, token);
  await expect(transport.sendMail({ from: erin.address, to: bob.address, subject: `${token}-other`, text: "held back" }))
    .rejects.toMatchObject({ responseCode: 450 });
  // On 13 Postfix names no recipient at DATA when there are several: her own mailbox among others counts like them.
  if (AT_DATA) {
    await expect(transport.sendMail({ from: erin.address, to: [erin.address, bob.address], subject: `${token}-both`, text: "held back" }))
      .rejects.toMatchObject({ responseCode: 450 });
  }
});

test("another login still sends (control: the limit is per login)", async () => {
  const d = await submissionDialog(lab, bob);
  try {
    expect(codes(await message(d, bob.address, recipients, true))).toEqual({ rcpt: [250, 250, 250, 250], data: 250 });
  } finally {
    d.close();
  }
});
