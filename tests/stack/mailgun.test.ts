// The Mailgun API mode under the mock runtime, against the API stand-in (lab/mailgun-api-server.ts) on loopback: the
// mixed mode, a plain secret and a wrong key are refused before any resource is registered.
import { mkdtempSync } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mailgunApi } from "../../lab/mailgun-api-server";
import { RELAY_MARKER, stackConfig } from "./config";
import { runProgram } from "./harness";

const API_KEY = "key-MARKER-4c1e0b";
let server: Server;
let url: string;

beforeAll(async () => {
  server = mailgunApi({ apiKey: API_KEY, store: join(mkdtempSync(join(tmpdir(), "mailgun-")), "store.json") }, async () => []);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

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
