// npm run status and DANE (issue 15): with mailserver:dnssec on (lab/stack.yaml) it compares the TLSA records
// of _25._tcp.<hostname> with the key port 25 presents and with those the deploy published, and asks the
// lab's validating resolver (unbound) whether it authenticates them. Controls: a wrong record, an extra record
// and a resolver that does not validate (knot, the authoritative server) each turn the verdict.
import { createHash } from "node:crypto";
import { join } from "node:path";
import type { CheckResult } from "../../../components/status/result";
import { addRecord, replaceRecords, restoreZone, servedSpki } from "../lib/dane";
import { loadLab, ROOT } from "../lib/lab";
import { run } from "../lib/run";

const lab = loadLab();
const zone = lab.hostname.slice(lab.hostname.indexOf(".") + 1);
const tlsaName = `_25._tcp.${lab.hostname}`;
const DANE = `dane:${tlsaName}`;
const DNSSEC = `dnssec:${tlsaName}`;
const wrong = createHash("sha256").update("not the server's key").digest("hex");

async function status(...args: string[]): Promise<{ code: number | null; results: CheckResult[] }> {
  const r = await run(join(ROOT, "node_modules", ".bin", "tsx"), ["scripts/status.ts", "--lab", "--json", ...args], { cwd: ROOT, timeoutMs: 180_000 });
  if (r.stdout.trim() === "") throw new Error(`npm run status printed nothing (exit ${r.code}): ${r.stderr}`);
  return { code: r.code, results: JSON.parse(r.stdout) as CheckResult[] };
}
const byId = (results: CheckResult[], id: string) => results.find((r) => r.id === id);

test("the deployed lab: the TLSA record names the key port 25 presents, as planned, and unbound validates it (AD)", async () => {
  const { spki } = await servedSpki(lab);
  const { code, results } = await status();
  expect(byId(results, DANE)).toEqual({ id: DANE, status: "ok", message: `port 25 presents the key that 3 1 1 ${spki} names, served as planned` });
  expect(byId(results, DNSSEC)).toEqual({ id: DNSSEC, status: "ok", message: `${tlsaName} is DNSSEC-validated (AD) by ${lab.resolver}` });
  expect(code).toBe(0);
});

test("control: a resolver that does not validate (the authoritative knot) is reported, not taken for validation", async () => {
  const { results } = await status("--resolver", `${lab.dnsServer.address}:${lab.dnsServer.port}`);
  expect(byId(results, DNSSEC)).toMatchObject({ status: "warning", message: expect.stringMatching(/without AD \(not validated\)/) });
  expect(byId(results, DANE)?.status).toBe("ok");
});

describe("control: a TLSA record that names another key", () => {
  beforeAll(() => replaceRecords(zone, tlsaName, "TLSA", `3 1 1 ${wrong}`));
  afterAll(() => restoreZone(zone));

  test("is an error naming the key port 25 presents (exit 1); the record is still validated", async () => {
    const { spki } = await servedSpki(lab);
    const { code, results } = await status();
    expect(byId(results, DANE)).toMatchObject({
      status: "error",
      message: expect.stringContaining(`port 25 presents a key (SPKI SHA-256 ${spki}) that no TLSA record at ${tlsaName} names (served: 3 1 1 ${wrong}): DANE senders refuse to deliver`),
    });
    expect(byId(results, DNSSEC)?.status).toBe("ok");
    expect(code).toBe(1);
  });
});

describe("control: an extra TLSA record beside the right one (published outside Pulumi)", () => {
  beforeAll(() => addRecord(zone, tlsaName, "TLSA", `3 1 1 ${wrong}`));
  afterAll(() => restoreZone(zone));

  test("is an error naming the unexpected record (exit 1)", async () => {
    const { code, results } = await status();
    expect(byId(results, DANE)).toMatchObject({
      status: "error",
      message: `served TLSA records differ from the stack's: unexpected 3 1 1 ${wrong} — someone changed them outside Pulumi: run pulumi up to put them back`,
    });
    expect(code).toBe(1);
  });
});
