// The lab's deployment engine: state between deploys (.lab/state.json) and the steps `pulumi up` would take
// for each registered resource (pulumi/pulumi pkg/resource/deploy/step_generator.go), carried out by a
// LabProvider. A preview decides the same steps and runs nothing.
import { deleteOrder, diffResource, Diff, Inputs, Op, UNKNOWN } from "./diff";
import { loadState, StoredResource, saveState } from "./state";

export interface ResourceOpts {
  deleteBeforeReplace: boolean;
  ignoreChanges: string[];
  replaceOnChanges: string[];
  dependsOn: string[];
  /** Its delete only forgets it: the provider's Delete is not called (pulumi/pulumi pkg/resource/deploy/step.go, DeleteStep.Apply). */
  retainOnDelete: boolean;
}
export const NO_OPTS: ResourceOpts = { deleteBeforeReplace: false, ignoreChanges: [], replaceOnChanges: [], dependsOn: [], retainOnDelete: false };

export interface Registration {
  type: string; name: string; inputs: Inputs; opts: ResourceOpts;
  /** The replacementTrigger option's value (UNKNOWN while a preview cannot know it; undefined: none). */
  replacementTrigger?: unknown;
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
  private readonly old: Map<string, StoredResource>;
  /** This deploy's resources, in registration order. */
  private readonly current: StoredResource[] = [];
  /** Replaced originals, deleted after every registration (create-before-delete). */
  private readonly replaced: StoredResource[];

  constructor(private readonly provider: LabProvider, private readonly preview: boolean, private readonly file: string) {
    const all = loadState(file);
    this.old = new Map(all.filter((r) => !r.pendingDelete).map((r) => [r.key, r]));
    this.replaced = all.filter((r) => r.pendingDelete).map(({ pendingDelete: _p, ...r }) => r);
  }

  async register(r: Registration): Promise<{ id: string | undefined; outputs: Inputs }> {
    const key = keyOf(r.type, r.name);
    const old = this.old.get(key);
    const triggered = old !== undefined && triggersReplace(r.replacementTrigger, old.replacementTrigger);
    const diff: Diff = triggered ? { op: "replace", changed: ["replacementTrigger"], replaceBecause: ["replacementTrigger"] }
      : diffResource(r.type, old?.inputs, r.inputs, r.opts);
    this.steps.push({ key, type: r.type, name: r.name, op: diff.op,
      ...(diff.op === "update" || diff.op === "replace" ? { changed: diff.changed, replaceBecause: diff.replaceBecause } : {}) });
    if (this.preview) {
      this.current.push({ key, type: r.type, name: r.name, id: old?.id ?? "", inputs: r.inputs, outputs: {}, dependsOn: r.opts.dependsOn });
      return previewResult(old, r.inputs, diff);
    }
    // The state takes the options of this registration (a same step too), as the engine records them.
    const recorded = { dependsOn: r.opts.dependsOn, retainOnDelete: r.opts.retainOnDelete, replacementTrigger: r.replacementTrigger };
    if (old && diff.op === "same") return this.keep({ ...old, ...recorded });
    if (old && diff.op === "update") {
      const outputs = await this.provider.update(old, r.inputs, diff);
      return this.keep({ ...old, inputs: r.inputs, outputs, ...recorded });
    }
    if (old && diff.op === "replace") {
      this.old.delete(key);
      if (r.opts.deleteBeforeReplace) {
        if (!old.retainOnDelete) await this.provider.delete(old);
        this.save();
      } else this.replaced.push(old);
    }
    const made = await this.provider.create(r.type, r.name, r.inputs);
    return this.keep({ key, type: r.type, name: r.name, id: made.id, inputs: r.inputs, outputs: made.outputs,
      deleteBeforeReplace: r.opts.deleteBeforeReplace, ...recorded });
  }

  /** Resources no longer registered, and replaced originals: deleted last, dependents first. */
  async finish(): Promise<void> {
    const registered = new Set(this.current.map((r) => r.key));
    const gone = [...this.old.values()].filter((r) => !registered.has(r.key));
    const order = [...this.old.values(), ...this.replaced];
    for (const r of deleteOrder(order, new Set([...gone, ...this.replaced]))) {
      this.steps.push({ key: r.key, type: r.type, name: r.name, op: "delete", ...(this.replaced.includes(r) ? { original: true } : {}) });
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
