// npm run status -- --stack: the thin adapter from Pulumi.<stack>.yaml and `pulumi stack output` to a status
// target, run with a stand-in pulumi CLI (the real one cannot run here).
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { plannedTlsa, stackTarget } from "../../scripts/status-stack";

const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nnot-a-real-key\n-----END OPENSSH PRIVATE KEY-----\n";
let dir: string;
let savedPath: string | undefined;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "status-stack-"));
  copyFileSync(join(__dirname, "..", "..", "Pulumi.dev.yaml"), join(dir, "Pulumi.dev.yaml"));
  const outputs = { ip: "198.51.100.7", hostname: "mail.example.com", deployPrivateKey: KEY, sshHostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIStandIn" };
  writeFileSync(join(dir, "outputs.json"), JSON.stringify(outputs));
  // Answers only the exact command the adapter must run.
  writeFileSync(join(dir, "pulumi"), `#!/bin/sh\n[ "$*" = "stack output --json --show-secrets --stack dev" ] || exit 9\ncat "${dir}/outputs.json"\n`);
  chmodSync(join(dir, "pulumi"), 0o755);
  savedPath = process.env.PATH;
  process.env.PATH = `${dir}:${savedPath ?? ""}`;
});
afterAll(() => {
  process.env.PATH = savedPath;
  rmSync(dir, { recursive: true, force: true });
});

const options = { ehloName: "status.example.net", outsideAddress: "probe@example.org", mailbox: { none: "not run" } };

test("config from the stack file (secrets not needed), IP and keys from the outputs; the key only in a 0600 file", () => {
  const { target, sshArgs, cleanup } = stackTarget("dev", options, dir);
  expect(target.config.domain).toBe("example.com");
  expect(target.ip).toBe("198.51.100.7");
  expect(target.blocklistsSkipped).toBeUndefined();
  expect(target.tlsCa).toBeUndefined();
  // sshViaIap is on in Pulumi.dev.yaml: SSH goes to the tunnel's local end, with the pinned host key.
  expect(sshArgs.slice(-3)).toEqual(["-p", "2222", "deploy@127.0.0.1"]);
  expect(sshArgs.join(" ")).not.toContain("not-a-real-key");
  const keyFile = sshArgs[sshArgs.indexOf("-i") + 1];
  expect(readFileSync(keyFile, "utf8")).toBe(KEY);
  expect(statSync(keyFile).mode & 0o777).toBe(0o600);
  const known = sshArgs.find((a) => a.startsWith("UserKnownHostsFile="))!.slice("UserKnownHostsFile=".length);
  expect(readFileSync(known, "utf8")).toBe("[127.0.0.1]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIStandIn\n");
  cleanup();
  expect(existsSync(keyFile)).toBe(false);
});

test("TLSA: the planned records from the tlsaRecords output; the validating resolver is --resolver, else the system's", () => {
  expect(plannedTlsa({ tlsaRecords: [`3 1 1 ${"a".repeat(64)}`] })).toEqual([`3 1 1 ${"a".repeat(64)}`]);
  expect(plannedTlsa({})).toEqual({ unknown: "the stack has no tlsaRecords output yet: run pulumi up" });
  const system = stackTarget("dev", options, dir);
  expect(system.target.tlsaPlanned).toEqual({ unknown: "the stack has no tlsaRecords output yet: run pulumi up" });
  expect(system.target.validatingResolver.length).toBeGreaterThan(0);
  system.cleanup();
  const given = stackTarget("dev", { ...options, resolver: "192.0.2.53:5353" }, dir);
  expect(given.target.validatingResolver).toEqual(["192.0.2.53:5353"]);
  given.cleanup();
});

test("a stack without outputs is refused with the fix", () => {
  writeFileSync(join(dir, "outputs.json"), "{}");
  expect(() => stackTarget("dev", options, dir)).toThrow("has it been deployed (pulumi up)?");
});
