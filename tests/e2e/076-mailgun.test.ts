// Issue 23: the Mailgun side from code, in the lab's API mode (lab/stack.yaml). The stack made mg.example.test at the
// Mailgun API stand-in, published the records the API asked for, and the stand-in verified them against the lab DNS;
// the server relays with the credential the stack made, which the relay stand-in accepts only because the API holds
// it. A wrong API key, or an API address over plain http, stops the deploy before anything changes; a rotation
// (mailgunCredentialGeneration) under a burst of mail refuses none and loses none, and deletes the old credential only
// after the server switched.
// Two deploys: the rotation, and back to lab/stack.yaml. The hand-typed mode, and the credential's delete when the
// stack stops managing it, are in 074-relay-secret.test.ts.
import { existsSync, readFileSync } from "node:fs";
import * as http from "node:http";
import { join } from "node:path";
import nodemailer from "nodemailer";
import { configCopy, deployLab, DeployRecord, labCli, labConfigFile, stateOutputs } from "./lib/deploy";
import { labResolver, txt } from "./lib/dns";
import { MAILGUN_API_PORT } from "../../lab/paths";
import { Lab, LAB_DIR, labUser, loadLab, token } from "./lib/lab";
import { submission } from "./lib/smtp";
import { spooledWith, waitForSpool } from "./lib/spool";
import { sleep, waitFor } from "./lib/wait";

const DEPLOY_TIMEOUT = 30 * 60_000;
const CREDENTIAL = "pulumi-nodejs:dynamic/mailgun:Credential";
const DOMAIN = "mg.example.test";
const lab = loadLab();
const alice = labUser(lab, "alice@example.test");
const configFile = labConfigFile(lab);

interface Account { domains: Record<string, { state: string; dkimSelector: string; dkimPublicKey: string; credentials: { login: string }[] }> }
const account = (): Account => JSON.parse(readFileSync(lab.relay.mailgunStore, "utf8")) as Account;
const logins = (): string[] => account().domains[DOMAIN]?.credentials.map((c) => c.login) ?? [];
interface Auth { at: string; login: string; accepted: boolean }
const auths = (): Auth[] => (existsSync(lab.relay.authLog) ? readFileSync(lab.relay.authLog, "utf8") : "").split("\n").filter(Boolean).map((l) => JSON.parse(l) as Auth);

/**
 * Logs in at the relay stand-in from outside as Postfix does (STARTTLS, then AUTH). The relay's certificate is not what
 * this checks (04-outbound does): only whether the login is accepted.
 */
async function relayAccepts(l: Lab, user: string, pass: string): Promise<boolean> {
  const t = nodemailer.createTransport({ host: l.relay.host, port: l.relay.port, requireTLS: true, auth: { user, pass }, tls: { rejectUnauthorized: false } });
  try {
    return await t.verify();
  } catch (e) {
    if ((e as { responseCode?: number }).responseCode === 535) return false;
    throw e;
  } finally {
    t.close();
  }
}

describe("deployed in the API mode", () => {
  test("Mailgun verified mg.example.test because the lab DNS serves the records its API asked for", async () => {
    const d = account().domains[DOMAIN];
    expect(d.state).toBe("active");
    expect(await txt(lab, DOMAIN)).toContain("v=spf1 include:mailgun.org ~all");
    expect(await txt(lab, `${d.dkimSelector}._domainkey.${DOMAIN}`)).toContain(`k=rsa; p=${d.dkimPublicKey}`);
    const mx = (await labResolver(lab).resolveMx(DOMAIN)).map((m) => m.exchange).sort();
    expect(mx).toEqual(["mxa.mailgun.org", "mxb.mailgun.org"]);
  });

  test("mail leaves through the relay with the credential the stack generated; no stack file holds its password", async () => {
    expect(lab.relay.username).toBe(`mailserver-g1@${DOMAIN}`);
    expect(logins()).toEqual([lab.relay.username]);
    expect(readFileSync(configFile, "utf8")).not.toContain(lab.relay.password);
    const subject = token("mailgun");
    await submission(lab, alice, 587).sendMail({ from: alice.address, to: "someone@outside.test", subject, text: "via mailgun\n" });
    expect((await waitForSpool(lab, subject)).meta.authUser).toBe(lab.relay.username);
  });

  test("the relay accepts only what the API holds: a wrong password or a login it does not hold is refused (control: the real one passes)", async () => {
    expect(await relayAccepts(lab, lab.relay.username, lab.relay.password)).toBe(true);
    expect(await relayAccepts(lab, lab.relay.username, `${lab.relay.password}x`)).toBe(false);
    expect(await relayAccepts(lab, `postmaster@${DOMAIN}`, lab.relay.password)).toBe(false);
  });
});

/** What the API stand-in logged: one line per request answered, and per malformed one (lab/mailgun-api-server.ts). */
const API_LOG = join(LAB_DIR, "logs", "mailgun-api.log");
const apiLog = (): string[] => readFileSync(API_LOG, "utf8").split("\n").filter(Boolean);

test("a wrong API key stops the deploy with an error naming the key, before anything changes", async () => {
  const wrongKey = `key-${token("wrong")}`;
  const state = readFileSync(join(LAB_DIR, "state.json"), "utf8");
  const store = readFileSync(lab.relay.mailgunStore, "utf8");
  const logged = apiLog().length;
  const r = await labCli(["deploy", "--config", configCopy(configFile, "mailgun-wrong-key", { "mailserver:mailgunApiKey": wrongKey })],
    10 * 60_000);
  const out = r.stdout + r.stderr;
  expect(r.code).not.toBe(0);
  expect(out).toMatch(/Mailgun refused the API key .*\(401\).*mailserver:mailgunApiKey/);
  expect(out).not.toContain(wrongKey);
  expect(readFileSync(join(LAB_DIR, "state.json"), "utf8")).toBe(state);
  expect(readFileSync(lab.relay.mailgunStore, "utf8")).toBe(store);
  // The key check reached the stand-in over HTTPS, the lab CA's certificate verified (the control of the next test).
  expect(apiLog().slice(logged)).toEqual([expect.stringMatching(/ GET \/v4\/domains\/mg\.example\.test 401$/)]);
}, DEPLOY_TIMEOUT);

test("a plain-http API address is refused naming the key and the fix, before the key is sent or anything changes", async () => {
  const state = readFileSync(join(LAB_DIR, "state.json"), "utf8");
  const logged = apiLog().length;
  const r = await labCli(["deploy", "--config",
    configCopy(configFile, "mailgun-http", { "mailserver:mailgunApiUrl": "http://10.213.0.1:8025" })], 10 * 60_000);
  expect(r.code).not.toBe(0);
  expect(r.stdout + r.stderr).toMatch(/mailserver:mailgunApiUrl: must start with https:\/\/ .*set the endpoint's https:\/\/ address/);
  expect(readFileSync(join(LAB_DIR, "state.json"), "utf8")).toBe(state);
  expect(apiLog().slice(logged)).toEqual([]);
  // Control: a plain-http request, as an unguarded deploy would send it, shows in the log.
  await new Promise<void>((resolve) => {
    http.get(`http://${lab.hostAddress}:${MAILGUN_API_PORT}/v4/domains/${DOMAIN}`, (res) => res.resume().on("end", resolve)).on("error", () => resolve());
  });
  await waitFor("the stand-in's log line", async () => (apiLog().length > logged ? true : undefined), { timeoutMs: 5000, intervalMs: 200 });
  expect(apiLog().slice(logged)).toEqual([expect.stringMatching(/ client error: .*http request/)]);
}, DEPLOY_TIMEOUT);

describe("rotation: mailgunCredentialGeneration 2 while mail is being sent", () => {
  const old = { username: lab.relay.username, password: lab.relay.password };
  const sent: string[] = [];
  let rotation: DeployRecord;
  let authsBefore: number;
  let during: Auth[];
  let rotated: Lab;

  beforeAll(async () => {
    authsBefore = auths().length;
    let deploying = true;
    const t = submission(lab, alice, 587);
    // One message a second through the whole deploy, and a few after it.
    const burst = (async () => {
      for (let after = 0; after < 3 && sent.length < 200; after += deploying ? 0 : 1) {
        const subject = token("rotation-burst");
        await t.sendMail({ from: alice.address, to: "someone@outside.test", subject, text: "during the rotation\n" });
        sent.push(subject);
        await sleep(1000);
      }
    })();
    try {
      rotation = await deployLab(configCopy(configFile, "mailgun-g2", { "mailserver:mailgunCredentialGeneration": 2 }));
    } finally {
      deploying = false;
      await burst;
      t.close();
    }
    rotated = loadLab();
    await waitFor("every burst message in the relay spool", async () => sent.every((s) => spooledWith(lab, s).length > 0) || undefined,
      { timeoutMs: 180_000 }).catch(() => undefined);
    during = auths().slice(authsBefore);
  }, DEPLOY_TIMEOUT);

  // Back to lab/stack.yaml (generation 1: another rotation), so that later test files see the standard lab.
  afterAll(async () => {
    await deployLab(configFile);
    expect(loadLab().relay.username).toBe(`mailserver-g1@${DOMAIN}`);
  }, DEPLOY_TIMEOUT);

  test("the burst: none lost, and the relay refused no login while the server switched", () => {
    expect(sent.length).toBeGreaterThanOrEqual(5);
    expect(sent.filter((s) => spooledWith(lab, s).length === 0)).toEqual([]);
    expect(during.filter((a) => !a.accepted)).toEqual([]);
    const users = new Set(sent.map((s) => spooledWith(lab, s)[0].meta.authUser));
    expect([...users].every((u) => u === old.username || u === rotated.relay.username)).toBe(true);
    expect(users.has(rotated.relay.username)).toBe(true);
  });

  test("a new credential, the server switched, then the old one deleted: last, after the apply", () => {
    expect(rotated.relay.username).toBe(`mailserver-g2@${DOMAIN}`);
    expect(String(stateOutputs(CREDENTIAL, "mail-mailgun-credential").login)).toBe(rotated.relay.username);
    const ops = (rotation.operations ?? []).map((o) => `${o.op} ${o.name}${o.original ? " (original)" : ""}`);
    const at = (s: string) => ops.indexOf(s);
    expect(at("replace mail-mailgun-credential")).toBeGreaterThanOrEqual(0);
    const apply = ops.findIndex((o) => / mail-apply$/.test(o));
    expect(apply).toBeGreaterThan(at("replace mail-mailgun-credential"));
    expect(at("delete mail-mailgun-credential (original)")).toBeGreaterThan(apply);
    expect(logins()).toEqual([rotated.relay.username]);
  });

  test("the old login is refused at the relay now; the new one is accepted", async () => {
    expect(await relayAccepts(rotated, old.username, old.password)).toBe(false);
    expect(await relayAccepts(rotated, rotated.relay.username, rotated.relay.password)).toBe(true);
  });
});
