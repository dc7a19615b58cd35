// Issue 14 §4: a backup that has been restored. Mail in, snapshot (the lab's stand-in for the schedule), the
// mail lost (deleted over IMAP), restore through the program (mailserver:dataDiskSnapshot replaces the data
// disk with one made from the snapshot), and the mail from the snapshot is back and served over IMAP. Then the
// standard config again: dropping the key must leave the restored disk alone.
import { findInInbox, waitForInbox, withImap } from "../lib/imap";
import { configCopy, dataDisk, deployLab, DeployRecord, ensureDeployed, labConfigFile, stateOutputs } from "../lib/deploy";
import { loadLab, labUser, ROOT, token } from "../lib/lab";
import { run } from "../lib/run";
import { submission } from "../lib/smtp";

const DEPLOY_TIMEOUT = 30 * 60_000;
const DISK = "gcp:compute/disk:Disk";
const lab = loadLab();
const alice = labUser(lab, "alice@example.test");
const bob = labUser(lab, "bob@example.test");
const configFile = labConfigFile(lab);

describe("restore the data disk from a snapshot", () => {
  const kept = token("in-snapshot");
  let snapshot = "";
  let diskBefore = "";
  let restored: DeployRecord;
  let back: DeployRecord;

  beforeAll(async () => {
    await ensureDeployed(configFile);
    await submission(lab, alice, 587).sendMail({ from: alice.address, to: bob.address, subject: kept, text: "kept by the backup\n" });
    await waitForInbox(lab, bob, kept);

    const r = await run("npm", ["run", "--silent", "lab", "--", "snapshot"], { cwd: ROOT, timeoutMs: 300_000 });
    if (r.code !== 0) throw new Error(`npm run lab -- snapshot failed:\n${r.stderr}`);
    snapshot = r.stdout.trim().split("\n").pop() ?? "";
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

    restored = await deployLab(configCopy(configFile, "restore", { "mailserver:dataDiskSnapshot": snapshot }));
    back = await deployLab(configFile);
  }, DEPLOY_TIMEOUT);

  test("the lab took a snapshot of the deployed data disk", () => {
    expect(snapshot).toMatch(new RegExp(`^${diskBefore}-\\d{14}$`));
  });

  test("the restore replaced the data disk and the VM with it (never swapped under the daemons), the address stayed", () => {
    const op = (name: string) => restored.plan?.find((s) => s.name === name && !s.original);
    expect(op("mail-data")?.op).toBe("replace");
    expect(op("mail-data")?.replaceBecause).toEqual(["snapshot"]);
    expect(op("mail-vm")?.op).toBe("replace");
    expect(op("mail-vm")?.replaceBecause).toEqual(["attachedDisks.0.source"]);
    expect(op("mail-ip")?.op).toBe("same");
    expect(String(stateOutputs(DISK, "mail-data").name)).not.toBe(diskBefore);
  });

  test("the mail from the snapshot is back, served over IMAP", async () => {
    expect(await findInInbox(lab, bob, kept)).toContain("kept by the backup");
  });

  test("the restored disk is mounted on /srv/mail, and dropping the key again leaves it alone", async () => {
    expect((await dataDisk(lab)).source).toMatch(/^\/dev\//);
    expect(back.plan?.find((s) => s.name === "mail-data" && !s.original)?.op).toBe("same");
    expect(await findInInbox(lab, bob, kept)).toContain("kept by the backup");
  });
});
