// The whole program in the Mailgun API mode under the mock runtime, its dynamic providers run from their serialized text
// against the API stand-in on loopback (HTTPS): the sending domain and its records come from the API's answer, the
// verification passes once the registered records serve them, the credential's password works at Mailgun and is never
// plain, and a second run with the first one's state changes nothing, at Mailgun or in any resource.
import { mkdtempSync, readFileSync } from "node:fs";
import type { Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { credentialValid, loadStore, mailgunApi } from "../../lab/mailgun-api-server";
import { testTls, trustForTest } from "../fixtures/tls";
import { stackConfig } from "./config";
import { byType, DynamicState, runProgram, RunResult, strings, unwrap } from "./harness";

const API_KEY = "key-MARKER-program-5d2a";
const DOMAIN = "mg.example.com";
const LOGIN = `mailserver-g1@${DOMAIN}`;
const RECORD = "cloudflare:index/dnsRecord:DnsRecord";
let server: Server;
let untrust: () => void;
let store: string;
let url: string;
/** Every request the stand-in was sent, as "METHOD path". */
const requests: string[] = [];
/** The zone as the program registered it: "TYPE name" → values (TXT strings unquoted and joined, MX hosts). */
const zone = new Map<string, string[]>();

/** A TXT record's content as Cloudflare takes it ("…" "…" chunks), as one string. */
const unquote = (content: string): string => [...content.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1].replace(/\\(.)/g, "$1")).join("");

function serve(type: string, _name: string, inputs: Record<string, unknown>): void {
  if (type !== RECORD) return;
  const [rtype, name, content] = [String(inputs.type), String(inputs.name), String(unwrap(inputs.content))];
  if (rtype !== "TXT" && rtype !== "MX") return;
  const key = `${rtype} ${name}`;
  zone.set(key, [...(zone.get(key) ?? []), rtype === "TXT" ? unquote(content) : content]);
}

beforeAll(async () => {
  store = join(mkdtempSync(join(tmpdir(), "mailgun-")), "store.json");
  const tls = testTls();
  untrust = trustForTest(tls.ca);
  server = mailgunApi({ apiKey: API_KEY, store }, async (name, type) => zone.get(`${type} ${name}`) ?? [], tls);
  server.on("request", (req: { method?: string; url?: string }) => requests.push(`${String(req.method)} ${String(req.url)}`));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  untrust();
  return new Promise<void>((r) => server.close(() => r()));
});

const apiConfig = () => stackConfig({
  "mailserver:relayUsername": undefined, "mailserver:relayPassword": undefined,
  "mailserver:mailgunApiKey": API_KEY, "mailserver:mailgunApiUrl": url,
});

test("API mode: domain, records and credential from the API; secrets never plain; a second run changes nothing", async () => {
  const state = new Map<string, DynamicState>();
  const first = await runProgram(apiConfig(), { dynamicState: state, onRegister: serve });
  expect(first.error).toBeUndefined();
  expect(first.dynamicSteps).toEqual({
    "mail-mailgun-domain": "create", "mail-mailgun-verification": "create", "mail-mailgun-credential": "create",
  });

  // Mailgun made the domain with the stack's selector and verified it against what the program published.
  const held = loadStore(store).domains[DOMAIN];
  expect(held.state).toBe("active");
  expect(held.dkimSelector).toBe("mx");
  const records = Object.fromEntries(byType(first, RECORD).filter((r) => r.name.startsWith("mail-mailgun-"))
    .map((r) => [r.name, { type: r.inputs.type, name: r.inputs.name, content: unwrap(r.inputs.content), proxied: r.inputs.proxied }]));
  expect(records).toEqual({
    "mail-mailgun-spf": { type: "TXT", name: DOMAIN, content: "\"v=spf1 include:mailgun.org ~all\"", proxied: false },
    "mail-mailgun-dkim": { type: "TXT", name: `mx._domainkey.${DOMAIN}`, content: expect.any(String), proxied: false },
    "mail-mailgun-mx-mxa.mailgun.org": { type: "MX", name: DOMAIN, content: "mxa.mailgun.org", proxied: false },
    "mail-mailgun-mx-mxb.mailgun.org": { type: "MX", name: DOMAIN, content: "mxb.mailgun.org", proxied: false },
  });
  expect(unquote(String(records["mail-mailgun-dkim"].content))).toBe(`k=rsa; p=${held.dkimPublicKey}`);

  // The password the provider made is the one Mailgun holds for the login the server relays with.
  const password = String(state.get("mail-mailgun-credential")?.outputs.password);
  expect(password).toMatch(/^[A-Za-z0-9_-]{32}$/);
  expect(held.credentials.map((c) => c.login)).toEqual([LOGIN]);
  expect(credentialValid(loadStore(store), LOGIN, password)).toBe(true);
  // The API key and the password: secret wherever they appear (inputs, the serialized providers, outputs), and they do
  // reach the server (control: the check below would pass vacuously otherwise).
  const everywhere = [...first.resources.flatMap((r) => strings(r.inputs)), ...Object.values(first.outputs).flatMap((o) => strings(o.value, o.secret))];
  const holding = (needle: string) => everywhere.filter((s) => s.text.includes(needle));
  expect(holding(password).length).toBeGreaterThan(0);
  expect(holding(API_KEY).length).toBeGreaterThan(0);
  expect(holding(password).filter((s) => !s.secret)).toEqual([]);
  expect(holding(API_KEY).filter((s) => !s.secret)).toEqual([]);

  // Second run on the first one's state: every provider's diff finds nothing, Mailgun is only read, nothing else moves.
  const before = readFileSync(store, "utf8");
  requests.length = 0;
  const second = await runProgram(apiConfig(), { dynamicState: state, onRegister: serve });
  expect(second.error).toBeUndefined();
  expect(second.dynamicSteps).toEqual({ "mail-mailgun-domain": "same", "mail-mailgun-verification": "same", "mail-mailgun-credential": "same" });
  expect(requests.filter((r) => !r.startsWith("GET "))).toEqual([]);
  expect(readFileSync(store, "utf8")).toBe(before);
  expect(inputsOf(second)).toEqual(inputsOf(first));
});

/** Every resource's inputs, by type and name (registration order follows when each one's inputs resolved). */
const inputsOf = (r: RunResult) => Object.fromEntries(r.resources.map((x) => [`${x.type}::${x.name}`, x.inputs]));
