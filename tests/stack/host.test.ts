// The Google Cloud host under mocks: network, firewall, image, disk, snapshots, secret, service account,
// protection, and what a change of one setting must leave alone.
import { stackName } from "../../components/host";
import { byType, dig, Recorded, runProgram, RunResult, strings, unwrap, isSecretValue, TEST_HOST_KEY } from "./harness";
import { stackConfig } from "./config";
import { diffResource } from "../../lab/engine/diff";

let run: RunResult;
beforeAll(async () => {
  run = await runProgram(stackConfig());
  if (run.error) throw run.error;
});

const one = (type: string, name: string): Recorded => {
  const found = run.resources.filter((r) => r.type === type && r.name === name);
  expect(found).toHaveLength(1);
  return found[0];
};

interface Rule { allows: { protocol: string; ports: string[] }[]; sourceRanges: string[]; targetTags: string[]; direction: string; network: string }

test("opens exactly 25/443/465/587/993/995/4190 to the world and 22 to the admin ranges, on the stack's own network", () => {
  const rules = byType(run, "gcp:compute/firewall:Firewall").map((r) => r.inputs as unknown as Rule);
  expect(rules.every((r) => r.direction === "INGRESS" && r.targetTags.join() === "mail-test" && r.network === "mail-net-id")).toBe(true);
  const world = rules.filter((r) => r.sourceRanges.includes("0.0.0.0/0"));
  expect(world.flatMap((r) => r.allows.flatMap((a) => a.ports.map((p) => `${a.protocol}/${p}`))).sort())
    .toEqual(["tcp/25", "tcp/4190", "tcp/443", "tcp/465", "tcp/587", "tcp/993", "tcp/995"]);
  const ssh = rules.filter((r) => r.allows.some((a) => a.ports.includes("22")));
  expect(ssh).toHaveLength(1);
  expect(ssh[0].sourceRanges).toEqual(["203.0.113.4/32", "198.51.100.0/24"]);
  expect(ssh[0].allows).toEqual([{ protocol: "tcp", ports: ["22"] }]);
  expect(rules).toHaveLength(2);
});

test("sshSourceRanges of both families: one SSH rule per family (GCE refuses IPv4 and IPv6 in one rule); the IAP rule stays IPv4", async () => {
  const mixed = await runProgram(stackConfig({ "mailserver:sshSourceRanges": ["203.0.113.4/32", "2001:db8:1::/48", "198.51.100.0/24"], "mailserver:sshViaIap": "true" }));
  expect(mixed.error).toBeUndefined();
  const ssh = byType(mixed, "gcp:compute/firewall:Firewall").filter((r) => (r.inputs as unknown as Rule).allows.some((a) => a.ports.includes("22")));
  expect(ssh.map((r) => [r.name, r.inputs.name, (r.inputs as unknown as Rule).sourceRanges]).sort((a, b) => String(a[0]).localeCompare(String(b[0])))).toEqual([
    ["mail-iap-ssh", "mail-iap-ssh-test", ["35.235.240.0/20"]],
    ["mail-ssh", "mail-ssh-test", ["203.0.113.4/32", "198.51.100.0/24"]],
    ["mail-ssh-v6", "mail-ssh-v6-test", ["2001:db8:1::/48"]],
  ]);
  for (const r of ssh) expect(r.deleteBeforeReplace).toBe(true);
  // Only IPv6 ranges: no IPv4 rule at all (a rule without sourceRanges would admit every source).
  const v6 = await runProgram(stackConfig({ "mailserver:sshSourceRanges": ["2001:db8:1::/48"] }));
  const v6Rules = byType(v6, "gcp:compute/firewall:Firewall").filter((r) => (r.inputs as unknown as Rule).allows.some((a) => a.ports.includes("22")));
  expect(v6Rules.map((r) => [r.name, (r.inputs as unknown as Rule).sourceRanges])).toEqual([["mail-ssh-v6", ["2001:db8:1::/48"]]]);
});

test("ACME opens port 80 as well, and only then", async () => {
  const acme = await runProgram(stackConfig({ "mailserver:tls": "acme" }));
  const rules = byType(acme, "gcp:compute/firewall:Firewall").map((r) => r.inputs as unknown as Rule);
  const ports = rules.filter((r) => r.sourceRanges.includes("0.0.0.0/0"))
    .flatMap((r) => r.allows.flatMap((a) => a.ports)).sort();
  expect(ports).toEqual(["25", "4190", "443", "465", "587", "80", "993", "995"]);
});

test("the VM: pinned Debian 12 image, shielded, deploy user key, data disk attached by device name", () => {
  const vm = one("gcp:compute/instance:Instance", "mail-vm").inputs;
  expect(dig(vm, "bootDisk.initializeParams.image")).toBe("debian-cloud/debian-12");
  expect(dig(vm, "bootDisk.initializeParams.size")).toBe(10);
  expect(vm.shieldedInstanceConfig).toEqual({ enableSecureBoot: true, enableVtpm: true, enableIntegrityMonitoring: true });
  expect(vm.allowStoppingForUpdate).toBe(true);
  expect(vm.tags).toEqual(["mail-test"]);
  expect(dig(vm, "metadata.ssh-keys")).toMatch(/^deploy:ssh-ed25519 \S+ deploy$/);
  expect(dig(vm, "metadata.block-project-ssh-keys")).toBe("TRUE");
  expect(vm.attachedDisks).toEqual([{ source: "mail-data-id", deviceName: "maildata", mode: "READ_WRITE" }]);
  expect(dig(vm, "networkInterfaces.0.accessConfigs.0.natIp")).toBe("198.51.100.7");
  expect(dig(vm, "networkInterfaces.0.accessConfigs.0.publicPtrDomainName")).toBeUndefined();
  expect(dig(vm, "serviceAccount.email")).toBe("mail-test@proj.iam.gserviceaccount.com");
  const key = one("tls:index/privateKey:PrivateKey", "mail-deploy-key");
  expect(key.inputs.algorithm).toBe("ED25519");
});

test("the data disk is its own resource with a daily snapshot schedule", () => {
  const disk = one("gcp:compute/disk:Disk", "mail-data");
  expect(disk.inputs.size).toBe(20);
  const policyResource = one("gcp:compute/resourcePolicy:ResourcePolicy", "mail-snapshots");
  const policy = policyResource.inputs;
  expect(dig(policy, "snapshotSchedulePolicy.schedule.dailySchedule.daysInCycle")).toBe(1);
  expect(dig(policy, "snapshotSchedulePolicy.retentionPolicy.maxRetentionDays")).toBe(14);
  const attach = one("gcp:compute/diskResourcePolicyAttachment:DiskResourcePolicyAttachment", "mail-data-snapshots");
  expect(attach.inputs.disk).toBe("mail-data");
  // Resource policy names are unique in the project and region: the stack's own.
  expect(policy.name).toBe("mail-snapshots-test");
  expect(attach.inputs.name).toBe("mail-snapshots-test");
  // One schedule per disk: the attachment of a renamed policy must go before the new one comes.
  expect(attach.deleteBeforeReplace).toBe(true);
});

test("the VM is replaced delete-first: the new one needs the same static IP and READ_WRITE disk", () => {
  const vm = one("gcp:compute/instance:Instance", "mail-vm");
  expect(vm.deleteBeforeReplace).toBe(true);
  expect(vm.inputs.attachedDisks).toEqual([expect.objectContaining({ mode: "READ_WRITE" })]);
});

test("the stack's own network: custom subnets, the VM on them, nothing on `default`", () => {
  const net = one("gcp:compute/network:Network", "mail-net").inputs;
  // A custom-mode network has no rule but the implied ones: no default-allow-ssh.
  expect(net.autoCreateSubnetworks).toBe(false);
  const subnet = one("gcp:compute/subnetwork:Subnetwork", "mail-subnet").inputs;
  expect(subnet.network).toBe("mail-net-id");
  expect(subnet.region).toBe("europe-west1");
  const vm = one("gcp:compute/instance:Instance", "mail-vm").inputs;
  expect(dig(vm, "networkInterfaces.0.network")).toBe("mail-net-id");
  expect(dig(vm, "networkInterfaces.0.subnetwork")).toBe("mail-subnet-id");
  for (const r of run.resources) {
    for (const s of strings(r.inputs)) expect(`${r.name}: ${s.text}`).not.toMatch(/: (global\/networks\/)?default$/);
  }
});

/** Every name GCP keeps project-wide: network, subnet, firewall rules, tags, snapshot policy, service account, secret. */
function globalNames(r: RunResult): string[] {
  const named = (type: string, key: string) => byType(r, type).map((x) => String(x.inputs[key]));
  return [
    ...named("gcp:compute/network:Network", "name"),
    ...named("gcp:compute/resourcePolicy:ResourcePolicy", "name"),
    ...named("gcp:compute/subnetwork:Subnetwork", "name"),
    ...named("gcp:compute/firewall:Firewall", "name"),
    ...byType(r, "gcp:compute/firewall:Firewall").flatMap((x) => x.inputs.targetTags as string[]),
    ...named("gcp:serviceaccount/account:Account", "accountId"),
    ...named("gcp:secretmanager/secret:Secret", "secretId"),
  ];
}

test("two stacks in one project share no project-global name, and every name is valid", async () => {
  const other = await runProgram(stackConfig(), { stack: "Prod.eu_1" });
  expect(other.error).toBeUndefined();
  const mine = globalNames(run);
  const theirs = globalNames(other);
  expect(mine).toHaveLength(theirs.length);
  expect(mine.filter((n) => theirs.includes(n))).toEqual([]);
  for (const n of [...mine, ...theirs]) expect(n).toMatch(/^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/);
  const account = (r: RunResult) => String(byType(r, "gcp:serviceaccount/account:Account")[0].inputs.accountId);
  for (const id of [account(run), account(other)]) expect(id).toMatch(/^[a-z][-a-z0-9]{4,28}[a-z0-9]$/);
});

test("stack names that must be cut or changed to fit stay apart", () => {
  const long = "feature-a-very-long-branch-name-that-goes-on";
  expect(stackName("mail", long, 30)).not.toBe(stackName("mail", `${long}-2`, 30));
  expect(stackName("mail", long, 30).length).toBeLessThanOrEqual(30);
  expect(stackName("mail", "Dev")).not.toBe(stackName("mail", "dev"));
  expect(stackName("mail", "dev")).toBe("mail-dev");
});

test("a new hostname leaves the address and the data disk as they are (their descriptions are force-new)", async () => {
  const renamed = await runProgram(stackConfig({ "mailserver:hostname": "mx.example.com" }));
  expect(renamed.error).toBeUndefined();
  const inputs = (r: RunResult, name: string) => r.resources.find((x) => x.name === name)!.inputs;
  for (const name of ["mail-ip", "mail-data", "mail-snapshots", "mail-data-snapshots"]) {
    expect(inputs(renamed, name)).toEqual(inputs(run, name));
  }
  expect(renamed.resources.find((x) => x.name === "mail-vm")).toBeDefined();
});

test("bootDiskSizeGb sizes the boot disk only: the data disk and the address stay as they are", async () => {
  const bigger = await runProgram(stackConfig({ "mailserver:bootDiskSizeGb": "12" }));
  expect(bigger.error).toBeUndefined();
  const inputs = (r: RunResult, name: string) => r.resources.find((x) => x.name === name)!.inputs;
  expect(dig(inputs(bigger, "mail-vm"), "bootDisk.initializeParams.size")).toBe(12);
  for (const name of ["mail-ip", "mail-data"]) expect(inputs(bigger, name)).toEqual(inputs(run, name));
});

test("changing the machine type or a mail setting leaves the data disk as it is", async () => {
  const changed = await runProgram(stackConfig({ "mailserver:machineType": "e2-medium", "mailserver:messageSizeLimitMb": "50", "mailserver:dmarcPolicy": "reject" }));
  const disk = (r: RunResult) => r.resources.find((x) => x.name === "mail-data")!.inputs;
  expect(disk(changed)).toEqual(disk(run));
  expect(changed.resources.find((x) => x.name === "mail-vm")!.inputs.machineType).toBe("e2-medium");
});

test("the relay secret version is a secret, readable only by the VM's account", () => {
  const version = one("gcp:secretmanager/secretVersion:SecretVersion", "mail-relay-password");
  expect(isSecretValue(version.inputs.secretData)).toBe(true);
  expect(unwrap(version.inputs.secretData)).toBe("relay-MARKER-7f3a9c");
  const reader = one("gcp:secretmanager/secretIamMember:SecretIamMember", "mail-relay-password-reader");
  expect(reader.inputs.role).toBe("roles/secretmanager.secretAccessor");
  expect(reader.inputs.member).toBe("serviceAccount:mail-test@proj.iam.gserviceaccount.com");
  const one_ = one("gcp:secretmanager/secret:Secret", "mail-relay-password");
  expect(one_.inputs.replication).toEqual({ auto: {} });
});

test("the service account has the least privilege: log and metric writing only", () => {
  const roles = byType(run, "gcp:projects/iAMMember:IAMMember").map((r) => r.inputs.role).sort();
  expect(roles).toEqual(["roles/logging.logWriter", "roles/monitoring.metricWriter"]);
  expect(byType(run, "gcp:projects/iAMMember:IAMMember").every((r) => r.inputs.member === "serviceAccount:mail-test@proj.iam.gserviceaccount.com")).toBe(true);
});

test("protectData true protects the disk and the IP; the VM has no deletion protection (a replacement is one deploy)", async () => {
  const prod = await runProgram(stackConfig({ "mailserver:protectData": "true" }));
  expect(prod.resources.filter((r) => r.protect).map((r) => r.name).sort()).toEqual(["mail-data", "mail-ip"]);
  expect(prod.resources.find((r) => r.name === "mail-vm")!.inputs.deletionProtection).toBe(false);
});

test("protectData false: nothing blocks pulumi destroy", async () => {
  const test = await runProgram(stackConfig({ "mailserver:protectData": "false" }));
  expect(test.error).toBeUndefined();
  expect(test.resources.filter((r) => r.protect || r.retainOnDelete)).toEqual([]);
  expect(test.resources.filter((r) => r.inputs.deletionProtection === true)).toEqual([]);
});

test("ptr sets the reverse name after the A record exists", async () => {
  const ptr = await runProgram(stackConfig({ "mailserver:ptr": "true" }));
  const vm = ptr.resources.find((r) => r.name === "mail-vm")!;
  expect(dig(vm.inputs, "networkInterfaces.0.accessConfigs.0.publicPtrDomainName")).toBe("mail.example.com.");
  expect(vm.dependsOn).toContain("mail-A-mail.example.com");
});

test("outputs: IP, hostname, SSH command, client settings; the deploy key only as a secret", () => {
  expect(run.outputs.ip.value).toBe("198.51.100.7");
  expect(run.outputs.hostname.value).toBe("mail.example.com");
  expect(run.outputs.sshCommand.value).toMatch(/ssh -i deploy_key -o UserKnownHostsFile=known_hosts -o StrictHostKeyChecking=yes deploy@198\.51\.100\.7$/);
  expect(run.outputs.sshHostKey.value).toBe(`ssh-ed25519 ${TEST_HOST_KEY}`);
  expect(run.outputs.clientSettings.value).toMatchObject({ imap: { port: 993 }, pop3: { port: 995 } });
  expect(run.outputs.deployPrivateKey.secret).toBe(true);
});

describe("a zone change: GCE cannot move the data disk, and a new one there would be empty", () => {
  const named = (r: RunResult, name: string) => r.resources.find((x) => x.name === name)!;
  const moved = { "gcp:zone": "europe-west1-c" };
  /** The state after a deploy in europe-west1-b: the disk keeps its zone while the change is ignored. */
  const diskInB = { previous: { "mail-data": { zone: "europe-west1-b" } } };
  /** The lab engine's diff of the data disk, with the program's own ignoreChanges for it. */
  const diskDiff = (r: RunResult) => {
    const disk = named(r, "mail-data");
    return diffResource("gcp:compute/disk:Disk", named(run, "mail-data").inputs, disk.inputs, { ignoreChanges: disk.ignoreChanges, replaceOnChanges: [] });
  };

  test("without a snapshot the disk keeps its zone and the VM stays with it; with one both move", async () => {
    const refused = await runProgram(stackConfig({ ...moved, "mailserver:protectData": false }), diskInB);
    // The lab engine's rules with the program's own ignoreChanges: ignored, the zone is no change at all.
    expect(diskDiff(refused).op).toBe("same");
    expect(refused.error?.message).toContain("the mail data disk is in europe-west1-b");
    // The VM and the snapshot schedule's attachment are where the disk is.
    expect([named(run, "mail-vm").inputs.zone, named(run, "mail-data-snapshots").inputs.zone]).toEqual(["europe-west1-b", "europe-west1-b"]);
    const move = await runProgram(stackConfig({ ...moved, "mailserver:protectData": false, "mailserver:dataDiskSnapshot": "mail-move-1" }));
    expect(move.error).toBeUndefined();
    expect(diskDiff(move)).toMatchObject({ op: "replace", replaceBecause: ["snapshot", "zone"] });
    expect(named(move, "mail-vm").inputs.zone).toBe("europe-west1-c");
  }, 300_000);

  test("production (protectData) refuses at preview, naming the disk's zone, the snapshot step and protectData", async () => {
    const r = await runProgram(stackConfig(moved), diskInB);
    expect(r.error?.message).toBe("gcp:zone europe-west1-c: the mail data disk is in europe-west1-b, and GCE cannot move a disk; " +
      "a new disk in europe-west1-c would be empty. A move makes the new disk from a snapshot of the old one: stop Postfix and " +
      "Dovecot on the VM, snapshot the data disk, then set mailserver:dataDiskSnapshot to that snapshot together with the new " +
      "zone. This stack protects its data (mailserver:protectData): the new VM and disk replace protected resources, so set " +
      "protectData to false and deploy that first, and set it back after the move (docs/operations.md, \"Moving to another zone\").");
  }, 300_000);

  test("an unprotected stack refuses too, without the protectData step; the zone it is in is no problem", async () => {
    const r = await runProgram(stackConfig({ ...moved, "mailserver:protectData": false }), diskInB);
    expect(r.error?.message).toContain("the mail data disk is in europe-west1-b");
    expect(r.error?.message).not.toContain("protectData");
    const same = await runProgram(stackConfig({ "mailserver:protectData": false }), diskInB);
    expect(same.error).toBeUndefined();
  }, 300_000);
});

describe("a new data disk (a restore, a smaller size) replaces the VM: GCE would pull it from under the running daemons", () => {
  const named = (r: RunResult, name: string) => r.resources.find((x) => x.name === name)!;
  const SNAPSHOT = "mail-data-20260101";

  test("the VM is replaced, delete-first, when its attached disk changes; nothing else about the disk replaces it", () => {
    const vm = named(run, "mail-vm");
    const opts = { ignoreChanges: vm.ignoreChanges, replaceOnChanges: vm.replaceOnChanges };
    const disks = vm.inputs.attachedDisks as { source: string }[];
    expect(disks).toHaveLength(1);
    const newDisk = { ...vm.inputs, attachedDisks: [{ ...disks[0], source: "projects/p/zones/europe-west1-b/disks/mail-data-2" }] };
    expect(diffResource("gcp:compute/instance:Instance", vm.inputs, newDisk, opts)).toMatchObject({ op: "replace", replaceBecause: ["attachedDisks.0.source"] });
    expect(vm.deleteBeforeReplace).toBe(true);
    expect(diffResource("gcp:compute/instance:Instance", vm.inputs, { ...vm.inputs, machineType: "e2-medium" }, opts).op).toBe("update");
  });

  test("a restore replaces the disk (and so the VM); production's protect refuses the disk's replacement at preview", async () => {
    for (const protectData of [false, true]) {
      const r = await runProgram(stackConfig({ "mailserver:protectData": protectData, "mailserver:dataDiskSnapshot": SNAPSHOT }));
      expect(r.error).toBeUndefined();
      const disk = named(r, "mail-data");
      expect(diffResource("gcp:compute/disk:Disk", named(run, "mail-data").inputs, disk.inputs, { ignoreChanges: disk.ignoreChanges, replaceOnChanges: [] }))
        .toMatchObject({ op: "replace", replaceBecause: ["snapshot"] });
      // The lab engine refuses the replacement of a resource protected before and after (upstream/pulumi-engine.ts PROTECT_REPLACE).
      expect(disk.protect).toBe(protectData);
    }
  }, 300_000);
});

describe("the move from Debian 12 to 13: mailserver:image alone replaces the VM, delete-first, and nothing else", () => {
  const named = (r: RunResult, name: string) => r.resources.find((x) => x.name === name)!;

  test("debian-12 to debian-13: the VM is replaced because of its image; the data disk, the address and the rest stay", async () => {
    const moved = await runProgram(stackConfig({ "mailserver:image": "debian-cloud/debian-13" }));
    expect(moved.error).toBeUndefined();
    const vm = named(moved, "mail-vm");
    expect(dig(vm.inputs, "bootDisk.initializeParams.image")).toBe("debian-cloud/debian-13");
    const opts = (r: Recorded) => ({ ignoreChanges: r.ignoreChanges, replaceOnChanges: r.replaceOnChanges });
    expect(diffResource("gcp:compute/instance:Instance", named(run, "mail-vm").inputs, vm.inputs, opts(vm)))
      .toMatchObject({ op: "replace", replaceBecause: ["bootDisk.initializeParams.image"] });
    expect(vm.deleteBeforeReplace).toBe(true);
    for (const name of ["mail-data", "mail-ip"]) {
      const r = named(moved, name);
      expect(diffResource(r.type, named(run, name).inputs, r.inputs, opts(r)).op).toBe("same");
    }
  }, 300_000);

  test("control: the same image again is no change (the program no longer ignores the image)", () => {
    const vm = named(run, "mail-vm");
    expect(vm.ignoreChanges).not.toContain("bootDisk.initializeParams.image");
    expect(diffResource("gcp:compute/instance:Instance", vm.inputs, vm.inputs, { ignoreChanges: vm.ignoreChanges, replaceOnChanges: vm.replaceOnChanges }).op).toBe("same");
  });
});
