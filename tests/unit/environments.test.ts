// Which DNS names a stack may claim beside the others (core/environments.ts), and what the stack files tell.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stackFileNames } from "../../components/config";
import { parseConfig } from "../../components/core/config";
import { environmentProblems, LETS_ENCRYPT_STAGING } from "../../components/core/environments";

const config = (over: Record<string, unknown> = {}) => parseConfig({
  "mailserver:domain": "pr-42.test.example.com",
  "mailserver:zoneId": "zone",
  "mailserver:relayUsername": "u",
  "mailserver:relayPassword": "p",
  "mailserver:sshSourceRanges": JSON.stringify(["203.0.113.4/32"]),
  "mailserver:tls": "acme",
  "mailserver:acmeServer": LETS_ENCRYPT_STAGING,
  "gcp:project": "proj",
  "gcp:zone": "europe-west1-b",
  "cloudflare:apiToken": "t",
  ...over,
});
const DEV = { stack: "dev", names: ["example.com", "mail.example.com"] };
const PROD = { stack: "prod", names: ["example.net", "mail.example.net"] };

test("a test stack in its own namespace, with staging ACME, may be deployed", () => {
  expect(environmentProblems(config(), "test-pr-42", [DEV, PROD])).toEqual([]);
  expect(environmentProblems(config(), "acme/mailserver/test-pr-42", [DEV, PROD])).toEqual([]);
});

test("a test stack with dev's domain is refused with the fix", () => {
  const problems = environmentProblems(config({ "mailserver:domain": "example.com" }), "test-pr-42", [DEV, PROD]);
  expect(problems).toEqual(expect.arrayContaining([
    expect.stringContaining("mailserver:domain: example.com is outside test stack test-pr-42's own namespace"),
    expect.stringContaining("example.com belongs to stack dev (Pulumi.dev.yaml) and is example.com"),
    expect.stringContaining("mail.example.com belongs to stack dev"),
  ]));
  expect(problems.join("\n")).toContain("use pr-42.test.example.com");
});

test("another test stack's namespace, prod's extra domain, or a dev whose names fall inside ours are refused", () => {
  expect(environmentProblems(config({ "mailserver:domain": "pr-43.test.example.com" }), "test-pr-42", [])[0])
    .toContain("outside test stack test-pr-42's own namespace");
  const extra = config({ "mailserver:extraDomains": JSON.stringify([{ name: "example.net", zoneId: "z2" }]) });
  expect(environmentProblems(extra, "test-pr-42", [PROD])).toEqual(expect.arrayContaining([
    expect.stringContaining("mailserver:extraDomains[0].name: example.net is outside"),
    expect.stringContaining("example.net belongs to stack prod"),
  ]));
  const odd = { stack: "dev", names: ["pr-42.test.example.com"] };
  expect(environmentProblems(config(), "test-pr-42", [odd])[0]).toContain("belongs to stack dev");
  // its own file (pulumi config set wrote it) is no conflict
  expect(environmentProblems(config(), "test-pr-42", [{ stack: "test-pr-42", names: ["pr-42.test.example.com"] }])).toEqual([]);
});

test("a test stack may not take certificates from Let's Encrypt production; self-signed is fine", () => {
  const prodAcme = config({ "mailserver:acmeServer": "https://acme-v02.api.letsencrypt.org/directory" });
  expect(environmentProblems(prodAcme, "test-pr-42", [])).toEqual([expect.stringContaining(`set mailserver:acmeServer ${LETS_ENCRYPT_STAGING}`)]);
  expect(environmentProblems(config({ "mailserver:tls": "self-signed", "mailserver:acmeServer": "https://acme-v02.api.letsencrypt.org/directory" }), "test-pr-42", [])).toEqual([]);
});

test("dev and prod are not held to the test rules", () => {
  expect(environmentProblems(config({ "mailserver:domain": "example.com" }), "dev", [PROD])).toEqual([]);
  expect(environmentProblems(config({ "mailserver:domain": "example.net", "mailserver:acmeServer": "https://acme-v02.api.letsencrypt.org/directory" }), "prod", [DEV])).toEqual([]);
});

test("stackFileNames reads every Pulumi.<stack>.yaml's plain domain, hostname and extra domains", () => {
  const dir = mkdtempSync(join(tmpdir(), "stack-files-"));
  try {
    writeFileSync(join(dir, "Pulumi.yaml"), "name: mailserver\n");
    writeFileSync(join(dir, "Pulumi.dev.yaml"), "config:\n  mailserver:domain: Example.com\n");
    writeFileSync(join(dir, "Pulumi.prod.yaml"), "config:\n  mailserver:domain: example.net\n  mailserver:hostname: mx.example.net\n" +
      "  mailserver:extraDomains:\n    - name: example.org\n      zoneId: z\n");
    writeFileSync(join(dir, "Pulumi.odd.yaml"), "config:\n  mailserver:domain:\n    secure: AAAA\n");
    writeFileSync(join(dir, "Pulumi.broken.yaml"), "config: [\n");
    writeFileSync(join(dir, "Pulumi.prod.yaml.example"), "config:\n  mailserver:domain: example.com\n");
    expect(stackFileNames(dir)).toEqual([
      { stack: "dev", names: ["example.com", "mail.example.com"] },
      { stack: "odd", names: [] },
      { stack: "prod", names: ["example.net", "mx.example.net", "example.org"] },
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
