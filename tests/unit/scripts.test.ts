// The scripts that run on the server as root: bash -n and shellcheck on each, and proof that no
// configuration value can change the provisioning script's syntax.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MailStackConfig, parseConfig } from "../../components/core/config";
import { packagesFor, renderProvisionScript } from "../../components/core/provision";
import { MINIMAL_RAW } from "../fixtures/config";

const TEMPLATES = join(__dirname, "..", "..", "templates", "provision");
// Every helper provisioning installs (templates/provision/*.sh), so that a new one cannot be left out.
const HELPERS = readdirSync(TEMPLATES).filter((f) => f.endsWith(".sh")).sort();
const END_OF_VALUES = "# ---- end of configuration values ----\n";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "scripts-test-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const config = (tls: MailStackConfig["tls"]) => parseConfig({ ...MINIMAL_RAW, "mailserver:tls": tls });

function scriptFile(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const scripts: [string, () => string][] = [
  ["provision.sh (acme)", () => scriptFile("provision-acme.sh", renderProvisionScript(config("acme")))],
  ["provision.sh (self-signed)", () => scriptFile("provision-self-signed.sh", renderProvisionScript(config("self-signed")))],
  ...HELPERS.map((h): [string, () => string] => [h, () => join(TEMPLATES, h)]),
];

test.each(scripts)("%s: bash -n", (_name, path) => {
  const result = spawnSync("bash", ["-n", path()], { encoding: "utf8" });
  expect(result.stderr).toBe("");
  expect(result.status).toBe(0);
});

test.each(scripts)("%s: shellcheck finds nothing", (_name, path) => {
  const result = spawnSync("shellcheck", ["--shell=bash", "--severity=style", path()], { encoding: "utf8" });
  if (result.error) throw new Error(`shellcheck did not run (${result.error.message}) — apt-get install shellcheck`);
  expect(result.stdout).toBe("");
  expect(result.status).toBe(0);
});

test("the helper scripts can be embedded in the provisioning heredocs (no line ends them early)", () => {
  for (const h of HELPERS) {
    expect(readFileSync(join(TEMPLATES, h), "utf8").split("\n")).not.toContain("SCRIPT");
  }
});

describe("hostile values (the schema bypassed)", () => {
  // Each would run a command or break the syntax if pasted unquoted into the script.
  const hostile = (tag: string) => [
    `o'brien-${tag}@example.com`,
    `a\`touch ${dir}/pwned-${tag}\`b`,
    `$(touch ${dir}/pwned-${tag}); x`,
    `'; touch ${dir}/pwned-${tag}; '`,
    `line one\nline "two" \\ ${"$"}{HOME}\n'SCRIPT'\nSCRIPT\n{{hostname}} #`,
  ].join(tag === "email" ? "" : " | ");
  const values = { hostname: hostile("host"), acmeServer: hostile("server"), acmeEmail: hostile("email") };
  const evil: MailStackConfig = { ...config("acme"), ...values };
  const script = () => renderProvisionScript(evil);

  test("the script still parses", () => {
    const result = spawnSync("bash", ["-n", scriptFile("hostile.sh", script())], { encoding: "utf8" });
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
  });

  test("values appear only in the assignments at the top: the rest is the script of a normal config", () => {
    const body = (text: string) => text.slice(text.indexOf(END_OF_VALUES));
    expect(script()).toContain(END_OF_VALUES);
    expect(body(script())).toBe(body(renderProvisionScript(config("acme"))));
  });

  test("each value becomes exactly one word, byte for byte, and runs nothing", () => {
    const text = script();
    const prelude = text.slice(0, text.indexOf(END_OF_VALUES));
    const print = 'printf "%s\\0" "$HOSTNAME_FQDN" "$ACME_SERVER" "$ACME_EMAIL" "$VMAIL_ID" "${#PACKAGES[@]}" "${PACKAGES[@]}"';
    const result = spawnSync("bash", ["-c", `${prelude}\n${print}`], { encoding: "utf8" });
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    const packages = packagesFor(evil);
    expect(result.stdout.split("\0").slice(0, -1)).toEqual([
      values.hostname, values.acmeServer, values.acmeEmail, "5000", String(packages.length), ...packages,
    ]);
    for (const tag of ["host", "server", "email"]) expect(existsSync(join(dir, `pwned-${tag}`))).toBe(false);
  });

  test("deterministic: the same config renders the same bytes", () => {
    expect(script()).toBe(script());
  });

  test("a NUL byte, which no shell string can hold, stops the render", () => {
    expect(() => renderProvisionScript({ ...evil, acmeEmail: "a\0b@example.com" })).toThrow("NUL byte");
  });
});
