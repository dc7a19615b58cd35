// Which dependents a delete-before-replace replaces with it (pulumi/pulumi pkg/resource/deploy/step_generator.go
// calculateDependentReplacements; the cited lines are upstream/pulumi-engine.ts DBR_*). The old resource is
// deleted before its replacement exists, so every input that takes a value from it is unknown until then:
// a dependent whose provider would replace it for that is deleted first and created anew. Pure.
import { diffState, UNKNOWN } from "./diff";
import type { StoredResource } from "./state";

export interface DependentReplace {
  resource: StoredResource;
  /** The inputs whose change replaces it (the diff's replace keys). */
  keys: string[];
}

/**
 * The dependents of `root` to replace with it, in dependency order. `state` is the last deploy's, in its order
 * (topological); `registered` are the keys this deploy has already registered, which no longer depend on it.
 */
export function dependentReplacements(state: StoredResource[], root: StoredResource, registered: Set<string>): DependentReplace[] {
  const at = state.findIndex((r) => r.key === root.key);
  if (at < 0) return [];
  // dependency_graph.go DependingOn: every later resource reached through a dependency or a property dependency.
  const dependents = new Set([root.key]);
  const replacing = new Set([root.key]);
  const out: DependentReplace[] = [];
  for (const r of state.slice(at + 1)) {
    if (registered.has(r.key)) continue;
    const propertyDeps = r.propertyDependencies ?? {};
    if (![...(r.dependencies ?? []), ...Object.values(propertyDeps).flat()].some((d) => dependents.has(d))) continue;
    dependents.add(r.key);
    // Only an input that takes a value from a resource being replaced can change: it becomes unknown.
    const news = { ...r.inputs };
    const unknown = Object.keys(r.inputs).filter((k) => (propertyDeps[k] ?? []).some((d) => replacing.has(d)));
    if (unknown.length === 0) continue;
    for (const k of unknown) news[k] = UNKNOWN;
    const diff = diffState(r.type, { inputs: r.inputs, outputs: r.outputs, secrets: r.secrets }, news,
      { ignoreChanges: r.ignoreChanges ?? [], replaceOnChanges: r.replaceOnChanges ?? [] }, r.secrets ?? []);
    if (diff.op !== "replace") continue;
    out.push({ resource: r, keys: diff.replaceBecause });
    replacing.add(r.key);
  }
  return out;
}
