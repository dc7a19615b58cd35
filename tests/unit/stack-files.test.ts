// Every stack file in the repository passes the checks the Pulumi CLI makes before it runs the program
// (pulumi/pulumi pkg/workspace/config.go: validateStackConfigValue, with ValidateConfigValue in
// sdk/go/common/workspace/project.go): a key Pulumi.yaml declares `secret: true` must be a `secure:` value
// (an object with a secure leaf counts, config/object.go Secure()), and an explicitly typed key must hold its
// type. Scalars reach that check as text: any scalar is a string, an integer is text that parses as one, a
// boolean is "true" or "false"; lists are checked item by item.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";

const ROOT = join(__dirname, "../..");

interface Declared { type?: string; items?: { type: string }; secret?: boolean; default?: unknown }

const isSecure = (v: unknown): boolean =>
  typeof v === "object" && v !== null &&
  (Array.isArray(v) ? v.some(isSecure) : Object.keys(v).length === 1 && "secure" in v ? true : Object.values(v).some(isSecure));

/** The CLI's ValidateConfigValue on the value as the stack file holds it. */
function hasType(type: string, items: Declared["items"], v: unknown, nested = false): boolean {
  const scalar = typeof v === "string" || typeof v === "number" || typeof v === "boolean";
  // Top-level scalars arrive as text; inside a list they arrive as JSON values.
  const text = scalar && !nested ? String(v) : v;
  switch (type) {
    case "string": return typeof text === "string";
    case "integer": return typeof text === "number" ? Number.isInteger(text) : typeof text === "string" && /^[+-]?\d+$/.test(text);
    case "boolean": return text === "true" || text === "false" || typeof text === "boolean";
    case "object": return typeof v === "object" && v !== null && !Array.isArray(v);
    case "array": return Array.isArray(v) && items !== undefined && v.every((x) => hasType(items.type, undefined, x, true));
    default: return false;
  }
}

/** The CLI's errors for one stack file, worded as the CLI words them. */
function stackFileErrors(stack: string, config: Record<string, unknown>, declared: Record<string, Declared>): string[] {
  const errors: string[] = [];
  for (const [key, d] of Object.entries(declared).sort()) {
    if (!(key in config)) continue;
    const v = config[key];
    if (d.secret && !isSecure(v)) errors.push(`Stack '${stack}' with configuration key '${key}' must be encrypted as it's secret`);
    else if (d.type && !isSecure(v) && !hasType(d.type, d.items, v)) errors.push(`Stack '${stack}' with configuration key '${key}' must be of type '${d.type}'`);
  }
  return errors;
}

const project = parse(readFileSync(join(ROOT, "Pulumi.yaml"), "utf8")) as { config: Record<string, Declared> };
const STACK_FILES = readdirSync(ROOT).filter((f) => /^Pulumi\.[^.]+\.ya?ml$/.test(f)).sort();

test("the repository's stack files are Pulumi.dev.yaml only (the lab's config lives in lab/stack.yaml)", () => {
  expect(STACK_FILES).toEqual(["Pulumi.dev.yaml"]);
});

test.each(STACK_FILES)("%s: declared secrets are secure: values and declared types hold", (file) => {
  const { config } = parse(readFileSync(join(ROOT, file), "utf8")) as { config: Record<string, unknown> };
  expect(stackFileErrors(file.split(".")[1], config, project.config)).toEqual([]);
});

test("the prod example, once copied, passes too (its secrets are set with --secret, never written)", () => {
  const { config } = parse(readFileSync(join(ROOT, "Pulumi.prod.yaml.example"), "utf8")) as { config: Record<string, unknown> };
  expect(stackFileErrors("prod", config, project.config)).toEqual([]);
});

test("the checker finds what the CLI refuses: the old Pulumi.lab.yaml's plain relay password, wrong types", () => {
  const { config } = parse(readFileSync(join(ROOT, "lab", "stack.yaml"), "utf8")) as { config: Record<string, unknown> };
  expect(stackFileErrors("lab", config, project.config))
    .toEqual(["Stack 'lab' with configuration key 'mailserver:relayPassword' must be encrypted as it's secret"]);
  expect(stackFileErrors("x", {
    "mailserver:relayPassword": { secure: "v1:abc" },
    "mailserver:dnsTtl": "five",
    "mailserver:protectData": "yes",
    "mailserver:sshSourceRanges": ["203.0.113.4/32", 7],
    "mailserver:relayPort": 2525,
    "mailserver:ptr": false,
  }, project.config)).toEqual([
    "Stack 'x' with configuration key 'mailserver:dnsTtl' must be of type 'integer'",
    "Stack 'x' with configuration key 'mailserver:protectData' must be of type 'boolean'",
    "Stack 'x' with configuration key 'mailserver:sshSourceRanges' must be of type 'array'",
  ]);
});

test("every key Pulumi.yaml declares secret is one the program reads as a secret", () => {
  const secret = Object.entries(project.config).filter(([, d]) => d.secret).map(([k]) => k);
  expect(secret).toEqual(["mailserver:relayPassword"]);
});
