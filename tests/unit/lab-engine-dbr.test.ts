// A delete-before-replace replaces the dependents whose inputs would become unknown, and only those
// (pulumi/pulumi pkg/resource/deploy/step_generator.go calculateDependentReplacements: upstream/pulumi-engine.ts DBR_*).
// The engine's own diff rules decide, with the provider types the program uses.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Engine, LabProvider, NO_OPTS, Registration } from "../../lab/engine/engine";

const DISK = "gcp:compute/disk:Disk";
const ATTACHMENT = "gcp:compute/diskResourcePolicyAttachment:DiskResourcePolicyAttachment";
const INSTANCE = "gcp:compute/instance:Instance";
const REMOTE = "command:remote:Command";
const key = (type: string, name: string) => `${type}::${name}`;

let file: string;
const calls: string[] = [];
let made = 0;
const provider: LabProvider = {
  create: async (_t, name, inputs) => { calls.push(`create ${name}`); made++; return { id: `${name}-${made}`, outputs: { ...inputs, selfLink: `${name}-${made}` } }; },
  update: async (old, inputs) => { calls.push(`update ${old.name}`); return { ...old.outputs, ...inputs }; },
  delete: async (old) => { calls.push(`delete ${old.name}`); },
};

/**
 * The program: a data disk (delete-before-replace); a snapshot attachment whose `disk` (ForceNew) is the disk's;
 * a VM whose attachedDisks (updated in place) hold it; a command that only dependsOn the disk; a command whose
 * triggers come from the attachment (replaced in turn) and one whose stdin does (updated in place).
 */
function program(description: string, diskId: string, attachmentId: string, more: Partial<typeof NO_OPTS> = {}): Registration[] {
  const disk = key(DISK, "data");
  const attachment = key(ATTACHMENT, "data-snapshots");
  const cmd = { connection: { host: "10.0.0.2" }, create: "true" };
  return [
    { type: DISK, name: "data", inputs: { zone: "z", size: 10, description }, opts: { ...NO_OPTS, deleteBeforeReplace: true } },
    { type: ATTACHMENT, name: "data-snapshots", inputs: { disk: diskId, zone: "z", name: "daily" }, opts: { ...NO_OPTS, ...more },
      dependencies: [disk], propertyDependencies: { disk: [disk] } },
    { type: INSTANCE, name: "vm", inputs: { zone: "z", attachedDisks: [{ source: diskId }] }, opts: NO_OPTS,
      dependencies: [disk], propertyDependencies: { attachedDisks: [disk] } },
    { type: REMOTE, name: "after-disk", inputs: cmd, opts: NO_OPTS, dependencies: [disk], propertyDependencies: {} },
    { type: REMOTE, name: "per-attachment", inputs: { ...cmd, triggers: [attachmentId] }, opts: NO_OPTS,
      dependencies: [attachment], propertyDependencies: { triggers: [attachment] } },
    { type: REMOTE, name: "reads-attachment", inputs: { ...cmd, stdin: attachmentId }, opts: NO_OPTS,
      dependencies: [attachment], propertyDependencies: { stdin: [attachment] } },
  ];
}

/** Registers each resource with the outputs of the ones before it, as the SDK would. */
async function deploy(description: string, preview = false, more: Partial<typeof NO_OPTS> = {}): Promise<Engine> {
  calls.length = 0;
  const e = new Engine(provider, preview, file);
  const first = program(description, "", "", more);
  const disk = await e.register(first[0]);
  const diskId = disk.id ?? "unknown";
  const attachment = await e.register(program(description, diskId, "", more)[1]);
  for (const r of program(description, diskId, attachment.id ?? "unknown", more).slice(2)) await e.register(r);
  await e.finish();
  return e;
}

beforeEach(() => { file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "lab-dbr-")), "state.json"); made = 0; });

test("the disk replaced delete-first takes along the attachment whose ForceNew input is its own, and that one's triggered command; no other", async () => {
  await deploy("mail v1");
  const e = await deploy("mail v2");
  // Dependents first, then the disk itself, all before anything is created.
  expect(calls).toEqual(["delete per-attachment", "delete data-snapshots", "delete data", "create data", "create data-snapshots",
    "update vm", "create per-attachment", "update reads-attachment"]);
  const ops = Object.fromEntries(e.steps.filter((s) => !s.original).map((s) => [s.name, [s.op, s.replaceBecause]]));
  expect(ops).toEqual({
    "data": ["replace", ["description"]],
    "data-snapshots": ["replace", ["disk"]],
    "vm": ["update", []],
    "after-disk": ["same", undefined],
    "per-attachment": ["replace", ["triggers"]],
    "reads-attachment": ["update", []],
  });
  expect(e.resources().map((r) => r.name)).toEqual(["data", "data-snapshots", "vm", "after-disk", "per-attachment", "reads-attachment"]);
});

test("a preview shows the same plan and runs nothing", async () => {
  await deploy("mail v1");
  const before = fs.readFileSync(file, "utf8");
  const e = await deploy("mail v2", true);
  expect(calls).toEqual([]);
  expect(e.steps.filter((s) => s.op !== "same").map((s) => `${s.original ? "delete original" : s.op} ${s.name}`)).toEqual([
    "delete original per-attachment", "delete original data-snapshots", "replace data", "replace data-snapshots", "update vm",
    "replace per-attachment", "update reads-attachment"]);
  expect(fs.readFileSync(file, "utf8")).toBe(before);
});

test("replaced create-first (no deleteBeforeReplace), the disk takes no dependent along", async () => {
  await deploy("mail v1");
  const e = new Engine(provider, true, file);
  calls.length = 0;
  // The same disk registered without deleteBeforeReplace: created first, the dependents follow with its new id.
  const [disk] = program("mail v2", "", "");
  await e.register({ ...disk, opts: NO_OPTS });
  expect(e.steps.map((s) => `${s.op} ${s.name}`)).toEqual(["replace data"]);
});

test("a protected dependent stops the replacement: listed by a preview, a deploy deletes nothing", async () => {
  await deploy("mail v1", false, { protect: true });
  const plan = await deploy("mail v2", true, { protect: true });
  expect(plan.refused[0]).toMatch(/^unable to replace .*DiskResourcePolicyAttachment data-snapshots as part of replacing .*Disk data: it is protected/);
  await expect(deploy("mail v2", false, { protect: true })).rejects.toThrow(/as part of replacing/);
  expect(calls).toEqual([]);
});
