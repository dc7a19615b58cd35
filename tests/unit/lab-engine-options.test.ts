// The lab engine's retainOnDelete and replacementTrigger, as pulumi/pulumi's engine has them:
// pkg/resource/deploy/step.go DeleteStep.Apply (no provider Delete for RetainOnDelete) and
// pkg/resource/deploy/step_generator.go shouldTriggerReplace.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Inputs, UNKNOWN } from "../../lab/engine/diff";
import { Engine, LabProvider, NO_OPTS, Registration, triggersReplace } from "../../lab/engine/engine";

const TYPE = "cloudflare:index/zoneDnssec:ZoneDnssec";
let file: string;
const calls: string[] = [];
const provider: LabProvider = {
  create: async (_t, name, inputs) => { calls.push(`create ${name}`); return { id: name, outputs: { ...inputs } }; },
  update: async (old, inputs) => { calls.push(`update ${old.name}`); return { ...inputs }; },
  delete: async (old) => { calls.push(`delete ${old.name}`); },
};
const reg = (name: string, inputs: Inputs, more: Partial<Registration> & { retainOnDelete?: boolean } = {}): Registration =>
  ({ type: TYPE, name, inputs, opts: { ...NO_OPTS, retainOnDelete: more.retainOnDelete ?? false }, replacementTrigger: more.replacementTrigger });
async function deploy(resources: Registration[]): Promise<Engine> {
  calls.length = 0;
  const e = new Engine(provider, false, file);
  for (const r of resources) await e.register(r);
  await e.finish();
  return e;
}

beforeEach(() => { file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "lab-engine-")), "state.json"); });

test("a resource registered with retainOnDelete leaves the state without the provider's delete; without it, the delete runs", async () => {
  await deploy([reg("kept", { status: "active" }, { retainOnDelete: true }), reg("gone", { status: "active" })]);
  const e = await deploy([]);
  expect(calls).toEqual(["delete gone"]);
  expect(e.steps.map((s) => `${s.op} ${s.name}`).sort()).toEqual(["delete gone", "delete kept"]);
  expect(e.resources()).toEqual([]);
});

test("the option recorded is the last registration's, a same step too", async () => {
  await deploy([reg("z", { status: "active" })]);
  await deploy([reg("z", { status: "active" }, { retainOnDelete: true })]);
  await deploy([]);
  expect(calls).toEqual([]);
});

test("replacementTrigger: a different value replaces, the same or a missing one does not, an unknown one does", async () => {
  await deploy([reg("pin", { input: "k1" }, { replacementTrigger: "vm-1" })]);
  await deploy([reg("pin", { input: "k1" }, { replacementTrigger: "vm-1" })]);
  expect(calls).toEqual([]);
  const replaced = await deploy([reg("pin", { input: "k2" }, { replacementTrigger: "vm-2" })]);
  expect(replaced.steps.map((s) => s.op)).toEqual(["replace", "delete"]);
  expect(calls).toEqual(["create pin", "delete pin"]);
  expect(triggersReplace(undefined, "vm-1")).toBe(false);
  expect(triggersReplace("vm-1", undefined)).toBe(false);
  expect(triggersReplace(UNKNOWN, "vm-1")).toBe(true);
  expect(triggersReplace({ a: 1 }, { a: 1 })).toBe(false);
});
