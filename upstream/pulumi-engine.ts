// The engine semantics lab/engine imitates, from pulumi/pulumi and pulumi-terraform-bridge. @pulumi/pulumi is
// pinned at 3.270.0 (2026-10-16); the newest tag any mirror here holds is v3.259.0, so the lines are cited
// there. On a bump: move the tags, run `npm run check-upstream`.
import type { Citation } from "./citation";

const PULUMI = { repo: "pulumi/pulumi", tag: "v3.259.0" };
const STEP_GENERATOR = { ...PULUMI, path: "pkg/resource/deploy/step_generator.go" };

export const PROTECT_REPLACE: Citation = { ...STEP_GENERATOR, line: 1958, expect: "if new.Protect && old.Protect && !sg.deployment.opts.IgnoreProtect {",
  claim: "A replace of a resource protected before and after is an error, in a preview too (the plan is still shown)." };
export const PROTECT_DELETE: Citation = { ...PULUMI, path: "pkg/resource/deploy/step.go", line: 647,
  expect: "if !s.replacing && s.old.Protect && !s.deployment.opts.IgnoreProtect {",
  claim: "A delete (not part of a replace) of a protected resource is refused before DeleteStep.Apply's DryRun check: in a preview too." };
export const IGNORE_CHANGES_INPUTS: Citation = { ...STEP_GENERATOR, line: 1267,
  expect: "processedInputs := processIgnoreChanges(sg.deployment.Diag(), urn, inputs, old.Inputs, goal.IgnoreChanges)",
  claim: "The inputs checked, diffed, sent to the provider and stored (new.Inputs = inputs, line 1350) hold the old value at ignoreChanges paths." };
export const IGNORE_CHANGES_STORED: Citation = { ...STEP_GENERATOR, line: 1350, expect: "new.Inputs = inputs",
  claim: "The new state's inputs are the processed ones." };
export const DIFF_OLD_OUTPUTS: Citation = { ...PULUMI, path: "pkg/resource/plugin/provider_plugin.go", line: 1363, expect: "Olds:          mOldOutputs,",
  claim: "The Diff request's olds are the resource's old outputs (the state), not its old inputs." };
export const BRIDGE_DIFF_STATE: Citation = { repo: "pulumi/pulumi-terraform-bridge", tag: "v3.136.0", path: "pkg/tfbridge/provider.go", line: 1137,
  expect: "olds, err := plugin.UnmarshalProperties(req.GetOlds(),",
  claim: "A bridged provider builds the Terraform state it diffs against from those olds (makeTerraformState, line 1158)." };
export const SECRETNESS: Citation = { ...PULUMI, path: "sdk/go/common/resource/properties_diff.go", line: 401, expect: "if !other.IsSecret() {",
  claim: "A secret and a plain value are never DeepEqual: a change of secretness alone is a change." };
export const INSTANCE_DELETION_PROTECTION: Citation = { repo: "hashicorp/terraform-provider-google-beta", tag: "v7.45.0",
  path: "google-beta/services/compute/resource_compute_instance.go", line: 4482, expect: 'if d.Get("deletion_protection").(bool) {',
  claim: "The provider's Delete refuses an instance whose state has deletion_protection (and GCE itself refuses it)." };

// Delete-before-replace and its dependents (step_generator.go calculateDependentReplacements, line 3220).
export const DBR_DEPENDENTS: Citation = { ...STEP_GENERATOR, line: 2069, expect: "toReplace, err = sg.calculateDependentReplacements(old)",
  claim: "A delete-before-replace first works out which of the old resource's dependents a new one would replace." };
export const DEPENDING_ON: Citation = { ...PULUMI, path: "pkg/resource/graph/dependency_graph.go", line: 79,
  expect: "case pkgresource.ResourceDependency, pkgresource.ResourcePropertyDependency,",
  claim: "The dependents are every later resource in the state (its order is topological, line 111) reached through a " +
    "dependency or a property dependency, transitively." };
export const DBR_IMPOSSIBLE_DEPENDENTS: Citation = { ...STEP_GENERATOR, line: 3345, expect: "impossibleDependents[urn] = true",
  claim: "Resources this deployment has already registered are not walked: they no longer depend on the one replaced." };
export const DBR_UNKNOWN_INPUTS: Citation = { ...STEP_GENERATOR, line: 3277, expect: "pv = resource.MakeComputed(resource.NewProperty(\"<unknown>\"))",
  claim: "A dependent's input whose property dependencies hold a resource being replaced becomes unknown (the whole top-level property)." };
export const DBR_PROPERTY_DEPS_ONLY: Citation = { ...STEP_GENERATOR, line: 3285, expect: "if !hasDependencyInReplaceSet {",
  claim: "A dependent none of whose inputs takes a value from a resource being replaced (dependsOn alone) is not replaced." };
export const DBR_PROVIDER_DIFF: Citation = { ...STEP_GENERATOR, line: 3316, expect: "r.URN, r.ID, r.Inputs, r.Outputs, inputsForDiff, prov, true, r.IgnoreChanges,",
  claim: "Its provider diffs its stored inputs and outputs against those inputs, with its stored ignoreChanges (and replaceOnChanges, line 3322)." };
export const DBR_REPLACE_IF_DIFF_REPLACES: Citation = { ...STEP_GENERATOR, line: 3327, expect: "return diff.Replace(), diff.ReplaceKeys, nil",
  claim: "It is replaced exactly when that diff replaces; then it joins the set, so its own dependents are looked at the same way." };
export const DBR_DELETE_ORDER: Citation = { ...STEP_GENERATOR, line: 2083, expect: "for i := len(toReplace) - 1; i >= 0; i-- {",
  claim: "The dependents to replace are deleted at once, dependents first, before the resource itself." };
export const DBR_PROTECTED_DEPENDENT: Citation = { ...STEP_GENERATOR, line: 2112, expect: "if dependentResource.Protect && !sg.deployment.opts.IgnoreProtect {",
  claim: "A protected dependent stops the replacement with an error (\"unable to replace resource ... as part of replacing ...\")." };
export const DBR_RECREATE: Citation = { ...STEP_GENERATOR, line: 1083, expect: "_, recreating := sg.deletes[urn]",
  claim: "A dependent deleted that way is created anew when the program registers it (a replacement, whatever its own diff says)." };
export const PROPERTY_DEPENDENCIES: Citation = { ...PULUMI, path: "pkg/resource/deploy/source_eval.go", line: 2329,
  expect: "for pk, pd := range req.GetPropertyDependencies() {",
  claim: "The property dependencies are the RegisterResourceRequest's, as the SDK sends them (the lab reads them off the request)." };

export const citations: Citation[] = [PROTECT_REPLACE, PROTECT_DELETE, IGNORE_CHANGES_INPUTS, IGNORE_CHANGES_STORED, DIFF_OLD_OUTPUTS,
  BRIDGE_DIFF_STATE, SECRETNESS, INSTANCE_DELETION_PROTECTION, DBR_DEPENDENTS, DEPENDING_ON, DBR_IMPOSSIBLE_DEPENDENTS, DBR_UNKNOWN_INPUTS,
  DBR_PROPERTY_DEPS_ONLY, DBR_PROVIDER_DIFF, DBR_REPLACE_IF_DIFF_REPLACES, DBR_DELETE_ORDER, DBR_PROTECTED_DEPENDENT, DBR_RECREATE, PROPERTY_DEPENDENCIES];
