// Issue 14 §4 and issue 20 §3: the data disk made anew from a snapshot, twice, each time in another zone.
// 1. A restore into another zone (a zone down, yesterday's backup brought up elsewhere): mail in, snapshot (the
//    lab's stand-in for the schedule), the mail lost (deleted over IMAP), then mailserver:dataDiskSnapshot and a new
//    gcp:zone together. The disk and the VM are replaced in the new zone, the address stays, the mail is back.
// 2. The move back, as docs/operations.md ("Moving to another zone") says: with mail queued for the relay at the
//    switch, Postfix and Dovecot stopped, a snapshot, then the zone and the snapshot. Nothing is lost: the mailbox
//    and the queue move with the disk, and the queued message leaves from the new VM.
// Then the lab's own stack file again: dropping the key leaves the disk alone.
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { findInInbox, waitForInbox, withImap } from "../lib/imap";
import { configCopy, dataDisk, deployLab, DeployRecord, ensureDeployed, labCli, labConfigFile, stateOutputs } from "../lib/deploy";
import { LAB_DIR, loadLab, labUser, token } from "../lib/lab";
import { onMachineOk, queueId } from "../lib/machine";
import { submission } from "../lib/smtp";
import { spooledWith, waitForSpool } from "../lib/spool";
import { waitFor } from "../lib/wait";

const DEPLOY_TIMEOUT = 40 * 60_000;
const DISK = "gcp:compute/disk:Disk";
const INSTANCE = "gcp:compute/instance:Instance";
const ATTACHMENT = "gcp:compute/diskResourcePolicyAttachment:DiskResourcePolicyAttachment";
const lab = loadLab();
const alice = labUser(lab, "alice@example.test");
const bob = labUser(lab, "bob@example.test");
const outside = "someone@outside.test";
const pauseFile = lab.relay.pauseFile ?? join(LAB_DIR, "relay", "pause");
const configFile = labConfigFile(lab);
const HOME_ZONE = "lab-local1-a";
const OTHER_ZONE = "lab-local1-b";

/** `npm run lab -- snapshot`: the data disk copied now; prints the snapshot's name. */
async function snapshot(): Promise<string> {
  const r = await labCli(["snapshot"], 300_000);
  if (r.code !== 0) throw new Error(`npm run lab -- snapshot failed:\n${r.stderr}`);
  return r.stdout.trim().split("\n").pop() ?? "";
}
const zones = () => ({
  vm: String(stateOutputs(INSTANCE, "mail-vm").zone),
  disk: String(stateOutputs(DISK, "mail-data").zone),
  schedule: String(stateOutputs(ATTACHMENT, "mail-data-snapshots").zone),
});
/** Postfix's queue on the lab machine: queue id → queue name (postqueue -j, a JSON object per line). */
async function queue(): Promise<Map<string, string>> {
  const lines = (await onMachineOk(lab, "postqueue -j")).split("\n").filter((l) => l.trim().startsWith("{"));
  return new Map(lines.map((l) => JSON.parse(l) as { queue_id: string; queue_name: string }).map((m) => [m.queue_id, m.queue_name]));
}
const planned = (d: DeployRecord, name: string) => d.plan?.find((s) => s.name === name && !s.original);
const instanceLink = () => String(stateOutputs(INSTANCE, "mail-vm").selfLink);

describe("restore into another zone, then the documented move back with mail queued", () => {
  const kept = token("in-snapshot");
  const beforeMove = token("before-move");
  const queued = token("queued-at-move");
  let firstSnapshot = "";
  let moveSnapshot = "";
  let diskBefore = "";
  let restoredVm = "";
  let queuedId = "";
  let zonesBefore: ReturnType<typeof zones>;
  let zonesRestored: ReturnType<typeof zones>;
  let restored: DeployRecord;
  let moved: DeployRecord;
  let back: DeployRecord;

  afterAll(() => rmSync(pauseFile, { force: true }));

  beforeAll(async () => {
    await ensureDeployed(configFile);
    zonesBefore = zones();
    await submission(lab, alice, 587).sendMail({ from: alice.address, to: bob.address, subject: kept, text: "kept by the backup\n" });
    await waitForInbox(lab, bob, kept);
    firstSnapshot = await snapshot();
    diskBefore = String(stateOutputs(DISK, "mail-data").name);

    // The mail is lost: deleted and expunged.
    await withImap(lab, bob, async (c) => {
      const lock = await c.getMailboxLock("INBOX");
      try {
        await c.messageDelete({ subject: kept });
      } finally {
        lock.release();
      }
    });
    expect(await findInInbox(lab, bob, kept)).toBeUndefined();

    restored = await deployLab(configCopy(configFile, "restore-other-zone",
      { "gcp:zone": OTHER_ZONE, "mailserver:dataDiskSnapshot": firstSnapshot }));
    zonesRestored = zones();
    restoredVm = instanceLink();

    // The move back, step by step as docs/operations.md has it. The relay is away, so a message waits in the queue.
    await submission(lab, alice, 587).sendMail({ from: alice.address, to: bob.address, subject: beforeMove, text: "in the mailbox at the move\n" });
    await waitForInbox(lab, bob, beforeMove);
    writeFileSync(pauseFile, "");
    const info = await submission(lab, alice, 587).sendMail({ from: alice.address, to: outside, subject: queued, text: "in the queue at the move\n" });
    queuedId = queueId(info.response);
    await waitFor("the queued message deferred by the paused relay", async () =>
      (await queue()).get(queuedId) === "deferred" || undefined, { timeoutMs: 90_000, intervalMs: 2_000 });
    await onMachineOk(lab, "systemctl stop postfix dovecot");
    moveSnapshot = await snapshot();
    moved = await deployLab(configCopy(configFile, "move-home", { "gcp:zone": HOME_ZONE, "mailserver:dataDiskSnapshot": moveSnapshot }));
    back = await deployLab(configFile);
  }, DEPLOY_TIMEOUT);

  test("the lab took snapshots of the deployed data disk", () => {
    expect(firstSnapshot).toMatch(new RegExp(`^${diskBefore}-\\d{14}$`));
    expect(moveSnapshot).toMatch(/^mail-data-[0-9a-f]+-\d{14}$/);
    expect(moveSnapshot).not.toBe(firstSnapshot);
  });

  test("the restore into another zone replaced the data disk and the VM there (never swapped under the daemons); the address stayed", () => {
    expect(zonesBefore).toEqual({ vm: HOME_ZONE, disk: HOME_ZONE, schedule: HOME_ZONE });
    expect(planned(restored, "mail-data")).toMatchObject({ op: "replace", replaceBecause: ["snapshot", "zone"] });
    expect(planned(restored, "mail-vm")).toMatchObject({ op: "replace", replaceBecause: ["attachedDisks.0.source", "zone"] });
    expect(planned(restored, "mail-ip")?.op).toBe("same");
    expect(zonesRestored).toEqual({ vm: OTHER_ZONE, disk: OTHER_ZONE, schedule: OTHER_ZONE });
  });

  test("the move back replaced the disk and the VM in the home zone, with the same address", () => {
    expect(planned(moved, "mail-data")).toMatchObject({ op: "replace", replaceBecause: ["snapshot", "zone"] });
    expect(planned(moved, "mail-vm")).toMatchObject({ op: "replace", replaceBecause: ["attachedDisks.0.source", "zone"] });
    expect(planned(moved, "mail-ip")?.op).toBe("same");
    expect(zones()).toEqual({ vm: HOME_ZONE, disk: HOME_ZONE, schedule: HOME_ZONE });
    expect(instanceLink()).not.toBe(restoredVm);
  });

  test("the mail from the first snapshot came back with the restore, and both mailbox messages moved back", async () => {
    expect(await findInInbox(lab, bob, kept)).toContain("kept by the backup");
    expect(await findInInbox(lab, bob, beforeMove)).toContain("in the mailbox at the move");
  });

  test("the message queued at the move is in the new VM's queue under its id, and leaves once the relay is back", async () => {
    expect((await queue()).get(queuedId)).toBe("deferred");
    expect(spooledWith(lab, queued)).toHaveLength(0);
    rmSync(pauseFile, { force: true });
    // Postfix retries deferred mail after its backoff (minutes); an admin who does not want to wait flushes.
    await onMachineOk(lab, "postqueue -f");
    const m = await waitForSpool(lab, queued, 120_000);
    expect(m.meta.to).toEqual([outside]);
    expect(spooledWith(lab, queued)).toHaveLength(1);
  }, 180_000);

  test("the disk is mounted on /srv/mail, and dropping the key and the zone again leaves it alone", async () => {
    expect((await dataDisk(lab)).source).toMatch(/^\/dev\//);
    expect(planned(back, "mail-data")?.op).toBe("same");
    expect(back.operations).toEqual([]);
  });
});
