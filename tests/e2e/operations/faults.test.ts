// Issue 14 §2: faults outside the daemons. The relay away for a while: mail waits in the queue and leaves,
// DKIM-valid, when it is back. The data disk (which holds the queue too) full: new mail is refused with 452
// (queue_minfree) instead of failing halfway, mail already queued is deferred with 4.x, nothing bounces, and
// everything is delivered once space is freed. Each counts messages accepted vs delivered (0 lost).
import { existsSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { QUEUE_MINFREE_FACTOR } from "../../../components/core/config";
import { inboxCount } from "../lib/imap";
import { LAB_DIR, loadLab, labUser, outsideSender, token } from "../lib/lab";
import { onMachineOk, postfixQueue, queueId } from "../lib/machine";
import { run } from "../lib/run";
import { SmtpDialog, submission } from "../lib/smtp";
import { spooledWith } from "../lib/spool";
import { waitFor } from "../lib/wait";

const lab = loadLab();
const alice = labUser(lab, "alice@example.test");
const bob = labUser(lab, "bob@example.test");
const outside = "someone@outside.test";
const pauseFile = lab.relay.pauseFile ?? join(LAB_DIR, "relay", "pause");
const VERIFIER = join(__dirname, "..", "lib", "dkim_verify.py");
const FILL = "/srv/mail/e2e-fill";

/** Submits on 587 as alice; returns Postfix's queue id (the message was accepted). */
async function submit(to: string, subject: string): Promise<string> {
  const info = await submission(lab, alice, 587).sendMail({ from: alice.address, to, subject, text: "fault test\n" });
  expect(info.accepted).toEqual([to]);
  return queueId(info.response);
}

/** Postfix's log lines about these queue ids (delivery agents and bounce). */
async function logOf(ids: string[]): Promise<string[]> {
  const out = await onMachineOk(lab, `journalctl --no-pager -t postfix/smtp -t postfix/lmtp -t postfix/bounce -t postfix/qmgr | grep -E '${ids.join("|")}' || true`);
  return out.split("\n").filter((l) => l.length > 0);
}

const queuedIds = async (): Promise<string[]> => [...(await postfixQueue(lab)).keys()];

/**
 * qmgr dies when it cannot move a queue file on a full disk; master starts it again after its throttle time
 * (60 s) when asked (postqueue -f). Each fault starts from a running queue manager.
 */
const qmgrRunning = () => waitFor("Postfix's qmgr to run", async () => {
  const pid = (await onMachineOk(lab, "pgrep -x qmgr || { postqueue -f >/dev/null 2>&1; true; }")).trim();
  return pid ? true : undefined;
}, { timeoutMs: 120_000, intervalMs: 3_000 });

describe("the relay down for a while, then up", () => {
  const N = 8;
  const tag = token("relay-down");
  let ids: string[] = [];

  afterAll(() => rmSync(pauseFile, { force: true }));

  test("every accepted message waits in the queue, then leaves DKIM-valid; none bounced, none lost", async () => {
    await qmgrRunning();
    writeFileSync(pauseFile, "");
    for (let i = 0; i < N; i++) ids.push(await submit(outside, `${tag} ${i}`));
    // Each was tried and deferred (the stand-in answers 421), and none reached it.
    await waitFor("every message deferred by the paused relay", async () => {
      const log = await logOf(ids);
      return ids.every((id) => log.some((l) => l.includes(`${id}: to=<${outside}>`) && /status=deferred/.test(l))) ? true : undefined;
    }, { timeoutMs: 90_000, intervalMs: 2_000 });
    expect((await queuedIds()).filter((id) => ids.includes(id)).sort()).toEqual([...ids].sort());
    expect(spooledWith(lab, tag)).toHaveLength(0);

    rmSync(pauseFile, { force: true });
    await onMachineOk(lab, "postqueue -f");
    const arrived = await waitFor(`all ${N} messages at the relay`, async () => {
      const got = spooledWith(lab, tag);
      return got.length >= N ? got : undefined;
    }, { timeoutMs: 120_000, intervalMs: 2_000 });
    expect(arrived).toHaveLength(N);
    for (const m of arrived) {
      const v = await run("/usr/bin/python3", [VERIFIER, lab.dnsServer.address, String(lab.dnsServer.port)], { input: m.eml, timeoutMs: 30_000 });
      expect(`${m.id}: ${v.stdout.trim()}`).toBe(`${m.id}: pass`);
    }
    expect((await logOf(ids)).filter((l) => /status=bounced/.test(l))).toEqual([]);
    expect((await queuedIds()).filter((id) => ids.includes(id))).toEqual([]);
  }, 300_000);
});

describe("the data disk full, then freed", () => {
  let minfree = 0;
  let limit = 0;
  beforeAll(async () => {
    minfree = Number((await onMachineOk(lab, "postconf -h queue_minfree")).trim());
    limit = Number((await onMachineOk(lab, "postconf -h message_size_limit")).trim());
  });
  afterAll(async () => {
    await onMachineOk(lab, `rm -f ${FILL} ${FILL}-rest; pkill -CONT -x qmgr || true`);
    await qmgrRunning();
  }, 180_000);

  /** Fills the data disk so that `leave` bytes stay free (0: every block, as root: the filesystem has no reserve). */
  const fill = (leave: number) => onMachineOk(lab, `rm -f ${FILL} ${FILL}-rest; avail=$(df -B1 --output=avail /srv/mail | tail -1)
    fallocate -l $((avail - ${leave})) ${FILL} ${leave === 0 ? "|| true" : ""}
    ${leave === 0 ? `dd if=/dev/zero of=${FILL}-rest bs=4k 2>/dev/null || true` : ""}
    df -B1 --output=avail /srv/mail | tail -1`);
  const free = () => onMachineOk(lab, `rm -f ${FILL} ${FILL}-rest`);

  /** MAIL FROM on port 25 from outside, as the Internet's servers send. */
  async function mailFrom(): Promise<string> {
    const d = await SmtpDialog.open(lab.ip, 25, { localAddress: lab.hostAddress });
    try {
      await d.ehlo("client.outside.test");
      const r = await d.command(`MAIL FROM:<${outsideSender(lab)}>`);
      return `${r.code} ${r.lines[r.lines.length - 1].slice(4)}`;
    } finally {
      d.close();
    }
  }

  test("queue_minfree is set above Postfix's own floor of 1.5 × message_size_limit", async () => {
    expect(minfree).toBeGreaterThan(1.5 * limit);
  });

  test("below queue_minfree a port-25 client gets 452 4.3.1 at MAIL FROM; after freeing, 250", async () => {
    // Postfix's own floor (queue_minfree 0) refuses below 1.5 × message_size_limit; 2.5 × lies between it and
    // ours, so only our setting makes this 452 (measured: with queue_minfree = 0 the same client gets 250).
    const left = Number((await fill(Math.floor(2.5 * limit))).trim());
    expect(left).toBeGreaterThan(1.5 * limit);
    expect(left).toBeLessThan(QUEUE_MINFREE_FACTOR * limit);
    expect(left).toBeGreaterThan(0);
    expect(await mailFrom()).toMatch(/^452 4\.3\.1 /);
    await free();
    expect(await mailFrom()).toMatch(/^250 /);
  });

  test("mail queued when the disk fills is deferred with 4.x, nothing bounces, all of it is delivered after freeing", async () => {
    const N = 5;
    const tag = token("disk-full");
    // Hold delivery (qmgr paused) while the messages are accepted, so that they are in the queue when the disk fills.
    await qmgrRunning();
    await onMachineOk(lab, "pkill -STOP -x qmgr");
    const ids: string[] = [];
    try {
      for (let i = 0; i < N; i++) ids.push(await submit(bob.address, `${tag} ${i}`));
      expect(Number((await fill(0)).trim())).toBe(0);
    } finally {
      await onMachineOk(lab, "pkill -CONT -x qmgr");
    }
    await waitFor("a delivery deferred with 4.x for lack of space", async () => {
      const log = await logOf(ids);
      return log.some((l) => /status=deferred/.test(l) && /dsn=4\./.test(l)) ? true : undefined;
    }, { timeoutMs: 90_000, intervalMs: 2_000 });
    // Still queued, every one (IMAP itself cannot work on a full disk: Dovecot must write its indexes).
    expect((await queuedIds()).filter((id) => ids.includes(id)).sort()).toEqual([...ids].sort());

    await free();
    // qmgr may have died on the full disk (master restarts it after its throttle time); ask for delivery until done.
    const delivered = await waitFor(`all ${N} messages in bob's INBOX`, async () => {
      await onMachineOk(lab, "postqueue -f || true");
      const n = await inboxCount(lab, bob, tag);
      return n >= N ? n : undefined;
    }, { timeoutMs: 180_000, intervalMs: 5_000 });
    expect(delivered).toBe(N);
    const log = await logOf(ids);
    expect(log.filter((l) => /status=bounced|status=expired/.test(l))).toEqual([]);
    expect(existsSync(pauseFile)).toBe(false);
  }, 300_000);
});
