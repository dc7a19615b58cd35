// Issue 21 §3 and issue 20's CAA item: npm run status compares every record set the stack owns exactly. Records
// added beside ours in the lab's DNS (an MX of better priority, a second A for mta-sts, another CAA issuer, a
// second v=STSv1 TXT, an AAAA beside our A) are each an error naming the set and the extra value; the clean
// zone is ok, with Cloudflare's own CAA issuers (which the lab's DNS serves as Cloudflare does) named as such.
import { join } from "node:path";
import type { CheckResult } from "../../../components/status/result";
import { DnsRecordState, loadRecords, publish } from "../../../lab/dns";
import { ROOT } from "../lib/lab";
import { run } from "../lib/run";

async function status(): Promise<{ code: number | null; results: CheckResult[] }> {
  const r = await run(join(ROOT, "node_modules", ".bin", "tsx"), ["scripts/status.ts", "--lab", "--json"], { cwd: ROOT, timeoutMs: 180_000 });
  if (r.stdout.trim() === "") throw new Error(`npm run status printed nothing (exit ${r.code}): ${r.stderr}`);
  return { code: r.code, results: JSON.parse(r.stdout) as CheckResult[] };
}
const dnsProblems = (results: CheckResult[]) => results.filter((r) => r.id.startsWith("dns:") && r.status !== "ok");

const zone = "example.test";
const extra = (name: string, type: string, content: string, priority?: number): DnsRecordState =>
  ({ zone, name, type, content, ttl: 300, ...(priority === undefined ? {} : { priority }) });
const EXTRAS: { record: DnsRecordState; id: string; named: string }[] = [
  { record: extra(zone, "MX", "mx.attacker.test", 5), id: `dns:MX:${zone}`, named: '"5 mx.attacker.test"' },
  { record: extra(`mta-sts.${zone}`, "A", "203.0.113.9"), id: `dns:A:mta-sts.${zone}`, named: '"203.0.113.9"' },
  { record: extra(zone, "CAA", '0 issue "evil-ca.test"'), id: `dns:CAA:${zone}`, named: '"0 issue evil-ca.test"' },
  { record: extra(`_mta-sts.${zone}`, "TXT", '"v=STSv1; id=attacker1"'), id: `dns:TXT:_mta-sts.${zone}`, named: '"v=STSv1; id=attacker1"' },
  { record: extra(`mail.${zone}`, "AAAA", "2001:db8::25"), id: `dns:AAAA:mail.${zone}`, named: '"2001:db8::25"' },
];

test("control: the zone as deployed is ok; Cloudflare's own CAA issuers beside ours are named, not an error", async () => {
  const { results } = await status();
  expect(dnsProblems(results)).toEqual([]);
  const caa = results.find((r) => r.id === `dns:CAA:${zone}`);
  expect(caa?.status).toBe("ok");
  expect(caa?.message).toMatch(/^served as planned: 0 issue acme\.lab\.test; beside it Cloudflare's own CAA issuers .*0 issue pki\.goog; cansignhttpexchanges=yes/);
});

test("records added beside ours: an error per record set, naming the extra; exit 1", async () => {
  const original = loadRecords();
  await publish([], [...original, ...EXTRAS.map((e) => e.record)]);
  try {
    const { code, results } = await status();
    expect(dnsProblems(results).map((r) => r.id).sort()).toEqual(EXTRAS.map((e) => e.id).sort());
    for (const e of EXTRAS) {
      const r = results.find((x) => x.id === e.id);
      expect([e.id, r?.status, r?.message]).toEqual([e.id, "error", expect.stringContaining(`${e.named} served beside`)]);
    }
    // The CAA error names only the foreign issuer, not Cloudflare's.
    expect(results.find((r) => r.id === `dns:CAA:${zone}`)?.message).not.toContain("pki.goog");
    expect(code).toBe(1);
  } finally {
    await publish([], original);
  }
  expect(dnsProblems((await status()).results)).toEqual([]);
});
