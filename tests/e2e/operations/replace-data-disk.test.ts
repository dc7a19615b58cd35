// A new data disk: a smaller dataDiskSizeGb replaces the disk with an empty one (GCE cannot shrink a disk), and
// the VM with it (components/host.ts: GCE would detach the old disk from the running VM under the daemons; a VM's
// delete shuts the guest down first). The deploy must leave the new disk formatted and mounted on /srv/mail with
// the Postfix queue on it, and mail delivered afterwards must land on it (not on the boot disk or the old disk,
// where it would be lost with the next VM); a deploy after that changes nothing. The lab's size is 10, the
// smallest the config takes, so the disk first grows to 11 (in place) and then goes back to the lab's 10. The
// boot disk grows to 11 in the same deploy: GCE resizes it under the running VM (no new VM, no reboot) and
// mail-grow-root runs; the lab's root is a directory of the host's disk, which it reports and leaves alone (the
// growing itself: tests/daemons/growroot.test.ts). Shrinking the boot disk back is an update GCE refuses at apply.
// The lab's data disk must never have been restored: Pulumi keeps an ignored input's old value for a replacement
// too, so a disk made from a snapshot is replaced by one made from that snapshot again, not an empty one
// (docs/operations.md). In the suite this file runs before restore-and-move.
import { configCopy, dataDisk, deployLab, DeployRecord, ensureDeployed, labConfigFile, stateOutputs } from "../lib/deploy";
import { findInInbox, waitForInbox } from "../lib/imap";
import { loadLab, labUser, token } from "../lib/lab";
import { mailStoreFilesWith, onMachineOk, shellQuote } from "../lib/machine";
import { submission } from "../lib/smtp";

const DEPLOY_TIMEOUT = 30 * 60_000;
const DEVICE = "/dev/disk/by-id/google-maildata";
const lab = loadLab();
const alice = labUser(lab, "alice@example.test");
const bob = labUser(lab, "bob@example.test");
const configFile = labConfigFile(lab);

const diskName = () => String(stateOutputs("gcp:compute/disk:Disk", "mail-data").name);
const instanceLink = () => String(stateOutputs("gcp:compute/instance:Instance", "mail-vm").selfLink);
/** PID 1's start time: another boot has another one. */
const initStart = async () => (await onMachineOk(lab, "cut -d' ' -f22 /proc/1/stat")).trim();
/** major:minor of the attached data disk, and of the file systems that /srv/mail and the queue are on. */
async function devices(): Promise<{ disk: string; mount: string; spool: string }> {
  const [disk = "", mount = "", spool = ""] = (await onMachineOk(lab, `
    mountpoint -x ${DEVICE}
    mountpoint -d /srv/mail
    mountpoint -d /var/spool/postfix
  `)).trim().split("\n");
  return { disk, mount, spool };
}
const ran = (d: DeployRecord) => d.commands.map((c) => c.name);
const planned = (d: DeployRecord, name: string) => d.plan?.find((s) => s.name === name && !s.original);

describe("an empty new data disk, with a new VM", () => {
  const before = token("on-old-disk");
  const after = token("on-new-disk");
  let grown: DeployRecord;
  let replaced: DeployRecord;
  let again: DeployRecord;
  let old: { name: string; uuid: string; vm: string; boot: string };
  let beforeGrow: { vm: string; boot: string };
  let growRoot: string;
  let bootShrink: string;

  beforeAll(async () => {
    await ensureDeployed(configFile);
    const restoredFrom = stateOutputs("gcp:compute/disk:Disk", "mail-data").snapshot;
    if (restoredFrom) throw new Error(`the lab's data disk was made from the snapshot ${String(restoredFrom)}, and a new one would be too: run this on a lab without a restore`);
    beforeGrow = { vm: instanceLink(), boot: await initStart() };
    grown = await deployLab(configCopy(configFile, "disks-11", { "mailserver:dataDiskSizeGb": 11, "mailserver:bootDiskSizeGb": 11 }));
    growRoot = String(stateOutputs("command:remote:Command", "mail-grow-root").stdout);
    bootShrink = await deployLab(configCopy(configFile, "data-11", { "mailserver:dataDiskSizeGb": 11 })).then(() => "deployed", (e: Error) => e.message);
    await submission(lab, alice, 587).sendMail({ from: alice.address, to: bob.address, subject: before, text: "on the old disk\n" });
    await waitForInbox(lab, bob, before);
    old = { name: diskName(), uuid: (await dataDisk(lab)).uuid, vm: instanceLink(), boot: await initStart() };

    replaced = await deployLab(configFile);
    await submission(lab, alice, 587).sendMail({ from: alice.address, to: bob.address, subject: after, text: "on the new disk\n" });
    await waitForInbox(lab, bob, after);
    again = await deployLab(configFile);
  }, DEPLOY_TIMEOUT);

  test("a larger size grows the same disk and does not provision again; a larger boot disk updates the running VM (same VM, same boot) and runs mail-grow-root, which says the lab's root is no disk of its own", () => {
    expect(planned(grown, "mail-data")?.op).toBe("update");
    expect(planned(grown, "mail-vm")).toMatchObject({ op: "update", changed: ["bootDisk.initializeParams.size"] });
    expect(ran(grown).sort()).toEqual(["mail-grow-data", "mail-grow-root"]);
    expect(old).toMatchObject(beforeGrow);
    expect(growRoot).toMatch(/^mailserver-growroot: \/ is the directory \/\S+ of a filesystem it shares \(a container's root, as in the lab\), not a disk partition of its own: nothing to grow\n?$/);
  });

  test("a smaller boot disk is refused when the instance update is applied, as GCE's disks/resize refuses it; the VM stays", () => {
    expect(bootShrink).toContain("disks/resize of the boot disk from 11 GB to 10 GB: GCE refuses a smaller size (a disk only grows); " +
      "set mailserver:bootDiskSizeGb back to 11 or more");
    expect(old).toMatchObject(beforeGrow); // the VM and its boot after the refused deploy: the same
  });

  test("a smaller size replaces the disk and the VM (a new boot, the old one shut down first), and provisioning runs again", async () => {
    expect(planned(replaced, "mail-data")?.op).toBe("replace");
    expect(planned(replaced, "mail-data")?.replaceBecause).toEqual(["size"]);
    expect(planned(replaced, "mail-vm")?.op).toBe("replace");
    expect(planned(replaced, "mail-vm")?.replaceBecause).toEqual(["attachedDisks.0.source"]);
    expect(diskName()).not.toBe(old.name);
    expect(instanceLink()).not.toBe(old.vm);
    expect(await initStart()).not.toBe(old.boot);
    expect(ran(replaced)).toEqual(expect.arrayContaining(["mail-provision", "mail-grow-data"]));
  });

  test("the new disk got a file system of its own and is mounted on /srv/mail, with the queue on it", async () => {
    const d = await devices();
    expect(d.disk).toMatch(/^\d+:\d+$/);
    expect(d).toEqual({ disk: d.disk, mount: d.disk, spool: d.disk });
    const uuid = (await dataDisk(lab)).uuid;
    expect(uuid).toMatch(/^[0-9a-f-]{36}$/);
    expect(uuid).not.toBe(old.uuid);
    // Empty: the mail of the old disk stayed there (docs/environments.md: copy it over by hand, or restore a snapshot).
    expect(await findInInbox(lab, bob, before)).toBeUndefined();
  });

  test("mail delivered afterwards is stored on the new disk", async () => {
    expect(await findInInbox(lab, bob, after)).toContain("on the new disk");
    const files = await mailStoreFilesWith(lab, after);
    expect(files).toHaveLength(1);
    const on = (await onMachineOk(lab, `stat -c '%Hd:%Ld' ${shellQuote(files[0])}`)).trim();
    expect(on).toBe((await devices()).disk);
  });

  test("deploying again changes nothing", () => {
    expect(again.operations).toEqual([]);
    expect(again.remoteCommands).toBe(0);
  });
});
