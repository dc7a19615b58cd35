// Issue 24: a Debian 12 deployment moves to Debian 13 with one config change (mailserver:image) and one deploy.
// The VM is replaced on 13 (README "Moving to Debian 13"); the address, the data disk and what is on it stay:
// every folder with its UIDs and flags (no index lost or rebuilt), a Sieve script, a quota near full, rspamd's
// learned data (redis keeps it on the data disk) and a message deferred in the queue, which leaves afterwards.
// The rest of the suite runs on Debian 13 after this file (the sequencer runs it second):
// - on a lab brought up on 12 (LAB_IMAGE=debian-cloud/debian-12 npm run lab, as .ci/run and the suite's own lab
//   start do), the move is the lab's own stack file, deployed without LAB_IMAGE, with protectData on as in
//   production (a VM with deletion protection would make it three deploys);
// - on a lab brought up on 13 (npm run lab), this file first puts a Debian 12 server on an empty data disk (the
//   disk grown, then back to its size, which GCE can only do with a new disk) and moves that.
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ImapFlow } from "imapflow";
import { readStackConfig, releaseOf } from "../../lab/deploy";
import { configCopy, dataDisk, deployLab, DeployRecord, labConfigFile, stateOutputs, stateResource } from "./lib/deploy";
import { findIn, waitForInbox, withImap } from "./lib/imap";
import { LAB_DIR, LabUser, labUser, loadLab, outsideSender, token } from "./lib/lab";
import { onMachineOk, postfixQueue, queueId } from "./lib/machine";
import { activateScript, managesieveSession, removeScript } from "./lib/managesieve";
import { emptyMailbox } from "./lib/mailbox";
import { deliverLearnable, learned, Learned, moveMessage } from "./lib/rspamd";
import { message, outsideDialog, submission } from "./lib/smtp";
import { spooledWith, waitForSpool } from "./lib/spool";
import { waitFor } from "./lib/wait";

const DEPLOY_TIMEOUT = 45 * 60_000;
const SIEVE_SCRIPT = "move-to-13";
const PROJECTS = "Projects";
let lab = loadLab();
const configFile = labConfigFile(lab);
const bob = labUser(lab, "bob@example.test");
const alice = labUser(lab, "alice@example.test");
const dave = labUser(lab, "dave@example2.test");
const outside = "someone@outside.test";
const pauseFile = lab.relay.pauseFile ?? join(LAB_DIR, "relay", "pause");

/** Every folder of a mailbox as IMAP shows it: UIDVALIDITY, UIDNEXT and each message's UID and flags. */
type Folders = Record<string, { uidValidity: string; uidNext: number; messages: string[] }>;
async function folders(user: LabUser): Promise<Folders> {
  return withImap(lab, user, async (c: ImapFlow) => {
    const out: Folders = {};
    for (const { path } of await c.list()) {
      const s = await c.status(path, { uidValidity: true, uidNext: true, messages: true });
      const messages: string[] = [];
      if (s.messages) {
        const lock = await c.getMailboxLock(path);
        try {
          // \Recent belongs to a session (RFC 3501 2.3.2), not to the message: whoever looked first took it.
          for await (const m of c.fetch("1:*", { uid: true, flags: true })) {
            messages.push(`${m.uid} ${[...(m.flags ?? [])].filter((f) => f !== "\\Recent").sort().join(" ")}`);
          }
        } finally {
          lock.release();
        }
      }
      out[path] = { uidValidity: String(s.uidValidity), uidNext: Number(s.uidNext), messages };
    }
    return out;
  });
}

/** The user's storage quota as IMAP GETQUOTAROOT reports it (kB). */
const quota = (user: LabUser) => withImap(lab, user, async (c) => {
  const q = await c.getQuota("INBOX");
  if (!q || !q.storage) throw new Error(`no storage quota for ${user.address}`);
  return { used: q.storage.used, limit: q.storage.limit };
});

/** From outside, a message of about `bytes` to `to`: the RCPT reply, and the DATA reply when RCPT was accepted. */
async function deliverSized(to: string, subject: string, bytes: number): Promise<{ rcpt: number; data?: number }> {
  const from = outsideSender(lab);
  const line = "x".repeat(998);
  const body = Array.from({ length: Math.max(1, Math.floor(bytes / 1000)) }, () => line).join("\r\n") + "\r\n";
  const d = await outsideDialog(lab);
  try {
    if ((await d.command(`MAIL FROM:<${from}> SIZE=${body.length + 500}`)).code !== 250) throw new Error("MAIL refused");
    const rcpt = (await d.command(`RCPT TO:<${to}>`)).code;
    if (rcpt !== 250) return { rcpt };
    return { rcpt, data: (await d.data(message(from, to, subject, body))).code };
  } finally {
    d.close();
  }
}

const machine = (script: string) => onMachineOk(lab, script);
const planned = (d: DeployRecord, name: string) => d.plan?.find((s) => s.name === name && !s.original);

describe("Debian 12 to 13: one config change, one deploy, nothing lost", () => {
  const sieveToken = token("sieve-rule");
  const queued = token("queued-at-release-move");
  let startedOn = 0;
  let queuedId = "";
  let diskBefore = "";
  let foldersBefore: Folders;
  let quotaBefore: { used: number; limit: number };
  let learnedBefore: Learned;
  let moved: DeployRecord;

  afterAll(async () => {
    rmSync(pauseFile, { force: true });
    await removeScript(lab, bob, SIEVE_SCRIPT).catch(() => undefined);
  });

  beforeAll(async () => {
    if (process.env.LAB_IMAGE) {
      throw new Error(`LAB_IMAGE=${process.env.LAB_IMAGE} would stand for mailserver:image in every deploy of this file: run the suite ` +
        "without it (bring the lab up with LAB_IMAGE=debian-cloud/debian-12 npm run lab, as .ci/run does, or on 13 with npm run lab)");
    }
    if (releaseOf(readStackConfig(configFile)) !== 13) throw new Error(`${configFile} must deploy Debian 13: this file moves the lab there`);
    startedOn = lab.release;
    if (startedOn === 13) {
      // A Debian 12 server of its own, on an empty disk: 13's files (redis 8's dump) are not for 12.
      const restoredFrom = stateOutputs("gcp:compute/disk:Disk", "mail-data").snapshot;
      if (restoredFrom) throw new Error(`the lab's data disk was made from the snapshot ${String(restoredFrom)}, and a new one would be too: run this on a lab without a restore`);
      await deployLab(configCopy(configFile, "data-11", { "mailserver:dataDiskSizeGb": 11 }));
      await deployLab(configCopy(configFile, "debian-12", { "mailserver:image": "debian-cloud/debian-12" }));
      lab = loadLab();
    }
    if (lab.release !== 12) throw new Error(`the lab runs Debian ${lab.release}, not 12`);
    // As production: protectData on, before and through the move (the data disk and the address protected).
    await deployLab(configCopy(configFile, "protected-12", { "mailserver:image": "debian-cloud/debian-12", "mailserver:protectData": true }));

    // Mail in every folder, with flags, and a gap in INBOX's UIDs (an expunged message): a rebuilt index would show.
    await withImap(lab, bob, async (c) => {
      if (!(await c.list()).some((m) => m.path === PROJECTS)) await c.mailboxCreate(PROJECTS);
      for (const { path } of await c.list()) {
        for (const [i, flags] of [["\\Seen"], ["\\Flagged", "$Label1"], []].entries()) {
          await c.append(path, message(alice.address, bob.address, token(`${path}-${i}`)), flags);
        }
      }
      const lock = await c.getMailboxLock("INBOX");
      try {
        const uids = (await c.search({ subject: "INBOX-1" }, { uid: true })) || [];
        await c.messageDelete(uids.map(String).join(","), { uid: true });
      } finally {
        lock.release();
      }
    });
    // A Sieve script, active and working on 12.
    await activateScript(lab, bob, SIEVE_SCRIPT,
      `require ["fileinto"];\nif header :contains "subject" "${sieveToken}" { fileinto "${PROJECTS}"; stop; }\n`);
    const onTwelve = `${sieveToken} on 12`;
    await submission(lab, alice, 587).sendMail({ from: alice.address, to: bob.address, subject: onTwelve, text: "filed by Sieve\n" });
    await waitFor(`"${onTwelve}" in ${PROJECTS}`, () => findIn(lab, bob, PROJECTS, onTwelve));
    // A quota near full: dave's 1 MB, 92% used.
    await emptyMailbox(lab, dave);
    expect(await deliverSized(dave.address, token("quota-fill"), 0.92 * 1024 * 1024)).toEqual({ rcpt: 250, data: 250 });
    await waitForInbox(lab, dave, "Your mailbox is 90% full");
    // rspamd learns a spam from a move into Junk.
    const before = await learned(lab);
    await moveMessage(lab, bob, await deliverLearnable(lab, bob, "taught-on-12"), "INBOX", "Junk");
    await waitFor("the spam learned on 12", async () => ((await learned(lab)).spam > before.spam) || undefined);
    // A message to the outside deferred in the queue (the relay is away) at the switch.
    writeFileSync(pauseFile, "");
    const info = await submission(lab, alice, 587).sendMail({ from: alice.address, to: outside, subject: queued, text: "in the queue at the move\n" });
    queuedId = queueId(info.response);
    await waitFor("the queued message deferred by the paused relay", async () =>
      (await postfixQueue(lab)).get(queuedId) === "deferred" || undefined, { timeoutMs: 90_000, intervalMs: 2_000 });

    foldersBefore = await folders(bob);
    quotaBefore = await quota(dave);
    learnedBefore = await learned(lab);
    diskBefore = (await dataDisk(lab)).uuid;

    // The move: the stack file with mailserver:image debian-cloud/debian-13 (and production's protectData), nothing
    // else changed. One deploy: the VM has no deletion protection, which GCE and the lab would refuse to delete.
    moved = await deployLab(configCopy(configFile, "protected-13", { "mailserver:protectData": true }));
    lab = loadLab();
  }, DEPLOY_TIMEOUT);

  test("the preview: the VM is replaced because of its image; the data disk, the address and every other cloud resource stay", () => {
    expect(planned(moved, "mail-vm")).toMatchObject({ op: "replace", replaceBecause: ["bootDisk.initializeParams.image"] });
    expect(planned(moved, "mail-data")?.op).toBe("same");
    expect(planned(moved, "mail-ip")?.op).toBe("same");
    const others = (moved.plan ?? []).filter((s) => !s.original && s.op !== "same" && s.name !== "mail-vm");
    // What follows a new VM: the commands that wait for it, provision it and push the files run again, and its
    // new SSH host key is pinned (the Stash's replacementTrigger is the instance's id: components/host.ts).
    expect(others.filter((s) => !s.type.startsWith("command:")).map((s) => `${s.name} ${s.op} ${(s.replaceBecause ?? []).join()}`))
      .toEqual(["mail-host-key replace replacementTrigger"]);
    expect(others.every((s) => s.op === "replace" || s.op === "update")).toBe(true);
    expect(moved.counts.delete ?? 0).toBe(0);
  });

  test("in production, one deploy: the data disk and the address stay protected, the VM never had deletion protection", () => {
    expect(stateResource("gcp:compute/disk:Disk", "mail-data").protect).toBe(true);
    expect(stateResource("gcp:compute/address:Address", "mail-ip").protect).toBe(true);
    expect(stateOutputs("gcp:compute/instance:Instance", "mail-vm").deletionProtection).toBe(false);
  });

  test("the new VM runs Debian 13 with Dovecot 2.4, on the same data disk", async () => {
    expect(startedOn === 12 || startedOn === 13).toBe(true);
    expect(lab.release).toBe(13);
    expect((await machine(". /etc/os-release; echo $VERSION_ID")).trim()).toBe("13");
    expect((await machine("dovecot --version")).trim()).toMatch(/^2\.4\./);
    expect((await dataDisk(lab)).uuid).toBe(diskBefore);
  });

  test("every folder kept its UIDVALIDITY, UIDs and flags: no index lost or rebuilt", async () => {
    expect(Object.keys(foldersBefore)).toEqual(expect.arrayContaining(["INBOX", PROJECTS, "Junk"]));
    expect(Object.values(foldersBefore).every((f) => f.messages.length >= 2)).toBe(true);
    expect(await folders(bob)).toEqual(foldersBefore);
    expect(await machine("journalctl -u dovecot --no-pager -q | grep -Eic 'corrupt|rebuil|uidvalidity changed' || true")).toBe("0\n");
  });

  test("every user logs in with the same password, over IMAP and SMTP AUTH", async () => {
    for (const u of lab.users) {
      await withImap(lab, u, async (c) => expect((await c.status("INBOX", { messages: true })).path).toBe("INBOX"));
      expect(await submission(lab, u, 587).verify()).toBe(true);
    }
  });

  test("the Sieve script is still active and files new mail", async () => {
    const s = await managesieveSession(lab, bob);
    try {
      expect((await s.listScripts()).filter((x) => x.active).map((x) => x.name)).toEqual([SIEVE_SCRIPT]);
    } finally {
      s.close();
    }
    const onThirteen = `${sieveToken} on 13`;
    await submission(lab, alice, 587).sendMail({ from: alice.address, to: bob.address, subject: onThirteen, text: "filed by Sieve\n" });
    expect(await waitFor(`"${onThirteen}" in ${PROJECTS}`, () => findIn(lab, bob, PROJECTS, onThirteen))).toContain("filed by Sieve");
  });

  test("dave's quota is as full as before and still refuses what does not fit", async () => {
    expect(await quota(dave)).toEqual(quotaBefore);
    expect((await deliverSized(dave.address, token("quota-over"), 200_000)).rcpt).toBe(552);
    await emptyMailbox(lab, dave);
  });

  test("rspamd's learned data came along: redis and rspamc stat show the counts taught on 12", async () => {
    expect(learnedBefore.spam).toBeGreaterThan(0);
    expect(await learned(lab)).toEqual(learnedBefore);
    await waitFor("rspamc stat to show the spam learned on 12", async () =>
      new RegExp(`Statfile: BAYES_SPAM .*?learned: ${learnedBefore.spam};`).test(await machine("rspamc stat")) || undefined);
  });

  test("the message queued at the switch is in the new VM's queue under its id, and leaves once the relay is back", async () => {
    expect((await postfixQueue(lab)).get(queuedId)).toBe("deferred");
    expect(spooledWith(lab, queued)).toHaveLength(0);
    rmSync(pauseFile, { force: true });
    await machine("postqueue -f");
    const m = await waitForSpool(lab, queued, 120_000);
    expect(m.meta.to).toEqual([outside]);
  }, 180_000);

  test("mail from outside arrives on 13", async () => {
    const subject = token("after-release-move");
    expect(await deliverSized(bob.address, subject, 1_000)).toEqual({ rcpt: 250, data: 250 });
    await waitForInbox(lab, bob, subject);
  });
});

