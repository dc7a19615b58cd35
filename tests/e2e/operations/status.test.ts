// Issue 14 §1 and §3: npm run status checks the lab from outside and inside and is all ok; a daemon stopped
// and a DNS record changed behind Pulumi's back turn into errors naming them (exit 1); the server's daily
// self-check mails the admin (alertEmail, outside the hosted domains) through the relay when a check fails,
// and stays silent when none does.
import { join } from "node:path";
import type { CheckResult } from "../../../components/status/result";
import { loadRecords, publish } from "../../../lab/dns";
import { loadLab, ROOT } from "../lib/lab";
import { onMachine, onMachineOk } from "../lib/machine";
import { run } from "../lib/run";
import { spooledWith } from "../lib/spool";
import { waitFor } from "../lib/wait";

const lab = loadLab();
const ALERT_EMAIL = "oncall@genuine.lab.test"; // lab/stack.yaml's mailserver:alertEmail

async function status(): Promise<{ code: number | null; results: CheckResult[] }> {
  const r = await run(join(ROOT, "node_modules", ".bin", "tsx"), ["scripts/status.ts", "--lab", "--json"], { cwd: ROOT, timeoutMs: 180_000 });
  if (r.stdout.trim() === "") throw new Error(`npm run status printed nothing (exit ${r.code}): ${r.stderr}`);
  return { code: r.code, results: JSON.parse(r.stdout) as CheckResult[] };
}
const notOk = (results: CheckResult[]) => results.filter((r) => r.status !== "ok").map((r) => `${r.status} ${r.id}`);
const byId = (results: CheckResult[], id: string) => results.find((r) => r.id === id);

test("the deployed lab: every check ok; only the PTR (ptr off) and the blocklists (never asked from the lab) skipped", async () => {
  const { code, results } = await status();
  expect(notOk(results)).toEqual(["skip ptr", "skip blocklists"]);
  expect(code).toBe(0);
  // The checks that matter are all there, for both hosted domains.
  const ids = results.map((r) => r.id);
  for (const id of ["dns:MX:example.test", "dns:TXT:_dmarc.example2.test", "dns:SRV:_imaps._tcp.example.test", "dkim:example.test",
    "spf:example2.test", "dmarc:example.test", "tls-rpt:example2.test", "tls:25", "tls:465", "tls:587", "tls:993", "tls:995", "tls:4190", "tls:443", "dns:CAA:example.test", "dns:CAA:example2.test",
    "dane:_25._tcp.mail.example.test", "dnssec:_25._tcp.mail.example.test",
    "closed-ports", "helo", "open-relay", "forged-sender", "round-trip", "server:daemon:postfix", "server:daemon:dovecot",
    "server:daemon:opendkim", "server:daemon:rspamd", "server:daemon:nginx", "server:queue", "server:disk:data", "server:disk:boot",
    "server:tls-certificate", "server:tls-renewal", "server:relay"]) {
    expect(ids).toContain(id);
  }
});

test.each([
  // Dovecot serves IMAPS and POP3S; Postfix keeps running.
  { daemon: "dovecot", failing: ["tls:993", "tls:995"], unaffected: "server:daemon:postfix" },
  // nginx serves 443 (the MTA-STS policy's port); the mail ports keep working.
  { daemon: "nginx", failing: ["tls:443"], unaffected: "tls:25" },
])("$daemon stopped: an error for it and for $failing, $unaffected still ok, exit 1; ok again once it runs", async ({ daemon, failing, unaffected }) => {
  await onMachineOk(lab, `systemctl stop ${daemon}`);
  try {
    const { code, results } = await status();
    expect(byId(results, `server:daemon:${daemon}`)).toMatchObject({ status: "error", message: expect.stringContaining(`systemctl restart ${daemon}`) });
    for (const id of failing) expect([id, byId(results, id)?.status]).toEqual([id, "error"]);
    expect(byId(results, unaffected)?.status).toBe("ok");
    expect(code).toBe(1);
  } finally {
    await onMachineOk(lab, `systemctl start ${daemon}`);
  }
  const { code, results } = await status();
  expect(notOk(results)).toEqual(["skip ptr", "skip blocklists"]);
  expect(code).toBe(0);
});

test("a DNS record changed outside Pulumi (the DMARC policy in the lab's zone): an error naming it, exit 1", async () => {
  const original = loadRecords();
  const name = "_dmarc.example2.test";
  const changed = original.map((r) => (r.name === name && r.type === "TXT" ? { ...r, content: '"v=DMARC1; p=none"' } : r));
  expect(changed).not.toEqual(original);
  await publish([], changed);
  try {
    const { code, results } = await status();
    expect(notOk(results)).toEqual([`error dns:TXT:${name}`, "skip ptr", "skip blocklists"]);
    expect(byId(results, `dns:TXT:${name}`)?.message).toMatch(/^served "v=DMARC1; p=none" instead of "v=DMARC1; p=quarantine; rua=mailto:postmaster@example.test/);
    expect(code).toBe(1);
  } finally {
    await publish([], original);
  }
});

test("mynetworks opened to the world (main.cf broken on purpose): open relay and forged sender are errors, exit 1", async () => {
  // The classic mistake: every client is "trusted", so it relays and may send as a hosted domain. The whole file
  // is put back afterwards, byte for byte, so that later redeploys see no drift.
  await onMachineOk(lab, "cp -p /etc/postfix/main.cf /root/main.cf.status-test && postconf -e 'mynetworks = 0.0.0.0/0' && postfix reload");
  try {
    const { code, results } = await status();
    expect(byId(results, "open-relay")).toMatchObject({ status: "error", message: expect.stringMatching(/^OPEN RELAY: RCPT to an outside domain without AUTH got 250 /) });
    expect(byId(results, "forged-sender")).toMatchObject({ status: "error", message: expect.stringMatching(/^postmaster@example\.test from outside without AUTH is accepted/) });
    expect(code).toBe(1);
  } finally {
    await onMachineOk(lab, "mv /root/main.cf.status-test /etc/postfix/main.cf && postfix reload");
  }
  expect(notOk((await status()).results)).toEqual(["skip ptr", "skip blocklists"]);
});

test("a failed certificate renewal is an error until it is fixed", async () => {
  // A runtime drop-in (/run, gone at reboot) makes the renewal that mailserver-tls-renew.timer starts fail:
  // certbot itself runs and exits 1, at once and without the network (a certificate name it does not have).
  const dropIn = "/run/systemd/system/mailserver-tls-renew.service.d";
  await onMachineOk(lab, `mkdir -p ${dropIn} && printf '[Service]\\nExecStart=\\nExecStart=/usr/bin/certbot -q renew ` +
    `--cert-name no-such-certificate\\n' > ${dropIn}/status-test.conf && systemctl daemon-reload`);
  try {
    expect((await onMachine(lab, "systemctl start mailserver-tls-renew.service")).code).not.toBe(0);
    const { code, results } = await status();
    expect(byId(results, "server:tls-renewal")).toEqual({
      id: "server:tls-renewal", status: "error",
      message: "the last certificate renewal failed — see journalctl -u mailserver-tls-renew, fix it, then mailserver-tls renew",
    });
    expect(code).toBe(1);
  } finally {
    await onMachineOk(lab, `rm -r ${dropIn} && systemctl daemon-reload && systemctl reset-failed mailserver-tls-renew.service`);
  }
  expect(byId((await status()).results, "server:tls-renewal")?.status).toBe("ok");
});

/** Self-check mails in the relay stand-in's spool (to alertEmail), by spool id. */
function selfcheckMails(): Map<string, string> {
  return new Map(spooledWith(lab, `[${lab.hostname}] self-check:`)
    .filter((m) => m.meta.to?.includes(ALERT_EMAIL))
    .map((m) => [m.id, m.eml.toString()]));
}

async function queueEmpty(): Promise<true | undefined> {
  return (await onMachineOk(lab, "postqueue -j | wc -l")).trim() === "0" ? true : undefined;
}

test("the daily self-check (its systemd unit): silent when all is ok; with rspamd stopped it mails alertEmail through the relay", async () => {
  const before = selfcheckMails();
  // All ok: the unit succeeds and nothing is mailed (checked below: exactly one new mail, the fault's).
  await onMachineOk(lab, "systemctl start mailserver-selfcheck.service");
  await waitFor("the queue to empty", queueEmpty, { timeoutMs: 60_000 });

  // rspamd filters only port 25, so the alert itself still flows (local mail → OpenDKIM → relay).
  await onMachineOk(lab, "systemctl stop rspamd");
  try {
    const unit = await onMachine(lab, "systemctl start mailserver-selfcheck.service");
    expect(unit.code).not.toBe(0); // an error makes the oneshot unit fail, so systemctl --failed shows it too
    const mail = await waitFor("the self-check mail in the relay spool", async () => {
      const fresh = [...selfcheckMails()].filter(([id]) => !before.has(id));
      return fresh.length > 0 ? fresh : undefined;
    }, { timeoutMs: 60_000 });
    await waitFor("the queue to empty", queueEmpty, { timeoutMs: 60_000 });
    const fresh = [...selfcheckMails()].filter(([id]) => !before.has(id));
    expect(fresh).toHaveLength(1);
    const text = mail[0][1];
    expect(text).toMatch(/^Subject: \[mail\.example\.test\] self-check: 1 problem\(s\)$/m);
    // Stopped, rspamd is "inactive", or "failed" when its workers outlast the stop (seen with the machine loaded).
    expect(text).toMatch(/^error daemon:rspamd rspamd is (inactive|failed) — see journalctl -u rspamd, then systemctl restart rspamd$/m);
    expect(text).toMatch(/^DKIM-Signature: .*d=example\.test/m);
  } finally {
    await onMachineOk(lab, "systemctl start rspamd");
    // Until its milter listens, Postfix answers every command on 25 with a tempfail (milter_default_action):
    // the next test file's STARTTLS would get that instead of a handshake.
    await waitFor("rspamd's milter to listen", async () =>
      ((await onMachineOk(lab, "ss -Hltn 'sport = :11332'")).trim() !== "" ? true : undefined), { timeoutMs: 60_000 });
  }
});
