// Pulumi.yaml's `config:` block and docs/configuration.md are written by `npm run generate` from the schema
// (components/core/config.ts) and its descriptions (components/core/config-docs.ts): one source per key.
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { parseConfig } from "../../components/core/config";
import { CONFIG_DOC, documentedKeys, PULUMI_YAML, pulumiConfig, renderConfigDoc, renderPulumiYaml } from "../../scripts/generate-config";
import { validateProject, type Project } from "../../upstream/pulumi-cli";
import { MINIMAL_RAW } from "../fixtures/config";

test("Pulumi.yaml's config: block is current", () => {
  const current = readFileSync(PULUMI_YAML, "utf8");
  expect({ file: "Pulumi.yaml", current }).toEqual({ file: "Pulumi.yaml", current: renderPulumiYaml(current) });
});

test("docs/configuration.md's reference is current (the prose around it is kept)", () => {
  const current = readFileSync(CONFIG_DOC, "utf8");
  expect({ file: "docs/configuration.md", current }).toEqual({ file: "docs/configuration.md", current: renderConfigDoc(current) });
});

test("every schema key is described exactly once, and the generated Pulumi.yaml passes the CLI's Project.Validate", () => {
  expect(() => documentedKeys()).not.toThrow();
  const project = parse(readFileSync(PULUMI_YAML, "utf8")) as Project;
  expect(validateProject(project)).toBeUndefined();
  expect(Object.keys(project.config ?? {})).toEqual(Object.keys(pulumiConfig()));
});

test("the defaults the CLI hands the program (as the runtime's text) change nothing the program derives", () => {
  // The CLI applies Pulumi.yaml's defaults to every key a stack does not set; the program receives them as text,
  // lists as JSON: "" must read as unset, and every other default must be the schema's own.
  const asRuntime = Object.fromEntries(Object.entries(pulumiConfig())
    .filter(([k, d]) => d.default !== undefined && !(k in MINIMAL_RAW))
    .map(([k, d]) => [k, typeof d.default === "object" ? JSON.stringify(d.default) : String(d.default)]));
  expect(Object.keys(asRuntime).length).toBeGreaterThan(40);
  expect(parseConfig({ ...MINIMAL_RAW, ...asRuntime })).toEqual(parseConfig(MINIMAL_RAW));
});
