// The Mailgun calls retry once when the connection is reset under them (a kept-alive socket the server had closed:
// components/mailgun-api.ts isStaleSocket), but only the idempotent ones (GET, PUT, DELETE): a POST that may have reached
// Mailgun is never sent twice. Against the API stand-in over HTTPS, whose socket is destroyed on the chosen requests.
import { mkdtempSync } from "node:fs";
import type { IncomingMessage } from "node:http";
import type { Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createCredential, createDomain, deleteCredential, getDomain, verifyDomain, type MailgunEndpoint } from "../../components/mailgun-api";
import { loadStore, mailgunApi } from "../../lab/mailgun-api-server";
import { testTls, trustForTest } from "../fixtures/tls";

const KEY = "key-retry-test";
let server: Server;
let untrust: () => void;
let store: string;
let e: MailgunEndpoint;
/** Every request that reached the server, as "METHOD path", reset or not. */
const seen: string[] = [];
/** How many of the next requests get their connection reset instead of an answer. */
let resets = 0;

beforeAll(async () => {
  store = join(mkdtempSync(join(tmpdir(), "mailgun-retry-")), "store.json");
  const tls = testTls();
  untrust = trustForTest(tls.ca);
  server = mailgunApi({ apiKey: KEY, store }, async () => [], tls);
  // Before the stand-in's own handler: the connection dies with the request unanswered, as a closed kept-alive socket.
  server.prependListener("request", (req: IncomingMessage) => {
    seen.push(`${String(req.method)} ${String(req.url).replace(/\?.*/, "")}`);
    if (resets > 0) {
      resets -= 1;
      req.socket.destroy();
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  e = { apiUrl: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, apiKey: KEY };
  await createDomain(e, "mg.retry.test", "mx", "disabled");
  await createCredential(e, "mg.retry.test", "mailserver-g1@mg.retry.test", "first-password-0123456789");
});
afterAll(() => {
  untrust();
  return new Promise<void>((r) => server.close(() => r()));
});
beforeEach(() => {
  seen.length = 0;
});

test("a GET whose connection is reset is sent again and answers", async () => {
  resets = 1;
  expect((await getDomain(e, "mg.retry.test"))?.name).toBe("mg.retry.test");
  expect(seen).toEqual(["GET /v4/domains/mg.retry.test", "GET /v4/domains/mg.retry.test"]);
});

test("PUT (verify) and DELETE are retried the same way", async () => {
  resets = 1;
  expect((await verifyDomain(e, "mg.retry.test")).name).toBe("mg.retry.test");
  resets = 1;
  await deleteCredential(e, "mg.retry.test", "mailserver-g1@mg.retry.test");
  expect(seen).toEqual([
    "PUT /v4/domains/mg.retry.test/verify", "PUT /v4/domains/mg.retry.test/verify",
    "DELETE /v3/domains/mg.retry.test/credentials/mailserver-g1@mg.retry.test",
    "DELETE /v3/domains/mg.retry.test/credentials/mailserver-g1@mg.retry.test",
  ]);
  expect(loadStore(store).domains["mg.retry.test"].credentials).toEqual([]);
});

test("only once: a second reset is the error, naming the call", async () => {
  resets = 2;
  await expect(getDomain(e, "mg.retry.test")).rejects.toThrow(/could not read the domain mg\.retry\.test .*(ECONNRESET|socket hang up)/);
  expect(seen).toHaveLength(2);
});

test("a POST whose connection is reset is not sent again: it may have reached Mailgun, and the error names the call", async () => {
  resets = 1;
  await expect(createCredential(e, "mg.retry.test", "mailserver-g2@mg.retry.test", "second-password-0123456789"))
    .rejects.toThrow(/could not create the SMTP credential mailserver-g2@mg\.retry\.test .*(ECONNRESET|socket hang up)/);
  expect(seen).toEqual(["POST /v3/domains/mg.retry.test/credentials"]);
  // Control: a POST on a healthy connection goes through, once.
  await createCredential(e, "mg.retry.test", "mailserver-g3@mg.retry.test", "third-password-0123456789");
  expect(seen).toHaveLength(2);
});
