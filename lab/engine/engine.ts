// The lab's deployment engine: state between deploys (.lab/state.json) and the steps `pulumi up` would take
// for each registered resource (pulumi/pulumi pkg/resource/deploy/step_generator.go), carried out by a
// LabProvider. A preview decides the same steps and runs nothing.
import { deleteOrder, diffState, Diff, Inputs, Op, UNKNOWN, withIgnored } from "./diff";
import { dependentReplacements } from "./dependents";
import { loadState, StoredResource, saveState } from "./state";

export interface ResourceOpts {
  deleteBeforeReplace: boolean;
  protect: boolean;
  ignoreChanges: string[];
  replaceOnChanges: string[];
  /** Its delete only forgets it: the provider's Delete is not called (pulumi/pulumi pkg/resource/deploy/step.go, DeleteStep.Apply). */
  retainOnDelete: boolean;
}
export const NO_OPTS: ResourceOpts = {
  deleteBeforeReplace: false, protect: false, ignoreChanges: [], replaceOnChanges: [], retainOnDelete: false,
};

export interface Registration {
  type: string; name: string; inputs: Inputs; opts: ResourceOpts;
  /** The replacementTrigger option's value (UNKNOWN while a preview cannot know it; undefined: none). */
  replacementTrigger?: unknown;
  /** Dotted paths of the inputs that are secrets (the SDK's secret wrappers, unwrapped in `inputs`). */
  secrets?: string[];
  /** The keys of the resources it depends on, explicitly or through its inputs (the RegisterResourceRequest's dependencies). */
  dependencies?: string[];
  /** Per top-level input, the keys of the resources its value comes from (the request's property dependencies). */
  propertyDependencies?: Record<string, string[]>;
}

/**
 * pulumi/pulumi pkg/resource/deploy/step_generator.go shouldTriggerReplace: an unknown trigger replaces, a missing
 * one (old or new) never does, otherwise any difference does.
 */
export function triggersReplace(now: unknown, before: unknown): boolean {
  if (now === UNKNOWN || before === UNKNOWN) return true;
  if (now === undefined || before === undefined) return false;
  return JSON.stringify(now) !== JSON.stringify(before);
}

/** The local equivalent of each provider's Create, Update and Delete. */
export interface LabProvider {
  /** The provider's own Diff, where it has one (a dynamic provider); undefined: the engine's rules (diff.ts) decide. */
  diff?(old: StoredResource, inputs: Inputs): Promise<Diff | undefined>;
  create(type: string, name: string, inputs: Inputs): Promise<{ id: string; outputs: Inputs }>;
  update(old: StoredResource, inputs: Inputs, diff: Diff): Promise<Inputs>;
  delete(old: StoredResource): Promise<void>;
}

export interface Step {
  key: string; type: string; name: string; op: Op; changed?: string[]; replaceBecause?: string[];
  /** The delete of a replaced original: part of its replace, not counted on its own (as pulumi's summary). */
  original?: boolean;
}

export const keyOf = (type: string, name: string) => `${type}::${name}`;

export class Engine {
  readonly steps: Step[] = [];
  /** What the engine refuses (protect): a preview lists them all and still shows its plan; a deploy stops at the first. */
  readonly refused: string[] = [];
  private readonly old: Map<string, StoredResource>;
  /** The last deploy's resources in its order: the dependency graph a delete-before-replace walks. */
  private readonly graph: StoredResource[];
  /** Dependents a delete-before-replace deleted, with why: created anew when the program registers them. */
  private readonly condemned = new Map<string, { old: StoredResource; keys: string[] }>();
  /** This deploy's resources, in registration order. */
  private readonly current: StoredResource[] = [];
  /** Replaced originals, deleted after every registration (create-before-delete). */
  private readonly replaced: StoredResource[];

  constructor(private readonly provider: LabProvider, private readonly preview: boolean, private readonly file: string) {
    const all = loadState(file);
    this.graph = all.filter((r) => !r.pendingDelete);
    this.old = new Map(this.graph.map((r) => [r.key, r]));
    this.replaced = all.filter((r) => r.pendingDelete).map(({ pendingDelete: _p, ...r }) => r);
  }

  async register(r: Registration): Promise<{ id: string | undefined; outputs: Inputs }> {
    const key = keyOf(r.type, r.name);
    const condemned = this.condemned.get(key);
    const old = this.old.get(key) ?? condemned?.old;
    // The state keeps the old value at ignoreChanges paths, and the provider gets it too
    // (step_generator.go processIgnoreChanges, then new.Inputs = inputs: upstream/pulumi-engine.ts).
    const inputs = old ? withIgnored(old.inputs, r.inputs, r.opts.ignoreChanges) : r.inputs;
    const secrets = r.secrets ?? [];
    const triggered = old !== undefined && triggersReplace(r.replacementTrigger, old.replacementTrigger);
    const own = old && !triggered ? await this.provider.diff?.(old, inputs) : undefined;
    const decided: Diff = triggered ? { op: "replace", changed: ["replacementTrigger"], replaceBecause: ["replacementTrigger"] }
      : own ?? diffState(r.type, old, inputs, r.opts, secrets);
    // Deleted with a delete-before-replace it depends on: a replacement, whatever its own diff (step_generator.go recreating).
    const diff: Diff = condemned ? { op: "replace", changed: decided.changed, replaceBecause: condemned.keys } : decided;
    // A protected resource is not replaced: step_generator.go refuses when old and new are both protected.
    if (old && !condemned && diff.op === "replace" && r.opts.protect && old.protect) {
      this.refuse(`unable to replace ${r.type} ${r.name} (${diff.replaceBecause.join(", ")}): it is protected; ` +
        "remove the protect option and deploy, then make the change");
    }
    // The state takes the options of this registration (a same step too), as the engine records them.
    const stored = {
      key, type: r.type, name: r.name, inputs, protect: r.opts.protect, secrets,
      retainOnDelete: r.opts.retainOnDelete, replacementTrigger: r.replacementTrigger,
      dependencies: r.dependencies ?? [], propertyDependencies: r.propertyDependencies ?? {},
      ignoreChanges: r.opts.ignoreChanges, replaceOnChanges: r.opts.replaceOnChanges,
    };
    // Deleting first leaves every input taken from it unknown: the dependents that replaces go first.
    if (old && !condemned && diff.op === "replace" && r.opts.deleteBeforeReplace) await this.deleteDependents(old, key);
    this.steps.push({ key, type: r.type, name: r.name, op: diff.op,
      ...(diff.op === "update" || diff.op === "replace" ? { changed: diff.changed, replaceBecause: diff.replaceBecause } : {}) });
    if (this.preview) {
      this.current.push({ ...stored, id: old?.id ?? "", outputs: {} });
      return previewResult(old, inputs, diff);
    }
    if (old && diff.op === "same") return this.keep({ ...old, ...stored });
    if (old && diff.op === "update") {
      const outputs = await this.provider.update(old, inputs, diff);
      return this.keep({ ...old, ...stored, outputs });
    }
    if (old && diff.op === "replace") {
      this.condemned.delete(key);
      // A condemned dependent was deleted already, before the resource it depended on.
      if (!condemned && r.opts.deleteBeforeReplace) {
        // The original stays in the state until its delete succeeds: a refused or failed delete (GCE's deletion
        // protection) stops the deploy with the resource still there, as the engine's delete step does.
        if (!old.retainOnDelete) await this.provider.delete(old);
        this.old.delete(key);
        this.save();
      } else {
        this.old.delete(key);
        if (!condemned) this.replaced.push(old);
      }
    }
    const made = await this.provider.create(r.type, r.name, inputs);
    return this.keep({ ...stored, id: made.id, outputs: made.outputs, deleteBeforeReplace: r.opts.deleteBeforeReplace });
  }

  /**
   * A delete-before-replace's dependents that its replacement replaces (lab/engine/dependents.ts), deleted now,
   * dependents first, before the resource itself; a protected one stops it (step_generator.go, upstream/pulumi-engine.ts).
   */
  private async deleteDependents(root: StoredResource, rootKey: string): Promise<void> {
    const registered = new Set([...this.current.map((x) => x.key), ...this.condemned.keys(), rootKey]);
    const doomed = dependentReplacements(this.graph, root, registered).reverse();
    // All are checked before any is deleted: the steps are decided first, then run.
    for (const { resource: d } of doomed.filter((x) => x.resource.protect)) {
      this.refuse(`unable to replace ${d.type} ${d.name} as part of replacing ${root.type} ${root.name}: it is protected; ` +
        "remove the protect option and deploy, then make the change");
    }
    for (const { resource: d, keys } of doomed.filter((x) => !x.resource.protect)) {
      this.steps.push({ key: d.key, type: d.type, name: d.name, op: "delete", original: true });
      this.condemned.set(d.key, { old: d, keys });
      this.old.delete(d.key);
      if (this.preview) continue;
      if (!d.retainOnDelete) await this.provider.delete(d);
      this.save();
    }
  }

  /** Resources no longer registered, and replaced originals: deleted last, dependents first. */
  async finish(): Promise<void> {
    const registered = new Set(this.current.map((r) => r.key));
    const gone = [...this.old.values()].filter((r) => !registered.has(r.key));
    const order = [...this.old.values(), ...this.replaced];
    for (const r of deleteOrder(order, new Set([...gone, ...this.replaced]))) {
      this.steps.push({ key: r.key, type: r.type, name: r.name, op: "delete", ...(this.replaced.includes(r) ? { original: true } : {}) });
      // A protected resource is not deleted, in a preview too (step.go DeleteStep.Apply, before its DryRun check).
      if (r.protect && !this.replaced.includes(r)) {
        this.refuse(`unable to delete ${r.type} ${r.name}: it is protected; remove the protect option and deploy first`);
        continue;
      }
      if (this.preview) continue;
      if (!r.retainOnDelete) await this.provider.delete(r);
      if (this.replaced.includes(r)) this.replaced.splice(this.replaced.indexOf(r), 1);
      else this.old.delete(r.key);
      this.save();
    }
  }

  /** The resources the state holds now (after finish: exactly this deploy's). */
  resources(): StoredResource[] {
    const registered = new Set(this.current.map((r) => r.key));
    return [...this.current, ...[...this.old.values()].filter((r) => !registered.has(r.key))];
  }

  private refuse(message: string): void {
    if (!this.preview) throw new Error(message);
    this.refused.push(message);
  }

  private keep(r: StoredResource): { id: string; outputs: Inputs } {
    this.current.push(r);
    this.save();
    return { id: r.id, outputs: r.outputs };
  }

  /** Saved after every step, as Pulumi checkpoints: a failed deploy leaves the state of what was done. */
  private save(): void {
    if (!this.preview) saveState(this.file, [...this.resources(), ...this.replaced.map((r) => ({ ...r, pendingDelete: true }))]);
  }
}

/**
 * What a preview hands the program: stored outputs where nothing changes; otherwise the new inputs, and
 * every output the provider computes unknown (a command's stdout, a new resource's id and outputs).
 */
export function previewResult(old: StoredResource | undefined, inputs: Inputs, diff: Diff): { id: string | undefined; outputs: Inputs } {
  if (old && diff.op === "same") return { id: old.id, outputs: old.outputs };
  const computed = Object.keys(old?.outputs ?? {}).filter((k) => !(k in inputs));
  if (old && diff.op === "update") {
    const commandOutputs = old.type.startsWith("command:") ? ["stdout", "stderr"] : [];
    return { id: old.id, outputs: { ...old.outputs, ...inputs, ...Object.fromEntries(commandOutputs.map((k) => [k, UNKNOWN])) } };
  }
  return { id: undefined, outputs: { ...inputs, ...Object.fromEntries(computed.map((k) => [k, UNKNOWN])) } };
}
