// The command graph under mocks: order, users, secrets, and a resource count that does not grow with users.
import { byType, isSecretValue, runProgram, RunResult, strings, unwrap } from "./harness";
import { RELAY_MARKER, stackConfig, USER_MARKER } from "./config";

let run: RunResult;
beforeAll(async () => {
  run = await runProgram(stackConfig());
  if (run.error) throw run.error;
});
const named = (name: string) => run.resources.find((r) => r.name === name)!;

test("wait for SSH → wait for boot → provision (after the instance and the disk) → files → apply", () => {
  expect(named("mail-wait-boot").dependsOn).toEqual(["mail-wait-ssh"]);
  expect(named("mail-provision").dependsOn).toEqual(expect.arrayContaining(["mail-wait-boot", "mail-data"]));
  // The instance id is part of every remote command line: those commands run only once the VM exists.
  for (const cmd of byType(run, "command:remote:Command")) expect(String(cmd.inputs.create)).toContain("# instance mail-vm-id");
  const files = byType(run, "command:remote:Command").filter((r) => r.name.startsWith("mail-file-"));
  expect(files.length).toBeGreaterThan(10);
  for (const f of files) expect(f.dependsOn).toEqual(["mail-provision"]);
  expect(named("mail-apply").dependsOn.sort()).toEqual(files.map((f) => f.name).sort());
});

test("a file dropped from the config is removed from the server by its command's delete", () => {
  const keyFile = named("mail-file-etc-opendkim-keys-example.org-s1.private");
  expect(keyFile.inputs.delete).toBe("sudo /usr/local/sbin/mailserver-unstage '/etc/opendkim/keys/example.org/s1.private'");
  const single = byType(run, "command:remote:Command").filter((r) => r.name.startsWith("mail-file-etc-opendkim-keys-"));
  expect(single).toHaveLength(2);
});

test("every remote command runs as the deploy user with sudo, never as root", () => {
  for (const cmd of byType(run, "command:remote:Command")) {
    // The provider SDK makes the whole connection (it holds the key) a secret.
    expect(isSecretValue(cmd.inputs.connection)).toBe(true);
    const connection = unwrap(cmd.inputs.connection) as { user: string };
    expect(connection.user).toBe("deploy");
    expect(String(cmd.inputs.create)).toMatch(/^sudo /);
  }
});

test("secret files travel only on stdin, as secrets, with logging off", () => {
  const secretFiles = byType(run, "command:remote:Command").filter((r) => isSecretValue(r.inputs.stdin));
  const paths = secretFiles.map((r) => r.name).sort();
  expect(paths).toEqual(expect.arrayContaining([
    "mail-file-etc-postfix-sasl_passwd", "mail-file-etc-dovecot-users",
    "mail-file-etc-opendkim-keys-example.com-s1.private", "mail-file-etc-opendkim-keys-example.org-s1.private",
  ]));
  for (const r of secretFiles) expect(r.inputs.logging).toBe("none");
});

test("marker secrets appear nowhere in plain text: no input outside a secret, no command line, no output", () => {
  for (const r of run.resources) {
    for (const s of strings(r.inputs)) {
      if (s.secret) continue;
      expect(`${r.name}: ${s.text}`).not.toContain(RELAY_MARKER);
      expect(`${r.name}: ${s.text}`).not.toContain(USER_MARKER);
    }
    for (const key of ["create", "update", "delete"]) {
      const line = JSON.stringify(r.inputs[key] ?? "");
      expect(line).not.toContain(RELAY_MARKER);
      expect(line).not.toContain(USER_MARKER);
    }
  }
  for (const [name, out] of Object.entries(run.outputs)) {
    if (out.secret) continue;
    expect(`${name}: ${JSON.stringify(out.value)}`).not.toContain(RELAY_MARKER);
    expect(`${name}: ${JSON.stringify(out.value)}`).not.toContain(USER_MARKER);
  }
  // The password itself never reaches the server: only its hash does.
  const users = run.resources.find((r) => r.name === "mail-file-etc-dovecot-users")!;
  expect(strings(users.inputs.stdin).map((s) => s.text).join("")).not.toContain(USER_MARKER);
});

test("the same number of resources for 2 and for 200 users", async () => {
  const hash = "{ARGON2ID}$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$X0lEoAFV8qiz9bsXaWX0lCUGVPcbHXTyc5X+6lSAk3w";
  const users = (n: number) => Array.from({ length: n }, (_, i) => ({ address: `user${i}@example.com`, passwordHash: hash }));
  const two = await runProgram(stackConfig({ "mailserver:users": users(2) }));
  const many = await runProgram(stackConfig({ "mailserver:users": users(200) }));
  expect(two.error).toBeUndefined();
  expect(many.error).toBeUndefined();
  expect(many.resources.length).toBe(two.resources.length);
});

test("invalid config fails with every message and registers no resource", async () => {
  const bad = await runProgram(stackConfig({
    "mailserver:sshSourceRanges": ["0.0.0.0/0"],
    "mailserver:users": [{ address: "eve@elsewhere.net", password: "x" }],
    "mailserver:dmarcPolicy": "maybe",
  }));
  expect(bad.error?.message).toMatch(/mailserver:sshSourceRanges\[0\]: 0\.0\.0\.0\/0 opens SSH to the whole Internet/);
  expect(bad.error?.message).toMatch(/mailserver:users\[0\]\.address: eve@elsewhere\.net is not in a hosted domain/);
  expect(bad.resources.filter((r) => r.type !== "pulumi:pulumi:Stack")).toEqual([]);
});
