// The README's picture of what one `pulumi up` creates, drawn from the resources the program registers under
// the mock runtime (tests/stack/readme-diagram.test.ts): one node per resource type with its count, grouped by
// where it lives, an arrow where one type's resources wait for another's (inputs that use its outputs, or
// dependsOn), and the mail that flows through the VM. Pure: resources in, Mermaid text out.
import { MAIL_PORTS, WEB_PORTS } from "../../components/core/ports";
import type { Recorded } from "./harness";

type Resource = Pick<Recorded, "type" | "name" | "dependsOn" | "inputDeps">;

/** Where a resource type lives, by its package: the subgraphs of the picture. */
const PLACES: Record<string, string> = {
  gcp: "Google Cloud project",
  cloudflare: "Cloudflare zones",
  command: "Commands: the wait for SSH, then the push over SSH",
  tls: "Keys kept in the Pulumi state (secret)",
};

/** "gcp:compute/instance:Instance" → "compute.Instance"; "command:remote:Command" → "remote.Command". */
function shortType(type: string): string {
  const [, module, member] = type.split(":");
  return `${module.split("/")[0] === "index" ? "" : `${module.split("/")[0]}.`}${member}`;
}
const nodeId = (type: string) => type.replace(/[^A-Za-z0-9]/g, "_");

export function resourceDiagram(resources: Resource[], relayPort: number): string {
  const custom = resources.filter((r) => r.type.split(":")[0] in PLACES);
  // inputDeps name a resource as "type::name"; dependsOn by name alone, which only counts when no two types share it.
  const typeOf = (dep: string) => {
    if (dep.includes("::")) return dep.split("::")[0];
    const named = custom.filter((r) => r.name === dep);
    return named.length === 1 ? named[0].type : undefined;
  };
  const counts = new Map<string, number>();
  for (const r of custom) counts.set(r.type, (counts.get(r.type) ?? 0) + 1);
  const types = [...counts.keys()].sort();

  const lines = ["```mermaid", "flowchart LR"];
  for (const [pkg, place] of Object.entries(PLACES)) {
    const members = types.filter((t) => t.split(":")[0] === pkg);
    if (members.length === 0) continue;
    lines.push(`  subgraph ${pkg}["${place}"]`);
    for (const t of members) lines.push(`    ${nodeId(t)}["${shortType(t)} ×${counts.get(t)}"]`);
    lines.push("  end");
  }
  const edges = new Set<string>();
  for (const r of custom) {
    for (const dep of [...r.dependsOn, ...r.inputDeps]) {
      const from = typeOf(dep);
      if (from && from !== r.type && counts.has(from)) edges.add(`  ${nodeId(from)} --> ${nodeId(r.type)}`);
    }
  }
  lines.push(...[...edges].sort());
  const instance = types.find((t) => t === "gcp:compute/instance:Instance");
  if (instance) {
    const vm = nodeId(instance);
    lines.push(
      `  internet(("Internet")) == "mail in: ${MAIL_PORTS[0]}" ==> ${vm}`,
      `  clients(("Mail clients")) == "${[...MAIL_PORTS.slice(1), ...WEB_PORTS].join(", ")}" ==> ${vm}`,
      `  ${vm} == "mail out: ${relayPort} (Mailgun)" ==> relay(("Mailgun relay"))`,
    );
  }
  lines.push("```");
  return lines.join("\n");
}

/** The README between its generated markers, with `diagram` in place of what stood there. */
export function withDiagram(readme: string, diagram: string): string {
  const begin = readme.indexOf("<!-- generated: ");
  const end = readme.indexOf("<!-- end generated -->");
  if (begin < 0 || end < begin) throw new Error("README.md lacks the generated-diagram markers");
  const afterBegin = readme.indexOf("\n", begin) + 1;
  return `${readme.slice(0, afterBegin)}${diagram}\n${readme.slice(end)}`;
}
