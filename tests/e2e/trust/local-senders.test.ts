// Issue 21 §1: on the machine, /usr/sbin/sendmail lets only root (cron, the self-check) name any envelope
// sender (main.cf local_login_sender_maps); and no mail made on the machine without a login leaves From: a
// hosted domain's address (OpenDKIM's final.lua), since setup.lua signs the machine's mail. Attacked as a
// local account would (www-data, runuser); what leaves is read at the relay stand-in's spool.
import { loadLab, token } from "../lib/lab";
import { onMachine, shellQuote } from "../lib/machine";
import { SIEVE_SUBMIT_PORT } from "../../../components/core/ports";
import { spooledWith, waitForSpool } from "../lib/spool";

const lab = loadLab();
const outside = "someone@outside.test";

/** sendmail run as `user` on the machine, the message From: `from`. */
function sendmail(user: string, envelope: string | undefined, from: string, subject: string) {
  const as = user === "root" ? "" : `runuser -u ${shellQuote(user)} -- `;
  const f = envelope === undefined ? "" : `-f ${shellQuote(envelope)} `;
  return onMachine(lab, `printf 'From: %s\\nTo: %s\\nSubject: %s\\n\\nmade on the server\\n' ${shellQuote(from)} ${shellQuote(outside)} ` +
    `${shellQuote(subject)} | ${as}/usr/sbin/sendmail -i ${f}-- ${shellQuote(outside)}`);
}

const dkimDomain = (eml: Buffer) => /^DKIM-Signature:[^]*?\bd=([^;\s]+)/im.exec(eml.toString("latin1"))?.[1] ?? "";

test("www-data may not name a hosted user as envelope sender: sendmail refuses, nothing leaves", async () => {
  const subject = token("local-envelope");
  const r = await sendmail("www-data", "alice@example.test", "alice@example.test", subject);
  expect(r.code).not.toBe(0);
  expect(r.stderr).toMatch(/not allowed|not authorized|not owned/i);
  // Control below proves mail from www-data does reach the relay; give this one the same time.
  await new Promise((res) => setTimeout(res, 5_000));
  expect(spooledWith(lab, subject)).toEqual([]);
});

test("control: www-data sends as itself (www-data@ the machine), and it arrives", async () => {
  const subject = token("local-own");
  const r = await sendmail("www-data", undefined, `www-data@${lab.hostname}`, subject);
  expect(r.code).toBe(0);
  const m = await waitForSpool(lab, subject);
  expect(m.meta.from).toBe(`www-data@${lab.hostname}`);
});

test("a From: of a hosted domain from the machine without a login (even root's) is refused and bounced, not signed and sent", async () => {
  const subject = token("local-from");
  // An outside envelope sender (root may name any): the bounce goes out through the relay, to be read.
  expect((await sendmail("root", outside, "The CEO <ceo@example.test>", subject)).code).toBe(0);
  const bounce = await waitForSpool(lab, subject);
  expect(bounce.meta.from).toBe("");
  expect(bounce.eml.toString("latin1").replace(/\s+/g, " ")).toContain(`Mail made on ${lab.hostname} may not be From: ceo@example.test`);
  expect(spooledWith(lab, subject).filter((m) => m.meta.from !== "")).toEqual([]);
});

test("control: root's mail From: root@ the machine leaves signed for example.test", async () => {
  const subject = token("local-root");
  expect((await sendmail("root", `root@${lab.hostname}`, `root@${lab.hostname}`, subject)).code).toBe(0);
  const m = await waitForSpool(lab, subject);
  expect(dkimDomain(m.eml)).toBe("example.test");
});

/** An SMTP dialogue on the Sieve lane as `user`: the greeting, then XCLIENT naming alice, as the lane trusts it. */
function laneAs(user: string) {
  const py = [
    "import socket, sys",
    "s = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=10); f = s.makefile('rb')",
    "def reply():",
    "    while True:",
    "        line = f.readline().decode(); print(line.rstrip())",
    "        if line[3:4] != '-': return",
    "reply(); s.sendall(b'EHLO attacker.invalid\\r\\n'); reply()",
    "s.sendall(b'XCLIENT LOGIN=alice@example.test\\r\\n'); reply()",
  ].join("\n");
  const as = user === "root" ? "" : `runuser -u ${shellQuote(user)} -- `;
  return onMachine(lab, `${as}python3 -c ${shellQuote(py)} ${SIEVE_SUBMIT_PORT}`);
}

// Postfix trusts XCLIENT LOGIN on the lane from loopback: an account on the machine that reached it could send
// as any user. nftables (the guard's table) lets only root and vmail (Dovecot's Sieve) connect.
test.each(["www-data", "nobody", "_rspamd", "opendkim"])("%s cannot connect to the Sieve lane, so cannot XCLIENT as alice", async (user) => {
  const r = await laneAs(user);
  expect([user, r.code]).not.toEqual([user, 0]);
  expect(r.stderr).toMatch(/Connection refused|ConnectionRefused|reset/i);
  expect(r.stdout).not.toMatch(/^220 /m);
});

test("control: vmail (Dovecot's Sieve) and root reach the lane and may XCLIENT there", async () => {
  for (const user of ["vmail", "root"]) {
    const r = await laneAs(user);
    expect({ user, code: r.code }).toEqual({ user, code: 0 });
    expect(r.stdout).toMatch(/^220 /m);
    expect(r.stdout).toMatch(/^220 .*\n[\s\S]*^250[ -]XCLIENT/m);
  }
});
