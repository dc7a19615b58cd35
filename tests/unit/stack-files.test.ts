// Every stack file we ship or write passes the checks the Pulumi CLI makes before it runs the program
// (upstream/pulumi-cli.ts, after pulumi/pulumi's source): the committed Pulumi.<stack>.yaml files, the prod
// example as a user copies it, and a test stack as `npm run test-stack` writes it. Each is taken after the
// `pulumi config set --secret` commands its header tells the user to run (secrets are never written in it).
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { namespaceCalls } from "../../scripts/test-stack";
import { applyCalls } from "../fixtures/config-calls";
import { validateStack, type Project } from "../../upstream/pulumi-cli";

const ROOT = join(__dirname, "../..");
const project = parse(readFileSync(join(ROOT, "Pulumi.yaml"), "utf8")) as Project;
const STACK_FILES = readdirSync(ROOT).filter((f) => /^Pulumi\.[^.]+\.ya?ml$/.test(f)).sort();

/** What `pulumi config set --secret` writes, and what the secrets provider gives back. */
const encrypt = (plaintext: string) => ({ secure: `test:${plaintext}` });
const decrypt = (ciphertext: string) => ciphertext.replace(/^test:/, "");

/** The stack file's config after the `pulumi config set --secret <key>` lines of its header (not the --path ones). */
function asUserSetsIt(file: string): Record<string, unknown> {
  const text = readFileSync(join(ROOT, file), "utf8");
  const { config } = parse(text) as { config: Record<string, unknown> };
  const secrets = [...text.matchAll(/^#.*pulumi config set (?:--stack \S+ )?--secret ([a-z]+:[A-Za-z]+)\b/gm)].map((m) => m[1]);
  expect(secrets).toContain("mailserver:relayPassword");
  return { ...config, ...Object.fromEntries(secrets.map((k) => [k, encrypt("a-secret")])) };
}

test("the repository's stack files are Pulumi.dev.yaml only (the lab's config lives in lab/stack.yaml)", () => {
  expect(STACK_FILES).toEqual(["Pulumi.dev.yaml"]);
});

test.each(STACK_FILES)("%s, with the secrets its header sets, passes the CLI's config check", (file) => {
  expect(validateStack(file.split(".")[1], project, asUserSetsIt(file), decrypt)).toBeUndefined();
});

test("Pulumi.prod.yaml.example, copied and given its secrets as its header says, passes the CLI's config check", () => {
  expect(validateStack("prod", project, asUserSetsIt("Pulumi.prod.yaml.example"), decrypt)).toBeUndefined();
});

test("a test stack as npm run test-stack writes it (dev's config copied, moved into its namespace) passes", () => {
  const stack = "test-pr-7";
  const dev = asUserSetsIt("Pulumi.dev.yaml");
  const written = applyCalls(dev, [...namespaceCalls(dev, "pr-7", stack),
    ["config", "set", "mailserver:protectData", "false", "--stack", stack]]);
  expect(written["mailserver:domain"]).toBe("pr-7.test.example.com");
  expect(validateStack(stack, project, written, decrypt)).toBeUndefined();
});

test("a stack without the keys every stack needs is refused, naming each", () => {
  const bare = { "mailserver:relayPassword": encrypt("x") };
  expect(validateStack("x", project, bare, decrypt)).toBe("Stack 'x' is missing configuration values 'mailserver:domain', " +
    "'mailserver:sshSourceRanges' and 'mailserver:zoneId'");
});

test("every key without a default is one the program requires (the CLI demands it in every stack)", () => {
  const required = Object.entries(project.config ?? {})
    .filter(([, d]) => (d as { default?: unknown }).default === undefined).map(([k]) => k).sort();
  // The relay login is one of two modes (relayUsername + relayPassword, or mailgunApiKey): the program requires one.
  expect(required).toEqual(["mailserver:domain", "mailserver:sshSourceRanges", "mailserver:zoneId"]);
});

test("the checker refuses what the CLI refuses: a plain secret, wrong types, a bad default", () => {
  const valid = asUserSetsIt("Pulumi.dev.yaml");
  const check = (over: Record<string, unknown>) => validateStack("x", project, { ...valid, ...over }, decrypt);
  expect(check({ "mailserver:dnsTtl": "five" })).toBe("Stack 'x' with configuration key 'mailserver:dnsTtl' must be of type 'integer'");
  expect(check({ "mailserver:dnsTtl": 300, "mailserver:relayPort": "+2525" })).toBeUndefined();
  expect(check({ "mailserver:protectData": "yes" })).toBe("Stack 'x' with configuration key 'mailserver:protectData' must be of type 'boolean'");
  expect(check({ "mailserver:sshSourceRanges": ["203.0.113.4/32", 7] }))
    .toBe("Stack 'x' with configuration key 'mailserver:sshSourceRanges' must be of type 'array<string>'");
  expect(check({ "mailserver:users": encrypt("[]") }))
    .toBe("Stack 'x' with configuration key 'mailserver:users' must be of type 'array<object>'");
  expect(check({ "mailserver:users": [{ address: "a@example.com", password: encrypt("pw") }] })).toBeUndefined();
  // pulumi/pulumi's own cases (pkg/workspace/config_project_test.go).
  const upstream: Project = { name: "test", config: { values: { type: "array", items: { type: "string" } } } };
  expect(validateStack("dev", upstream, {}, decrypt)).toBe("Stack 'dev' is missing configuration value 'values'");
  expect(validateStack("dev", { name: "test", config: { n: { type: "integer", default: "" } } }, {}, decrypt))
    .toBe("The default value specified for configuration key 'n' is not of the expected type 'integer'");
  expect(validateStack("dev", { name: "test", config: { p: { type: "string", secret: true, default: "" } } }, {}, decrypt))
    .toBe("Stack 'dev' with configuration key 'p' must be encrypted as it's secret");
});

test("Pulumi.yaml declares no optional key secret: the CLI would refuse every stack that leaves it unset", () => {
  const secret = Object.entries(project.config ?? {}).filter(([, d]) => (d as { secret?: boolean }).secret).map(([k]) => k);
  expect(secret).toEqual([]);
  // Why: an unset key takes its default, and a default is never secure. The program refuses a plain value instead
  // (components/config.ts plainSecrets, tests/stack/mailgun.test.ts).
  const optionalSecret: Project = { name: "mailserver", config: { "mailserver:k": { type: "string", secret: true, default: "" } } };
  expect(validateStack("x", optionalSecret, {}, decrypt)).toBe("Stack 'x' with configuration key 'mailserver:k' must be encrypted as it's secret");
});
