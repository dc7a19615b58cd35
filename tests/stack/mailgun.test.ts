// The Mailgun API mode under the mock runtime, against the API stand-in (lab/mailgun-api-server.ts) on loopback: the
// mixed mode, a plain secret and a wrong key are refused before any resource is registered.
import { mkdtempSync } from "node:fs";
import type { Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mailgunApi } from "../../lab/mailgun-api-server";
import { testTls, trustForTest } from "../fixtures/tls";
import { RELAY_MARKER, stackConfig } from "./config";
import { runProgram } from "./harness";

const API_KEY = "key-MARKER-4c1e0b";
let server: Server;
let untrust: () => void;
let url: string;
/** Every request the stand-in was sent. */
const requests: string[] = [];

beforeAll(async () => {
  const tls = testTls();
  untrust = trustForTest(tls.ca);
  server = mailgunApi({ apiKey: API_KEY, store: join(mkdtempSync(join(tmpdir(), "mailgun-")), "store.json") }, async () => [], tls);
  server.on("request", (req: { method?: string; url?: string }) => requests.push(`${String(req.method)} ${String(req.url)}`));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  untrust();
  return new Promise<void>((r) => server.close(() => r()));
});

const apiConfig = (over: Record<string, unknown> = {}) => stackConfig({
  "mailserver:relayUsername": undefined, "mailserver:relayPassword": undefined,
  "mailserver:mailgunApiKey": API_KEY, "mailserver:mailgunApiUrl": url, ...over,
});

test("a wrong API key stops the program before any resource is registered, naming the key", async () => {
  const run = await runProgram(apiConfig({ "mailserver:mailgunApiKey": "key-wrong" }));
  expect(run.error?.message).toMatch(/Mailgun refused the API key .*\(401\).*mailserver:mailgunApiKey.*mailserver:mailgunRegion/);
  expect(run.error?.message).not.toContain("key-wrong");
  expect(run.resources.filter((r) => r.type !== "pulumi:pulumi:Stack")).toEqual([]);
});

test("a plain-http API address is refused, naming the key and the fix, before any resource and before the key is sent", async () => {
  requests.length = 0;
  const run = await runProgram(apiConfig({ "mailserver:mailgunApiUrl": url.replace("https:", "http:") }));
  expect(run.error?.message).toMatch(/mailserver:mailgunApiUrl: must start with https:\/\/ .*Authorization header.*set the endpoint's https:\/\/ address/);
  expect(run.resources.filter((r) => r.type !== "pulumi:pulumi:Stack")).toEqual([]);
  expect(requests).toEqual([]);
  // Control: the same stand-in over https is reached (the key check reads the domain).
  await runProgram(apiConfig({ "mailserver:mailgunApiKey": "key-wrong" }));
  expect(requests).toEqual([`GET /v4/domains/mg.example.com`]);
});

test("the hand-typed login and the API key together are refused, naming the keys, before any resource", async () => {
  const run = await runProgram(apiConfig({ "mailserver:relayUsername": "postmaster@mg.example.com", "mailserver:relayPassword": RELAY_MARKER }));
  expect(run.error?.message).toMatch(/mailserver:relayUsername: is set together with mailserver:mailgunApiKey/);
  expect(run.error?.message).toMatch(/mailserver:relayPassword: is set together with mailserver:mailgunApiKey/);
  expect(run.resources.filter((r) => r.type !== "pulumi:pulumi:Stack")).toEqual([]);
});

test("a secret key in plain text is refused before any resource", async () => {
  const plain = await runProgram(apiConfig({ "mailserver:mailgunApiKey": "key-wrong" }), { plainKeys: ["mailserver:mailgunApiKey"] });
  expect(plain.error?.message).toMatch(/mailserver:mailgunApiKey: is stored in plain text .* pulumi config set --secret mailserver:mailgunApiKey/);
  expect(plain.resources.filter((r) => r.type !== "pulumi:pulumi:Stack")).toEqual([]);
});

test("the hand-typed relay password in plain text is refused too", async () => {
  const run = await runProgram(stackConfig(), { plainKeys: ["mailserver:relayPassword"] });
  expect(run.error?.message).toMatch(/mailserver:relayPassword: is stored in plain text/);
});
