// Issue 21 §1: what Dovecot sends for a user (Sieve vacation, redirect) obeys the rules of submission. The
// rendered configuration run by the real Postfix, Dovecot/Pigeonhole, OpenDKIM and policyd-rate-limit
// (tests/daemons/lib/live-server.ts): a user's own script is triggered by outside mail delivered over LMTP, and
// what it sends is read from Postfix's queue (the relay is out of reach in the namespace). The lane itself
// is attacked the way a process on the machine would: /etc/dovecot/sieve-submit, and plain SMTP.
// Needs root and the Debian packages of live-server.test.ts plus dovecot-sieve.
import { parseConfig } from "../../components/core/config";
import type { RenderedFile } from "../../components/core/files";
import { SIEVE_SUBMIT_PORT } from "../../components/core/ports";
import { renderFiles } from "../../components/core/render";
import { fixtureDkimKeys, fixtureRaw } from "../fixtures/config";
import { LiveServer, Run, startLiveServer } from "./lib/live-server";
import { Wire } from "./lib/smtp-wire";

const BOB = "bob@example.org";
const BOB_HOME = "/srv/mail/vmail/example.org/bob";
const OUTSIDE_RCPT = "someone@external.example.net";
const RATE_DB = "/run/policyd-rate-limit-db/db.sqlite3";

// Each test waits on real deliveries; a loaded machine (CI, several labs) makes them slow.
jest.setTimeout(240_000);

let server: LiveServer;
let files: RenderedFile[];
let seq = 0;
const marker = (what: string) => `${what}-${process.pid}-${++seq}`;
/** A new outside sender each time: Pigeonhole answers one sender once per :days. */
const outsider = () => `eve${++seq}@elsewhere.example.net`;

/** bob's active script: each subject word picks one action. */
const SCRIPT = [
  'require ["vacation"];',
  'if header :contains "subject" "forge-vacation" {',
  '  vacation :days 1 :from "alice@example.com" "Alice is away (forged).";',
  '} elsif header :contains "subject" "alias-vacation" {',
  '  vacation :days 1 :from "sales@example.org" "Sales is away.";',
  '} elsif header :contains "subject" "own-vacation" {',
  '  vacation :days 1 "Bob is away.";',
  '} elsif header :contains "subject" "redirect-out" {',
  `  redirect "${OUTSIDE_RCPT}";`,
  "}",
  "",
].join("\n");

beforeAll(async () => {
  files = await renderFiles({ config: parseConfig(fixtureRaw()), dkimPrivateKeys: fixtureDkimKeys() });
  server = await startLiveServer(files);
  // As ManageSieve stores it: ~/sieve/<name>.sieve, the active one linked from ~/.dovecot.sieve.
  ok(server.exec(["sh", "-c", `install -d -o vmail -g vmail ${BOB_HOME} ${BOB_HOME}/sieve && ` +
    `cat > ${BOB_HOME}/sieve/away.sieve && chown vmail:vmail ${BOB_HOME}/sieve/away.sieve && ` +
    `ln -sfn sieve/away.sieve ${BOB_HOME}/.dovecot.sieve`], SCRIPT));
}, 400_000);

afterAll(async () => {
  await server?.stop();
});

function ok(r: Run): string {
  if (r.rc !== 0) throw new Error(`rc ${r.rc}: ${r.err}`);
  return r.out;
}

/** `queue`: Postfix's queue it is in; "maildrop" holds what sendmail wrote before pickup hands it to cleanup (and its milters). */
interface Queued { id: string; queue: string; sender: string; recipients: string[]; delayed: string[]; text: string }
interface QueueEntry { queue_name: string; queue_id: string; sender: string; recipients: { address: string; delay_reason?: string }[] }
const queue = (): QueueEntry[] => ok(server.exec(["postqueue", "-j"])).split("\n").filter(Boolean).map((l) => JSON.parse(l) as QueueEntry);

/** Every message in Postfix's queue whose text names `token` (and that is addressed `to`), with its envelope. */
function queuedWith(token: string, to?: string): Queued[] {
  return queue().filter((e) => to === undefined || e.recipients.some((r) => r.address === to)).map((e) => ({ id: e.queue_id, queue: e.queue_name, sender: e.sender, recipients: e.recipients.map((r) => r.address),
    delayed: e.recipients.flatMap((r) => (r.delay_reason ? [r.delay_reason] : [])),
    text: server.exec(["postcat", "-h", "-b", "-q", e.queue_id]).out }))
    .filter((m) => m.text.includes(token));
}

/** Polls `find` until it returns a non-empty list; the error names what Dovecot logged as failing. */
async function waitFor<T>(what: string, find: () => T[], tries = 600): Promise<T[]> {
  for (let i = 0; i < tries; i++) {
    const found = find();
    if (found.length > 0) return found;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what}: not queued. Dovecot's recent errors:\n${server.exec(["doveadm", "log", "errors"]).out}\n` +
    `bob's Sieve log:\n${server.exec(["cat", `${BOB_HOME}/.dovecot.sieve.log`]).out}\nqueue:\n${server.exec(["postqueue", "-p"]).out}`);
}

const LMTP = "/var/spool/postfix/private/dovecot-lmtp";
/** A message from `from` to bob, as Postfix hands it to Dovecot. */
const letter = (from: string, subject: string) =>
  `From: Eve <${from}>\nTo: Bob <${BOB}>\nSubject: ${subject}\nDate: ${new Date().toUTCString()}\n` +
  `Message-ID: <${subject}@elsewhere.example.net>\n\nHello Bob.\n`;
/** Delivers `text` to bob over Dovecot's LMTP socket, as Postfix does; returns Dovecot's answer to DATA. */
function lmtp(from: string, text: string): string {
  return ok(server.exec(["python3", "-c", `import smtplib, sys
s = smtplib.LMTP(sys.argv[1])
s.ehlo("mail.example.com")
s.mail(sys.argv[2]); s.rcpt(sys.argv[3])
try:
    code, reply = s.data(sys.stdin.buffer.read())
except smtplib.SMTPDataError as e:
    code, reply = e.smtp_code, e.smtp_error
print(code, reply.decode())`, LMTP, from, BOB], text)).trim();
}

/**
 * Mail from outside for bob, delivered with its Sieve actions done (Dovecot answers after them). Over LMTP
 * rather than port 25: rspamd's verdict on a test message, without DNS here, is not stable, and mail it
 * scores as spam is filed into Junk by the global script before bob's runs. Port 25 is the e2e tier's.
 */
function trigger(subject: string, from = outsider()): string {
  expect(lmtp(from, letter(from, subject))).toMatch(/^250 /);
  return from;
}

const dkimDomains = (text: string) => [...text.matchAll(/^DKIM-Signature:[^]*?\bd=([^;\s]+)/gm)].map((m) => m[1]);
/** Rows policyd-rate-limit counts against `login` (one per accepted recipient). */
const counted = (login: string) => Number(ok(server.exec(["python3", "-c",
  `import sqlite3, sys; print(sqlite3.connect(${JSON.stringify(RATE_DB)}).execute("SELECT COUNT(*) FROM mail_count WHERE id = ?", (sys.argv[1],)).fetchone()[0])`,
  login])).trim());

describe("a user's script, triggered from outside", () => {
  test("a vacation :from another user's address leaves nothing, and the incoming message is still delivered", async () => {
    const token = marker("forge-vacation");
    trigger(token);
    expect(queuedWith(token).filter((m) => m.recipients.some((r) => r.endsWith("@elsewhere.example.net")))).toEqual([]);
    expect(ok(server.exec(["grep", "-rlF", "--", token, `${BOB_HOME}/Maildir`]))).toMatch(/\/new\//);
  });

  test("control: a vacation from bob's own address leaves with the empty sender, signed for example.org", async () => {
    const token = marker("own-vacation");
    const before = counted(BOB);
    const from = trigger(token);
    const [reply, ...more] = await waitFor("the vacation reply", () => queuedWith(token, from));
    expect(more).toEqual([]);
    // postqueue shows the empty envelope sender as MAILER-DAEMON.
    expect(reply.sender).toBe("MAILER-DAEMON");
    expect(reply.text).toMatch(/^From: <?bob@example\.org>?$/m);
    expect(dkimDomains(reply.text)).toEqual(["example.org"]);
    expect(counted(BOB)).toBe(before + 1);
  });

  test("a vacation :from an alias bob owns leaves, signed for the alias's domain", async () => {
    const token = marker("alias-vacation");
    const from = trigger(token);
    const [reply] = await waitFor("the vacation reply", () => queuedWith(token, from));
    expect(reply.text).toMatch(/^From: sales@example\.org$/m);
    expect(dkimDomains(reply.text)).toEqual(["example.org"]);
  });

  test("a redirect leaves with bob's own envelope sender, counted, and not signed by us", async () => {
    const token = marker("redirect-out");
    const before = counted(BOB);
    const from = trigger(token);
    const [copy, ...more] = await waitFor("the redirect", () => queuedWith(token, OUTSIDE_RCPT));
    expect(more).toEqual([]);
    expect(copy.sender).toBe(BOB);
    expect(copy.text).toContain(`From: Eve <${from}>`);
    expect(copy.text).toMatch(/^X-Sieve-Redirected-From: bob@example\.org$/m);
    expect(dkimDomains(copy.text)).toEqual([]);
    expect(counted(BOB)).toBe(before + 1);
  });
});

describe("the lane, attacked from the machine", () => {
  const lane = (login: string, sender: string, message: string) =>
    server.exec(["/etc/dovecot/sieve-submit", login, "-i", "-f", sender, "--", OUTSIDE_RCPT], message);
  const mail = (from: string, subject: string, extra = "") =>
    `From: ${from}\nTo: ${OUTSIDE_RCPT}\nSubject: ${subject}\nMessage-ID: <${subject}@test>\n${extra}\nHello.\n`;

  test("an envelope sender the login does not own is refused (553): nothing queued", () => {
    const token = marker("lane-envelope");
    const r = lane(BOB, "alice@example.com", mail(BOB, token));
    expect(r.rc).toBe(0);
    expect(r.err).toMatch(/refused, not sent, .*RCPT TO .*553 5\.7\.1 .*not owned by user bob@example\.org/);
    expect(queuedWith(token)).toEqual([]);
  });

  test("a From: the login does not own, with the empty sender, is refused at the end of DATA: nothing queued", () => {
    const token = marker("lane-from");
    const r = lane(BOB, "<>", mail("Alice <alice@example.com>", token));
    expect(r.err).toMatch(/refused, not sent, .*550 5\.7\.1 The From: header must be an address of your login bob@example\.org/);
    expect(queuedWith(token)).toEqual([]);
  });

  test("a redirect marker naming another user does not excuse a foreign From:", () => {
    const token = marker("lane-marker");
    const r = lane(BOB, BOB, mail("Alice <alice@example.com>", token, "X-Sieve-Redirected-From: alice@example.com\n"));
    expect(r.err).toMatch(/550 5\.7\.1 The From: header must be an address of your login/);
    expect(queuedWith(token)).toEqual([]);
  });

  test("control: bob's own From: with his envelope sender is queued and signed for example.org", () => {
    const token = marker("lane-own");
    const r = lane(BOB, BOB, mail(`Bob <${BOB}>`, token));
    expect(r.rc).toBe(0);
    expect(r.err).toBe("");
    const [m] = queuedWith(token);
    expect(dkimDomains(m.text)).toEqual(["example.org"]);
  });

  test("without XCLIENT (no login) the lane takes nothing, not even a hosted sender", async () => {
    const script = `import smtplib, sys
s = smtplib.SMTP("127.0.0.1", ${SIEVE_SUBMIT_PORT}, local_hostname="localhost")
s.ehlo()
print(s.mail(sys.argv[1])[0], s.rcpt(sys.argv[2])[0])`;
    for (const sender of [BOB, "", "someone@elsewhere.example.net"]) {
      expect({ sender, out: ok(server.exec(["python3", "-c", script, sender, OUTSIDE_RCPT])).trim() })
        .toEqual({ sender, out: expect.stringMatching(/^250 5\d\d$/) });
    }
  });

  test("XCLIENT is refused on port 25 from outside: nobody names a login there", async () => {
    const w = await Wire.open(server.socket(25));
    try {
      await w.reply();
      const ehlo = await w.cmd("EHLO mx.elsewhere.example.net");
      expect(ehlo?.text).not.toMatch(/XCLIENT/);
      expect((await w.cmd(`XCLIENT LOGIN=${BOB}`))?.code).toBe(550);
    } finally {
      w.close();
    }
  });
});

describe("/usr/sbin/sendmail on the machine", () => {
  const HOST = "mail.example.com";
  const ELSEWHERE = "someone@elsewhere.example.net";
  /** sendmail as `user` (setpriv: no login, no PAM), the message From: `from` on stdin. */
  const sendmail = (user: string, group: string, args: string[], token: string, from = `${user}@${HOST}`) =>
    server.exec(["setpriv", `--reuid=${user}`, `--regid=${group}`, "--clear-groups", "/usr/sbin/sendmail", "-i", ...args, "--", OUTSIDE_RCPT],
      `From: ${from}\nTo: ${OUTSIDE_RCPT}\nSubject: ${token}\n\nHello.\n`);

  test.each([["alice@example.com"], [BOB], [ELSEWHERE]])(
    "an account other than root (nobody) may not name %s as envelope sender: nothing queued", (sender) => {
      const token = marker("local-forged");
      const r = sendmail("nobody", "nogroup", ["-f", sender], token);
      expect(r.rc).not.toBe(0);
      expect(r.err).toMatch(/not allowed|not authorized|not owned/i);
      expect(queuedWith(token)).toEqual([]);
    });

  test.each([[[] as string[], "nobody"], [["-f", `nobody@${HOST}`], `nobody@${HOST}`]])(
    "control: nobody sends as itself (%j)", async (args, sender) => {
      const token = marker("local-own");
      expect(sendmail("nobody", "nogroup", args, token).rc).toBe(0);
      const [m] = await waitFor("nobody's own mail", () => queuedWith(token, OUTSIDE_RCPT));
      // Without -f the sender is the bare login name; cleanup may have added @$myorigin already.
      expect(m.sender).toMatch(new RegExp(`^${sender}(@${HOST.replace(/\./g, "\\.")})?$`));
    });

  test("control: root may name any envelope sender (cron, the self-check), and its mail from @hostname is signed", async () => {
    const token = marker("local-root");
    expect(sendmail("root", "root", ["-f", "postmaster@example.com"], token).rc).toBe(0);
    // Past cleanup: in maildrop the message is not signed yet.
    const [m] = await waitFor("root's mail", () => queuedWith(token, OUTSIDE_RCPT).filter((q) => q.queue !== "maildrop"));
    expect(m.sender).toBe("postmaster@example.com");
    expect(dkimDomains(m.text)).toEqual(["example.com"]);
  });

  test.each([["alice@example.com"], ["ceo@example.org"]])(
    "not even root's mail leaves From: %s (a hosted domain's): refused, bounced to its envelope sender", async (from) => {
      const token = marker("local-from");
      // An outside envelope sender: the bounce waits in the queue (no relay here), to be read.
      expect(sendmail("root", "root", ["-f", ELSEWHERE], token, `Alice <${from}>`).rc).toBe(0);
      const [bounce] = await waitFor("the bounce", () => queuedWith(token, ELSEWHERE));
      // The bounce folds the reason across lines.
      expect(bounce.text.replace(/\s+/g, " ")).toContain(`Mail made on ${HOST} may not be From: ${from}`);
      expect(queuedWith(token, OUTSIDE_RCPT)).toEqual([]);
    });
});

describe("the hourly limit", () => {
  const sql = (statement: string) => ok(server.exec(["python3", "-c",
    `import sqlite3; c = sqlite3.connect(${JSON.stringify(RATE_DB)}); c.execute(${JSON.stringify(statement)}); c.commit()`]));
  afterAll(() => sql("DELETE FROM mail_count"));

  test("over bob's limit a redirect waits (Dovecot answers 451: the incoming message stays queued); once the hour frees, it leaves", async () => {
    const token = marker("redirect-out");
    // An hour of bob's sending (his limit is 20), as the counter keeps it.
    ok(server.exec(["python3", "-c", "import sqlite3, sys, time; c = sqlite3.connect(sys.argv[1]); " +
      "c.executemany('INSERT INTO mail_count VALUES (?, ?)', [(sys.argv[2], int(time.time()))] * 20); c.commit()", RATE_DB, BOB]));
    expect(counted(BOB)).toBeGreaterThanOrEqual(20);
    // Dovecot answers "try later" for the incoming message (the lane said 450 to sieve-submit): Postfix keeps
    // it queued. Nothing of it left.
    const from = outsider();
    const text = letter(from, token);
    expect(lmtp(from, text)).toMatch(/^451 4\.2\.0 .*temporary failure/);
    expect(queuedWith(token, OUTSIDE_RCPT)).toEqual([]);
    // The hour passes: the counts go, Postfix delivers the message again, the redirect leaves.
    sql("DELETE FROM mail_count");
    expect(lmtp(from, text)).toMatch(/^250 /);
    expect(await waitFor("the redirect", () => queuedWith(token, OUTSIDE_RCPT))).toHaveLength(1);
  });
});
