// The lab engine's diff rules (lab/engine): one test per rule, each with the change that must not trigger it.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { changedPaths, deleteOrder, diffResource, Inputs, UNKNOWN, withIgnored } from "../../lab/engine/diff";
import { Engine, LabProvider, NO_OPTS, previewResult } from "../../lab/engine/engine";
import type { StoredResource } from "../../lab/engine/state";
import { bootDiskShrinkRefusal } from "../../lab/disks";
import { refuseProtectedInstanceDelete } from "../../lab/mocks";

const REMOTE = "command:remote:Command";
const INSTANCE = "gcp:compute/instance:Instance";
const DISK = "gcp:compute/disk:Disk";
const opts = { ignoreChanges: [], replaceOnChanges: [] };
const cmd = { connection: { host: "10.0.0.2", user: "deploy" }, create: "stage a", stdin: "x", triggers: ["h1"] };

describe("diffResource", () => {
  test("not in the state: create", () => {
    expect(diffResource(REMOTE, undefined, cmd, opts).op).toBe("create");
  });
  test("same inputs: no operation", () => {
    expect(diffResource(REMOTE, cmd, structuredClone(cmd), opts)).toEqual({ op: "same", changed: [], replaceBecause: [] });
  });
  test("a command's stdin or create changes: update (pulumi-command has no other replaceOnChanges)", () => {
    expect(diffResource(REMOTE, cmd, { ...cmd, stdin: "y" }, opts)).toMatchObject({ op: "update", changed: ["stdin"] });
    expect(diffResource(REMOTE, cmd, { ...cmd, create: "stage b" }, opts).op).toBe("update");
    expect(diffResource(REMOTE, cmd, { ...cmd, connection: { ...cmd.connection, host: "10.0.0.3" } }, opts).op).toBe("update");
  });
  test("a command's triggers change: replace", () => {
    expect(diffResource(REMOTE, cmd, { ...cmd, triggers: ["h2"] }, opts)).toMatchObject({ op: "replace", replaceBecause: ["triggers.0"] });
    expect(diffResource("command:local:Command", { create: "x", triggers: ["a"] }, { create: "x", triggers: ["a", "b"] }, opts).op).toBe("replace");
  });
  test("replaceOnChanges option: replace on that path only", () => {
    const o = { ignoreChanges: [], replaceOnChanges: ["stdin"] };
    expect(diffResource(REMOTE, cmd, { ...cmd, stdin: "y" }, o).op).toBe("replace");
    expect(diffResource(REMOTE, cmd, { ...cmd, create: "other" }, o).op).toBe("update");
  });
  test("ignoreChanges: a change there is no change", () => {
    const vm = { machineType: "e2-small", bootDisk: { initializeParams: { image: "debian-12-a", size: 10 } } };
    const newer = { ...vm, bootDisk: { initializeParams: { image: "debian-12-b", size: 10 } } };
    expect(diffResource(INSTANCE, vm, newer, { ignoreChanges: ["bootDisk.initializeParams.image"], replaceOnChanges: [] }).op).toBe("same");
    expect(diffResource(INSTANCE, vm, newer, opts).op).toBe("replace");
  });
  test("instance: machine type and boot disk size update in place; a new boot disk type or zone replaces", () => {
    const vm = { zone: "z1", machineType: "e2-small", bootDisk: { initializeParams: { size: 10, type: "pd-balanced" } }, metadata: { a: "1" } };
    expect(diffResource(INSTANCE, vm, { ...vm, machineType: "e2-medium" }, opts).op).toBe("update");
    expect(diffResource(INSTANCE, vm, { ...vm, metadata: { a: "2" } }, opts).op).toBe("update");
    expect(diffResource(INSTANCE, vm, { ...vm, bootDisk: { initializeParams: { size: 20, type: "pd-balanced" } } }, opts))
      .toMatchObject({ op: "update", changed: ["bootDisk.initializeParams.size"] });
    expect(diffResource(INSTANCE, vm, { ...vm, bootDisk: { initializeParams: { size: 10, type: "pd-ssd" } } }, opts))
      .toMatchObject({ op: "replace", replaceBecause: ["bootDisk.initializeParams.type"] });
    expect(diffResource(INSTANCE, vm, { ...vm, zone: "z2" }, opts)).toMatchObject({ op: "replace", replaceBecause: ["zone"] });
  });
  test("instance: a smaller boot disk is an update in the plan that GCE refuses when it is applied (disks/resize only grows)", () => {
    const vm = { bootDisk: { initializeParams: { size: 11 } } };
    const smaller = { bootDisk: { initializeParams: { size: 10 } } };
    expect(diffResource(INSTANCE, vm, smaller, opts)).toMatchObject({ op: "update", changed: ["bootDisk.initializeParams.size"] });
    expect(bootDiskShrinkRefusal(vm, smaller)).toBe("disks/resize of the boot disk from 11 GB to 10 GB: GCE refuses a smaller size " +
      "(a disk only grows); set mailserver:bootDiskSizeGb back to 11 or more");
    expect(bootDiskShrinkRefusal(vm, vm)).toBeUndefined();
    expect(bootDiskShrinkRefusal(smaller, vm)).toBeUndefined();
  });
  test("disk: growing updates, shrinking or a new description replaces", () => {
    const d = { size: 10, description: "Mailboxes of mail.example.test", zone: "z" };
    expect(diffResource(DISK, d, { ...d, size: 20 }, opts).op).toBe("update");
    expect(diffResource(DISK, d, { ...d, size: 5 }, opts)).toMatchObject({ op: "replace", replaceBecause: ["size"] });
    expect(diffResource(DISK, d, { ...d, description: "Mailboxes of mx.example.test" }, opts).op).toBe("replace");
  });
  test("address: description is force-new, labels update", () => {
    const a = { description: "Public address of mail.example.test", region: "r" };
    expect(diffResource("gcp:compute/address:Address", a, { ...a, description: "other" }, opts).op).toBe("replace");
    expect(diffResource("gcp:compute/address:Address", a, { ...a, labels: { x: "y" } }, opts).op).toBe("update");
  });
  test("cloudflare record: content updates, zone id replaces", () => {
    const r = { zoneId: "z1", name: "mail", type: "A", content: "192.0.2.1", ttl: 1 };
    expect(diffResource("cloudflare:index/dnsRecord:DnsRecord", r, { ...r, content: "192.0.2.2" }, opts).op).toBe("update");
    expect(diffResource("cloudflare:index/dnsRecord:DnsRecord", r, { ...r, zoneId: "z2" }, opts).op).toBe("replace");
  });
  test("tls key, IAM member: any change replaces; a resource policy updates in place, a new region replaces", () => {
    expect(diffResource("tls:index/privateKey:PrivateKey", { algorithm: "RSA", rsaBits: 2048 }, { algorithm: "RSA", rsaBits: 4096 }, opts).op).toBe("replace");
    expect(diffResource("gcp:projects/iAMMember:IAMMember", { role: "a", member: "m" }, { role: "b", member: "m" }, opts).op).toBe("replace");
    const policy = { region: "r1", description: "a", snapshotSchedulePolicy: { retentionPolicy: { maxRetentionDays: 14 } } };
    expect(diffResource("gcp:compute/resourcePolicy:ResourcePolicy", policy, { ...policy, description: "b" }, opts).op).toBe("update");
    expect(diffResource("gcp:compute/resourcePolicy:ResourcePolicy", policy,
      { ...policy, snapshotSchedulePolicy: { retentionPolicy: { maxRetentionDays: 30 } } }, opts).op).toBe("update");
    expect(diffResource("gcp:compute/resourcePolicy:ResourcePolicy", policy, { ...policy, region: "r2" }, opts).op).toBe("replace");
  });
  test("firewall: source ranges and network update, reordered ranges are no change, a new direction replaces", () => {
    const f = { network: "default", direction: "INGRESS", sourceRanges: ["10.0.0.0/24", "10.2.0.0/24"] };
    expect(diffResource("gcp:compute/firewall:Firewall", f, { ...f, sourceRanges: ["10.1.0.0/24"] }, opts).op).toBe("update");
    expect(diffResource("gcp:compute/firewall:Firewall", f, { ...f, sourceRanges: ["10.2.0.0/24", "10.0.0.0/24"] }, opts).op).toBe("same");
    expect(diffResource("gcp:compute/firewall:Firewall", f, { ...f, network: "mail-net" }, opts).op).toBe("update");
    expect(diffResource("gcp:compute/firewall:Firewall", f, { ...f, direction: "EGRESS" }, opts).op).toBe("replace");
  });
  test("cloudflare record: a new type replaces", () => {
    const r = { zoneId: "z1", name: "mail", type: "A", content: "192.0.2.1", ttl: 1 };
    expect(diffResource("cloudflare:index/dnsRecord:DnsRecord", r, { ...r, type: "AAAA", content: "2001:db8::1" }, opts))
      .toMatchObject({ op: "replace", replaceBecause: ["type"] });
  });
  test("secret version: new data replaces (a new version); service account display name updates", () => {
    expect(diffResource("gcp:secretmanager/secretVersion:SecretVersion", { secretData: "a" }, { secretData: "b" }, opts).op).toBe("replace");
    expect(diffResource("gcp:serviceaccount/account:Account", { accountId: "a", displayName: "x" }, { accountId: "a", displayName: "y" }, opts).op).toBe("update");
  });
  test("an unknown value in a preview is a change", () => {
    expect(changedPaths({ stdin: "x" }, { stdin: UNKNOWN })).toEqual(["stdin"]);
    expect(diffResource(REMOTE, cmd, { ...cmd, triggers: [UNKNOWN] }, opts).op).toBe("replace");
  });
});

test("withIgnored keeps the old value at an ignored path", () => {
  expect(withIgnored({ a: { b: 1, c: 2 } }, { a: { b: 9, c: 3 } }, ["a.b"])).toEqual({ a: { b: 1, c: 3 } });
});

test("deletes run in reverse state order (dependents first)", () => {
  expect(deleteOrder(["disk", "vm", "file", "apply"], new Set(["disk", "vm", "apply"]))).toEqual(["apply", "vm", "disk"]);
});

test("preview: unchanged resources keep their outputs; an updated command's stdout is unknown; a new one has no id", () => {
  const old: StoredResource = { key: "k", type: REMOTE, name: "n", id: "n-1", inputs: cmd, outputs: { ...cmd, stdout: "h" } };
  expect(previewResult(old, cmd, { op: "same", changed: [], replaceBecause: [] })).toEqual({ id: "n-1", outputs: old.outputs });
  expect(previewResult(old, { ...cmd, stdin: "y" }, { op: "update", changed: ["stdin"], replaceBecause: [] }).outputs.stdout).toBe(UNKNOWN);
  expect(previewResult(old, cmd, { op: "replace", changed: ["triggers.0"], replaceBecause: ["triggers.0"] }))
    .toEqual({ id: undefined, outputs: { ...cmd, stdout: UNKNOWN } });
});

describe("Engine", () => {
  let dir: string;
  let file: string;
  const calls: string[] = [];
  const provider: LabProvider = {
    create: async (_t, name, inputs) => { calls.push(`create ${name}`); return { id: `${name}-${calls.length}`, outputs: { ...inputs, out: 1 } }; },
    update: async (old, inputs) => { calls.push(`update ${old.name}`); return { ...inputs, out: 2 }; },
    delete: async (old) => { calls.push(`delete ${old.name}`); },
  };
  const reg = (name: string, inputs: Inputs, deleteBeforeReplace = false) =>
    ({ type: REMOTE, name, inputs, opts: { ...NO_OPTS, deleteBeforeReplace } });
  const deploy = async (resources: ReturnType<typeof reg>[], preview = false) => {
    calls.length = 0;
    const e = new Engine(provider, preview, file);
    for (const r of resources) await e.register(r);
    await e.finish();
    return e;
  };

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "lab-engine-"));
    file = path.join(dir, "state.json");
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test("first deploy creates; the same deploy again runs nothing and returns the stored outputs", async () => {
    await deploy([reg("a", cmd), reg("b", cmd)]);
    expect(calls).toEqual(["create a", "create b"]);
    const e = new Engine(provider, false, file);
    calls.length = 0;
    expect(await e.register(reg("a", cmd))).toEqual({ id: "a-1", outputs: { ...cmd, out: 1 } });
    expect(calls).toEqual([]);
  });

  test("an input change updates in place", async () => {
    await deploy([reg("a", cmd)]);
    await deploy([reg("a", { ...cmd, stdin: "y" })]);
    expect(calls).toEqual(["update a"]);
  });

  test("triggers: the new one is created, the old one deleted at the end", async () => {
    await deploy([reg("a", cmd), reg("b", cmd)]);
    await deploy([reg("a", { ...cmd, triggers: ["h2"] }), reg("b", cmd)]);
    expect(calls).toEqual(["create a", "delete a"]);
  });

  test("deleteBeforeReplace: the old one is deleted first", async () => {
    await deploy([reg("a", cmd)]);
    await deploy([reg("a", { ...cmd, triggers: ["h2"] }, true)]);
    expect(calls).toEqual(["delete a", "create a"]);
  });

  test("deleteBeforeReplace: a refused delete stops the deploy and leaves the original in the state", async () => {
    await deploy([reg("a", cmd), reg("b", cmd)]);
    const refusing: LabProvider = { ...provider, delete: async (old) => { throw new Error(`Cannot delete instance ${old.name}`); } };
    const e = new Engine(refusing, false, file);
    await e.register(reg("b", cmd));
    await expect(e.register(reg("a", { ...cmd, triggers: ["h2"] }, true))).rejects.toThrow(/Cannot delete instance a/);
    // The program's other registrations go on meanwhile, each saving the state.
    await e.register(reg("c", cmd));
    const state = JSON.parse(fs.readFileSync(file, "utf8")).resources as StoredResource[];
    expect(state.map((r) => r.name).sort()).toEqual(["a", "b", "c"]);
    expect(state.find((r) => r.name === "a")?.id).toBe("a-1");
  });

  test("resources no longer registered are deleted at the end, in reverse order", async () => {
    await deploy([reg("a", cmd), reg("b", cmd), reg("c", cmd)]);
    await deploy([reg("b", cmd)]);
    expect(calls).toEqual(["delete c", "delete a"]);
    expect(JSON.parse(fs.readFileSync(file, "utf8")).resources.map((r: StoredResource) => r.name)).toEqual(["b"]);
  });

  const regWith = (name: string, inputs: Inputs, o: Partial<typeof NO_OPTS>, secrets: string[] = [], type = REMOTE) =>
    ({ type, name, inputs, opts: { ...NO_OPTS, ...o }, secrets });
  const stored = () => JSON.parse(fs.readFileSync(file, "utf8")).resources as StoredResource[];
  const run = async (resources: ReturnType<typeof regWith>[], preview = false) => {
    calls.length = 0;
    const e = new Engine(provider, preview, file);
    for (const r of resources) await e.register(r);
    await e.finish();
    return e;
  };

  test("protect: a replace is refused; a preview lists the refusal with its plan, a deploy does nothing", async () => {
    await run([regWith("a", cmd, { protect: true })]);
    const plan = await run([regWith("a", { ...cmd, triggers: ["h2"] }, { protect: true })], true);
    expect(plan.steps.map((x) => x.op)).toEqual(["replace"]);
    expect(plan.refused).toEqual([expect.stringMatching(/unable to replace command:remote:Command a \(triggers.0\): it is protected/)]);
    await expect(run([regWith("a", { ...cmd, triggers: ["h2"] }, { protect: true })])).rejects.toThrow(/unable to replace/);
    expect(calls).toEqual([]);
    // Unprotecting and replacing in one deploy is allowed (old.Protect is not looked at alone).
    await run([regWith("a", { ...cmd, triggers: ["h2"] }, { protect: false })]);
    expect(calls).toEqual(["create a", "delete a"]);
  });

  test("protect: a delete is refused, in a preview too; the state keeps the resource", async () => {
    await run([regWith("a", cmd, { protect: true }), regWith("b", cmd, {})]);
    expect((await run([regWith("b", cmd, {})], true)).refused).toEqual([expect.stringMatching(/unable to delete command:remote:Command a: it is protected/)]);
    await expect(run([regWith("b", cmd, {})])).rejects.toThrow(/unable to delete/);
    expect(calls).toEqual([]);
    expect(stored().map((r) => r.name)).toEqual(["b", "a"]);
  });

  test("ignoreChanges: the provider gets and the state keeps the old value at the ignored path", async () => {
    const updates: Inputs[] = [];
    const p2: LabProvider = { ...provider, update: async (_old, inputs) => { updates.push(inputs); return inputs; } };
    const e1 = new Engine(p2, false, file);
    await e1.register(regWith("a", cmd, {}));
    await e1.finish();
    const e2 = new Engine(p2, false, file);
    await e2.register(regWith("a", { ...cmd, create: "stage b", stdin: "y" }, { ignoreChanges: ["create"] }));
    await e2.finish();
    expect(updates).toEqual([{ ...cmd, stdin: "y" }]);
    expect(stored()[0].inputs).toEqual({ ...cmd, stdin: "y" });
  });

  test("a bridged provider diffs against the stored outputs; a value only the provider set is no change", async () => {
    const ADDRESS = "gcp:compute/address:Address";
    const normalizing: LabProvider = { ...provider,
      create: async (_t, name, inputs) => ({ id: name, outputs: { ...inputs, address: "192.0.2.1", description: String(inputs.description).trim() } }) };
    const a = { region: "r", description: "ip " };
    const e1 = new Engine(normalizing, false, file);
    await e1.register(regWith("ip", a, {}, [], ADDRESS));
    await e1.register(regWith("c", { ...cmd, stdin: "x " }, {}));
    await e1.finish();
    const e2 = new Engine(normalizing, true, file);
    await e2.register(regWith("ip", a, {}, [], ADDRESS));
    await e2.register(regWith("c", { ...cmd, stdin: "x " }, {}));
    // The state says "ip", the inputs "ip ": description is ForceNew, so the address is replaced; `address`,
    // computed by the provider, is no change. A command (not bridged) diffs its old inputs: no change.
    expect(e2.steps.map((x) => [x.name, x.op, x.changed])).toEqual([["ip", "replace", ["description"]], ["c", "same", undefined]]);
  });

  test("a change of secretness alone is an update", async () => {
    await run([regWith("a", cmd, {}, [])]);
    const e = await run([regWith("a", cmd, {}, ["stdin"])]);
    expect(e.steps[0]).toMatchObject({ op: "update", changed: ["stdin"] });
    expect(stored()[0].secrets).toEqual(["stdin"]);
    expect((await run([regWith("a", cmd, {}, ["stdin"])])).steps[0].op).toBe("same");
  });

  test("a preview decides the same steps and runs nothing", async () => {
    await deploy([reg("a", cmd), reg("b", cmd)]);
    const before = fs.readFileSync(file, "utf8");
    const e = await deploy([reg("a", { ...cmd, stdin: "y" })], true);
    expect(calls).toEqual([]);
    expect(e.steps.map((s) => `${s.op} ${s.name}`)).toEqual(["update a", "delete b"]);
    expect(fs.readFileSync(file, "utf8")).toBe(before);
  });
});

test("the lab's GCE refuses to delete an instance with deletion protection (and only then)", () => {
  const vm: StoredResource = { key: "k", type: INSTANCE, name: "mail-vm", id: "i", inputs: {}, outputs: { deletionProtection: true } };
  expect(() => refuseProtectedInstanceDelete(vm)).toThrow(/Cannot delete instance mail-vm: instance Deletion Protection is enabled/);
  expect(() => refuseProtectedInstanceDelete({ ...vm, outputs: { deletionProtection: false } })).not.toThrow();
});
