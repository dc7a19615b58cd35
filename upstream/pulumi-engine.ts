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

export const citations: Citation[] = [PROTECT_REPLACE, PROTECT_DELETE, IGNORE_CHANGES_INPUTS, IGNORE_CHANGES_STORED, DIFF_OLD_OUTPUTS,
  BRIDGE_DIFF_STATE, SECRETNESS, INSTANCE_DELETION_PROTECTION];
