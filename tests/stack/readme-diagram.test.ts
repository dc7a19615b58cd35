// The README's diagram is what the program registers for the production example (Pulumi.prod.yaml.example with
// its secrets set), not a drawing kept by hand. UPDATE_GOLDEN=1 npx jest tests/stack/readme-diagram.test.ts
// rewrites it after a change of the resource graph.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { resourceDiagram, withDiagram } from "./diagram";
import { runProgram } from "./harness";

const ROOT = join(__dirname, "../..");

test("README.md shows the resource graph of the production example", async () => {
  const { config } = parse(readFileSync(join(ROOT, "Pulumi.prod.yaml.example"), "utf8")) as { config: Record<string, unknown> };
  const raw = { ...config, "mailserver:relayPassword": "relay-secret", "cloudflare:apiToken": "cf-token" };
  const r = await runProgram(Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)])),
    { stack: "prod" });
  if (r.error) throw r.error;
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const current = withDiagram(readme, resourceDiagram(r.resources, Number(config["mailserver:relayPort"] ?? 2525)));
  if (process.env.UPDATE_GOLDEN === "1") writeFileSync(join(ROOT, "README.md"), current);
  else expect(readme).toBe(current);
});

test("the diagram follows the graph: counts per type, an arrow per dependency between types", () => {
  const d = resourceDiagram([
    { type: "gcp:compute/disk:Disk", name: "data", dependsOn: [], inputDeps: [] },
    { type: "gcp:compute/instance:Instance", name: "vm", dependsOn: [], inputDeps: ["gcp:compute/disk:Disk::data"] },
    { type: "command:remote:Command", name: "a", dependsOn: ["rec"], inputDeps: ["gcp:compute/instance:Instance::vm"] },
    { type: "command:remote:Command", name: "b", dependsOn: ["a"], inputDeps: [] },
    { type: "cloudflare:index/dnsRecord:DnsRecord", name: "rec", dependsOn: [], inputDeps: [] },
    { type: "mailserver:index:MailHost", name: "host", dependsOn: [], inputDeps: [] },
  ], 2525);
  expect(d).toContain('command_remote_Command["remote.Command ×2"]');
  expect(d).toContain('cloudflare_index_dnsRecord_DnsRecord["DnsRecord ×1"]');
  expect(d).not.toContain("MailHost");
  expect(d.split("\n").filter((l) => l.includes("-->"))).toEqual([
    "  cloudflare_index_dnsRecord_DnsRecord --> command_remote_Command",
    "  gcp_compute_disk_Disk --> gcp_compute_instance_Instance",
    "  gcp_compute_instance_Instance --> command_remote_Command",
  ]);
  expect(d).toContain('"mail out: 2525 (Mailgun)"');
});
