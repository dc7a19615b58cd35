// Issue 11 §3: the relay password lives only in Secret Manager. The VM reads it at apply time with its own
// service account (metadata token → versions/N:access); no other deploy input carries it. Rotation is a
// new secret version, which re-runs the apply and nothing else; the old version is destroyed.
// Deployed in the hand-typed mode (relayUsername, relayPassword: a second stack file, lab/stack.yaml is in the
// Mailgun API mode), with a login made "in Mailgun's console" (the lab gives the account it, lab/relay.ts). Leaving
// the API mode deletes what the stack made at Mailgun: the credential and the domain, as a destroy does.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { LAB_DIR, Lab, loadLab, labUser, token } from "./lib/lab";
import { configCopy, deployLab, DeployRecord, ensureDeployed, labConfigFile, stateOutputs } from "./lib/deploy";
import { onMachine, onMachineOk, shellQuote } from "./lib/machine";
import { submission } from "./lib/smtp";
import { waitForSpool } from "./lib/spool";

const DEPLOY_TIMEOUT = 30 * 60_000;
const VERSION = "gcp:secretmanager/secretVersion:SecretVersion";
const lab = loadLab();
const alice = labUser(lab, "alice@example.test");
const configFile = labConfigFile(lab);
const CREDENTIAL = "pulumi-nodejs:dynamic/mailgun:Credential";
/** The hand-typed login: the lab's Mailgun account holds it (a login made in the console), on a domain the stack does not manage. */
const typed = { username: "postmaster@mg.example2.test", password: `relay-typed-${token("pw")}` };
const handTyped = configCopy(configFile, "relay-typed", {
  "mailserver:mailgunApiKey": undefined, "mailserver:mailgunApiUrl": undefined,
  "mailserver:relayUsername": typed.username, "mailserver:relayPassword": typed.password,
});
/** The Mailgun stand-in's account: domain → its credentials' logins. */
const mailgunAccount = (): Record<string, string[]> => {
  const store = JSON.parse(readFileSync(lab.relay.mailgunStore, "utf8")) as { domains: Record<string, { credentials: { login: string }[] }> };
  return Object.fromEntries(Object.entries(store.domains).map(([d, v]) => [d, v.credentials.map((c) => c.login)]));
};
const remote = (r: DeployRecord) => r.commands.filter((c) => c.where === "remote").map((c) => `${c.name} ${c.phase}`);
const versionName = () => String(stateOutputs(VERSION, "mail-relay-password").name);

/** Resources of the lab's state whose inputs hold `needle`. */
function holders(needle: string): string[] {
  const state = JSON.parse(readFileSync(join(LAB_DIR, "state.json"), "utf8")) as { resources: { type: string; name: string; inputs: unknown }[] };
  return state.resources.filter((r) => JSON.stringify(r.inputs).includes(needle)).map((r) => `${r.type} ${r.name}`);
}

/** Whether the server's sasl_passwd is exactly the login with this password (compared by hash, never printed). */
async function saslPasswdHas(password: string, username = typed.username, l: Lab = lab): Promise<boolean> {
  const line = `[${l.relay.name ?? l.relay.host}]:${l.relay.port} ${username}:${password}\n`;
  const served = (await onMachineOk(lab, "sha256sum < /etc/postfix/sasl_passwd | cut -d' ' -f1")).trim();
  return served === createHash("sha256").update(line).digest("hex");
}

describe("the relay password, from Secret Manager", () => {
  const rotated = `relay-rotated-${token("pw")}`;
  let firstVersion: string;
  let rotation: DeployRecord;
  let holdersBefore: string[];
  let saslBefore: boolean;
  let accountBefore: Record<string, string[]>;
  let accountTyped: Record<string, string[]>;
  let switched: DeployRecord;

  beforeAll(async () => {
    await ensureDeployed(configFile);
    accountBefore = mailgunAccount();
    switched = await deployLab(handTyped);
    accountTyped = mailgunAccount();
    firstVersion = versionName();
    holdersBefore = holders(typed.password);
    saslBefore = await saslPasswdHas(typed.password);
    rotation = await deployLab(configCopy(handTyped, "relay-rotated", { "mailserver:relayPassword": rotated }));
  }, DEPLOY_TIMEOUT);

  // Back to lab/stack.yaml (the API mode: a new domain and credential), so that later test files see the standard lab.
  afterAll(async () => {
    await deployLab(configFile);
    const back = loadLab();
    expect(back.relay.username).toBe("mailserver-g1@mg.example.test");
    expect(await saslPasswdHas(back.relay.password, back.relay.username, back)).toBe(true);
  }, DEPLOY_TIMEOUT);

  test("leaving the API mode deleted the stack's Mailgun credential and domain; the hand-typed login stays", () => {
    expect(accountBefore["mg.example.test"]).toEqual(["mailserver-g1@mg.example.test"]);
    expect(switched.operations.filter((o) => o.type.startsWith("pulumi-nodejs:dynamic/mailgun")).map((o) => `${o.op} ${o.name}`).sort())
      .toEqual(["delete mail-mailgun-credential", "delete mail-mailgun-domain", "delete mail-mailgun-verification"]);
    expect(accountTyped["mg.example.test"]).toBeUndefined();
    expect(accountTyped["mg.example2.test"]).toEqual([typed.username]);
    expect(() => stateOutputs(CREDENTIAL, "mail-mailgun-credential")).toThrow(/has no/);
  });

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
    expect(holders(typed.password)).toEqual([]);
  });

  test("the server has the new password in sasl_passwd, and the relay accepts it", async () => {
    expect(await saslPasswdHas(rotated)).toBe(true);
    const subject = token("rotated");
    await submission(lab, alice, 587).sendMail({ from: alice.address, to: "someone@outside.test", subject, text: "after rotation\n" });
    expect((await waitForSpool(lab, subject)).meta.authUser).toBe(typed.username);
  });

  test("the old version is destroyed: the VM can no longer read it, and reads the new one with its own account", async () => {
    const old = await onMachine(lab, `/usr/local/sbin/mailserver-secret ${shellQuote(firstVersion)} >/dev/null`);
    expect(old.code).not.toBe(0);
    expect(old.stderr).toMatch(/400|FAILED_PRECONDITION|error/i);
    const current = await onMachineOk(lab, `/usr/local/sbin/mailserver-secret ${shellQuote(versionName())} | sha256sum | cut -d' ' -f1`);
    expect(current.trim()).toBe(createHash("sha256").update(rotated).digest("hex"));
  });
});
