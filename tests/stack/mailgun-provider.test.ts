// The Mailgun dynamic providers (components/mailgun-provider.ts) against the API stand-in on loopback: create or adopt
// the domain, an adopted one kept on delete, records from the API's answer, the bounded verification naming what is
// missing, the credential's password only the stand-in can check, and the diff that names the fields that replace.
import { mkdtempSync } from "node:fs";
import type { Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MAILGUN_PROVIDERS } from "../../components/mailgun-provider";
import { credentialValid, loadStore, mailgunApi } from "../../lab/mailgun-api-server";
import { testTls, trustForTest } from "../fixtures/tls";

const KEY = "key-provider-test";
const DOMAIN = MAILGUN_PROVIDERS["pulumi-nodejs:dynamic/mailgun:Domain"];
const VERIFY = MAILGUN_PROVIDERS["pulumi-nodejs:dynamic/mailgun:Verification"];
const CREDENTIAL = MAILGUN_PROVIDERS["pulumi-nodejs:dynamic/mailgun:Credential"];
let server: Server;
let untrust: () => void;
let store: string;
let endpoint: { apiUrl: string; apiKey: string; region: string };
/** What the "DNS" serves: name → TXT strings or MX hosts. */
const served = new Map<string, string[]>();

beforeAll(async () => {
  store = join(mkdtempSync(join(tmpdir(), "mailgun-")), "store.json");
  const tls = testTls();
  untrust = trustForTest(tls.ca);
  server = mailgunApi({ apiKey: KEY, store }, async (name, type) => served.get(`${type} ${name}`) ?? [], tls);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  endpoint = { apiUrl: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, apiKey: KEY, region: "us" };
});
afterAll(() => {
  untrust();
  return new Promise<void>((r) => server.close(() => r()));
});

const domainInputs = (name: string) => ({ ...endpoint, name, dkimSelector: "mx", spamAction: "disabled" });

test("a new domain is created with the stack's DKIM selector, its records taken from the API's answer, and deleted on delete", async () => {
  const made = await DOMAIN.create(domainInputs("mg.a.test"));
  expect(made.outs.created).toBe(true);
  const held = loadStore(store).domains["mg.a.test"];
  expect(made.outs.records).toEqual({
    spf: { name: "mg.a.test", content: "v=spf1 include:mailgun.org ~all" },
    dkim: { name: "mx._domainkey.mg.a.test", content: `k=rsa; p=${held.dkimPublicKey}` },
    "mx-mxa.mailgun.org": { name: "mg.a.test", content: "mxa.mailgun.org" },
    "mx-mxb.mailgun.org": { name: "mg.a.test", content: "mxb.mailgun.org" },
  });
  await DOMAIN.delete!(made.id, made.outs);
  expect(loadStore(store).domains["mg.a.test"]).toBeUndefined();
});

test("an existing domain is adopted, not created again, and kept on delete", async () => {
  const first = await DOMAIN.create(domainInputs("mg.b.test"));
  const adopted = await DOMAIN.create(domainInputs("mg.b.test"));
  expect([first.outs.created, adopted.outs.created]).toEqual([true, false]);
  await DOMAIN.delete!(adopted.id, adopted.outs);
  expect(loadStore(store).domains["mg.b.test"]).toBeDefined();
});

test("the diff replaces on name, region, selector and spam action (terraform-provider-mailgun); a new API key only updates", async () => {
  const olds = { ...domainInputs("mg.c.test"), created: true };
  expect(await DOMAIN.diff!("mg.c.test", olds, domainInputs("mg.c.test"))).toEqual({ changes: false, replaces: [] });
  expect(await DOMAIN.diff!("mg.c.test", olds, { ...domainInputs("mg.c.test"), apiKey: "another" })).toEqual({ changes: true, replaces: [] });
  expect(await DOMAIN.diff!("mg.c.test", olds, { ...domainInputs("mg.d.test"), region: "eu" })).toEqual({ changes: true, replaces: ["name", "region"] });
  const cred = { ...endpoint, domain: "mg.c.test", login: "mailserver-g1@mg.c.test", password: "x" };
  expect(await CREDENTIAL.diff!("x", cred, { ...endpoint, domain: "mg.c.test", login: "mailserver-g2@mg.c.test" }))
    .toEqual({ changes: true, replaces: ["login"] });
});

test("verification waits within its bound, names the record still missing, and passes once the DNS serves them all", async () => {
  const made = await DOMAIN.create(domainInputs("mg.e.test"));
  const records = made.outs.records as Record<string, { name: string; content: string }>;
  served.set("TXT mg.e.test", [records.spf.content]);
  served.set("MX mg.e.test", ["mxa.mailgun.org", "mxb.mailgun.org"]);
  const inputs = { ...endpoint, name: "mg.e.test", records: [], timeoutSeconds: 1, intervalSeconds: 0.2 };
  const started = Date.now();
  await expect(VERIFY.create(inputs)).rejects.toThrow(/did not verify mg\.e\.test within 1 s .*still misses: TXT mx\._domainkey\.mg\.e\.test k=rsa; p=/);
  expect(Date.now() - started).toBeLessThan(5000);
  served.set("TXT mx._domainkey.mg.e.test", [records.dkim.content]);
  expect((await VERIFY.create(inputs)).outs.state).toBe("active");
});

test("the credential's generated password works at Mailgun, never as an input; delete removes the login", async () => {
  await DOMAIN.create(domainInputs("mg.f.test"));
  const inputs = { ...endpoint, domain: "mg.f.test", login: "mailserver-g1@mg.f.test" };
  const made = await CREDENTIAL.create(inputs);
  const password = String(made.outs.password);
  expect(password).toMatch(/^[A-Za-z0-9_-]{32}$/);
  expect(credentialValid(loadStore(store), "mailserver-g1@mg.f.test", password)).toBe(true);
  expect(credentialValid(loadStore(store), "mailserver-g1@mg.f.test", `${password}x`)).toBe(false);
  // Taken over after a lost state: a new password, the old one refused.
  const again = await CREDENTIAL.create(inputs);
  expect(credentialValid(loadStore(store), "mailserver-g1@mg.f.test", password)).toBe(false);
  expect(credentialValid(loadStore(store), "mailserver-g1@mg.f.test", String(again.outs.password))).toBe(true);
  expect((await CREDENTIAL.read!(made.id, made.outs)).id).toBe("mailserver-g1@mg.f.test");
  await CREDENTIAL.delete!(made.id, made.outs);
  expect(loadStore(store).domains["mg.f.test"].credentials).toEqual([]);
  expect((await CREDENTIAL.read!(made.id, made.outs)).id).toBe("");
});

test("a wrong API key is an error naming the key and region, without the key", async () => {
  await expect(DOMAIN.create({ ...domainInputs("mg.g.test"), apiKey: "key-wrong" }))
    .rejects.toThrow(/Mailgun refused the API key .*\(401\).*mailserver:mailgunApiKey.*mailserver:mailgunRegion/);
});

test("the API's certificate is verified: an endpoint whose certificate no trusted CA signed is refused, the key never sent", async () => {
  const seen: string[] = [];
  const impostor = mailgunApi({ apiKey: KEY, store }, async () => [], testTls(["127.0.0.1"], true));
  impostor.on("request", (req: { url?: string }) => seen.push(String(req.url)));
  await new Promise<void>((r) => impostor.listen(0, "127.0.0.1", r));
  try {
    const apiUrl = `https://127.0.0.1:${(impostor.address() as AddressInfo).port}`;
    await expect(DOMAIN.create({ ...domainInputs("mg.h.test"), apiUrl })).rejects.toThrow(/self.signed certificate/);
    expect(seen).toEqual([]);
    // Control: the same call to the trusted stand-in gets through.
    expect((await DOMAIN.create(domainInputs("mg.h.test"))).outs.created).toBe(true);
  } finally {
    await new Promise<void>((r) => impostor.close(() => r()));
  }
});
