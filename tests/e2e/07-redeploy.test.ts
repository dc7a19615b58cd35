// Issue 6 §4 case 8 and issue 11 §2: a second deploy with no change is a no-op for the engine (no remote
// command runs, no daemon restarts, no file changes); adding a user and deploying lets that user in, keeps
// the mail and keeps the data disk.
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { parseDocument } from "yaml";
import { LAB_DIR, loadLab, labUser, token } from "./lib/lab";
import { dataDisk, deployLab, ensureDeployed, labConfigFile, machineState } from "./lib/deploy";
import { findInInbox, waitForInbox, withImap } from "./lib/imap";
import { submission } from "./lib/smtp";

const DEPLOY_TIMEOUT = 30 * 60_000;
const lab = loadLab();
const alice = labUser(lab, "alice@example.test");
const bob = labUser(lab, "bob@example.test");
const configFile = labConfigFile(lab);

describe("deploying again with no change", () => {
  test("runs no remote command, changes no file and restarts no daemon", async () => {
    // Brings the state in line with the stack file, whatever ran before (this deploy may do work).
    await ensureDeployed(configFile);
    const before = await machineState(lab);
    // Sanity: the snapshot saw the daemons and the files, so an equal snapshot means something.
    expect(before["pid postfix-master"]).toMatch(/^\d+$/);
    expect(before["pid dovecot-master"]).toMatch(/^\d+$/);
    expect(before["unit opendkim"]).toMatch(/^[1-9]\d* /);
    expect(Object.keys(before).filter((k) => k.startsWith("file /etc/postfix/")).length).toBeGreaterThan(3);
    const again = await deployLab(configFile);
    expect(again.operations).toEqual([]);
    expect(again.commands).toEqual([]);
    expect(again.remoteCommands).toBe(0);
    expect(again.counts.same).toBeGreaterThan(40);
    expect(await machineState(lab)).toEqual(before);
  }, DEPLOY_TIMEOUT);
});

describe("adding a user (carol@example.test) and deploying", () => {
  const carol = { address: "carol@example.test", password: `carol-e2e-${randomBytes(9).toString("base64url")}` };
  const kept = token("kept");
  let diskBefore: { uuid: string; source: string };

  beforeAll(async () => {
    await submission(lab, alice, 587).sendMail({ from: alice.address, to: bob.address, subject: kept, text: "case 8: keep me\n" });
    await waitForInbox(lab, bob, kept);
    diskBefore = await dataDisk(lab);
    const doc = parseDocument(readFileSync(configFile, "utf8"));
    doc.addIn(["config", "mailserver:users"], carol);
    // The copy holds passwords: .lab is the lab's private directory, and the file is 0600.
    const copy = join(LAB_DIR, "e2e-add-user.yaml");
    writeFileSync(copy, doc.toString(), { mode: 0o600 });
    chmodSync(copy, 0o600);
    await deployLab(copy);
  }, DEPLOY_TIMEOUT);

  // Back to the lab's own config, so that a reused lab starts the next run from the same state.
  afterAll(() => deployLab(configFile), DEPLOY_TIMEOUT);

  test("the new user logs in over IMAP", async () => {
    const status = await withImap(lab, carol, (c) => c.status("INBOX", { messages: true }));
    expect(status.messages).toBeGreaterThanOrEqual(0);
  });

  test("existing mail is still in bob's INBOX", async () => {
    expect(await findInInbox(lab, bob, kept)).toContain("case 8: keep me");
  });

  test("the data disk is the same filesystem", async () => {
    expect(diskBefore.uuid).toMatch(/^[0-9a-f-]{8,}$/i);
    expect(await dataDisk(lab)).toEqual(diskBefore);
  });
});
