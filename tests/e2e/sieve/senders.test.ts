// Issue 21 §1: mail that Dovecot sends for a user (Sieve vacation, redirect) obeys the rules of submission.
// The attack as the issue describes it: a user's own script, uploaded on 4190, forges a vacation :from or
// asks for notifications, and anyone outside triggers it by mailing the user. What leaves is read at the
// relay stand-in (its spool) and in the machine's log; the controls show the same path still works.
import { join } from "node:path";
import { loadLab, labUser, token } from "../lib/lab";
import { onMachineOk, shellQuote } from "../lib/machine";
import { signAsOutside } from "../lib/mailbox";
import { activateScript, managesieveSession, removeScript } from "../lib/managesieve";
import { forgetSendCounts, sendCount } from "../lib/ratelimit";
import { run } from "../lib/run";
import { envelope, message, outsideDialog } from "../lib/smtp";
import { Spooled, spooledWith, waitForSpool } from "../lib/spool";
import { waitFor } from "../lib/wait";

const lab = loadLab();
const bob = labUser(lab, "bob@example.test");
const erin = labUser(lab, "erin@example.test");
const run_ = token("lanes");
/** An outside domain of the lab with SPF, DKIM and DMARC p=reject (lab/dns.ts). */
const GENUINE = "genuine.lab.test";
const TARGET = `forwarded@${GENUINE}`;
const VERIFIER = join(__dirname, "..", "lib", "dkim_verify.py");
let senders = 0;
/** A new outside sender each time: Pigeonhole answers one sender once per :days. */
const outsider = () => `writer${++senders}-${Date.now().toString(36)}@${GENUINE}`;

const SCRIPT = "e2e-lanes";
const script = [
  'require ["vacation"];',
  `if header :contains "subject" "${run_}-forged" {`,
  `  vacation :days 1 :from "alice@example.test" "${run_} forged: Alice is away.";`,
  `} elsif header :contains "subject" "${run_}-own" {`,
  `  vacation :days 1 "${run_} own: Bob is away.";`,
  `} elsif header :contains "subject" "${run_}-redirect" {`,
  `  redirect "${TARGET}";`,
  "}",
  "",
].join("\n");

/** Mail from outside to `to` on port 25, signed by its (genuine) outside domain. */
async function trigger(to: string, subject: string, from = outsider()): Promise<string> {
  const d = await outsideDialog(lab);
  try {
    expect((await envelope(d, from, to)).code).toBe(250);
    const signed = await signAsOutside(message(from, to, subject, "A letter from outside.\r\n"), GENUINE);
    expect((await d.data(signed)).code).toBe(250);
  } finally {
    d.close();
  }
  return from;
}

function headers(m: Spooled): string {
  const text = m.eml.toString("latin1");
  return text.slice(0, text.indexOf("\r\n\r\n")).replace(/\r\n[ \t]+/g, " ");
}
const dkimDomains = (m: Spooled) => [...headers(m).matchAll(/^DKIM-Signature:.*?\bd=([^;\s]+)/gim)].map((x) => x[1]);
async function verifies(eml: Buffer): Promise<string> {
  const r = await run("/usr/bin/python3", [VERIFIER, lab.dnsServer.address, String(lab.dnsServer.port)], { input: eml, timeoutMs: 30_000 });
  return r.stdout.trim();
}
/** The machine's log lines of the Sieve lane (postfix/sieve/smtpd) and of sieve-submit that name `needle`. */
const laneLog = (needle: string) =>
  onMachineOk(lab, `journalctl --no-pager -o cat -t postfix/sieve/smtpd -t mailserver/sieve-submit | grep -F -- '${needle}' || true`);
const counted = (login: string) => sendCount(lab, login);

beforeAll(() => activateScript(lab, bob, SCRIPT, script));
afterAll(() => removeScript(lab, bob, SCRIPT));

describe("what a script may ask for", () => {
  test.each([
    ["notify (enotify), with its own :from and eight mailto: recipients",
      'require ["enotify"];\nnotify :from "alice@example.test" "mailto:a@x.test,b@x.test,c@x.test,d@x.test,e@x.test,f@x.test,g@x.test,h@x.test";\n'],
    ["reject, whose notice goes from the postmaster to whoever the message claims to be from", 'require ["reject"];\nreject "go away";\n'],
  ])("%s: the upload is refused, and the server does not offer it", async (_label, text) => {
    const c = await managesieveSession(lab, bob);
    try {
      const put = await c.putScript(`${SCRIPT}-refused`, text);
      expect(put.status).toBe("NO");
      expect(put.line).toMatch(/unknown|not supported|require/i);
      const offered = (c.capabilities.get("SIEVE") ?? "").split(" ");
      expect(offered).toContain("vacation");
      expect(offered).not.toContain("enotify");
      expect(offered).not.toContain("reject");
    } finally {
      c.close();
    }
  });
});

describe("triggered from outside", () => {
  let own: Spooled;
  let forgedSender: string;
  beforeAll(async () => {
    // The forged one first: once the control's reply (sent after it) is at the relay, the forged one had its chance.
    forgedSender = await trigger(bob.address, `${run_}-forged please answer`);
    const ownSender = await trigger(bob.address, `${run_}-own please answer`);
    own = await waitForSpool(lab, `${run_} own: Bob is away.`, 120_000);
    expect(own.meta.to).toEqual([ownSender]);
  }, 300_000);

  test("a vacation :from another user leaves nothing; the log says why", async () => {
    expect(spooledWith(lab, `${run_} forged`)).toEqual([]);
    const log = await waitFor("the lane's refusal in the log", async () => {
      const l = await laneLog(forgedSender);
      return /The From: header must be an address of your login bob@example\.test/.test(l) ? l : undefined;
    }, { timeoutMs: 60_000, intervalMs: 2_000 });
    expect(log).toMatch(/refused, not sent, login=bob@example\.test/);
  });

  test("control: a vacation from bob's own address leaves with the empty sender, signed for example.test, and verifies", async () => {
    expect(own.meta.from).toBe("");
    expect(headers(own)).toMatch(/^From: <?bob@example\.test>?$/m);
    expect(dkimDomains(own)).toEqual(["example.test"]);
    expect(await verifies(own.eml)).toBe("pass");
  });

  test("control: a redirect arrives with bob's envelope sender, the author's signature intact, none of ours", async () => {
    const before = await counted(bob.address);
    const subject = `${run_}-redirect for the team`;
    const from = await trigger(bob.address, subject);
    const copy = await waitForSpool(lab, subject, 120_000);
    expect(copy.meta.from).toBe(bob.address);
    expect(copy.meta.to).toEqual([TARGET]);
    expect(headers(copy)).toContain(`From: <${from}>`);
    expect(headers(copy)).toMatch(/^X-Sieve-Redirected-From: bob@example\.test$/m);
    expect(dkimDomains(copy)).toEqual([GENUINE]);
    expect(await verifies(copy.eml)).toBe("pass");
    // Counted against bob's hourly limit like anything he submits.
    expect(await counted(bob.address)).toBe(before + 1);
  });
});

describe("the hourly limit counts what scripts send", () => {
  const ERIN_SCRIPT = `${SCRIPT}-erin`;
  const subject = `${run_}-fanout`;
  const targets = [1, 2, 3, 4].map((n) => `fanout${n}@${GENUINE}`);
  beforeAll(async () => {
    await forgetSendCounts(lab, erin.address);
    await activateScript(lab, erin, ERIN_SCRIPT, ['require ["copy"];', `if header :contains "subject" "${subject}" {`,
      ...targets.map((t) => `  redirect :copy "${t}";`), "}", ""].join("\n"));
  });
  afterAll(async () => {
    await removeScript(lab, erin, ERIN_SCRIPT);
    await forgetSendCounts(lab, erin.address);
    // The held message is delivered now that the script is gone.
    await onMachineOk(lab, "postqueue -f");
  });

  test("erin (3 an hour) redirecting one outside message to 4: 3 leave, the 4th is held back and logged, the message is kept", async () => {
    await trigger(erin.address, subject);
    const log = await waitFor("the lane's deferral in the log", async () => {
      const l = await laneLog("Sending limit of your login reached");
      return l.includes("erin@example.test") ? l : undefined;
    }, { timeoutMs: 120_000, intervalMs: 2_000 });
    expect(log).toMatch(/deferred, login=erin@example\.test/);
    // Pigeonhole cannot take back the 3 redirects already made, so it does not ask Postfix to try the
    // message again: it keeps it in erin's INBOX (nothing lost) and the 4th copy never leaves.
    const kept = await waitFor("the message in erin's INBOX", async () =>
      (await onMachineOk(lab, `grep -rlF -- ${shellQuote(subject)} /srv/mail/vmail/example.test/erin/Maildir/new || true`)).trim() || undefined,
    { timeoutMs: 60_000, intervalMs: 1_000 });
    expect(kept).toMatch(/\/new\//);
    const left = spooledWith(lab, subject);
    expect(left.map((m) => m.meta.to).flat().sort()).toEqual(targets.slice(0, 3));
    expect(left.every((m) => m.meta.from === erin.address)).toBe(true);
    expect(await counted(erin.address)).toBe(3);
  });
});
