// Issue 11 §3: the relay password lives only in Secret Manager. The VM reads it at apply time with its own
// service account (metadata token → versions/N:access); no other deploy input carries it. Rotation is a
// new secret version, which re-runs the apply and nothing else; the old version is destroyed.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { LAB_DIR, loadLab, labUser, token } from "./lib/lab";
import { configCopy, deployLab, DeployRecord, ensureDeployed, labConfigFile, stateOutputs } from "./lib/deploy";
import { onMachine, onMachineOk, shellQuote } from "./lib/machine";
import { submission } from "./lib/smtp";
import { waitForSpool } from "./lib/spool";

const DEPLOY_TIMEOUT = 30 * 60_000;
const VERSION = "gcp:secretmanager/secretVersion:SecretVersion";
const lab = loadLab();
const alice = labUser(lab, "alice@example.test");
const configFile = labConfigFile(lab);
const remote = (r: DeployRecord) => r.commands.filter((c) => c.where === "remote").map((c) => `${c.name} ${c.phase}`);
const versionName = () => String(stateOutputs(VERSION, "mail-relay-password").name);

/** Resources of the lab's state whose inputs hold `needle`. */
function holders(needle: string): string[] {
  const state = JSON.parse(readFileSync(join(LAB_DIR, "state.json"), "utf8")) as { resources: { type: string; name: string; inputs: unknown }[] };
  return state.resources.filter((r) => JSON.stringify(r.inputs).includes(needle)).map((r) => `${r.type} ${r.name}`);
}

/** Whether the server's sasl_passwd is exactly the login with this password (compared by hash, never printed). */
async function saslPasswdHas(password: string): Promise<boolean> {
  const line = `[${lab.relay.name ?? lab.relay.host}]:${lab.relay.port} ${lab.relay.username}:${password}\n`;
  const served = (await onMachineOk(lab, "sha256sum < /etc/postfix/sasl_passwd | cut -d' ' -f1")).trim();
  return served === createHash("sha256").update(line).digest("hex");
}

describe("the relay password, from Secret Manager", () => {
  const rotated = `relay-rotated-${token("pw")}`;
  let firstVersion: string;
  let rotation: DeployRecord;
  let holdersBefore: string[];
  let saslBefore: boolean;

  beforeAll(async () => {
    await ensureDeployed(configFile);
    firstVersion = versionName();
    holdersBefore = holders(lab.relay.password);
    saslBefore = await saslPasswdHas(lab.relay.password);
    rotation = await deployLab(configCopy(configFile, "relay-rotated", { "mailserver:relayPassword": rotated }));
  }, DEPLOY_TIMEOUT);

  // Back to the lab's password (another version), so that later test files see the standard lab.
  afterAll(async () => {
    await deployLab(configFile);
    expect(await saslPasswdHas(lab.relay.password)).toBe(true);
  }, DEPLOY_TIMEOUT);

  test("before: only the SecretVersion held the password; the server's sasl_passwd was built from it", () => {
    expect(firstVersion).toMatch(/^projects\/[^/]+\/secrets\/[^/]+\/versions\/\d+$/);
    expect(holdersBefore).toEqual([`${VERSION} mail-relay-password`]);
    expect(saslBefore).toBe(true);
    expect(rotation.plan?.find((s) => s.name === "mail-relay-password" && s.type === VERSION)?.op).toBe("replace");
  });

  test("rotation: a new version, and only the apply ran on the server", () => {
    expect(versionName()).not.toBe(firstVersion);
    expect(remote(rotation)).toEqual(["mail-apply create"]);
    expect(holders(rotated)).toEqual([`${VERSION} mail-relay-password`]);
    expect(holders(lab.relay.password)).toEqual([]);
  });

  test("the server has the new password in sasl_passwd, and the relay accepts it", async () => {
    expect(await saslPasswdHas(rotated)).toBe(true);
    const subject = token("rotated");
    await submission(lab, alice, 587).sendMail({ from: alice.address, to: "someone@outside.test", subject, text: "after rotation\n" });
    expect((await waitForSpool(lab, subject)).meta.authUser).toBe(lab.relay.username);
  });

  test("the old version is destroyed: the VM can no longer read it, and reads the new one with its own account", async () => {
    const old = await onMachine(lab, `/usr/local/sbin/mailserver-secret ${shellQuote(firstVersion)} >/dev/null`);
    expect(old.code).not.toBe(0);
    expect(old.stderr).toMatch(/400|FAILED_PRECONDITION|error/i);
    const current = await onMachineOk(lab, `/usr/local/sbin/mailserver-secret ${shellQuote(versionName())} | sha256sum | cut -d' ' -f1`);
    expect(current.trim()).toBe(createHash("sha256").update(rotated).digest("hex"));
  });
});
