// The command graph under mocks: order, users, secrets, what re-runs the apply, and a resource count that
// does not grow with users.
import { createPrivateKey } from "node:crypto";
import * as tls from "@pulumi/tls";
import { RELAY_PASSWORD_PLACEHOLDER } from "../../components/core/layout";
import { MailPush, MailPushArgs, PushFile } from "../../components/push";
import { diffResource } from "../../lab/engine/diff";
import { byType, isSecretValue, runProgram, RunResult, strings, TEST_HOST_KEY, unwrap } from "./harness";
import { RELAY_MARKER, stackConfig, USER_MARKER } from "./config";

let run: RunResult;
beforeAll(async () => {
  run = await runProgram(stackConfig());
  if (run.error) throw run.error;
});
const named = (name: string) => run.resources.find((r) => r.name === name)!;

test("wait for SSH → wait for boot → provision (after the instance and the disk) → files and the TLS key → apply", () => {
  expect(named("mail-wait-boot").dependsOn).toEqual(["mail-wait-ssh"]);
  expect(named("mail-provision").dependsOn).toEqual(expect.arrayContaining(["mail-wait-boot", "mail-data"]));
  // The instance id is part of every remote command line: those commands run only once the VM exists.
  for (const cmd of byType(run, "command:remote:Command")) expect(String(cmd.inputs.create)).toContain("# instance mail-vm-id");
  const files = byType(run, "command:remote:Command").filter((r) => r.name.startsWith("mail-file-"));
  expect(files.length).toBeGreaterThan(10);
  for (const f of files) expect(f.dependsOn).toEqual(["mail-provision"]);
  expect(named("mail-tls").dependsOn).toEqual(["mail-provision"]);
  expect(named("mail-apply").dependsOn.sort()).toEqual([...files.map((f) => f.name), "mail-tls"].sort());
});

const fileCommands = (r: RunResult) => byType(r, "command:remote:Command").filter((c) => c.name.startsWith("mail-file-"));
/** The apply's triggers as text, secret or not. */
const triggerLines = (r: RunResult) => strings(r.resources.find((c) => c.name === "mail-apply")!.inputs.triggers).map((s) => s.text);

test("no destroy needs SSH: no command has a delete; a dropped file leaves the apply's manifest instead", async () => {
  for (const cmd of [...byType(run, "command:remote:Command"), ...byType(run, "command:local:Command")]) {
    expect(`${cmd.name}: ${String(cmd.inputs.delete)}`).toBe(`${cmd.name}: undefined`);
  }
  const keyFile = "/etc/opendkim/keys/example.org/s1.private";
  expect(String(named("mail-apply").inputs.stdin)).toContain(`${keyFile} opendkim -\n`);
  const oneDomain = await runProgram(stackConfig({ "mailserver:extraDomains": [], "mailserver:users": [{ address: "alice@example.com", password: "x" }] }));
  expect(oneDomain.error).toBeUndefined();
  expect(String(oneDomain.resources.find((c) => c.name === "mail-apply")!.inputs.stdin)).not.toContain(keyFile);
});

test("remote commands do not ask sshd to accept environment variables", () => {
  for (const cmd of byType(run, "command:remote:Command")) {
    expect(`${cmd.name}: ${String(cmd.inputs.addPreviousOutputInEnv)}`).toBe(`${cmd.name}: false`);
    expect(cmd.inputs.environment).toBeUndefined();
  }
});

test("the apply's triggers hold every staged file's stage line: path, content hash, mode, owner, group", () => {
  const files = fileCommands(run);
  const lines = triggerLines(run).filter((l) => l.startsWith("/"));
  expect(lines).toHaveLength(files.length);
  for (const line of lines) expect(line).toMatch(/^\/\S+ [0-9a-f]{64} 0[0-7]{3} \S+ \S+\n$/);
  const paths = lines.map((l) => l.split(" ")[0]).sort();
  const manifest = String(named("mail-apply").inputs.stdin).trim().split("\n").map((l) => l.split(" ")[0]).sort();
  expect(paths).toEqual(manifest);
});

const MAIN_CF: PushFile = { path: "/etc/postfix/main.cf", mode: "0644", owner: "root", group: "root", secret: false, service: "postfix", content: "a = b\n" };

/** MailPush alone, with these arguments changed from a fixed set. */
async function runPush(changes: Partial<MailPushArgs>): Promise<RunResult> {
  const r = await runProgram({}, {
    program: async () => {
      const push = new MailPush("mail", {
        host: "192.0.2.1", port: 22, user: "deploy", privateKey: "key", instanceId: "vm-1", provisionScript: "true",
        files: [MAIN_CF], dataDiskSizeGb: 20, bootDiskSizeGb: 10, dataDiskId: "projects/p/zones/z/disks/mail-data-1", hostKey: "ssh-ed25519 AAAA",
        relaySecretVersion: "projects/p/secrets/s/versions/1",
        tls: { keyName: "k1", privateKeyPem: "key", spkiSha256: "0".repeat(64), settings: "self-signed mail.example.com" },
        ...changes,
      });
      return { applied: push.applied };
    },
  });
  if (r.error) throw r.error;
  return r;
}

/** The apply's triggers for one file pushed with these attributes and this content. */
async function applyTriggers(file: Partial<PushFile>): Promise<string[]> {
  return triggerLines(await runPush({ files: [{ ...MAIN_CF, ...file }] }));
}

test("any change to a staged file re-runs the apply: content, mode, owner or group; nothing else does", async () => {
  const base = await applyTriggers({});
  expect(await applyTriggers({})).toEqual(base);
  for (const change of [{ content: "a = c\n" }, { mode: "0640" }, { owner: "postfix" }, { group: "postfix" }]) {
    expect(await applyTriggers(change)).not.toEqual(base);
  }
});

test("a bigger data disk re-runs the online filesystem grow", async () => {
  const grow = named("mail-grow-data");
  expect(String(grow.inputs.create)).toMatch(/^sudo resize2fs '\/dev\/disk\/by-id\/google-maildata' # data disk mail-data-id, 20 GB #/);
  expect(grow.dependsOn).toEqual(["mail-provision"]);
  const bigger = await runProgram(stackConfig({ "mailserver:dataDiskSizeGb": "40" }));
  expect(String(bigger.resources.find((c) => c.name === "mail-grow-data")!.inputs.create)).toContain("# data disk mail-data-id, 40 GB");
});

test("a bigger boot disk re-runs the root's grow (mailserver-growroot, installed by provisioning with growpart) once the VM's disk is resized", async () => {
  const grow = named("mail-grow-root");
  expect(String(grow.inputs.create)).toBe("sudo /usr/local/sbin/mailserver-growroot # instance mail-vm-id");
  // Its trigger is the size the instance reports, so the engine runs it only after the instance's update (the resize).
  expect(grow.inputs.triggers).toEqual([10]);
  expect(grow.inputDeps).toContain("gcp:compute/instance:Instance::mail-vm");
  expect(grow.dependsOn).toEqual(["mail-provision"]);
  const script = String(named("mail-provision").inputs.stdin);
  expect(script).toContain("put_file /usr/local/sbin/mailserver-growroot 0755");
  expect(script).toContain("cloud-guest-utils");

  const bigger = await runProgram(stackConfig({ "mailserver:bootDiskSizeGb": "12" }));
  const vm = (r: RunResult) => r.resources.find((x) => x.name === "mail-vm")!;
  // The VM is updated in place (its boot disk resized), not replaced; of the commands only the grow runs.
  expect(diffResource(vm(bigger).type, vm(run).inputs, vm(bigger).inputs, vm(bigger)))
    .toEqual({ op: "update", changed: ["bootDisk.initializeParams.size"], replaceBecause: [] });
  const ops = commandOps(run, bigger);
  expect(Object.entries(ops).filter(([, op]) => op !== "same")).toEqual([["mail-grow-root", "replace"]]);
});

/** What the engine does with each remote command of `next` after `previous` was deployed (the lab engine's diff rules). */
function commandOps(previous: RunResult, next: RunResult): Record<string, string> {
  return Object.fromEntries(byType(next, "command:remote:Command").map((c) => {
    const old = previous.resources.find((r) => r.type === c.type && r.name === c.name);
    return [c.name, diffResource(c.type, old?.inputs, c.inputs, { ignoreChanges: [], replaceOnChanges: [] }).op];
  }));
}

// The program replaces the VM with a new data disk (components/host.ts, replaceOnChanges attachedDisks); the push
// alone must still re-run what mounts and grows the disk when only the disk's id changes.
test("a new data disk id re-runs provisioning (which mounts it) and the grow; a deploy with no change runs nothing", async () => {
  expect(String(named("mail-provision").inputs.create)).toBe("sudo bash -s # data disk mail-data-id # instance mail-vm-id");
  const first = await runPush({});
  const same = await runPush({});
  const newDisk = await runPush({ dataDiskId: "projects/p/zones/z/disks/mail-data-2" });
  expect(Object.values(commandOps(first, same)).filter((op) => op !== "same")).toEqual([]);
  const ops = commandOps(first, newDisk);
  expect(Object.keys(ops).filter((name) => ops[name] !== "same").sort()).toEqual(["mail-grow-data", "mail-provision"]);
  // An update, which runs `create` again (the push's own inputs replace nothing).
  expect([ops["mail-provision"], ops["mail-grow-data"]]).toEqual(["update", "update"]);
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

test("the mocks mark the tls private key secret, as the provider does", async () => {
  const r = await runProgram({}, {
    program: async () => {
      const key = new tls.PrivateKey("k", { algorithm: "RSA", rsaBits: 2048 });
      return { pem: key.privateKeyPem, openssh: key.privateKeyOpenssh, pub: key.publicKeyPem };
    },
  });
  expect([r.outputs.pem.secret, r.outputs.openssh.secret, r.outputs.pub.secret]).toEqual([true, true, false]);
});

/** Commands that break the rule for a secret on stdin (components/push.ts stdinArgs): what each lacks. */
function secretStdinBreaches(r: RunResult): string[] {
  return [...byType(r, "command:remote:Command"), ...byType(r, "command:local:Command")]
    .filter((c) => isSecretValue(c.inputs.stdin))
    .flatMap((c) => [
      ...(c.inputs.logging === "none" ? [] : [`${c.name}: logging ${String(c.inputs.logging)}, not none`]),
      ...["stdout", "stderr"].filter((o) => !c.additionalSecretOutputs.includes(o)).map((o) => `${c.name}: ${o} is not a secret output`),
    ]);
}

test("every command with a secret on stdin logs nothing and keeps stdout and stderr secret", () => {
  const secretStdin = byType(run, "command:remote:Command").filter((c) => isSecretValue(c.inputs.stdin)).map((c) => c.name).sort();
  // The TLS private key and the files that hold a secret; nothing else carries one.
  expect(secretStdin).toEqual([
    "mail-file-etc-dovecot-users",
    "mail-file-etc-opendkim-keys-example.com-s1.private", "mail-file-etc-opendkim-keys-example.org-s1.private",
    "mail-tls",
  ]);
  expect(secretStdinBreaches(run)).toEqual([]);
  // What mail-tls carries is the stack's serving key itself.
  expect(unwrap(named("mail-tls").inputs.stdin)).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
});

test("only the files that hold a secret travel as secrets; the others stay readable in a preview", () => {
  const secretFiles = fileCommands(run).filter((r) => isSecretValue(r.inputs.stdin)).map((r) => r.name).sort();
  expect(secretFiles).toEqual([
    "mail-file-etc-dovecot-users",
    "mail-file-etc-opendkim-keys-example.com-s1.private", "mail-file-etc-opendkim-keys-example.org-s1.private",
  ]);
  // Their output stays readable too (the SDK itself keeps `connection`, which holds the deploy key, secret).
  for (const r of fileCommands(run).filter((c) => !isSecretValue(c.inputs.stdin))) {
    expect([r.name, r.inputs.logging, r.additionalSecretOutputs]).toEqual([r.name, undefined, ["connection"]]);
  }
  const mainCf = named("mail-file-etc-postfix-main.cf").inputs.stdin;
  expect(typeof mainCf).toBe("string");
  expect(String(mainCf)).toContain("myhostname = mail.example.com");
});

test("the relay password is in no command input, only in the SecretVersion's secretData; the apply reads that version", () => {
  const holders = run.resources.filter((r) => strings(r.inputs).some((s) => s.text.includes(RELAY_MARKER)));
  expect(holders.map((r) => `${r.type} ${r.name}`)).toEqual(["gcp:secretmanager/secretVersion:SecretVersion mail-relay-password"]);
  expect(isSecretValue(holders[0].inputs.secretData)).toBe(true);
  // The staged sasl_passwd carries the placeholder the apply fills from Secret Manager.
  expect(named("mail-file-etc-postfix-sasl_passwd").inputs.stdin).toBe(`[smtp.mailgun.org]:2525 postmaster@mg.example.com:${RELAY_PASSWORD_PLACEHOLDER}\n`);
  const version = "mail-relay-password-id/versions/1";
  expect(String(named("mail-apply").inputs.create)).toMatch(new RegExp(`^sudo /usr/local/sbin/mailserver-apply '${version}' # instance `));
  // Rotation: a new version (secretData is force-new) changes the triggers, which re-runs the apply.
  expect(triggerLines(run)).toContain(version);
});

test("the SSH host key is pinned: every remote command's connection holds the key the guest agent published", () => {
  const vm = run.resources.find((r) => r.name === "mail-vm")!;
  expect((vm.inputs.metadata as Record<string, string>)["enable-guest-attributes"]).toBe("TRUE");
  const invokes = run.calls.filter((c) => c.token === "gcp:compute/getInstanceGuestAttributes:getInstanceGuestAttributes");
  expect(invokes.map((c) => c.inputs)).toEqual([{ name: "mail-vm", zone: "europe-west1-b", project: "proj", variableKey: "hostkeys/ssh-ed25519" }]);
  const remote = byType(run, "command:remote:Command");
  expect(remote.length).toBeGreaterThan(10);
  for (const cmd of remote) {
    expect(`${cmd.name}: ${String((unwrap(cmd.inputs.connection) as { hostKey?: string }).hostKey)}`).toBe(`${cmd.name}: ssh-ed25519 ${TEST_HOST_KEY}`);
  }
});

test("the DKIM keys the server gets are RSA 2048", () => {
  const keyFiles = fileCommands(run).filter((r) => r.name.includes("opendkim-keys-"));
  expect(keyFiles).toHaveLength(2);
  for (const f of keyFiles) {
    const key = createPrivateKey(String(unwrap(f.inputs.stdin)));
    expect([key.asymmetricKeyType, key.asymmetricKeyDetails?.modulusLength]).toEqual(["rsa", 2048]);
  }
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
