// Issue 13 §4: a per-login sending limit on submission answers 4xx when exceeded, while another login still
// sends. erin@example.test has sendLimitPerHour 3 of her own (lab/stack.yaml); the lab's default is higher.
import { labUser, loadLab } from "../lib/lab";
import { waitForInbox } from "../lib/imap";
import { forgetSendCounts } from "../lib/ratelimit";
import { Reply, SmtpDialog, submission, submissionDialog } from "../lib/smtp";

const lab = loadLab();
const erin = labUser(lab, "erin@example.test");
const bob = labUser(lab, "bob@example.test");
const recipients = ["alice@example.test", "bob@example.test", "carol@example2.test", "team@example.test"];


async function rcpts(d: SmtpDialog, from: string, to: string[]): Promise<Reply[]> {
  expect((await d.command(`MAIL FROM:<${from}>`)).code).toBe(250);
  const replies: Reply[] = [];
  for (const r of to) replies.push(await d.command(`RCPT TO:<${r}>`));
  await d.command("RSET");
  return replies;
}

// policyd-rate-limit counts per login over a sliding hour: this run starts, and leaves, erin at zero.
beforeAll(() => forgetSendCounts(lab, erin.address));
afterAll(() => forgetSendCounts(lab, erin.address));

test("the recipients within the limit are accepted, across connections; the next gets 450 4.7.1", async () => {
  const first = await submissionDialog(lab, erin);
  try {
    expect((await rcpts(first, erin.address, recipients.slice(0, 2))).map((r) => r.code)).toEqual([250, 250]);
  } finally {
    first.close();
  }
  const second = await submissionDialog(lab, erin);
  try {
    const [third, fourth] = await rcpts(second, erin.address, recipients.slice(2, 4));
    expect(third.code).toBe(250);
    expect(fourth.code).toBe(450);
    expect(fourth.text).toMatch(/4\.7\.1 .*Sending limit of your login reached/);
    // A new message is held back too: the limit is the login's, not the transaction's.
    expect((await rcpts(second, erin.address, [recipients[0]])).map((r) => r.code)).toEqual([450]);
  } finally {
    second.close();
  }
});

// Issue 21 §3: the status round trip (a message to the mailbox itself) must not fail after a burst.
test("once the limit is used up, a message to her own mailbox is still accepted and arrives; to anyone else 450 (control)", async () => {
  const transport = submission(lab, erin, 587);
  const token = `own-mailbox-${Date.now().toString(36)}`;
  await transport.sendMail({ from: erin.address, to: erin.address, subject: token, text: "the status round trip's shape" });
  await waitForInbox(lab, erin, token);
  await expect(transport.sendMail({ from: erin.address, to: bob.address, subject: `${token}-other`, text: "held back" }))
    .rejects.toMatchObject({ responseCode: 450 });
});

test("another login still sends (control: the limit is per login)", async () => {
  const d = await submissionDialog(lab, bob);
  try {
    expect((await rcpts(d, bob.address, recipients)).map((r) => r.code)).toEqual([250, 250, 250, 250]);
  } finally {
    d.close();
  }
});
